#!/bin/sh
# lab test "iommufd": vfio-workload's scenarios through the VFIO device cdev + iommufd
# (--iommufd) instead of a type1 container, counted as tests/lab/tests/scenarios counts them:
# the workload's JSON, the module's sysfs counters and tracefs kprobe hits, here on iommufd's
# functions (same event names, so scenarios/check compares them the same way):
#   reg/unreg  vfio_iommufd_emulated_bind/_unbind (a cdev's bind, its last close)
#   pin/unpin  iommufd_access_pin_pages/_unpin_pages (what vfio_pin_pages/_unpin_pages call)
#   cb         the module's dma_unmap callback      notify  iommufd_access_notify_unmap
#   map/unmap  iommufd_ioas_map/_unmap (the IOMMU_IOAS_MAP/UNMAP ioctls)
#   rmdma      iopt_area_unfill_domains (one per IOAS area an unmap removes)
#   type1      vfio_iommu_type1_ioctl: must stay 0, nothing goes through a container
# A kernel without CONFIG_IOMMUFD/CONFIG_VFIO_DEVICE_CDEV (Debian's) notes iommufd=absent and
# runs nothing; tests/lab/tests/iommufd/check knows from the kernel's config which to expect.
. /lab/lib.sh
T=$TRACEFS
WITNESS_GROUP=wli	# kprobe event group of this test (guest-lib.sh witness_*)
G=$WITNESS_GROUP
WITNESS_EVENTS="reg unreg pin unpin cb notify unmap map rmdma type1"

# Every scenario but the two type1-only hang scenarios; lifecycle with one fd (a cdev opens once).
RUNS='single single --iommufd
rate rate --iommufd --rate 100 --iterations 40
storm storm --iommufd --iterations 2000
storm-unpin storm --iommufd --iterations 200 --unpin
small small --iommufd --maps 100 --iterations 3
large large --iommufd --maps 3 --map-size 8M --pin-pages 600 --iterations 3
multidev multidev --iommufd --devices 3 --maps 4 --iterations 30
multidev-range multidev --iommufd --devices 4 --maps 4 --iterations 20 --unmap range
multicontainer multicontainer --iommufd --containers 3 --maps 2 --iterations 30
threads threads --iommufd --threads 4 --maps 2 --iterations 150
nopin nopin --iommufd --maps 2 --iterations 50
retry retry --iommufd --fault-k 3 --maps 2 --iterations 10
retry-2dev-range retry --iommufd --devices 2 --fault-k 2 --maps 3 --iterations 6 --unmap range
nocb-pin nocb-pin --iommufd --iterations 10
lifecycle lifecycle --iommufd --iterations 15
lifecycle-nocb lifecycle --iommufd --nocb --iterations 5'

if [ ! -c /dev/iommu ] || [ ! -d /sys/class/vfio-dev ]; then
	note iommufd absent
	exit 0
fi
note iommufd present

trap witness_remove EXIT
dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load vfio_dmatest"
note dmatest_load ok
note cdevs "$(ls /dev/vfio/devices | tr '\n' ' ')"

witness_remove
witness_add <<EOP
p:$G/reg vfio_iommufd_emulated_bind
p:$G/unreg vfio_iommufd_emulated_unbind
p:$G/pin iommufd_access_pin_pages
p:$G/unpin iommufd_access_unpin_pages
p:$G/cb vfio_dmatest:dt_dma_unmap
p:$G/notify iommufd_access_notify_unmap
p:$G/unmap iommufd_ioas_unmap
p:$G/map iommufd_ioas_map
p:$G/rmdma iopt_area_unfill_domains
p:$G/type1 vfio_iommu_type1_ioctl
EOP
note probes ok

witness_runs "$RUNS"
witness_remove
note kprobe_events_left "$(grep -c . $T/kprobe_events)"
if dmatest_unload; then note dmatest_unload ok; else note dmatest_unload failed; fi
if dmesg_clean; then note dmesg_clean yes; else note dmesg_clean no; fi
exit 0
