#!/bin/sh
# Guest side of tests/lab/readme-samples (make readme-samples): real output of the commands
# the README shows, from the real kernel. Four devices; two VMs-to-be: a 2-device container
# whose driver callbacks take 200 us (multidev) and a storm on a third device; then the two
# kinds of hang vfio-trace hung explains: a slow notify (STUCK) and the ABBA deadlock (last:
# the guest stays wedged and /init powers it off).
. /lab/lib.sh
S=/out/samples
mkdir -p $S
dmatest_load ndev=4 >/dev/null || fail "cannot load the test module"
vfio-trace doctor > $S/doctor.txt 2>&1 || fail "doctor exited $?"
storms() {
	vfio-workload multidev --devices 2 --duration 6 --maps 4 --delay-us 200 -q --json /dev/null &
	_m=$!
	vfio-workload storm --first-dev 2 --duration 6 -q --json /dev/null
	wait $_m	# only the workload: the tracer of the moment runs in the background too
}
# one tracer at a time, each started before the workloads and given a few seconds' view
vfio-trace top -b 2 2 > $S/top-b.txt 2> /tmp/top.err &
t=$!; wait_line /tmp/top.err tracing 90 || fail "top did not start: $(cat /tmp/top.err)"
storms; wait $t || fail "top exited $?"
vfio-trace stat 1 4 > $S/stat.txt 2> /tmp/stat.err &
t=$!; wait_line /tmp/stat.err tracing 90 || fail "stat did not start"
storms; wait $t || fail "stat exited $?"
vfio-trace hist > $S/hist.txt 2> /tmp/hist.err &
t=$!; wait_line /tmp/hist.err tracing 90 || fail "hist did not start"
storms; kill -INT $t; wait $t || fail "hist exited $?"
dmatest_unload >/dev/null; dmatest_load ndev=3 >/dev/null || fail "reload"
vfio-workload slow-notify --quiet --delay-us 5000000 --json /tmp/slow.json \
	--ready-file /tmp/.waiting > /dev/null 2>&1 < /dev/null &
w=$!
wait_file /tmp/.waiting 60 || fail "slow-notify never reached its waits"
sleep 1
vfio-trace hung --threshold 1 > $S/hung-stuck.txt 2>&1; echo "exit $?" >> /out/hung.rc
wait $w
dmatest_unload >/dev/null; dmatest_load ndev=1 >/dev/null || fail "reload"
vfio-workload deadlock --quiet --json /tmp/dl.json --ready-file /tmp/.unmapping --duration 600 \
	> /dev/null 2>&1 < /dev/null &
wait_file /tmp/.unmapping 60 || fail "deadlock workload never unmapped"
sleep 3
vfio-trace hung > $S/hung-deadlock.txt 2>&1; echo "exit $?" >> /out/hung.rc
exit 0
