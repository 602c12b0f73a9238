#!/bin/sh
# lab test "iommufd-stat": vfio-trace stat --json (and top -j) over vfio-workload --iommufd
# scenarios (VFIO device cdev + /dev/iommu, no type1 container): the tracer's totals must
# equal the workload's own counters exactly (./check). past-limit: every cycle's one
# IOMMU_IOAS_UNMAP over 150 contiguous pinned areas fails with EDEADLOCK after 100 (a kernel
# WARN): exactly one RETRY LIMIT alert each. On a kernel without iommufd (Debian's): doctor
# reports the iommufd points not present, and stat still traces a type1 scenario.
. /lab/lib.sh
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"
vfio-trace doctor --json > /out/doctor.json 2> /out/doctor.err
echo $? > /out/doctor.rc
S="stat --json 1"
if [ ! -c /dev/iommu ] || [ ! -d /sys/class/vfio-dev ]; then
	note iommufd absent
	dmesg_mark
	vt_traced type1-single "$S" single
	vt_traced type1-multidev "$S" multidev --devices 2 --iterations 5
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
if dmesg_clean; then note dmesg_clean yes; else note dmesg_clean no; fi
# iommufd's retry limit: WARN_ON(tries > 100) once per cycle
dmesg_mark
vt_traced past-limit "$S" small --iommufd --maps 150 --iterations 2 --past-limit
note past_limit_warns "$(dmesg_new | grep -c 'WARNING:.*iopt_unmap_iova_range')"
dmesg_new | grep 'WARNING:' > /out/past-limit.dmesg
dmatest_unload || fail "rmmod failed"
exit 0
