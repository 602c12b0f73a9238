#!/bin/sh
# /init of the lab initramfs (busybox). Installed by tests/lab/mkinitrd; do not run on a host.
#  1. mounts proc, sysfs, devtmpfs, tracefs, debugfs, bpffs; small hung-task timeout
#  2. insmods the modules listed in /lab/modules.load (vfio, vfio_iommu_type1, in dependency order)
#  3. runs /test.sh (from the per-run cpio) with stdout/stderr to the console and /out/test.log,
#     under a watchdog of lab.timeout=SECS (kernel command line); on timeout the test's process
#     group is killed, stacks of D-state tasks go to /out/hung-stacks.txt, status is 124
#  4. writes /out/status, /out/dmesg.txt, ships /out as a base64 tar.gz on /dev/ttyS1 between
#     "@@LAB-BEGIN" and "@@LAB-END rc=N size=N md5=X" lines, prints "@@LAB-STATUS N" on the
#     console, and powers off with poweroff -f. Whatever the test does, this happens once.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb

mkdir -p /proc /sys /dev /tmp /run /out /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
[ -w /proc/sys/kernel/hung_task_timeout_secs ] && echo 20 > /proc/sys/kernel/hung_task_timeout_secs
# A CPU stuck in the kernel (seen under multi-threaded TCG: text patching that never finishes,
# tests/lab/README.md) panics after ~20 s instead of holding the VM until the host's timeout
# (6.5 min): run-tests then sees a guest that never reported and retries it once, printed.
[ -w /proc/sys/kernel/softlockup_panic ] && echo 1 > /proc/sys/kernel/softlockup_panic

echo; echo "@@LAB-BOOT uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"

cmdline=$(cat /proc/cmdline)
arg() { for w in $cmdline; do case $w in "$1="*) echo "${w#*=}"; return 0 ;; esac; done; return 1; }
if arg lab.probe >/dev/null; then
	echo "@@LAB-PROBE-OK"
	poweroff -f
fi
TIMEOUT=$(arg lab.timeout || echo 300)

exec 3>/out/init.log
if [ -f /lab/modules.load ]; then
	while read -r ko; do
		[ -n "$ko" ] || continue
		if insmod "$ko" >&3 2>&1; then echo "insmod $ko ok" >&3
		else echo "@@LAB insmod $ko FAILED"; echo "insmod $ko FAILED" >&3; fi
	done < /lab/modules.load
fi

finish() {
	# only the first caller ships (main shell or watchdog)
	mkdir /tmp/.finish 2>/dev/null || { while :; do sleep 3600; done; }
	rc=$1
	echo "$rc" > /out/status
	dmesg > /out/dmesg.txt 2>&1
	exec 3>&-
	(cd /out && tar czf /tmp/out.tgz . 2>/dev/null)
	size=$(wc -c < /tmp/out.tgz)
	sum=$(md5sum /tmp/out.tgz | cut -d' ' -f1)
	if [ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null; then
		# close() of the tty waits for the UART to drain: the whole stream is out before poweroff
		{ echo "@@LAB-BEGIN"; base64 < /tmp/out.tgz; echo "@@LAB-END rc=$rc size=$size md5=$sum"; } > /dev/ttyS1
	else
		echo "@@LAB no /dev/ttyS1: /out not shipped"
	fi
	echo "@@LAB-STATUS $rc uptime=$(cut -d' ' -f1 /proc/uptime)"
	sync
	poweroff -f
	sleep 10
	echo o > /proc/sysrq-trigger
}

dump_hung() {
	for t in /proc/[0-9]*/task/[0-9]*; do
		st=$(sed -n 's/^State:[[:space:]]*//p' "$t/status" 2>/dev/null)
		case $st in D*)
			echo "== $t $(cat "$t/comm" 2>/dev/null) $st"
			cat "$t/stack" 2>/dev/null ;;
		esac
	done > /out/hung-stacks.txt
	[ -s /out/hung-stacks.txt ] || rm -f /out/hung-stacks.txt
}

if [ ! -f /test.sh ]; then
	echo "@@LAB no /test.sh in the initramfs"
	finish 125
fi

LAB_KVER=$(uname -r)
export LAB_KVER LAB_OUT=/out LAB_TIMEOUT="$TIMEOUT"
echo "@@LAB-RUN timeout=${TIMEOUT}s uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /
# own session and process group, so a timeout can kill every process the test started
setsid sh -c 'set -o pipefail; sh /test.sh 2>&1 </dev/null | tee /out/test.log' &
pid=$!
(
	sleep "$TIMEOUT"
	touch /tmp/.timedout
	echo "@@LAB test timed out after ${TIMEOUT}s: killing it"
	dump_hung
	kill -TERM -"$pid" 2>/dev/null; sleep 2; kill -KILL -"$pid" 2>/dev/null
	sleep 3
	# still not reaped (D state): ship anyway
	finish 124
) &
wd=$!
wait "$pid"
rc=$?
kill "$wd" 2>/dev/null
[ -f /tmp/.timedout ] && rc=124
finish "$rc"
