#!/bin/sh
# vfio-trace hung after a real kernel deadlock: two threads of one container unmap pinned
# vfio_dma at the same moment (vfio-workload deadlock). The workload stays stuck in D state
# for good, so this script does not wait for it: it saves what vfio-trace saw and exits 0;
# /init ships /out and powers the guest off (the stuck tasks cannot be reaped).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=1 || fail "cannot load the test module"
vfio-workload deadlock --quiet --json /out/wl.json --ready-file /tmp/.unmapping --duration 600 \
	> /out/wl.out 2> /out/wl.err < /dev/null &
wait_file /tmp/.unmapping 60 || fail "workload never started unmapping: $(cat /out/wl.err)"
note unmap_uptime "$(cut -d' ' -f1 /proc/uptime)"
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
