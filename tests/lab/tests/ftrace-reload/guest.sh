#!/bin/sh
# lab test "ftrace-reload": the VFIO modules unloaded and loaded again under a running
# stat --backend ftrace (kprobe events in a tracefs instance): rmmod must not find them "in
# use", the tracer says what went and came back, and its totals hold both halves exactly
# (checked on the host). Workloads after the reload start as soon as modprobe returns.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load the test module"
vfio-trace stat --backend ftrace --json 1 > /out/stat.json 2> /out/stat.err &
sp=$!
wait_line /out/stat.err tracing 90 || fail "stat did not start"
wl before-storm storm --iterations 300 --name before
wl before-teardown multidev --devices 2 --iterations 20 --leave-mapped 2
vfio_modules_reload ndev=4 ndev_nocb=1
wl after-storm storm --iterations 300 --name after
wl after-retry retry --fault-k 3 --iterations 5
wl after-teardown multidev --devices 3 --iterations 10 --leave-mapped 3
wl after-einval nocb-pin --iterations 5
sleep 1
kill -INT $sp
wait $sp
echo $? > /out/stat.rc
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
