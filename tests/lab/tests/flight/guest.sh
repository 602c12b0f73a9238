#!/bin/sh
# record --locks, report top/hist/locks, and the flight recorder (record --max-size) on the
# real kernel. A recording with --locks next to a live `locks --json` and `stat --json`;
# then a flight recorder of 64 KiB through three storms, a SIGUSR1 snapshot between the
# second and the third and one after the third, killed with SIGKILL at the end; on 6.12, the size of a 60 s storm.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 || fail "cannot load the test module"

# where FILE: "SEGMENT SNAPSHOTS" of the flight recorder's newest segment now (a read that
# meets a block being written, or the moment of a rotation, fails: read again)
where() {
	until vfio-trace report "$1" info --json > /tmp/where.json 2>/dev/null; do sleep 0.1; done
	_seg=$(sed -n 's/.*"segment":\([0-9]*\).*/\1/p' /tmp/where.json)
	echo "${_seg:-0} $(sed -n 's/.*"snapshots":\([0-9]*\).*/\1/p' /tmp/where.json)"
}
# flushed FILE: wait until FILE holds a snapshot taken after this call (two more intervals,
# or a newer segment with two of its own)
flushed() {
	_f=$1
	set -- $(where "$_f")
	_s0=$1 _n0=$2 _i=0
	while :; do
		set -- $(where "$_f")
		[ "$1" -gt "$_s0" ] && [ "$2" -ge 2 ] && break
		[ "$1" -eq "$_s0" ] && [ "$2" -ge $((_n0 + 2)) ] && break
		_i=$((_i + 1)); [ $_i -gt 600 ] && fail "no snapshot flushed to $_f"
		sleep 0.1
	done
}

# --locks: the recording's locks table against a live locks and stat
tracer_start livelocks locks --json
tracer_start livestat stat --json 1
tracer_start rec record --locks -o /tmp/locks.vtr --interval 0.2
wl multidev multidev --devices 2 --maps 2 --iterations 5 --delay-us 2000
wl threads threads --threads 3 --iterations 10 --delay-us 1000
tracer_stop rec
tracer_stop livelocks
tracer_stop livestat
cp /tmp/locks.vtr "$LAB_OUT/locks.vtr" || fail "no recording"

# the flight recorder
tracer_start fl record -o /tmp/fl.vtr --max-size 64K --interval 0.2
wl fl1 storm --iterations 300
flushed /tmp/fl.vtr
wl fl2 storm --iterations 300
flushed /tmp/fl.vtr
kill -USR1 "$pid_fl"
wait_line "$LAB_OUT/fl.err" "snapshot of the recording in" 60 || fail "no SIGUSR1 snapshot"
wl fl3 storm --iterations 600
flushed /tmp/fl.vtr
# a second one, whose oldest segment starts with a baseline
kill -USR1 "$pid_fl"
_i=0
until [ "$(grep -c 'snapshot of the recording in' "$LAB_OUT/fl.err")" -ge 2 ]; do
	_i=$((_i + 1)); [ $_i -gt 600 ] && fail "no second SIGUSR1 snapshot"
	sleep 0.1
done
kill -KILL "$pid_fl"; wait "$pid_fl"
ls -l /tmp/fl.vtr* > "$LAB_OUT/fl.ls"
cp /tmp/fl.vtr* "$LAB_OUT/" || fail "no flight recording"

# the size of a 60 s storm (one kernel: it takes minutes under TCG)
case "$(uname -r)" in 6.12.*+deb12-amd64) # Debian's 6.12, whatever its ABI
	tracer_start storm60 record -o /tmp/storm60.vtr --ringbuf-pages 4096
	wl storm60 storm --duration 60 --devices 2
	tracer_stop storm60
	stat -c %s /tmp/storm60.vtr > "$LAB_OUT/storm60.size"
	vfio-trace report /tmp/storm60.vtr info --json > "$LAB_OUT/storm60.info.json"
	vfio-trace report /tmp/storm60.vtr --json > "$LAB_OUT/storm60.report.json"
	rm -f /tmp/storm60.vtr
	;;
esac
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
