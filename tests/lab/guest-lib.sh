# shellcheck shell=sh
# Guest library, installed as /lab/lib.sh: helpers for lab guest scripts (busybox sh). Source it: . /lab/lib.sh
# Results go to /out ($LAB_OUT); the host finds them in the run's outdir.
LAB_OUT=${LAB_OUT:-/out}
LAB_KVER=${LAB_KVER:-$(uname -r)}
TRACEFS=/sys/kernel/tracing
LAB_MODDIR=/usr/lib/modules/$LAB_KVER
DMATEST_KO=$LAB_MODDIR/extra/vfio_dmatest.ko

# note KEY VALUE...: record a fact as a line "KEY=VALUE" in /out/notes (read on the host with
# note_get from tests/lab/check-lib.sh). KEY: letters, digits, _ . -
note() {
	_k=$1; shift
	case $_k in ''|*[!A-Za-z0-9_.-]*) echo "note: bad key '$_k'" >&2; return 2 ;; esac
	echo "$_k=$*" >> "$LAB_OUT/notes"
}

# fail MSG...: print MSG, note it as fail=MSG, exit 1
fail() { echo "FAIL: $*" >&2; note fail "$*"; exit 1; }

# save NAME [FILE]: copy FILE (or stdin) to /out/NAME
save() { if [ $# -ge 2 ]; then cat "$2" > "$LAB_OUT/$1"; else cat > "$LAB_OUT/$1"; fi; }

# module_loaded NAME: true if NAME (dashes or underscores) is in /proc/modules
module_loaded() {
	_m=$(echo "$1" | tr - _)
	awk -v m="$_m" '$1 == m { f = 1 } END { exit !f }' /proc/modules
}

# dmatest_load [PARAM=VALUE...]: insmod the test module (its deps first). Returns insmod's status.
dmatest_load() {
	[ -f "$DMATEST_KO" ] || { echo "dmatest_load: $DMATEST_KO not in the initramfs" >&2; return 1; }
	if [ -f /lab/dmatest.deps ]; then
		while read -r _d; do
			[ -n "$_d" ] || continue
			module_loaded "$(basename "$_d" .ko)" || insmod "$_d" || return 1
		done < /lab/dmatest.deps
	fi
	insmod "$DMATEST_KO" "$@"
}

# net_up: the virtio NIC of run-vm --hostfwd as QEMU's user network sees it (10.0.2.15/24),
# and lo; the host reaches the guest's ports through the forwards only.
net_up() {
	while read -r _d; do
		[ -n "$_d" ] || continue
		module_loaded "$(basename "$_d" .ko)" || insmod "$_d" || return 1
	done < /lab/net.deps
	ip link set lo up || return 1
	_i=0
	while [ ! -e /sys/class/net/eth0 ]; do
		_i=$((_i + 1)); [ $_i -gt 100 ] && { echo "net_up: no eth0" >&2; return 1; }
		sleep 0.1
	done
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
}

# vfio_pci_bind [BDF]: bind a PCI device (default: run-vm --iommu's e1000e, the one 8086:10d3)
# to vfio-pci (its modules from /lab/vfio-pci.deps first) through driver_override and
# drivers_probe; prints "BDF GROUP" once /dev/vfio/GROUP exists. Status 1 on failure.
vfio_pci_bind() {
	_b=${1:-}
	if [ -z "$_b" ]; then
		for _p in /sys/bus/pci/devices/*; do
			[ "$(cat "$_p/vendor"):$(cat "$_p/device")" = 0x8086:0x10d3 ] && _b=$(basename "$_p")
		done
	fi
	[ -n "$_b" ] && [ -d "/sys/bus/pci/devices/$_b" ] || { echo "vfio_pci_bind: no device ${_b:-8086:10d3} (run-vm --iommu?)" >&2; return 1; }
	[ -e "/sys/bus/pci/devices/$_b/iommu_group" ] || { echo "vfio_pci_bind: $_b has no IOMMU group (intel_iommu=on?)" >&2; return 1; }
	while read -r _d; do
		[ -n "$_d" ] || continue
		module_loaded "$(basename "$_d" .ko)" || insmod "$_d" || return 1
	done < /lab/vfio-pci.deps
	[ -e "/sys/bus/pci/devices/$_b/driver" ] && echo "$_b" > "/sys/bus/pci/devices/$_b/driver/unbind"
	echo vfio-pci > "/sys/bus/pci/devices/$_b/driver_override" || return 1
	echo "$_b" > /sys/bus/pci/drivers_probe || return 1
	_g=$(basename "$(readlink "/sys/bus/pci/devices/$_b/iommu_group")")
	wait_file "/dev/vfio/$_g" 10 || { echo "vfio_pci_bind: no /dev/vfio/$_g" >&2; return 1; }
	echo "$_b $_g"
}

# dmatest_unload: rmmod the test module. Returns rmmod's status.
dmatest_unload() { rmmod vfio_dmatest; }

# vfio_modules_reload ARGS: an operator's module update under running tracers. Unloads the
# test module, then what it used, in the reverse of the order they were loaded (/init loaded
# /lab/modules.load: vfio, vfio_iommu_type1 and their dependencies; dmatest_load the rest of
# /lab/dmatest.deps; modules nothing else needs may stay), each one unloaded named in
# $LAB_OUT/unloaded, vfio_dmatest/vfio_iommu_type1/vfio still there in $LAB_OUT/not-unloaded
# with rmmod's words; then loads them again and dmatest_load ARGS. Nothing waits for a tracer.
vfio_modules_reload() {
	grep -q . /lab/modules.load || fail "no /lab/modules.load"
	{
		echo vfio_dmatest
		cat /lab/modules.load /lab/dmatest.deps | tac | while read -r _d; do basename "$_d" .ko; done
	} > /tmp/unload
	# (one pass may meet a module before the last one using it: three passes)
	for _pass in 1 2 3; do
		while read -r _m; do
			module_loaded "$_m" || continue
			rmmod "$_m" 2> /tmp/rmmod-$_m.err && echo "$_m" >> "$LAB_OUT/unloaded"
		done < /tmp/unload
	done
	for _m in vfio_dmatest vfio_iommu_type1 vfio; do
		module_loaded $_m && echo "$_m: $(cat /tmp/rmmod-$_m.err)" >> "$LAB_OUT/not-unloaded"
	done
	while read -r _ko; do
		module_loaded "$(basename "$_ko" .ko)" || insmod "$_ko" || fail "cannot load $_ko again"
	done < /lab/modules.load
	dmatest_load "$@" || fail "cannot load the test module again"
}

# dmesg_mark: later dmesg_clean / dmesg_new only look at messages after this point
dmesg_mark() { dmesg | wc -l > /tmp/.dmesg_mark; }

# dmesg_new: kernel messages since dmesg_mark (all of them without a mark)
dmesg_new() { dmesg | tail -n +$(( $(cat /tmp/.dmesg_mark 2>/dev/null || echo 0) + 1 )); }

# dmesg_clean: fail (status 1, offending lines on stderr, note dmesg_bad=N) if the kernel log
# (since dmesg_mark) has BUG, WARNING, Oops, hung-task reports or a Call Trace
dmesg_clean() {
	_bad=$(dmesg_new | grep -E 'BUG|WARNING|Oops|hung_task|blocked for more than|Call Trace' || true)
	[ -z "$_bad" ] && return 0
	echo "dmesg_clean: kernel complained:" >&2
	echo "$_bad" | head -n 40 >&2
	note dmesg_bad "$(echo "$_bad" | wc -l)"
	return 1
}

# kallsyms_has SYM [MODULE]: true if SYM (optionally in [MODULE]) is in /proc/kallsyms.
# The first call caches kallsyms in /tmp (a scan costs ~3 s under TCG); call after insmods.
kallsyms_has() {
	[ -s /tmp/.kallsyms ] || cat /proc/kallsyms > /tmp/.kallsyms
	awk -v s="$1" -v m="${2:+[$2]}" '$3 == s && (m == "" || $4 == m) { f = 1 } END { exit !f }' /tmp/.kallsyms
}
kallsyms_refresh() { rm -f /tmp/.kallsyms; }

# with_timeout SECS CMD...: run CMD, kill it after SECS (status 124 like timeout(1))
with_timeout() { _t=$1; shift; timeout "$_t" "$@"; }

# dump_stacks [FILE]: kernel stacks of all D-state tasks into /out/FILE (default stacks.txt)
dump_stacks() {
	for _t in /proc/[0-9]*/task/[0-9]*; do
		case $(sed -n 's/^State:[[:space:]]*//p' "$_t/status" 2>/dev/null) in D*)
			echo "== $_t $(cat "$_t/comm" 2>/dev/null)"; cat "$_t/stack" 2>/dev/null ;;
		esac
	done > "$LAB_OUT/${1:-stacks.txt}"
}

# tracefs_reset: disable tracing and remove dynamic probe events left by a test
tracefs_reset() {
	echo 0 > $TRACEFS/tracing_on 2>/dev/null
	echo 0 > $TRACEFS/events/enable 2>/dev/null
	echo > $TRACEFS/kprobe_events 2>/dev/null
	echo > $TRACEFS/trace 2>/dev/null
}

# wl NAME SCENARIO OPTIONS...: one vfio-workload run, its counters in /out/NAME.wl.json, its exit
# status in NAME.wl.rc; NAME appended to /out/scenarios.
wl() {
	_n=$1; shift
	vfio-workload "$@" --quiet --json "$LAB_OUT/$_n.wl.json" 2> "$LAB_OUT/$_n.wl.err"
	echo $? > "$LAB_OUT/$_n.wl.rc"
	echo "$_n" >> "$LAB_OUT/scenarios"
}

# tracer_start NAME ARGS...: vfio-trace ARGS in the background (stdout /out/NAME.out, stderr
# /out/NAME.err), once it says "tracing"; tracer_stop NAME: SIGINT, exit status in NAME.rc.
tracer_start() {
	_n=$1; shift
	vfio-trace "$@" > "$LAB_OUT/$_n.out" 2> "$LAB_OUT/$_n.err" &
	eval "pid_$_n=$!"
	wait_line "$LAB_OUT/$_n.err" "tracing" 90 || fail "$_n: tracer did not start"
}
tracer_stop() { eval "_p=\$pid_$1"; kill -INT "$_p"; wait "$_p"; echo $? > "$LAB_OUT/$1.rc"; }

# The kprobe witness of tests "scenarios" and "iommufd": tracefs kprobe events in group
# WITNESS_GROUP, one per name of WITNESS_EVENTS, counting what the kernel did independently of
# vfio-trace, the workload and the module.
# witness_remove: remove the group's events (also the trap: no probe is left behind).
witness_remove() {
	echo 0 > $TRACEFS/tracing_on 2>/dev/null
	[ -d $TRACEFS/events/$WITNESS_GROUP ] && echo 0 > $TRACEFS/events/$WITNESS_GROUP/enable 2>/dev/null
	for _e in $WITNESS_EVENTS; do echo "-:$WITNESS_GROUP/$_e" >> $TRACEFS/kprobe_events 2>/dev/null; done
	echo > $TRACEFS/trace 2>/dev/null
}

# witness_add: add the kprobe_events lines read from stdin ("p:GROUP/NAME FUNC [FETCHARGS]").
witness_add() {
	while read -r _p; do
		echo "$_p" >> $TRACEFS/kprobe_events || fail "cannot add kprobe '$_p'"
	done
	echo 8192 > $TRACEFS/buffer_size_kb
	echo 0 > $TRACEFS/tracing_on
}

# witness_runs RUNS: each "id scenario options" line of RUNS run by vfio-workload with the
# witness on. Writes /out/runs.list and per run /out/ID.json (the workload's), ID.rc, ID.err and
# ID.counts: NAME=hits per witness event, the ring buffer's overrun (must be 0, else counts
# would be short) and secs.
witness_runs() {
	echo "$1" > /out/runs.list
	echo "$1" | while read -r _name _scen _args; do
		echo "== $_name: $_scen $_args"
		echo > $TRACEFS/trace
		echo 1 > $TRACEFS/events/$WITNESS_GROUP/enable
		echo 1 > $TRACEFS/tracing_on
		_t0=$(cut -d' ' -f1 /proc/uptime)
		# shellcheck disable=SC2086
		with_timeout 120 vfio-workload $_scen $_args --json /out/$_name.json 2> /out/$_name.err
		echo $? > /out/$_name.rc
		_t1=$(cut -d' ' -f1 /proc/uptime)
		echo 0 > $TRACEFS/tracing_on
		echo 0 > $TRACEFS/events/$WITNESS_GROUP/enable
		{
			for _e in $WITNESS_EVENTS; do echo "$_e=$(grep -c " $_e: " $TRACEFS/trace)"; done
			echo "overrun=$(cat $TRACEFS/per_cpu/cpu*/stats | awk '/^overrun:/ { s += $2 } END { print s + 0 }')"
			echo "secs=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }')"
		} > /out/$_name.counts
		echo "rc=$(cat /out/$_name.rc) $(tr '\n' ' ' < /out/$_name.counts)"
	done
}

# wait_file PATH SECS / wait_line FILE REGEX SECS: poll (0.1 s) until PATH exists / FILE has a
# line matching REGEX; status 1 on timeout.
wait_file() { _i=0; while [ ! -e "$1" ]; do _i=$((_i + 1)); [ $_i -gt $(($2 * 10)) ] && return 1; sleep 0.1; done; }
wait_line() { _i=0; while ! grep -q "$2" "$1" 2>/dev/null; do _i=$((_i + 1)); [ $_i -gt $(($3 * 10)) ] && return 1; sleep 0.1; done; }

# vt_traced NAME "VFIO-TRACE ARGS" SCENARIO [WORKLOAD OPTIONS...]
# Runs one workload scenario under vfio-trace: starts the tracer (stdout /out/NAME.trace,
# stderr /out/NAME.trace.err), waits for its "tracing" line (vfio-trace has started), then
# runs the workload the way a VM starts: at once, waiting for nothing else (the tracer must
# have every possible dma_unmap callback attached before it says "tracing"). Then SIGINT to
# the tracer.
# Leaves /out/NAME.wl.json, NAME.wl.rc, NAME.trace.rc and appends "NAME UPTIME" to
# /out/scenarios. Env VT_ENV: environment for the tracer (e.g. VFIO_TRACE_NO_FENTRY=1).
vt_traced() {
	_n=$1 _targs=$2 _sc=$3; shift 3
	env ${VT_ENV:-} vfio-trace $_targs > "$LAB_OUT/$_n.trace" 2> "$LAB_OUT/$_n.trace.err" &
	_tpid=$!
	wait_line "$LAB_OUT/$_n.trace.err" "tracing" 90 || { kill $_tpid; fail "$_n: tracer did not start"; }
	vfio-workload "$_sc" "$@" --quiet --json "$LAB_OUT/$_n.wl.json" 2> "$LAB_OUT/$_n.wl.err"
	echo $? > "$LAB_OUT/$_n.wl.rc"
	kill -INT $_tpid; wait $_tpid; echo $? > "$LAB_OUT/$_n.trace.rc"
	echo "$_n $(cut -d' ' -f1 /proc/uptime)" >> "$LAB_OUT/scenarios"
}
