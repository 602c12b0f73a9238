#!/bin/sh
# vfio-trace locks on the real kernel: exact acquisition counts of iommu->lock and
# device_list_lock (from the kernel source: which operation takes which lock how often), hold
# times against the module's dma_unmap delay, contention waits on the right container, none
# in a run without contention, and the kprobe fallback; on both backends.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=3 || fail "cannot load the test module"
vt_traced delay "locks --json" multidev --devices 2 --maps 2 --iterations 5 --delay-us 20000
vt_traced contention "locks --json" threads --threads 3 --iterations 10 --delay-us 5000
# Certain contention: a device open (register) waits for device_list_lock behind a slow
# notify, and a pin waits for iommu->lock behind the open (vfio-workload slow-notify).
vfio-trace locks --json > /out/slow.trace 2> /out/slow.trace.err &
tpid=$!
wait_line /out/slow.trace.err tracing 90 || fail "slow: tracer did not start"
vfio-workload slow-notify --delay-us 300000 --quiet --json /out/slow.wl.json > /dev/null \
	2> /out/slow.wl.err
echo $? > /out/slow.wl.rc
kill -INT $tpid; wait $tpid; echo $? > /out/slow.trace.rc
vt_traced quiet "locks --json" storm --iterations 100
vt_traced text "locks" multidev --devices 2 --iterations 3 --delay-us 1000
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced delay-kprobe "locks --json" multidev --devices 2 \
	--maps 2 --iterations 5 --delay-us 20000
# The same on the ftrace backend (mutex_lock/unlock kprobe events filtered on type1's code)
vt_traced delay-ftrace "locks --json --backend ftrace" multidev --devices 2 --maps 2 \
	--iterations 5 --delay-us 20000
vt_traced contention-ftrace "locks --json --backend ftrace" threads --threads 3 --iterations 10 \
	--delay-us 5000
vt_traced quiet-ftrace "locks --json --backend ftrace" storm --iterations 100
vfio-trace locks --json --backend ftrace > /out/slow-ftrace.trace 2> /out/slow-ftrace.trace.err &
tpid=$!
wait_line /out/slow-ftrace.trace.err tracing 90 || fail "slow-ftrace: tracer did not start"
vfio-workload slow-notify --delay-us 300000 --quiet --json /out/slow-ftrace.wl.json > /dev/null \
	2> /out/slow-ftrace.wl.err
echo $? > /out/slow-ftrace.wl.rc
kill -INT $tpid; wait $tpid; echo $? > /out/slow-ftrace.trace.rc
# a killed lock-tracking run (its mutex_unlock event carries a stacktrace trigger in its
# instance): doctor --cleanup removes its instance, trigger and events
left() { echo "$(ls /sys/kernel/tracing/instances | grep -c "^vfio_trace_$1\$") $(grep -c "vfio_trace_$1/" /sys/kernel/tracing/dynamic_events)"; }
vfio-trace locks --backend ftrace > /out/killed.out 2> /out/killed.err &
kp=$!
wait_line /out/killed.err tracing 90 || fail "killed: tracer did not start"
note killed_trigger "$(cat /sys/kernel/tracing/instances/vfio_trace_$kp/events/vfio_trace_$kp/mutex_unlock/trigger | grep -c '^stacktrace')"
kill -KILL $kp; wait $kp 2>/dev/null
note killed_before "$(left $kp)"
vfio-trace doctor --cleanup > /out/cleanup.out 2> /out/cleanup.err
note killed_after "$(left $kp)"
ls /sys/kernel/tracing/instances > /out/instances-after 2>/dev/null
grep -h vfio_trace /sys/kernel/tracing/dynamic_events > /out/dynevents-after 2>/dev/null
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
