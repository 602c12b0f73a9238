#!/bin/sh
# bench/scale-guest.sh: the scale benchmark, run in the lab guest as /test.sh by bench/scale
# (busybox sh). scale.conf sets ROUNDS, STORM_SECS, STATS_WINDOWS, STATS_SECS, NS (container
# counts), NDEV (vfio_dmatest ndev: >= the largest containers x devices), WIDE ("N:D", one point
# with D devices per container, or empty), TEARDOWN_MAPS (0: no teardown point), TEARDOWN_ROUNDS,
# TEARDOWN_RUNS.
# Files from the host under /lab/bench/: scale.conf, vfio-trace, empty-load, progstats, vtexec.
# Writes raw results under /out/raw/ (bench/scale-report.py turns them into numbers):
#   storm-<mode>-<point>-<round>.json  vfio-workload multicontainer JSON of one timed storm
#   tracer-<mode>-<point>-<round>.res  vtexec: attach_s, maxrss_kb (peak RSS), status
#   cpu-top-<point>-<round>.txt        top's utime+stime (ticks) and uptime (s) before/after the storm
#   top-<point>-<round>.out           top -b 1's output (its rows)
#   stats-<mode>-<point>-pre.tsv, stats-<mode>-<point>-w<W>-{before,after}.tsv +
#   storm-stats-<mode>-<point>-w<W>.json: bpf_stats windows
#   td-<mode>-<round>-<run>.json       the teardown point's workload JSON (containers[0].teardown_s)
#   td-top-<round>.out, td-stat-<round>.json  top -b's and stat --json's output over a round's runs
#   td-stats-<mode>-{pre,before,after}.tsv, td-stats-<mode>.json: one teardown under bpf_stats
# <point> is N (N containers, one device each) or NxD (D devices each).
. /lab/lib.sh
. /lab/bench/guest-lib.sh
. /lab/bench/scale.conf
bench_setup
dmatest_load ndev=$NDEV || fail "insmod vfio_dmatest ndev=$NDEV"
note clock_tck "$(getconf CLK_TCK 2>/dev/null || echo 100)"
note nproc "$(grep -c ^processor /proc/cpuinfo)"
note mem_total_kb "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
POINTS="$NS"
[ -n "$WIDE" ] && POINTS="$POINTS $(echo $WIDE | tr : x)"
MODES="untraced empty-lean top"
note points "$POINTS"
note modes "$MODES"

start_tracer() { # MODE TAG
	rm -f /tmp/ready
	TLOG=$R/tracer-$1-$2.log TRES=$R/tracer-$1-$2.res
	case $1 in
	untraced) TPID=""; return 0 ;;
	empty-lean) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load lean & ;;
	top) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b 1 1000000 >$R/top-$2.out & ;;
	esac
	TPID=$!
	await_tracer $1
}
point_args() { # POINT -> workload options
	case $1 in
	*x*) echo "--containers ${1%x*} --devices ${1#*x}" ;;
	*) echo "--containers $1 --devices 1" ;;
	esac
}
# a few cycles on every device first, so top learns the devices and attaches its dma_unmap
# callback program before the timed storm (under every mode alike)
warmup() { # POINT
	vfio-workload multicontainer $(point_args $1) --iterations 5 -q --no-module-stats --json /tmp/warm.json >/dev/null 2>&1 ||
		echo "bench: warm-up at $1 failed"
	sleep 0.5
}
storm() { # POINT OUT.json
	vfio-workload multicontainer $(point_args $1) --duration $STORM_SECS -q --no-module-stats --json "$2" ||
		{ echo "bench: storm at $1 exited $?"; return 1; }
	if [ -n "$TPID" ] && ! kill -0 $TPID 2>/dev/null; then
		echo "bench: the tracer died during the storm ($2): run discarded"; tail -3 $TLOG
		mv "$2" "$2.invalid"; return 1
	fi
}
# a bpf_stats window's storm
stats_storm() { # POINT OUT.json
	vfio-workload multicontainer $(point_args $1) --duration ${STATS_SECS:-2} -q --no-module-stats --json "$2"
}

# ---- 1. throughput per point, modes alternating within each round; top's CPU over the storm
echo "bench: scale: points [$POINTS], modes [$MODES], $ROUNDS rounds of ${STORM_SECS}s storms"
warmup 1; storm 1 /tmp/discard.json
r=1
while [ $r -le $ROUNDS ]; do
	for p in $POINTS; do
		for m in $MODES; do
			start_tracer $m $p-$r || { note "fail_$m" "point $p round $r: no attach"; continue; }
			warmup $p
			tp=""
			[ $m = top ] && tp=$(tracer_pid)
			if [ -n "$tp" ]; then
				c0=$(awk '{ print $14 + $15 }' /proc/$tp/stat); u0=$(cut -d' ' -f1 /proc/uptime)
			fi
			storm $p $R/storm-$m-$p-$r.json || note "fail_$m" "point $p round $r: storm failed"
			if [ -n "$tp" ]; then
				c1=$(awk '{ print $14 + $15 }' /proc/$tp/stat); u1=$(cut -d' ' -f1 /proc/uptime)
				echo "$c0 $c1 $u0 $u1" > $R/cpu-top-$p-$r.txt
			fi
			stop_tracer
		done
		echo "bench: round $r point $p done ($(cut -d' ' -f1 /proc/uptime)s)"
	done
	r=$((r + 1))
done

# ---- 2. BPF ns per storm cycle under bpf_stats, per point: STATS_WINDOWS storms of STATS_SECS
# under one start of each tracer, a progstats snapshot around each (the report takes the median
# over the windows: one vCPU stall on the host inflates a window)
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for p in $POINTS; do
	bench_stats_windows "empty-lean top" -$p stats_storm $p
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo "bench: bpf_stats pass done ($(cut -d' ' -f1 /proc/uptime)s)"

# ---- 3. a big teardown: one container maps TEARDOWN_MAPS vfio_dma of 4 KiB (no pins) and
# exits; the kernel removes them all when its last group leaves the container (no UNMAP_DMA).
# The workload times its closes (containers[0].teardown_s). TEARDOWN_RUNS such processes one
# after the other under one start of each tracer, modes alternating within each of
# TEARDOWN_ROUNDS rounds: untraced, top's empty programs (the limit), top -b 1, stat's empty
# programs, stat --json (a count keeps top and stat on fentry, like their empty programs;
# without one they run by kprobe). top's TD_DMAS and stat's totals are checked host-side against the
# workloads' counters (bench/scale-report.py).
if [ "${TEARDOWN_MAPS:-0}" -gt 0 ]; then
	LIMIT=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
	# type1 refuses more than dma_entry_limit vfio_dma per container (65535 by default); read
	# when a container is opened, so raised before the first
	old_limit=$(cat $LIMIT)
	echo $((TEARDOWN_MAPS + 16)) > $LIMIT || fail "cannot raise $LIMIT"
	note dma_entry_limit "$old_limit -> $(cat $LIMIT)"
	TD_MODES="untraced empty-lean top empty-vfio stat"
	note teardown_modes "$TD_MODES"
	note teardown_maps "$TEARDOWN_MAPS"
	note teardown_runs "$TEARDOWN_RUNS"
	echo "bench: teardown: $TEARDOWN_MAPS vfio_dma of 4 KiB, modes [$TD_MODES], $TEARDOWN_ROUNDS rounds of $TEARDOWN_RUNS"
	r=1
	while [ $r -le $TEARDOWN_ROUNDS ]; do
		for m in $TD_MODES; do
			rm -f /tmp/ready
			TLOG=$R/tracer-td-$m-$r.log TRES=$R/tracer-td-$m-$r.res
			case $m in
			untraced) TPID="" ;;
			empty-lean|empty-vfio)
				vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load ${m#empty-} & ;;
			top) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b 1 1000000 >$R/td-top-$r.out & ;;
			stat) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT stat --json 3600 1000000 >$R/td-stat-$r.json & ;;
			esac
			if [ $m != untraced ]; then
				TPID=$!
				await_tracer $m || { note "fail_td_$m" "round $r: no attach"; continue; }
			fi
			k=1
			while [ $k -le $TEARDOWN_RUNS ]; do
				vfio-workload multicontainer --containers 1 --devices 1 --iterations 1 --maps 1 \
					--map-size 4K --leave-mapped $TEARDOWN_MAPS -q --no-module-stats \
					--json $R/td-$m-$r-$k.json ||
					{ echo "bench: teardown workload under $m exited $?"; note "fail_td_$m" "round $r run $k: workload failed"; }
				k=$((k + 1))
			done
			# top -b 1: two more intervals, so its last block's totals hold the last teardown
			[ $m = top ] && sleep 2.5
			stop_tracer
		done
		echo "bench: teardown round $r done ($(cut -d' ' -f1 /proc/uptime)s)"
		r=$((r + 1))
	done
	# where a traced teardown's time goes: one more run per tracer under bpf_stats, each
	# program's runs and ns over it (progstats before/after)
	echo 1 > /proc/sys/kernel/bpf_stats_enabled
	for m in empty-lean top empty-vfio stat; do
		rm -f /tmp/ready
		TLOG=$R/tracer-td-$m-stats.log TRES=$R/tracer-td-$m-stats.res
		progstats > $R/td-stats-$m-pre.tsv
		case $m in
		empty-*) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load ${m#empty-} & ;;
		top) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b 1 1000000 >/dev/null & ;;
		stat) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT stat --json 3600 1000000 >/dev/null & ;;
		esac
		TPID=$!
		await_tracer $m || continue
		progstats > $R/td-stats-$m-before.tsv
		vfio-workload multicontainer --containers 1 --devices 1 --iterations 1 --maps 1 \
			--map-size 4K --leave-mapped $TEARDOWN_MAPS -q --no-module-stats \
			--json $R/td-stats-$m.json || echo "bench: teardown stats run under $m failed"
		progstats > $R/td-stats-$m-after.tsv
		stop_tracer
	done
	echo 0 > /proc/sys/kernel/bpf_stats_enabled
	echo $old_limit > $LIMIT
fi

dmatest_unload || { echo "bench: rmmod vfio_dmatest failed"; note warn_rmmod "rmmod vfio_dmatest failed"; }
dmesg_clean || fail "kernel complained"
echo "bench: done"
