#!/bin/sh
# lab test "scenarios": run every vfio-workload scenario (modest sizes: the guest is emulated)
# and count, independently of the workload and the module, what the kernel did through tracefs
# kprobe events. Per run (id R, see RUNS) it writes to /out:
#   runs.list the runs: "id scenario options" lines
#   R.json    the workload's JSON (its counters, its expectations, the module's sysfs counters)
#   R.rc      the workload's exit status        R.err  its stderr
#   R.counts  KEY=N lines: kprobe hits per probe (type1 register/unregister/pin/unpin, the
#             module's dma_unmap callback, UNMAP_DMA and MAP_DMA ioctls, vfio_remove_dma) and
#             the ring buffer's overrun (must be 0, else counts would be short)
# tests/lab/tests/scenarios/check compares workload == module == tracefs exactly.
. /lab/lib.sh
T=$TRACEFS
WITNESS_GROUP=wlc	# kprobe event group of this test (guest-lib.sh witness_*)
WITNESS_EVENTS="reg unreg pin unpin cb unmap map rmdma"
G=$WITNESS_GROUP

# One run per line: an id (output file names), the scenario, its options. Every scenario of
# tests/workload appears at least once; a few variants cover more paths (range unmaps with
# several devices, retries seen by a second device, the delay knob, DMATEST_UNPIN, nocb opens).
RUNS='single single
rate rate --rate 100 --iterations 40
storm storm --iterations 3000
storm-unpin storm --iterations 200 --unpin
small small --maps 512 --iterations 3
large large --maps 3 --map-size 8M --pin-pages 600 --iterations 3
multidev multidev --devices 3 --maps 4 --iterations 30
multidev-range multidev --devices 4 --maps 4 --iterations 20 --unmap range
multicontainer multicontainer --containers 3 --maps 2 --iterations 30
multicontainer-2dev multicontainer --containers 2 --devices 2 --maps 3 --iterations 20
threads threads --threads 4 --maps 2 --iterations 150
threads-2dev-delay threads --threads 3 --devices 2 --maps 2 --iterations 20 --delay-us 200
nopin nopin --maps 2 --iterations 50
retry retry --fault-k 3 --maps 2 --iterations 10
retry-2dev-range retry --devices 2 --fault-k 2 --maps 3 --iterations 6 --unmap range
nocb-pin nocb-pin --iterations 10
lifecycle lifecycle --iterations 15 --fds 2
lifecycle-nocb lifecycle --nocb --iterations 5'

trap witness_remove EXIT	# no probe left behind, whatever happens
dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load vfio_dmatest"
note dmatest_load ok

# The module's dma_unmap callback is a static function of vfio_dmatest.
witness_remove
witness_add <<EOP
p:$G/reg vfio_iommu_type1_register_device
p:$G/unreg vfio_iommu_type1_unregister_device
p:$G/pin vfio_iommu_type1_pin_pages
p:$G/unpin vfio_iommu_type1_unpin_pages
p:$G/cb vfio_dmatest:dt_dma_unmap
p:$G/unmap vfio_iommu_type1_ioctl cmd=%si:u32
p:$G/map vfio_iommu_type1_ioctl cmd=%si:u32
p:$G/rmdma vfio_remove_dma
EOP
echo 'cmd == 15218' > $T/events/$G/unmap/filter || fail "cannot set the UNMAP_DMA filter"	# 0x3b72
echo 'cmd == 15217' > $T/events/$G/map/filter || fail "cannot set the MAP_DMA filter"	# 0x3b71
note probes ok

witness_runs "$RUNS"
witness_remove
note kprobe_events_left "$(grep -c . $T/kprobe_events)"
if dmatest_unload; then note dmatest_unload ok; else note dmatest_unload failed; fi
if dmesg_clean; then note dmesg_clean yes; else note dmesg_clean no; fi
exit 0
