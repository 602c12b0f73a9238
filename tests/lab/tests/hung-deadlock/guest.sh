#!/bin/sh
# vfio-trace hung after a real kernel deadlock: two threads of one container unmap pinned
# vfio_dma at the same moment (vfio-workload deadlock). The workload stays stuck in D state
# for good, so this script does not wait for it: it saves what vfio-trace saw and exits 0;
# /init ships /out and powers the guest off (the stuck tasks cannot be reaped).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=1 || fail "cannot load the test module"
note start_uptime "$(cut -d' ' -f1 /proc/uptime)"
vfio-workload deadlock --quiet --json /out/wl.json --ready-file /tmp/.unmapping --duration 600 \
	> /out/wl.out 2> /out/wl.err < /dev/null &
wpid=$!
wait_file /tmp/.unmapping 60 || fail "workload never started unmapping: $(cat /out/wl.err)"
note unmap_uptime "$(cut -d' ' -f1 /proc/uptime)"
# the moment both unmap threads are seen asleep in D state: they stopped running before it
_i=0
while [ "$(grep -l '^State:.*D' /proc/$wpid/task/*/status 2>/dev/null | wc -l)" -lt 2 ]; do
	_i=$((_i + 1)); [ $_i -gt 600 ] && fail "the unmap threads never blocked"; sleep 0.1
done
note blocked_seen_uptime "$(cut -d' ' -f1 /proc/uptime)"
sleep 3
note hung_start_uptime "$(cut -d' ' -f1 /proc/uptime)"
vfio-trace hung --json > /out/hung.json 2> /out/hung.err
echo $? > /out/hung.rc
vfio-trace hung > /out/hung.txt 2>&1
echo $? > /out/hung-text.rc
note done_uptime "$(cut -d' ' -f1 /proc/uptime)"
# the stack fallback (/proc/<pid>/task/<tid>/stack) must give the same picture
VFIO_TRACE_HUNG_PROC_STACKS=1 vfio-trace hung --json > /out/hung-proc.json 2> /out/hung-proc.err
echo $? > /out/hung-proc.rc
note proc_done_uptime "$(cut -d' ' -f1 /proc/uptime)"
dump_stacks stacks.txt
exit 0
