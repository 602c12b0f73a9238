#!/bin/sh
# bench/scale-guest.sh: the scale benchmark, run in the lab guest as /test.sh by bench/scale
# (busybox sh). scale.conf sets ROUNDS, STORM_SECS, STATS_WINDOWS, STATS_SECS, NS (container
# counts), NDEV (vfio_dmatest ndev: >= the largest containers x devices), WIDE ("N:D", one point
# with D devices per container, or empty).
# Files from the host under /lab/bench/: scale.conf, vfio-trace, empty-load, progstats, vtexec.
# Writes raw results under /out/raw/ (bench/scale-report.py turns them into numbers):
#   storm-<mode>-<point>-<round>.json  vfio-workload multicontainer JSON of one timed storm
#   tracer-<mode>-<point>-<round>.res  vtexec: attach_s, maxrss_kb (peak RSS), status
#   cpu-top-<point>-<round>.txt        top's utime+stime (ticks) and uptime (s) before/after the storm
#   top-<point>-<round>.out           top -b 1's output (its rows)
#   stats-<mode>-<point>-pre.tsv, stats-<mode>-<point>-w<W>-{before,after}.tsv +
#   storm-stats-<mode>-<point>-w<W>.json: bpf_stats windows
# <point> is N (N containers, one device each) or NxD (D devices each).
. /lab/lib.sh
. /lab/bench/guest-lib.sh
. /lab/bench/scale.conf
B=/lab/bench
VT=$B/vfio-trace
R=/out/raw
mkdir -p $R
chmod +x $B/* 2>/dev/null
export PATH=$B:$PATH

dmesg_mark
dmatest_load ndev=$NDEV || fail "insmod vfio_dmatest ndev=$NDEV"
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo 1 > /proc/sys/kernel/softlockup_panic 2>/dev/null
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
	for m in empty-lean top; do
		progstats > $R/stats-$m-$p-pre.tsv
		start_tracer $m stats-$p || continue
		warmup $p
		w=1
		while [ $w -le ${STATS_WINDOWS:-3} ]; do
			progstats > $R/stats-$m-$p-w$w-before.tsv
			vfio-workload multicontainer $(point_args $p) --duration ${STATS_SECS:-2} -q --no-module-stats \
				--json $R/storm-stats-$m-$p-w$w.json || echo "bench: stats storm under $m at $p failed"
			progstats > $R/stats-$m-$p-w$w-after.tsv
			w=$((w + 1))
		done
		stop_tracer
	done
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo "bench: bpf_stats pass done ($(cut -d' ' -f1 /proc/uptime)s)"

dmatest_unload || { echo "bench: rmmod vfio_dmatest failed"; note warn_rmmod "rmmod vfio_dmatest failed"; }
dmesg_clean || fail "kernel complained"
echo "bench: done"
