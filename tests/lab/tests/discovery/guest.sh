#!/bin/sh
# Devices opened BEFORE vfio-trace starts (the usual case: VMs already running) must have
# their dma_unmap callbacks attached at start, so nothing of the next unmaps is missed.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=2 || fail "cannot load the test module"
for mode in fentry kprobe; do
	rm -f /tmp/r /tmp/g
	vfio-workload multidev --devices 2 --iterations 5 --quiet --ready-file /tmp/r --go-file /tmp/g \
		--json /out/$mode.wl.json 2> /out/$mode.wl.err &
	wpid=$!
	wait_file /tmp/r 120 || fail "workload not ready"
	if [ $mode = kprobe ]; then E=VFIO_TRACE_NO_FENTRY=1; else E=; fi
	env $E vfio-trace stat --json 1 > /out/$mode.trace 2> /out/$mode.trace.err &
	tpid=$!
	wait_line /out/$mode.trace.err tracing 90 || fail "tracer did not start"
	touch /tmp/g
	wait $wpid; echo $? > /out/$mode.wl.rc
	kill -INT $tpid; wait $tpid; echo $? > /out/$mode.trace.rc
	echo "$mode" >> /out/scenarios
done
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
