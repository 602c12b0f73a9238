#!/bin/sh
# bench/guest-lib.sh: what the benchmark runners in the lab guest (bench/guest.sh,
# bench/scale-guest.sh, bench/phases-guest.sh) share: their setup (bench_setup); the tracer
# under measurement is vtexec's child, started by the runner's start_tracer (TPID = vtexec's
# pid, TLOG its log); await_tracer and stop_tracer wait for it and stop it.
# Sourced as /lab/bench/guest-lib.sh (busybox sh).

# bench_setup: what each runner does first. B, VT, R: the host's tools, the binary measured,
# the raw results; bpf_stats off until a runner's own windows; a CPU stuck in the kernel (seen
# once on 6.1 under TCG, during a storm with tracers coming and going) would otherwise hold the
# VM until the watchdog: panic at once, bench/run retries
bench_setup() {
	B=/lab/bench
	VT=$B/vfio-trace
	R=/out/raw
	mkdir -p $R
	chmod +x $B/* 2>/dev/null
	export PATH=$B:$PATH
	dmesg_mark
	echo 0 > /proc/sys/kernel/bpf_stats_enabled
	echo 1 > /proc/sys/kernel/softlockup_panic 2>/dev/null
	# the limit's start-up is its load and attach: which of the two type1 functions it attaches
	# where they exist is found here once, not by two scans of /proc/kallsyms in each start
	EMPTY_LOAD_TYPE1_FUNCS=$(awk '$4 == "[vfio_iommu_type1]" && ($3 == "vfio_dma_do_unmap" ||
		$3 == "vfio_notify_dma_unmap") { printf "%s ", $3 }' /proc/kallsyms)
	export EMPTY_LOAD_TYPE1_FUNCS
}

TPID=""
# await_tracer MODE: until vtexec says the tracer attached (/tmp/ready); 1 if it exited first or
# took more than 120 s (then it is stopped)
await_tracer() {
	_i=0
	while [ ! -f /tmp/ready ]; do
		kill -0 $TPID 2>/dev/null || { echo "bench: $1 exited before attaching:"; tail -5 $TLOG; return 1; }
		_i=$((_i + 1)); [ $_i -lt 1200 ] || { echo "bench: $1 did not attach in 120 s"; stop_tracer; return 1; }
		sleep 0.1
	done
	return 0
}
# tracer_pid: the tracer vtexec runs (vtexec's child)
tracer_pid() {
	for _p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 $_p/stat 2>/dev/null)" = "$TPID" ] && { echo ${_p#/proc/}; return 0; }
	done
	return 1
}
# stop_tracer: SIGINT and wait. 180 s: detaching 20-odd fentry programs waits for RCU-tasks
# grace periods, slow under TCG (bpftrace once needed more than 60 s); then KILL, the tracer too
stop_tracer() {
	[ -n "$TPID" ] || return 0
	kill -INT $TPID 2>/dev/null
	_i=0
	while kill -0 $TPID 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -ge 1800 ]; then
			echo "bench: tracer $TPID did not stop in 180 s: KILL (and its children)"
			note "warn_kill_$TPID" "a tracer did not stop in 180 s"
			_c=$(tracer_pid) && kill -KILL $_c 2>/dev/null
			kill -KILL $TPID; break
		fi
		sleep 0.1
	done
	wait $TPID 2>/dev/null
	TPID=""
}
