#!/bin/sh
# bench/guest-lib.sh: what the benchmark runners in the lab guest (bench/guest.sh,
# bench/scale-guest.sh, bench/phases-guest.sh) share: their setup (bench_setup); the tracer
# under measurement is vtexec's child, started by the runner's start_tracer (TPID = vtexec's
# pid, TLOG its log); await_tracer and stop_tracer wait for it and stop it; the timed rounds
# (bench_rounds) and the bpf_stats windows (bench_stats_windows), which differ between runners
# only in the storm: each runner passes its own.
# A runner defines start_tracer MODE TAG (0 once its tracer attached, or for a mode without
# one) and warmup [ARG...] (a few cycles under the tracer before a measured storm, so that
# it has learnt the devices and attached their dma_unmap callbacks: done under every mode alike).
# Sourced as /lab/bench/guest-lib.sh (busybox sh). The helpers' variables are global (no
# `local`, as in the rest of the bench scripts), so their names start with _ (bench_rounds'
# _br_*, bench_stats_windows' _sw_*, as these call the runner's functions): a runner's own names
# stay its own.

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

# bench_rounds MODES STORM [ARG...]: the timed storms. One warm-up and one storm, untraced and
# discarded (round 0: no mode gets the boot's first storm), then ROUNDS rounds; in each,
# every mode of MODES in turn: start_tracer MODE ROUND, warmup [ARG...], one timed storm
# `STORM [ARG...] $R/storm-<mode>-<round>.json`, stop_tracer. Modes alternate within a round
# so that a slow spell of the shared host falls on all of them, not on one. STORM's status says
# whether the storm counts (non-zero: noted fail_<mode>); it sets aside the JSON of a storm
# whose tracer died during it.
bench_rounds() {
	_br_modes=$1 _br_storm=$2; shift 2
	warmup "$@"; $_br_storm "$@" /tmp/discard.json
	_br_r=1
	while [ $_br_r -le $ROUNDS ]; do
		for _br_m in $_br_modes; do
			start_tracer $_br_m $_br_r || { note "fail_$_br_m" "round $_br_r: no attach"; continue; }
			warmup "$@"
			$_br_storm "$@" $R/storm-$_br_m-$_br_r.json || note "fail_$_br_m" "round $_br_r: storm failed"
			stop_tracer
		done
		echo "bench: round $_br_r done ($(cut -d' ' -f1 /proc/uptime)s)"
		_br_r=$((_br_r + 1))
	done
}

# bench_stats_windows MODES TAG STORM [ARG...]: per-program BPF cost, with
# kernel.bpf_stats_enabled already 1 (the runner turns it on once around its whole pass). For
# each mode of MODES, one start of its tracer (start_tracer MODE stats<TAG>) and STATS_WINDOWS
# windows: each one storm `STORM [ARG...] $R/storm-stats-<mode><TAG>-w<N>.json` between two
# progstats snapshots (stats-<mode><TAG>-w<N>-before/after.tsv); stats-<mode><TAG>-pre.tsv,
# taken before the tracer starts, tells its programs from those already loaded. The reports
# take the median over the windows: one vCPU stall on the host inflates a window's mean. The
# tracer warms up once (warmup [ARG...]), before the first window. TAG is empty, or -<point>
# for a runner with several points (scale-guest.sh).
bench_stats_windows() {
	_sw_modes=$1 _sw_tag=$2 _sw_storm=$3; shift 3
	for _sw_m in $_sw_modes; do
		progstats > $R/stats-$_sw_m$_sw_tag-pre.tsv
		start_tracer $_sw_m stats$_sw_tag || continue
		warmup "$@"
		_sw_w=1
		while [ $_sw_w -le ${STATS_WINDOWS:-3} ]; do
			progstats > $R/stats-$_sw_m$_sw_tag-w$_sw_w-before.tsv
			$_sw_storm "$@" $R/storm-stats-$_sw_m$_sw_tag-w$_sw_w.json ||
				echo "bench: stats storm under $_sw_m$_sw_tag (window $_sw_w) failed"
			progstats > $R/stats-$_sw_m$_sw_tag-w$_sw_w-after.tsv
			_sw_w=$((_sw_w + 1))
		done
		stop_tracer
	done
}
