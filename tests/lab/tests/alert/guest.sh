#!/bin/sh
# The live ABBA alert: tracers started first (locks on both backends, snoop, stat), then the real
# deadlock (vfio-workload deadlock). Each tracer must print the DEADLOCK line naming both
# unmap threads and the container as the cycle closes. The workload never ends: the script
# saves what it saw and exits; /init powers the wedged guest off.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=1 || fail "cannot load the test module"
note hung_task_timeout "$(cat /proc/sys/kernel/hung_task_timeout_secs)"
# One at a time: attaching trampolines to mutex_lock from two processes at once has wedged
# the emulated 6.1 guest (soft lockups in the attaching vfio-trace).
vfio-trace locks > /out/locks.out 2> /out/locks.err &
wait_line /out/locks.err tracing 90 || fail "locks did not start"
vfio-trace snoop --json > /out/snoop.out 2> /out/snoop.err &
wait_line /out/snoop.err tracing 90 || fail "snoop did not start"
vfio-trace stat 1 > /out/stat.out 2> /out/stat.err &
wait_line /out/stat.err tracing 90 || fail "stat did not start"
vfio-trace locks --backend ftrace > /out/locks-ftrace.out 2> /out/locks-ftrace.err &
wait_line /out/locks-ftrace.err tracing 90 || fail "locks --backend ftrace did not start"
vfio-workload deadlock --quiet --json /out/wl.json --ready-file /tmp/.unmapping --duration 600 \
	> /out/wl.out 2> /out/wl.err < /dev/null &
wait_file /tmp/.unmapping 60 || fail "workload never started unmapping: $(cat /out/wl.err)"
note unmap_uptime "$(cut -d' ' -f1 /proc/uptime)"
for f in locks snoop stat locks-ftrace; do
	wait_line /out/$f.err DEADLOCK 20 && note alert_${f}_uptime "$(cut -d' ' -f1 /proc/uptime)"
done
sleep 1
vfio-trace hung --json > /out/hung.json 2> /out/hung.err; echo $? > /out/hung.rc
dump_stacks stacks.txt
exit 0
