#!/bin/sh
# lab test "reload": an operator updates the VFIO modules under a running exporter (and a
# stat --kprobe). Workloads
# run, then vfio_dmatest, vfio_iommu_type1 and vfio are unloaded (rmmod must not find them "in
# use") and loaded again, and more workloads run at once, as a VM started right after
# `modprobe` returns would (nothing waits for the exporter). The exporter must say what went
# and came back, and its counters must hold both halves exactly (checked on the host).
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load the test module"
mkdir -p /run/textfile
vfio-trace export --textfile /run/textfile --interval 0.5 --health 1 \
	> /out/export.out 2> /out/export.err &
xp=$!
wait_line /out/export.err tracing 90 || fail "the exporter did not start"
# Any tracing command with kprobes follows a reload too (stat --kprobe, beside the exporter).
vfio-trace stat --kprobe --json 1 > /out/stat.json 2> /out/stat.err &
sp=$!
wait_line /out/stat.err tracing 90 || fail "stat did not start"
wl before-storm storm --iterations 300 --name before
wl before-teardown multidev --devices 2 --iterations 20 --leave-mapped 2
# Unload and load again (tests/lab/guest-lib.sh). The exporter sees the unloads on its own
# time; the reloads do not wait for it (the loaders are held until it has attached again).
vfio_modules_reload ndev=4 ndev_nocb=1
wl after-storm storm --iterations 300 --name after
wl after-retry retry --fault-k 3 --iterations 5
wl after-teardown multidev --devices 3 --iterations 10 --leave-mapped 3
wl after-einval nocb-pin --iterations 5
# Three updates of the textfile after the last workload: it holds everything.
sleep 2
cp /run/textfile/vfio_trace.prom /out/final.prom
kill -INT $xp
wait $xp
echo $? > /out/export.rc
kill -INT $sp
wait $sp
echo $? > /out/stat.rc
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
