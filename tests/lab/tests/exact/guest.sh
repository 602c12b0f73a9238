#!/bin/sh
# lab test "exact": what starts after vfio-trace does is counted exactly, started the way VMs
# start (nothing waits for the tracer beyond its "tracing" line):
#  short   24 short-lived processes, each open -> map -> pin -> unmap -> exit; every third
#          leaves 2 vfio_dma mapped, which the kernel removes when it exits (a teardown)
#  module  a second driver module (vfio_dmatest2, its own dma_unmap function) loaded while
#          tracing, its workload started the moment insmod returns
#  notrace a driver module whose dma_unmap is notrace, loaded before the start: no probe takes
#          it; said once and in not_traced, the rest counted exactly
# under stat --json with fentry and with --kprobe (the kprobe run finds its symbols with one
# /proc/kallsyms pass, VFIO_TRACE_KSYMS=pass; the fentry run asks the kernel for each, as every
# lab kernel has the sorted name index: -v's start-up line says which; the late module's
# symbols are found after the capabilities are dropped, when the kernel no longer answers); then
#  guard   the loader held while vfio-trace cannot run (SIGSTOP), then vfio-trace killed -9:
#          its guard process must let the loader go
#  retire  stats maps of 24 keys, 12 processes one after the other (2 s apart, as VMs come and
#          go over months; ~11 keys each): the rows of those that have gone must leave the
#          maps, so nothing is lost and the totals stay exact
#  fill    stats maps shrunk to 8 keys (VFIO_TRACE_STATS_ENTRIES) under 6 containers: what does
#          not fit must be counted in lost.stats_full, one per operation, never silently.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=8 || fail "cannot load the test module"
D2=$LAB_MODDIR/extra/vfio_dmatest2.ko
for mode in fentry kprobe; do
	# a count keeps fentry (a command without one uses kprobes: lib/loader.c)
	E=; C=3600; [ $mode = kprobe ] && E="VFIO_TRACE_NO_FENTRY=1 VFIO_TRACE_KSYMS=pass" C=
	env $E vfio-trace stat -v --json 1 $C > /out/$mode.trace 2> /out/$mode.trace.err &
	tp=$!
	wait_line /out/$mode.trace.err tracing 90 || fail "$mode: tracer did not start"
	i=0 rc=0
	while [ $i -lt 24 ]; do
		i=$((i + 1)) lm=0
		[ $((i % 3)) = 0 ] && lm=2
		vfio-workload single --iterations 1 --leave-mapped $lm --quiet \
			--json /out/$mode.short.$i.json 2>> /out/$mode.wl.err || rc=$?
	done
	insmod "$D2" ndev=2 || fail "$mode: insmod vfio_dmatest2"
	vfio-workload multidev --driver vfio_dmatest2 --devices 2 --iterations 5 --leave-mapped 1 \
		--quiet --json /out/$mode.module.json 2>> /out/$mode.wl.err || rc=$?
	echo $rc > /out/$mode.wl.rc
	kill -INT $tp; wait $tp; echo $? > /out/$mode.trace.rc
	rmmod vfio_dmatest2 || fail "$mode: rmmod vfio_dmatest2"
	echo "$mode" >> /out/scenarios
done
# notrace: a driver whose dma_unmap is notrace (vfio_dtnotrace) loaded before the start.
# No probe takes that function: without a count the kprobe_multi links (where the kernel has
# them) are refused with it and attached without it, with a count its fentry and then its
# kprobe are refused, the ftrace backend's kprobe event is refused. ./check: said once and in
# not_traced, everything else counted.
DN=$LAB_MODDIR/extra/vfio_dtnotrace.ko
for mode in notrace notrace-count notrace-ftrace; do
	A="-v --json 1"
	[ $mode = notrace-count ] && A="-v --json 1 3600"
	[ $mode = notrace-ftrace ] && A="--backend ftrace --json 1"
	insmod "$DN" ndev=2 || fail "$mode: insmod vfio_dtnotrace"
	vfio-trace stat $A > /out/$mode.trace 2> /out/$mode.trace.err &
	tp=$!
	wait_line /out/$mode.trace.err tracing 90 || fail "$mode: tracer did not start"
	rc=0
	vfio-workload multidev --driver vfio_dtnotrace --devices 2 --iterations 5 \
		--leave-mapped 1 --quiet --json /out/$mode.nt.json 2>> /out/$mode.wl.err || rc=$?
	vfio-workload single --iterations 3 --quiet --json /out/$mode.dt.json \
		2>> /out/$mode.wl.err || rc=$?
	echo $rc > /out/$mode.wl.rc
	kill -INT $tp; wait $tp; echo $? > /out/$mode.trace.rc
	rmmod vfio_dtnotrace || fail "$mode: rmmod vfio_dtnotrace"
	echo "$mode" >> /out/scenarios
done
# guard: a held loader outlives a killed vfio-trace only until its guard notices
vfio-trace stat 1 > /out/guard.trace 2> /out/guard.trace.err &
tp=$!
wait_line /out/guard.trace.err tracing 90 || fail "guard: tracer did not start"
kill -STOP $tp
insmod "$D2" ndev=1 &
ip=$!
i=0; while [ $i -lt 100 ]; do
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$ip/status 2>/dev/null)
	[ "$st" = T ] && break
	i=$((i + 1)); sleep 0.1
done
note guard_loader_state "$st"
kill -KILL $tp
wait $ip; note guard_insmod_rc "$?"
wait $tp 2>/dev/null
sleep 0.5
note guard_left "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c "^vfio-trace-gua")"
rmmod vfio_dmatest2 || fail "guard: rmmod vfio_dmatest2"
echo guard >> /out/scenarios
# retire
env VFIO_TRACE_STATS_ENTRIES=24 VFIO_TRACE_HOT_ROWS=1 VFIO_TRACE_RETIRE_S=0 \
	vfio-trace stat --json 1 > /out/retire.trace 2> /out/retire.trace.err &
tp=$!
wait_line /out/retire.trace.err tracing 90 || fail "retire: tracer did not start"
i=0 rc=0
while [ $i -lt 12 ]; do
	i=$((i + 1))
	vfio-workload single --iterations 2 --leave-mapped 1 --quiet \
		--json /out/retire.$i.json 2>> /out/retire.wl.err || rc=$?
	sleep 2
done
echo $rc > /out/retire.wl.rc
kill -INT $tp; wait $tp; echo $? > /out/retire.trace.rc
echo retire >> /out/scenarios
VT_ENV="VFIO_TRACE_STATS_ENTRIES=8 VFIO_TRACE_HOT_ROWS=1" \
	vt_traced fill "stat --json 1" multicontainer --containers 6 --devices 1 --iterations 4 --leave-mapped 1
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
