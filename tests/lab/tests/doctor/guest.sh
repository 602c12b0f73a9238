#!/bin/sh
# doctor on a real VFIO kernel: verdicts per attach point, with fentry and with --kprobe,
# and no probe left behind.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=1 || fail "cannot load the test module"
# the IOMMU units the kernel registered at boot (none without run-vm --iommu): the VT-d and
# AMD-Vi drivers' functions are probed only where a unit of theirs is
note iommu_units "$(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
vfio-trace doctor --json > /out/doctor.json; echo $? > /out/doctor.rc
vfio-trace doctor --kprobe --json > /out/doctor-kprobe.json; echo $? > /out/doctor-kprobe.rc
vfio-trace doctor > /out/doctor.txt 2>&1; echo $? > /out/doctor-text.rc
vfio-trace doctor --bogus > /out/bad.txt 2>&1; echo $? > /out/bad.rc
cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
cat $TRACEFS/kprobe_events > /out/kprobe_events-after 2>/dev/null
cat $TRACEFS/enabled_functions > /out/ftrace-after 2>/dev/null
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
