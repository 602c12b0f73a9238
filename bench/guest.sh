#!/bin/sh
# bench/guest.sh: the benchmark, run in the lab guest as /test.sh by bench/run (busybox sh).
# bench.conf sets ROUNDS, STORM_SECS, WARMUP_ITERS, STATS_WINDOWS, STATS_SECS, MUTEX_ROUNDS,
# MUTEX_SECS, WANT_BT.
# Files from the host under /lab/bench/: bench.conf, vfio-trace, empty-load, progstats, vtexec,
# mutexloop, vfio.bt. The bpftrace peer, when the rootfs cpio was appended, is /bt (chroot).
# Writes raw results under /out/raw/ (bench/report.py turns them into numbers):
#   storm-<mode>-<round>.json    vfio-workload's JSON of one timed storm under <mode>
#   tracer-<mode>-<round>.res    vtexec: attach_s, maxrss_kb, status of the tracer of that run
#   stats-<mode>-pre.tsv, stats-<mode>-w<N>-{before,after}.tsv + storm-stats-<mode>-w<N>.json: bpf_stats
#   mutex-<mode>-<round>.txt     mutexloop under <mode>; stats-mutex-*.tsv likewise
. /lab/lib.sh
. /lab/bench/guest-lib.sh
. /lab/bench/bench.conf
bench_setup
dmatest_load ndev=2 || fail "insmod vfio_dmatest"
note clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
# reference for start-up times: one pass over /proc/kallsyms in this VM
_t0=$(cut -d' ' -f1 /proc/uptime); cat /proc/kallsyms > /dev/null; _t1=$(cut -d' ' -f1 /proc/uptime)
note kallsyms_scan_s "$(awk -v a=$_t0 -v b=$_t1 'BEGIN { printf "%.2f", b - a }')"
note kallsyms_text_syms "$(grep -c ' [tT] ' /proc/kallsyms)"
# vfio-trace's own kallsyms load (lib/ksyms.c) alone: time and RSS it adds (start-up profile)
note ksymsload "$(ksymsload)"

# ---- which tracers are there
MODES="untraced empty empty-lean top snoop"
# export runs top's programs (its per-event cost must equal top's), by kprobe on the VFIO
# modules so that they stay unloadable; export-pinned by fentry as top (--pin-modules);
# --textfile: no port needed
if $VT export --help >/dev/null 2>&1; then MODES="$MODES export"; mkdir -p /tmp/vt-textfile; fi
if $VT export --help 2>/dev/null | grep -q pin-modules; then MODES="$MODES export-pinned"; fi
# the ftrace backend (kprobe events in a tracefs instance, read in user space) on stat's points,
# next to snoop (BPF, the same points); no BPF, so not in the bpf_stats pass
if $VT stat --help 2>/dev/null | grep -q -- "--backend"; then MODES="$MODES ftrace"; fi
if $VT locks --help >/dev/null 2>&1; then
	MODES="$MODES empty-locks locks"; note locks available
	# locks on the ftrace backend: kprobe events on every mutex_lock/unlock of the host,
	# filtered in the kernel on the VFIO modules' code
	case " $MODES " in *" ftrace "*) MODES="$MODES locks-ftrace" ;; esac
else
	echo "bench: vfio-trace locks not available (vfio-trace locks --help fails): skipped"
	note locks "not available"
fi
BT=0
if [ "${WANT_BT:-0}" = 1 ] && [ -x /bt/usr/bin/bpftrace ]; then
	for d in proc sys dev; do mkdir -p /bt/$d; done
	mount -t proc proc /bt/proc && mount -t sysfs sysfs /bt/sys && mount -t devtmpfs devtmpfs /bt/dev &&
		mount -t tracefs tracefs /bt/sys/kernel/tracing && mount -t debugfs debugfs /bt/sys/kernel/debug &&
		mount -t bpf bpf /bt/sys/fs/bpf || fail "mounts in /bt"
	cp $B/vfio.bt /bt/tmp/vfio.bt
	note bpftrace_version "$(chroot /bt bpftrace --version 2>&1)"
	BT=1; MODES="$MODES bpftrace"
elif [ "${WANT_BT:-0}" = 1 ]; then
	fail "bpftrace wanted but /bt/usr/bin/bpftrace missing (rootfs not appended?)"
else
	echo "bench: no bpftrace peer in this run (quick mode)"
fi
note modes "$MODES"

# ---- tracer control: start MODE TAG (background, waits for "attached"), stop
# top and locks get a count: without one they run by kprobe (fast Ctrl-C, README "Stopping"),
# whose cost the export mode measures on top's programs; with one, fentry as before. snoop has
# no count: it runs by kprobe.
start_tracer() { # MODE TAG
	rm -f /tmp/ready
	TLOG=$R/tracer-$1-$2.log TRES=$R/tracer-$1-$2.res
	case $1 in
	untraced) TPID=""; return 0 ;;
	empty) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load vfio & ;;
	empty-locks) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load lean mutex & ;;
	empty-lean) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load lean & ;;
	empty-mutex) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load mutex & ;;
	top) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b 1 1000000 >/dev/null & ;;
	snoop) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT snoop >/dev/null & ;;
	export) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT export --textfile /tmp/vt-textfile >/dev/null & ;;
	export-pinned) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT export --pin-modules --textfile /tmp/vt-textfile >/dev/null & ;;
	ftrace) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT stat --backend ftrace 3600 >/dev/null & ;;
	locks) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT locks 1 1000000 >/dev/null & ;;
	locks-ftrace) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT locks --backend ftrace 1 1000000 >/dev/null & ;;
	bpftrace) vtexec --scan-stdout --match "Attaching" --log $TLOG --ready /tmp/ready --result $TRES -- chroot /bt /usr/bin/bpftrace /tmp/vfio.bt & ;;
	esac
	TPID=$!
	await_tracer $1
}
# a few cycles so vfio-trace learns the device and attaches its dma_unmap callback program
# before the timed storm (it does so at the first pin); done under every mode alike
warmup() {
	vfio-workload storm --iterations ${WARMUP_ITERS:-20} -q --no-module-stats --json /tmp/warm.json >/dev/null 2>&1 ||
		echo "bench: warm-up storm failed"
	sleep 0.5
}
# the timed storm of bench_rounds
storm() { # OUT.json
	vfio-workload storm --duration $STORM_SECS -q --no-module-stats --json "$1" ||
		{ echo "bench: storm exited $?"; return 1; }
	# a tracer that died during the storm makes the run worthless: set it aside
	if [ -n "$TPID" ] && ! kill -0 $TPID 2>/dev/null; then
		echo "bench: the tracer died during the storm ($1): run discarded"; tail -3 $TLOG
		mv "$1" "$1.invalid"; return 1
	fi
}
# a bpf_stats window's storm
stats_storm() { # OUT.json
	vfio-workload storm --duration ${STATS_SECS:-1} -q --no-module-stats --json "$1"
}

# ---- 1. storm throughput, alternating modes, ROUNDS rounds (round 0 is a discarded warm-up)
echo "bench: storm throughput: modes [$MODES], $ROUNDS rounds of ${STORM_SECS}s storms"
bench_rounds "$MODES" storm

# ---- 2. per-program BPF cost under kernel.bpf_stats_enabled=1: STATS_WINDOWS storms of
# STATS_SECS under one tracer start, a progstats snapshot around each; every mode with BPF
# programs (untraced has none, the ftrace backend none of its own)
STATS_MODES=$(for m in $MODES; do case $m in untraced | ftrace | locks-ftrace) ;; *) echo $m ;; esac; done)
echo 1 > /proc/sys/kernel/bpf_stats_enabled
bench_stats_windows "$STATS_MODES" "" stats_storm
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo "bench: bpf_stats pass done ($(cut -d' ' -f1 /proc/uptime)s)"

# ---- 3. unrelated mutexes: a pipe write+read loop (pipe->mutex twice per iteration)
MMODES="untraced empty-mutex"
case " $MODES " in *" locks "*) MMODES="$MMODES locks" ;; esac
case " $MODES " in *" locks-ftrace "*) MMODES="$MMODES locks-ftrace" ;; esac
mutexloop 1 > /dev/null
r=1
while [ $r -le $MUTEX_ROUNDS ]; do
	for m in $MMODES; do
		start_tracer $m m$r || continue
		mutexloop $MUTEX_SECS > $R/mutex-$m-$r.txt
		stop_tracer
	done
	r=$((r + 1))
done
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for m in $MMODES; do
	case $m in untraced | locks-ftrace) continue ;; esac # no BPF programs
	progstats > $R/stats-mutex-$m-pre.tsv
	start_tracer $m mstats || continue
	progstats > $R/stats-mutex-$m-before.tsv
	mutexloop $MUTEX_SECS > $R/mutex-stats-$m.txt
	progstats > $R/stats-mutex-$m-after.tsv
	stop_tracer
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo "bench: mutex pass done ($(cut -d' ' -f1 /proc/uptime)s)"

# ---- 4b. start-up profile: vfio-trace doctor does the same kallsyms read and per-point probing
# (trial fentry/kprobe attaches) as a tracing command, but loads no tracing skeleton
r=1
while [ $r -le 3 ]; do
	vtexec --result $R/doctor-$r.res -- $VT doctor > /dev/null
	r=$((r + 1))
done

# A leftover tracer would hold the module (its programs on dt_dma_unmap): say so, keep the numbers.
dmatest_unload || { echo "bench: rmmod vfio_dmatest failed (a tracer left programs attached?)"; note warn_rmmod "rmmod vfio_dmatest failed"; }
dmesg_clean || fail "kernel complained"
echo "bench: done"
