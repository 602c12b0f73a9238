#!/bin/sh
# lab test "iommufd-only": a host whose VMs use only /dev/iommu + VFIO cdev, where
# vfio_iommu_type1 is never loaded. The test module's dependencies are loaded, then
# vfio_iommu_type1 unloaded if it came with them; doctor must find the BPF backend usable
# (type1's points: module not loaded; iommufd's attached), and stat, top, snoop, hist, locks,
# record and export must run over cdev + iommufd scenarios, stat's totals equal to the workload's counters
# (./check), and stat --backend ftrace's over three of them ("ft-"). On a kernel without iommufd
# (Debian's) only the note is written.
. /lab/lib.sh
if ! grep -q iommufd "$LAB_MODDIR/modules.dep" 2>/dev/null; then
	note iommufd absent
	exit 0
fi
dmatest_load ndev=4 || fail "cannot load the test module"
if module_loaded vfio_iommu_type1; then
	rmmod vfio_iommu_type1 || fail "cannot unload vfio_iommu_type1"
fi
module_loaded vfio_iommu_type1 && fail "vfio_iommu_type1 still loaded"
[ -c /dev/iommu ] || fail "no /dev/iommu with iommufd in modules.dep"
note iommufd present
dmesg_mark
vfio-trace doctor --json > "$LAB_OUT/doctor.json" 2> "$LAB_OUT/doctor.err"
echo $? > "$LAB_OUT/doctor.rc"
S="stat --json 1"
vt_traced single "$S" single --iommufd
vt_traced multidev "$S" multidev --iommufd --devices 2 --maps 4 --iterations 10
vt_traced retry "$S" retry --iommufd --fault-k 3 --maps 2 --iterations 5
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced storm-kprobe "$S" storm --iommufd --iterations 50
vt_traced top "top -j 1" multidev --iommufd --devices 2 --maps 2 --iterations 10
vt_traced snoop "snoop" single --iommufd
vt_traced hist "hist" single --iommufd
vt_traced locks "locks" single --iommufd
vt_traced record "record -o /tmp/io.vtr --interval 0.1" single --iommufd
vfio-trace report /tmp/io.vtr --json > "$LAB_OUT/record.report" 2> "$LAB_OUT/record.report.err"
echo $? > "$LAB_OUT/record.report.rc"
vt_traced export "export --listen 127.0.0.1:9828 --interval 1" single --iommufd
# the ftrace backend (kprobe events, no BPF) starts on iommufd alone too
F="stat --backend ftrace --json 1"
vt_traced ft-single "$F" single --iommufd
vt_traced ft-multidev "$F" multidev --iommufd --devices 2 --maps 4 --iterations 10
vt_traced ft-retry "$F" retry --iommufd --fault-k 3 --maps 2 --iterations 5
module_loaded vfio_iommu_type1 && fail "something loaded vfio_iommu_type1"
# type1 loaded under a running tracer: it says its containers are not traced
vfio-trace stat 1 > "$LAB_OUT/late.trace" 2> "$LAB_OUT/late.trace.err" &
_lpid=$!
wait_line "$LAB_OUT/late.trace.err" tracing 90 || { kill $_lpid; fail "late: tracer did not start"; }
_t1=$(find "$LAB_MODDIR" -name vfio_iommu_type1.ko | head -1)
if [ -n "$_t1" ]; then
	insmod "$_t1" || fail "cannot load $_t1"
	wait_line "$LAB_OUT/late.trace.err" "vfio_iommu_type1 loaded after the start" 60
fi
kill -INT $_lpid; wait $_lpid; echo $? > "$LAB_OUT/late.trace.rc"
note late_type1 "${_t1:-none}"
# the same under the ftrace backend: type1 unloaded again, then loaded under it
if [ -n "$_t1" ]; then
	rmmod vfio_iommu_type1 || fail "cannot unload vfio_iommu_type1 again"
	vfio-trace stat --backend ftrace 1 > "$LAB_OUT/late-ft.trace" 2> "$LAB_OUT/late-ft.trace.err" &
	_lpid=$!
	wait_line "$LAB_OUT/late-ft.trace.err" tracing 90 || { kill $_lpid; fail "late-ft: tracer did not start"; }
	insmod "$_t1" || fail "cannot load $_t1"
	wait_line "$LAB_OUT/late-ft.trace.err" "vfio_iommu_type1 loaded after the start" 60
	kill -INT $_lpid; wait $_lpid; echo $? > "$LAB_OUT/late-ft.trace.rc"
fi
cat /sys/kernel/debug/kprobes/list > "$LAB_OUT/kprobes-after" 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
