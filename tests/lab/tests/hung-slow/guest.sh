#!/bin/sh
# vfio-trace hung on finite waits (vfio-workload slow-notify): while an unmap's notify round
# sleeps in the callbacks, a device open (register) waits for device_list_lock and a pin waits
# for iommu->lock behind it: STUCK with --threshold 1, never DEADLOCK; when everything has
# returned, nothing is stuck (exit 0).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=3 || fail "cannot load the test module"
note start_uptime "$(cut -d' ' -f1 /proc/uptime)"
vfio-workload slow-notify --quiet --delay-us 5000000 --json /out/wl.json \
	--ready-file /tmp/.waiting > /out/wl.out 2> /out/wl.err < /dev/null &
wpid=$!
wait_file /tmp/.waiting 60 || fail "workload never reached the waits: $(cat /out/wl.err)"
cp /out/wl.json /out/wl-during.json
sleep 1
vfio-trace hung --threshold 1 --json > /out/during.json 2> /out/during.err
echo $? > /out/during.rc
note during_done_uptime "$(cut -d' ' -f1 /proc/uptime)"
vfio-trace hung --threshold 1 > /out/during.txt 2>&1
echo $? > /out/during-text.rc
wait $wpid
echo $? > /out/wl.rc
vfio-trace hung --threshold 1 --json > /out/after.json 2> /out/after.err
echo $? > /out/after.rc
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
