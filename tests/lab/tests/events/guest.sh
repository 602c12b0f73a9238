#!/bin/sh
# snoop and hist on the real kernel: every event delivered at a moderate rate, an exact drop
# count with a one-page ring, the -p filter, and latency histograms against the module's
# dma_unmap delay knob (the truth for callback and notify durations).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=3 || fail "cannot load the test module"
vt_traced snoop-multidev "snoop --json" multidev --devices 2 --iterations 10
vt_traced snoop-retry "snoop --json" retry --fault-k 3 --iterations 3
vt_traced snoop-drops "snoop --json --ringbuf-pages 1" storm --iterations 300
vt_traced snoop-pid1 "snoop --json -p 1" storm --iterations 20
vt_traced snoop-text "snoop -d vfio_dmatest.1" multidev --devices 2 --iterations 3
vt_traced hist-delay "hist --json" multidev --devices 2 --maps 2 --iterations 5 --delay-us 2000
vt_traced snoop-delay "snoop --json" multidev --devices 2 --maps 2 --iterations 5 --delay-us 2000
vt_traced hist-text "hist" storm --iterations 50
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced hist-delay-kprobe "hist --json" multidev --devices 2 \
	--maps 2 --iterations 5 --delay-us 2000
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
