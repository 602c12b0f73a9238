#!/bin/sh
# lab test "iommufd-stat": vfio-trace stat --json (and top -j) over vfio-workload --iommufd
# scenarios (VFIO device cdev + /dev/iommu, no type1 container): the tracer's totals must
# equal the workload's own counters exactly (./check). past-limit: every cycle's one
# IOMMU_IOAS_UNMAP over 150 contiguous pinned areas fails with EDEADLOCK after 100 (a kernel
# WARN): exactly one RETRY LIMIT alert each. The same scenarios again under stat --backend
# ftrace (kprobe events, no BPF; "ft-" scenarios), and both backends at once over one workload
# ("both-": NAME.bpf beside NAME.trace), whose counts must be equal. On a kernel without
# iommufd (Debian's): doctor reports the iommufd points not present, stat still traces a type1
# scenario on both backends, and neither says the iommufd path is not traced (it is absent).
. /lab/lib.sh
# both_traced NAME WORKLOAD ARGS...: stat on the BPF backend (NAME.bpf) and on the ftrace
# backend (NAME.trace) at once, around one workload
both_traced() {
	_n=$1; shift
	vfio-trace stat --json 1 > /out/$_n.bpf 2> /out/$_n.bpf.err &
	_bp=$!
	vfio-trace stat --backend ftrace --json 1 > /out/$_n.trace 2> /out/$_n.trace.err &
	_fp=$!
	wait_line /out/$_n.bpf.err tracing 90 || fail "$_n: BPF tracer did not start"
	wait_line /out/$_n.trace.err tracing 90 || fail "$_n: ftrace tracer did not start"
	vfio-workload "$@" --quiet --json /out/$_n.wl.json 2> /out/$_n.wl.err
	echo $? > /out/$_n.wl.rc
	kill -INT $_bp $_fp; wait $_bp; echo $? > /out/$_n.bpf.rc; wait $_fp; echo $? > /out/$_n.trace.rc
	echo "$_n $(cut -d' ' -f1 /proc/uptime)" >> /out/scenarios
}
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"
vfio-trace doctor --json > /out/doctor.json 2> /out/doctor.err
echo $? > /out/doctor.rc
S="stat --json 1"
if [ ! -c /dev/iommu ] || [ ! -d /sys/class/vfio-dev ]; then
	note iommufd absent
	dmesg_mark
	vt_traced type1-single "$S" single
	vt_traced type1-multidev "$S" multidev --devices 2 --iterations 5
	both_traced both-type1 multidev --devices 2 --iterations 5
	dmatest_unload || fail "rmmod failed"
	dmesg_clean || fail "kernel log has errors"
	exit 0
fi
note iommufd present
dmesg_mark
vt_traced single "$S" single --iommufd
vt_traced storm "$S" storm --iommufd --iterations 300
vt_traced small "$S" small --iommufd --maps 100 --iterations 2
vt_traced multidev "$S" multidev --iommufd --devices 3 --maps 4 --iterations 10
vt_traced multidev-range "$S" multidev --iommufd --devices 2 --maps 4 --iterations 5 --unmap range
vt_traced multicontainer "$S" multicontainer --iommufd --containers 2 --maps 2 --iterations 10
vt_traced threads "$S" threads --iommufd --threads 3 --maps 2 --iterations 10
vt_traced nopin "$S" nopin --iommufd --maps 2 --iterations 10
vt_traced retry "$S" retry --iommufd --fault-k 3 --maps 2 --iterations 5
vt_traced nocb "$S" nocb-pin --iommufd --iterations 5
vt_traced lifecycle "$S" lifecycle --iommufd --iterations 5
# 5 areas left mapped: the IOAS's destruction at close is one teardown of 5 areas
vt_traced leave-mapped "$S" multidev --iommufd --devices 2 --maps 2 --iterations 3 --leave-mapped 5
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced storm-kprobe "$S" storm --iommufd --iterations 100
vt_traced top-multidev "top -j 1" multidev --iommufd --devices 2 --maps 2 --iterations 10
# the ftrace backend over the same scenarios
F="stat --backend ftrace --json 1"
vt_traced ft-single "$F" single --iommufd
vt_traced ft-storm "$F" storm --iommufd --iterations 300
vt_traced ft-small "$F" small --iommufd --maps 100 --iterations 2
vt_traced ft-multidev "$F" multidev --iommufd --devices 3 --maps 4 --iterations 10
vt_traced ft-multidev-range "$F" multidev --iommufd --devices 2 --maps 4 --iterations 5 --unmap range
vt_traced ft-multicontainer "$F" multicontainer --iommufd --containers 2 --maps 2 --iterations 10
vt_traced ft-threads "$F" threads --iommufd --threads 3 --maps 2 --iterations 10
vt_traced ft-nopin "$F" nopin --iommufd --maps 2 --iterations 10
vt_traced ft-retry "$F" retry --iommufd --fault-k 3 --maps 2 --iterations 5
vt_traced ft-nocb "$F" nocb-pin --iommufd --iterations 5
vt_traced ft-lifecycle "$F" lifecycle --iommufd --iterations 5
vt_traced ft-leave-mapped "$F" multidev --iommufd --devices 2 --maps 2 --iterations 3 --leave-mapped 5
# both backends at once: the same numbers
both_traced both-multidev multidev --iommufd --devices 2 --maps 4 --iterations 5 --leave-mapped 3
both_traced both-retry retry --iommufd --fault-k 3 --maps 2 --iterations 5
if dmesg_clean; then note dmesg_clean yes; else note dmesg_clean no; fi
# iommufd's retry limit: WARN_ON(tries > 100) once per cycle
dmesg_mark
vt_traced past-limit "$S" small --iommufd --maps 150 --iterations 2 --past-limit
note past_limit_warns "$(dmesg_new | grep -c 'WARNING:.*iopt_unmap_iova_range')"
dmesg_new | grep 'WARNING:' > /out/past-limit.dmesg
dmesg_mark
vt_traced ft-past-limit "$F" small --iommufd --maps 150 --iterations 2 --past-limit
note ft_past_limit_warns "$(dmesg_new | grep -c 'WARNING:.*iopt_unmap_iova_range')"
dmatest_unload || fail "rmmod failed"
exit 0
