#!/bin/sh
# lab test "ftrace": stat --backend ftrace (kprobe events in a tracefs instance of its own, no
# BPF) over the workload's scenarios: its totals must equal the workload's own counters exactly
# (checked on the host by ./check), as stat's (BPF) do; once both backends side by side on one
# workload; a STORM alert; hist, top, snoop, record and export on the ftrace backend around one workload each; then a --backend ftrace run killed with SIGKILL: the next start must remove its
# instance and events, and doctor --cleanup those of another killed run.
. /lab/lib.sh
T=/sys/kernel/tracing
dmesg_mark
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"
S="stat --backend ftrace --json 1"
vt_traced single "$S" single
vt_traced storm "$S" storm --iterations 200
# the unmap-storm alert: 50 UNMAP_DMA/s for 3 s (longer than a storm window, 1 s) against a
# threshold of 10/s; paced, so the buffer never overflows
vt_traced storm-alert "stat --backend ftrace --json --storm-rate 10 1" rate --rate 50 --iterations 150
vt_traced small "$S" small --maps 64 --iterations 2
vt_traced large "$S" large --iterations 2 --map-size 4M --pin-pages 16
vt_traced multidev "$S" multidev --devices 3 --iterations 10
vt_traced multicontainer "$S" multicontainer --containers 2 --devices 1 --iterations 10
vt_traced threads "$S" threads --threads 3 --iterations 10
vt_traced nopin "$S" nopin --iterations 20
vt_traced retry "$S" retry --fault-k 3 --iterations 5
vt_traced retry-storm "$S" retry --fault-k 6 --iterations 2
vt_traced nocb "$S" nocb-pin --iterations 5
vt_traced lifecycle "$S" lifecycle --iterations 5
vt_traced teardown "$S" multicontainer --containers 2 --devices 1 --iterations 3 --leave-mapped 2

# memory under a long storm: stat --backend ftrace through a 12 s storm (two cycle threads, as
# fast as they go), its peak RSS (VmHWM) read 2 s and 10 s into it; ./check wants the two
# within FT_RSS_MARGIN_KIB, and the counts exact or short by no more than the losses counted
# (as fast as they go, two threads can outrun the reader: not a scenario like the others)
vfio-trace stat --backend ftrace --json 1 > /out/rss-storm.trace 2> /out/rss-storm.trace.err &
rp=$!
wait_line /out/rss-storm.trace.err tracing 90 || fail "rss-storm: tracer did not start"
vfio-workload storm --duration 12 --threads 2 --quiet --json /out/rss-storm.wl.json \
	2> /out/rss-storm.wl.err &
wp=$!
sleep 2; note rss_hwm_2s "$(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/$rp/status)"
sleep 8; note rss_hwm_10s "$(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/$rp/status)"
wait $wp; echo $? > /out/rss-storm.wl.rc
kill -INT $rp; wait $rp; echo $? > /out/rss-storm.trace.rc

# a buffer that overruns for certain (16 KiB per CPU) under a storm: the loss counted, and no
# operation made up from what is left (./check: nothing over the workload, short by no more
# than the losses, some lost). Three storms (a made-up retry came once in three runs of a
# 512 KiB buffer before a gap was a gap in time for every CPU), then a storm of retries
# (fault_k 3: each unmap's vfio_dma notified 4 times), whose retries must never be more than
# the workload's.
overrun() { # NAME WORKLOAD ARGS...
	_n=$1; shift
	VFIO_TRACE_FTRACE_BUFFER_KB=16 vfio-trace stat --backend ftrace --json 1 \
		> /out/$_n.trace 2> /out/$_n.trace.err &
	_p=$!
	wait_line /out/$_n.trace.err tracing 90 || fail "$_n: tracer did not start"
	vfio-workload "$@" --quiet --json /out/$_n.wl.json 2> /out/$_n.wl.err
	echo $? > /out/$_n.wl.rc
	kill -INT $_p; wait $_p; echo $? > /out/$_n.trace.rc
}
for i in 1 2 3; do
	overrun overrun-$i storm --duration 4 --threads 2
done
overrun overrun-retry retry --fault-k 3 --threads 2 --duration 4

# both backends at once on one workload; 1,000 unmaps, so that p99 is a percentile and not the
# slowest unmap (the first ones, translated by TCG for the first time, take ~7 ms)
vfio-trace stat --json 1 > /out/both.bpf 2> /out/both.bpf.err &
bp=$!
vfio-trace stat --backend ftrace --json 1 > /out/both.trace 2> /out/both.trace.err &
fp=$!
wait_line /out/both.bpf.err tracing 90 || fail "both: BPF tracer did not start"
wait_line /out/both.trace.err tracing 90 || fail "both: ftrace tracer did not start"
vfio-workload multidev --devices 2 --iterations 250 --quiet --json /out/both.wl.json 2> /out/both.wl.err
echo $? > /out/both.wl.rc
kill -INT $bp $fp; wait $bp; echo $? > /out/both.bpf.rc; wait $fp; echo $? > /out/both.trace.rc
echo both >> /out/scenarios
# and through hist, whose whole histograms give p90 (./check: why not p99)
vfio-trace hist --json > /out/both-hist.bpf 2> /out/both-hist.bpf.err &
bp=$!
vfio-trace hist --backend ftrace --json > /out/both-hist.ftrace 2> /out/both-hist.ftrace.err &
fp=$!
wait_line /out/both-hist.bpf.err tracing 90 || fail "both-hist: BPF tracer did not start"
wait_line /out/both-hist.ftrace.err tracing 90 || fail "both-hist: ftrace tracer did not start"
vfio-workload multidev --devices 2 --iterations 250 --quiet --json /out/both-hist.wl.json \
	2> /out/both-hist.wl.err
echo $? > /out/both-hist.wl.rc
kill -INT $bp $fp; wait $bp; echo $? > /out/both-hist.bpf.rc; wait $fp
echo $? > /out/both-hist.ftrace.rc

# hist and top on the ftrace backend: around one workload each (not scenarios: their own
# documents, checked apart)
traced_apart() { # NAME "COMMAND ARGS" WORKLOAD ARGS...
	_n=$1 _c=$2; shift 2
	vfio-trace $_c > /out/$_n.out 2> /out/$_n.err &
	_p=$!
	wait_line /out/$_n.err tracing 90 || fail "$_n: tracer did not start"
	vfio-workload "$@" --quiet --json /out/$_n.wl.json 2> /out/$_n.wl.err
	echo $? > /out/$_n.wl.rc
	kill -INT $_p; wait $_p; echo $? > /out/$_n.rc
}
traced_apart hist "hist --backend ftrace --json" multidev --devices 2 --maps 2 --iterations 5 \
	--delay-us 2000
traced_apart top "top --backend ftrace --json 1" multidev --devices 3 --iterations 10
# per-event output on the ftrace backend: snoop's events, and a recording
traced_apart snoop-multidev "snoop --backend ftrace --json" multidev --devices 2 --iterations 10
traced_apart snoop-retry "snoop --backend ftrace --json" retry --fault-k 3 --iterations 3
traced_apart record "record --backend ftrace -o /out/ftrace.vtr" multidev --devices 2 --iterations 5
# export on the ftrace backend, with lock tracking: its textfile, written every 0.5 s, once
# the workload is over (1 s later) holds the workload's counts
mkdir -p /run/xtf
vfio-trace export --backend ftrace --locks --textfile /run/xtf --interval 0.5 \
	> /out/export.out 2> /out/export.err &
xp=$!
wait_line /out/export.err tracing 90 || fail "export: tracer did not start"
vfio-workload multidev --devices 2 --iterations 5 --quiet --json /out/export.wl.json \
	2> /out/export.wl.err
echo $? > /out/export.wl.rc
sleep 1.5
cp /run/xtf/vfio_trace.prom /out/export.prom
kill -INT $xp; wait $xp; echo $? > /out/export.rc

# killed: SIGKILL leaves the instance and the events; the next start removes them
leftovers() { # what of run $1 tracefs holds: instances, then kprobe events
	ls $T/instances 2>/dev/null | grep -c "^vfio_trace_$1\$"
	grep -c "vfio_trace_$1/" $T/kprobe_events
}
vfio-trace stat --backend ftrace 1 > /out/killed.trace 2> /out/killed.trace.err &
kp=$!
wait_line /out/killed.trace.err tracing 90 || fail "killed: tracer did not start"
note killed_before "$(leftovers $kp | tr '\n' ' ')"
kill -KILL $kp; wait $kp 2>/dev/null
note killed_after_kill "$(leftovers $kp | tr '\n' ' ')"
vfio-trace stat --backend ftrace 1 > /out/next.trace 2> /out/next.trace.err &
np=$!
wait_line /out/next.trace.err tracing 90 || fail "next: tracer did not start"
note killed_after_next_start "$(leftovers $kp | tr '\n' ' ')"
kill -INT $np; wait $np; note next_rc $?
note next_after_exit "$(leftovers $np | tr '\n' ' ')"
# doctor --cleanup removes a killed run's leftovers too
vfio-trace stat --backend ftrace 1 > /out/killed2.trace 2> /out/killed2.trace.err &
kp=$!
wait_line /out/killed2.trace.err tracing 90 || fail "killed2: tracer did not start"
kill -KILL $kp; wait $kp 2>/dev/null
note killed2_after_kill "$(leftovers $kp | tr '\n' ' ')"
vfio-trace doctor --cleanup > /out/doctor.out 2> /out/doctor.err
note killed2_after_doctor "$(leftovers $kp | tr '\n' ' ')"
# nothing of any run left
note all_left "$(ls $T/instances | grep -c vfio_trace_) $(grep -c vfio_trace_ $T/kprobe_events)"
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
