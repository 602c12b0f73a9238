#!/bin/sh
# Capabilities (README "Privileges"): after attach a tracer keeps only CAP_SYS_ADMIN and
# CAP_KILL in its effective, permitted and bounding sets, and still attaches the callback of
# a device opened after the drop and counts exactly; doctor and hung keep nothing; without
# CAP_SYSLOG (kallsyms then shows zeros on these kernels) or CAP_SYS_ADMIN every command
# refuses with one line. doctor and hung leave no probe, nor does a doctor killed by
# SIGKILL. The partial privileges come from the test hook VFIO_TRACE_TEST_DROP_CAPS (it can
# only take capabilities away).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=2 || fail "cannot load the test module"
note kptr_restrict "$(cat /proc/sys/kernel/kptr_restrict)"
note perf_event_paranoid "$(cat /proc/sys/kernel/perf_event_paranoid)"
caps_of() { grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/$1/status | tr -d ' \t' | tr '\n' ' '; }

# NAME "VFIO-TRACE ARGS": caps after attach, then a device opened after the drop
traced() {
	_n=$1
	rm -f /tmp/.vt_ready /tmp/.vt_go
	vfio-trace $2 > /out/$_n.trace 2> /out/$_n.trace.err &
	_p=$!
	wait_line /out/$_n.trace.err "tracing" 90 || { kill $_p; fail "$_n: tracer did not start"; }
	note ${_n}_caps "$(caps_of $_p)"
	vfio-workload storm --iterations 30 --quiet --ready-file /tmp/.vt_ready --go-file /tmp/.vt_go \
		--json /out/$_n.wl.json 2> /out/$_n.wl.err &
	_w=$!
	wait_file /tmp/.vt_ready 120 || { kill $_p $_w; fail "$_n: workload not ready"; }
	wait_line /out/$_n.trace.err "attached dma_unmap callback" 60 ||
		{ kill $_p $_w; fail "$_n: callback not attached after the drop"; }
	touch /tmp/.vt_go
	wait $_w; echo $? > /out/$_n.wl.rc
	note ${_n}_caps_end "$(caps_of $_p)"
	kill -INT $_p; wait $_p; echo $? > /out/$_n.trace.rc
}
traced stat "stat --json 1"
traced top "top --json 1"

# doctor and hung report their own sets once done (-v); nothing left attached after them
vfio-trace -v doctor > /out/doctor.out 2> /out/doctor.err; echo $? > /out/doctor.rc
vfio-trace -v hung > /out/hung.out 2> /out/hung.err; echo $? > /out/hung.rc
# a doctor killed in the middle of its test attaches leaves nothing either (perf kprobes and
# BPF links die with the process; nothing is written to tracefs)
for _d in 0.3 0.8 1.5 2.5; do
	vfio-trace doctor > /dev/null 2>&1 &
	sleep $_d
	kill -9 $! 2>/dev/null; wait $! 2>/dev/null
done
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
cat $TRACEFS/kprobe_events > /out/kprobe_events-after 2>/dev/null

# refusals: exit status and stderr, one line each
refuse() {	# NAME CAPS ARGS...
	_n=$1 _c=$2; shift 2
	VFIO_TRACE_TEST_DROP_CAPS=$_c vfio-trace "$@" > /out/$_n.out 2> /out/$_n.err < /dev/null
	echo $? > /out/$_n.rc
}
refuse nosyslog-stat cap_syslog stat 1 1
refuse nosyslog-top cap_syslog top -b 1 1
refuse nosyslog-hung cap_syslog hung
refuse nosyslog-doctor cap_syslog doctor
refuse noadmin-stat cap_sys_admin stat 1 1
refuse noadmin-hung cap_sys_admin hung
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
