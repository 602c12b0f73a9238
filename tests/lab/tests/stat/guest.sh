#!/bin/sh
# stat --json over every workload scenario: the tracer's totals must equal the workload's
# own counters exactly (checked on the host by ./check).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"
S="stat --json 1"
vt_traced single "$S" single
vt_traced storm "$S" storm --iterations 200
vt_traced small "$S" small --maps 64 --iterations 2
vt_traced large "$S" large --iterations 2 --map-size 4M --pin-pages 16
vt_traced multidev "$S" multidev --devices 3 --iterations 10
vt_traced multicontainer "$S" multicontainer --containers 2 --devices 1 --iterations 10
vt_traced threads "$S" threads --threads 3 --iterations 10
vt_traced nopin "$S" nopin --iterations 20
vt_traced retry "$S" retry --fault-k 3 --iterations 5
vt_traced retry-storm "$S" retry --fault-k 6 --iterations 2
vt_traced nocb "$S" nocb-pin --iterations 5
vt_traced lifecycle "$S" lifecycle --iterations 5
# One hot-row slot per CPU: all keys but one per CPU are counted in vt_stats, and the same
# key in both on different CPUs; the totals must not change.
VT_ENV=VFIO_TRACE_HOT_ROWS=1 vt_traced multidev-hot1 "$S" multidev --devices 3 --iterations 10
VT_ENV=VFIO_TRACE_HOT_ROWS=1 vt_traced threads-hot1 "$S" threads --threads 3 --iterations 10
# The kprobe fallback must count the same.
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced storm-kprobe "$S" storm --iterations 100
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced multidev-kprobe "$S" multidev --devices 2 --iterations 5
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
