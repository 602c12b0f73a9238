#!/bin/sh
# lab test "ftrace-reload": the VFIO modules unloaded and loaded again under a running
# stat --backend ftrace (kprobe events in a tracefs instance): rmmod must not find them "in
# use", the tracer says what went and came back, and its totals hold both halves exactly
# (checked on the host). Workloads after the reload start as soon as modprobe returns.
# Beside it from the start, locks --backend ftrace: its lock counts the kernel source's, or
# short only by operations it counted lost while its filter moved to a reloaded module.
# Then a driver module first loaded under it (issue #17): vfio_dmatest2, its own dma_unmap
# function, installed (modules.dep) but not loaded when stat started, so its events were made
# at the start and the kernel arms them at its load; its workload starts the moment insmod
# returns. Beside it, while the module loads: stat on the BPF backend, a second ftrace stat
# ("late") started while modules.dep did not list the module, so it must probe it after the
# load, and a recording on each backend, in which a QEMU-like process (-name guest=late-vm)
# must be named late-vm. The late stat is stopped (SIGSTOP) from before the load until the
# first two late workloads are done: it reads the load after all their unmaps, each of which
# it must count as possibly missed (lost.module_loader_not_held), and the third workload,
# after it said it probed the callbacks, exactly.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load the test module"
vfio-trace stat --backend ftrace --json 1 > /out/stat.json 2> /out/stat.err &
sp=$!
wait_line /out/stat.err tracing 90 || fail "stat did not start"
# and lock times on the ftrace backend across it all: their filter follows each module's load
tracer_start locks locks --backend ftrace --json
wl before-storm storm --iterations 300 --name before
wl before-teardown multidev --devices 2 --iterations 20 --leave-mapped 2
vfio_modules_reload ndev=4 ndev_nocb=1
wl after-storm storm --iterations 300 --name after
wl after-retry retry --fault-k 3 --iterations 5
wl after-teardown multidev --devices 3 --iterations 10 --leave-mapped 3
wl after-einval nocb-pin --iterations 5
D2=$LAB_MODDIR/extra/vfio_dmatest2.ko
module_loaded vfio_dmatest2 && fail "vfio_dmatest2 already loaded"
cp $LAB_MODDIR/modules.dep /tmp/modules.dep
sed -i '/vfio_dmatest2/d' $LAB_MODDIR/modules.dep
tracer_start late stat --backend ftrace --json 1
cp /tmp/modules.dep $LAB_MODDIR/modules.dep
tracer_start bpf stat --json 1
tracer_start ftrec record --backend ftrace -o /out/late-ftrace.vtr --interval 0.5
tracer_start bpfrec record -o /out/late-bpf.vtr --interval 0.5
kill -STOP $pid_late
insmod "$D2" ndev=2 || fail "cannot insmod vfio_dmatest2"
wl late-module multidev --driver vfio_dmatest2 --devices 2 --iterations 5 --leave-mapped 1
# a VM lives on after it opens its device (QEMU for the VM's life): the ftrace backend reads
# its command line from /proc when it reads the register record, the BPF side at the register
wl late-vm single --driver vfio_dmatest2 --iterations 3 --hold 2 \
	--name guest=late-vm,debug-threads=on
kill -CONT $pid_late
wait_line /out/late.err "vfio_dmatest2 loaded: .* callbacks probed" 90 ||
	fail "the late ftrace stat did not probe vfio_dmatest2's callbacks"
wl late-after multidev --driver vfio_dmatest2 --devices 2 --iterations 4
sleep 1
for t in bpfrec ftrec bpf late locks; do tracer_stop $t; done
# unloaded under the first stat: its events wait for it, holding nothing
rmmod vfio_dmatest2 || fail "rmmod vfio_dmatest2 under stat --backend ftrace failed"
sleep 1
kill -INT $sp
wait $sp
echo $? > /out/stat.rc
# a run killed with its events on a module not loaded: the next start removes them
vfio-trace stat --backend ftrace --json 1 > /out/killed.out 2> /out/killed.err &
kp=$!
wait_line /out/killed.err tracing 90 || fail "killed: tracer did not start"
grep -c "^[pr].*:vfio_trace_$kp/cb.* vfio_dmatest2:" /sys/kernel/tracing/dynamic_events \
	> /out/killed.prearmed
kill -KILL $kp; wait $kp 2>/dev/null
vfio-trace doctor --cleanup > /dev/null 2> /out/cleanup.err
grep -c vfio_trace_ /sys/kernel/tracing/dynamic_events > /out/leftover-events
ls /sys/kernel/tracing/instances | grep -c vfio_trace_ > /out/leftover-instances
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
