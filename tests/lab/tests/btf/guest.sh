#!/bin/sh
# lab test "btf": --btf FILE (the kernel's types from a file, as for a kernel built without
# BTF; the file is made on the host by ./host-side from Debian's -dbg package). For each
# backend, stat over the same workload without and with --btf /lab/vfio.btf: ./check wants
# every total equal to the workload's own counters and the two runs equal. doctor --btf says
# it uses the file; bad files (missing, not BTF, vmlinux's types only) are one-line errors.
# Then the same with /sys/kernel/btf hidden (a kernel without BTF, as user space sees it).
. /lab/lib.sh
B=/lab/vfio.btf
if [ ! -f $B ]; then
	note skip "no $B (host-side made none)"
	exit 0
fi
dmesg_mark
dmatest_load ndev=3 ndev_nocb=1 || fail "cannot load the test module"
W="multidev --devices 2 --iterations 10"
for be in bpf ftrace; do
	vt_traced $be "stat --backend $be --json 1" $W
	vt_traced $be-btf "stat --backend $be --btf $B --json 1" $W
done
# a kernel without BTF, as user space sees it: /sys/kernel/btf hidden under an empty tmpfs
# (the kernel keeps its BTF; fentry would still work, but nothing reads the types there).
# Without --btf each backend refuses in one line; with it each counts the workload.
if mount -t tmpfs none /sys/kernel/btf; then
	for be in bpf ftrace; do
		vfio-trace stat --backend $be 1 1 > /out/nobtf-$be.out 2> /out/nobtf-$be.err
		echo $? > /out/nobtf-$be.rc
		vt_traced $be-hidden "stat --backend $be --btf $B --json 1" $W
	done
	umount /sys/kernel/btf
else
	note hide_failed 1
fi
vfio-trace doctor --btf $B --json > /out/doctor.json 2> /out/doctor.err
echo $? > /out/doctor.rc
# bad files: the exit code and stderr of stat --btf FILE for each
bad() { # NAME FILE
	vfio-trace stat --btf "$2" 1 1 > /out/bad-$1.out 2> /out/bad-$1.err
	echo $? > /out/bad-$1.rc
}
bad missing /nonexistent.btf
bad notbtf /etc/passwd
bad vmlinux-only /sys/kernel/btf/vmlinux
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
