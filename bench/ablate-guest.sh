#!/bin/sh
# bench/ablate-guest.sh: run in the lab guest by bench/ablate (busybox sh). top's per-event BPF
# cost with parts of its work compiled out (bench/ablate.patch): the builds /lab/bench/vt-v0
# (as shipped) ... vt-v4, each as `top -b 1` under kernel.bpf_stats_enabled, against the
# empty programs on top's points (empty-load lean, its limit), modes alternating within each
# of PASSES passes; STATS_WINDOWS storms of STATS_SECS per tracer start. Raw results in
# /out/raw/ as bench/guest.sh's bpf_stats pass writes them, the pass in the tag (-p<N>).
. /lab/lib.sh
. /lab/bench/guest-lib.sh
. /lab/bench/ablate.conf
bench_setup
dmatest_load ndev=2 || fail "insmod vfio_dmatest"
note clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
start_tracer() { # MODE TAG
	rm -f /tmp/ready
	TLOG=$R/tracer-$1-$2.log TRES=$R/tracer-$1-$2.res
	case $1 in
	empty-lean) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load lean & ;;
	*) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $B/vt-$1 top -b 1 1000000 >/dev/null & ;;
	esac
	TPID=$!
	await_tracer $1
}
warmup() {
	vfio-workload storm --iterations 20 -q --no-module-stats --json /tmp/warm.json >/dev/null 2>&1 ||
		echo "bench: warm-up storm failed"
	sleep 0.5
}
stats_storm() { vfio-workload storm --duration $STATS_SECS -q --no-module-stats --json "$1"; }
echo 1 > /proc/sys/kernel/bpf_stats_enabled
warmup; stats_storm /tmp/discard.json
pass=1
while [ $pass -le $PASSES ]; do
	bench_stats_windows "empty-lean $BUILDS" "-p$pass" stats_storm
	echo "bench: ablate pass $pass done ($(cut -d' ' -f1 /proc/uptime)s)"
	pass=$((pass + 1))
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled
dmatest_unload || note warn_rmmod "rmmod vfio_dmatest failed"
dmesg_clean || fail "kernel complained"
echo "bench: done"
