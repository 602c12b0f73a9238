#!/bin/sh
# lab test "boot": the lab itself works: right kernel, VFIO modules loaded by /init, VFIO
# container device, tracefs, bpffs, module BTF, and (when built) the test module loads and
# unloads with its BTF. Facts go to /out/notes; tests/lab/tests/boot/check judges them.
. /lab/lib.sh
yn() { if "$@"; then echo yes; else echo no; fi; }

note uname "$(uname -r)"
note uptime_at_test "$(cut -d' ' -f1 /proc/uptime)"
note mod_vfio "$(yn module_loaded vfio)"
note mod_vfio_iommu_type1 "$(yn module_loaded vfio_iommu_type1)"
note dev_vfio_vfio "$(yn test -c /dev/vfio/vfio)"
note tracefs "$(yn test -f "$TRACEFS/trace")"
note bpffs "$(yn grep -q ' /sys/fs/bpf bpf ' /proc/mounts)"
note btf_vmlinux "$(yn test -f /sys/kernel/btf/vmlinux)"
note btf_vfio_iommu_type1 "$(yn test -f /sys/kernel/btf/vfio_iommu_type1)"
note hung_task_timeout "$(cat /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || echo absent)"
note softlockup_panic "$(cat /proc/sys/kernel/softlockup_panic 2>/dev/null || echo absent)"
note workload_bin "$(yn test -x /usr/bin/vfio-workload)"
note trace_bin "$(yn test -x /usr/bin/vfio-trace)"

if [ -f "$DMATEST_KO" ]; then
	note dmatest_present yes
	dmesg_mark
	if dmatest_load; then
		note dmatest_load ok
		note btf_vfio_dmatest "$(yn test -f /sys/kernel/btf/vfio_dmatest)"
		if dmatest_unload; then note dmatest_unload ok; else note dmatest_unload failed; fi
	else
		note dmatest_load failed
	fi
else
	note dmatest_present no
fi
note dmesg_clean "$(yn dmesg_clean)"
exit 0
