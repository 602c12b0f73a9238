#!/bin/sh
# Unmap-storm alerts on the real kernel: two processes unmap, one at a paced 50/s (a quiet VM,
# already running when the tracers start), one as fast as it can (vfio-workload storm, two
# cycle threads; its main thread waits for them in the kernel, so it has a stack to show). A live
# `stat --json --syslog` and a `record` trace both; ./check wants exactly one STORM alert, for
# the storming process, in stat's JSON stream, its stderr, syslog and the recording (and in
# report's own detection on the recorded snapshots), none for the quiet one, with counts that
# agree with the workloads' own. --storm-rate 1000, not the default 2000: under TCG with two
# tracers attached the 6.1 guest's storm averaged 1,450 UNMAP_DMA/s (docs/BENCHMARKS.md); the
# quiet one stays at 50/s, under half of either.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=2 || fail "cannot load the test module"
syslogd -n -O "$LAB_OUT/syslog.txt" &
syslog_pid=$!

# the quiet VM: 50 UNMAP_DMA a second for a minute, under way before any tracer
vfio-workload rate --duration 60 --first-dev 1 --quiet --json "$LAB_OUT/quiet.wl.json" \
	2> "$LAB_OUT/quiet.wl.err" &
quiet_pid=$!

vfio-trace stat --json --syslog --storm-rate 1000 1 > "$LAB_OUT/stat.out" 2> "$LAB_OUT/stat.err" &
stat_pid=$!
wait_line "$LAB_OUT/stat.err" tracing 90 || fail "stat did not start"
vfio-trace record -o /tmp/storm.vtr --storm-rate 1000 > "$LAB_OUT/rec.out" 2> "$LAB_OUT/rec.err" &
rec_pid=$!
wait_line "$LAB_OUT/rec.err" tracing 90 || fail "record did not start"
note storm_start "$(cut -d' ' -f1 /proc/uptime)"
vfio-workload storm --duration 6 --threads 2 --quiet --json "$LAB_OUT/storm.wl.json" 2> "$LAB_OUT/storm.wl.err"
echo $? > "$LAB_OUT/storm.wl.rc"
note storm_end "$(cut -d' ' -f1 /proc/uptime)"
wait $quiet_pid; echo $? > "$LAB_OUT/quiet.wl.rc"
note quiet_end "$(cut -d' ' -f1 /proc/uptime)"
kill -INT $rec_pid; wait $rec_pid; echo $? > "$LAB_OUT/rec.rc"
kill -INT $stat_pid; wait $stat_pid; echo $? > "$LAB_OUT/stat.rc"
kill $syslog_pid
cp /tmp/storm.vtr "$LAB_OUT/storm.vtr" || fail "no recording"
vfio-trace report /tmp/storm.vtr > "$LAB_OUT/report.txt" 2> "$LAB_OUT/report.err"
echo $? > "$LAB_OUT/report.rc"
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
