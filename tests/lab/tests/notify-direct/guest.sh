#!/bin/sh
# vfio_notify_dma_unmap and vfio_dma_do_unmap measured directly where they are symbols, and
# the other ways over the same calls: notifies reconstructed from the drivers' dma_unmap
# callbacks (VFIO_TRACE_RECONSTRUCT_NOTIFY=1), unmaps measured at the ioctl
# (VFIO_TRACE_RECONSTRUCT_UNMAP=1). Every kernel: doctor's method for both, plain and with the
# variables. Where the symbols are there (the lab's 6.12.*-vt-iommufd): per run two stat
# --json tracers at once, one direct and one with both variables, started before the
# workload, which then runs at once (vt_traced's way); ./check wants both to count exactly the
# workload's unmaps, notifies and retries, and the other ways' windows around the direct ones.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 || fail "cannot load the test module"
vfio-trace doctor --json > "$LAB_OUT/doctor.json"; echo $? > "$LAB_OUT/doctor.rc"
VFIO_TRACE_RECONSTRUCT_NOTIFY=1 VFIO_TRACE_RECONSTRUCT_UNMAP=1 vfio-trace doctor --json \
	> "$LAB_OUT/doctor-forced.json"
echo $? > "$LAB_OUT/doctor-forced.rc"
vfio-trace doctor > "$LAB_OUT/doctor.txt" 2>&1

# both_traced NAME SCENARIO [WORKLOAD OPTIONS...]: NAME.direct and NAME.recon (the tracers'
# stdout, .err, .rc), NAME.wl.json, NAME.wl.rc; "NAME UPTIME" appended to /out/scenarios.
both_traced() {
	_n=$1 _sc=$2; shift 2
	vfio-trace stat --json 1 > "$LAB_OUT/$_n.direct" 2> "$LAB_OUT/$_n.direct.err" &
	_dpid=$!
	VFIO_TRACE_RECONSTRUCT_NOTIFY=1 VFIO_TRACE_RECONSTRUCT_UNMAP=1 \
		vfio-trace stat --json 1 > "$LAB_OUT/$_n.recon" \
		2> "$LAB_OUT/$_n.recon.err" &
	_rpid=$!
	wait_line "$LAB_OUT/$_n.direct.err" tracing 120 || { kill $_dpid $_rpid; fail "$_n: direct tracer did not start"; }
	wait_line "$LAB_OUT/$_n.recon.err" tracing 120 || { kill $_dpid $_rpid; fail "$_n: reconstructing tracer did not start"; }
	vfio-workload "$_sc" "$@" --quiet --json "$LAB_OUT/$_n.wl.json" 2> "$LAB_OUT/$_n.wl.err"
	echo $? > "$LAB_OUT/$_n.wl.rc"
	kill -INT $_dpid $_rpid
	wait $_dpid; echo $? > "$LAB_OUT/$_n.direct.rc"
	wait $_rpid; echo $? > "$LAB_OUT/$_n.recon.rc"
	echo "$_n $(cut -d' ' -f1 /proc/uptime)" >> "$LAB_OUT/scenarios"
}

if kallsyms_has vfio_notify_dma_unmap vfio_iommu_type1; then
	note notify_symbol yes
	# a storm on two devices: every notify calls both callbacks
	both_traced storm storm --devices 2 --threads 2 --iterations 300
	# retries: device 0 faults 3 times before each unmap's first vfio_dma lets go
	both_traced retry retry --devices 2 --fault-k 3 --maps 3 --iterations 20
	# refused unmaps: one inside vfio_dma_do_unmap, one before it, per cycle
	both_traced errors multidev --devices 2 --maps 2 --iterations 10 --bad-unmaps
	# the kprobe twins of the direct programs
	VFIO_TRACE_NO_FENTRY=1 vfio-trace stat --json 1 > "$LAB_OUT/kprobe.trace" \
		2> "$LAB_OUT/kprobe.trace.err" &
	_kpid=$!
	wait_line "$LAB_OUT/kprobe.trace.err" tracing 120 || { kill $_kpid; fail "kprobe tracer did not start"; }
	vfio-workload retry --devices 2 --fault-k 2 --maps 2 --iterations 10 --quiet \
		--json "$LAB_OUT/kprobe.wl.json" 2> "$LAB_OUT/kprobe.wl.err"
	echo $? > "$LAB_OUT/kprobe.wl.rc"
	kill -INT $_kpid; wait $_kpid; echo $? > "$LAB_OUT/kprobe.trace.rc"
else
	note notify_symbol no
fi
cat /sys/kernel/debug/kprobes/list > "$LAB_OUT/kprobes-after" 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
