#!/bin/sh
# record and report on the real kernel: one recording of a mix of scenarios, with a live
# `stat --json` alongside, started the way vt_traced starts a tracer (the workload waits for
# nothing but its "tracing" line); report run here and, by ./check, on the host. Then a
# recorder killed with SIGKILL: its file must still report.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"


# snaps FILE: the interval documents report finds in FILE now (a read that meets a block
# being written fails: read again)
snaps() {
	until vfio-trace report "$1" --json > /tmp/snaps.json 2>/dev/null; do sleep 0.1; done
	grep -c '"type":"interval"' /tmp/snaps.json
}
# flushed FILE: wait until FILE holds a snapshot taken after this call (two more intervals)
flushed() {
	_want=$(($(snaps "$1") + 2)) _i=0
	until [ "$(snaps "$1")" -ge $_want ]; do
		_i=$((_i + 1)); [ $_i -gt 600 ] && fail "no snapshot flushed to $1"
		sleep 0.1
	done
}

tracer_start live stat --json 1
tracer_start rec record -o /tmp/rec.vtr --interval 0.1
wl single single --name guest=rec-vm,debug-threads=on --uuid 5A2B3C4D-1111-2222-3333-444455556666
wl storm storm --iterations 200
# a snapshot between two scenarios, however fast the guest: ./check splits windows there
flushed /tmp/rec.vtr
wl multidev multidev --devices 3 --iterations 10
wl multicontainer multicontainer --containers 2 --devices 1 --iterations 10
wl retry retry --fault-k 3 --iterations 5
wl nocb nocb-pin --iterations 5
wl lifecycle lifecycle --iterations 5
tracer_stop rec
tracer_stop live
cp /tmp/rec.vtr "$LAB_OUT/rec.vtr" || fail "no recording"
vfio-trace report /tmp/rec.vtr --json > "$LAB_OUT/guest-report.json" 2> "$LAB_OUT/guest-report.err"
echo $? > "$LAB_OUT/guest-report.rc"

# Killed: SIGKILL once a snapshot taken after the workload ended is in the file; report must
# read the file, exit 0 and say it was cut short.
tracer_start kill record -o /tmp/kill.vtr --interval 0.5
wl killed multidev --devices 2 --iterations 5
flushed /tmp/kill.vtr
kill -KILL "$pid_kill"; wait "$pid_kill"
cp /tmp/kill.vtr "$LAB_OUT/kill.vtr"
vfio-trace report /tmp/kill.vtr --json > "$LAB_OUT/kill-report.json" 2> "$LAB_OUT/kill-report.err"
echo $? > "$LAB_OUT/kill-report.rc"
# -p 1: nothing of the workload's, neither events (filtered in the kernel) nor totals.
tracer_start p1 record -o /tmp/p1.vtr -p 1
wl p1 single
tracer_stop p1
cp /tmp/p1.vtr "$LAB_OUT/p1.vtr"

# --duration: the recorder ends by itself, the file complete (an end marker).
tracer_start dur record -o /tmp/dur.vtr --duration 2 --interval 0.5
wl dur single
wait "$pid_dur"; echo $? > "$LAB_OUT/dur.rc"
cp /tmp/dur.vtr "$LAB_OUT/dur.vtr"

# --locks: the holds, waits and drops of the vfio locks between the calls they cover (./check
# nests them in report --chrome-trace).
tracer_start locks record -o /tmp/locks.vtr --locks
wl locks multidev --devices 2 --iterations 5
tracer_stop locks
cp /tmp/locks.vtr "$LAB_OUT/locks.vtr"
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
