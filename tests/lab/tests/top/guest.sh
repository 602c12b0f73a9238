#!/bin/sh
# lab test "top": vfio-trace top over real workload runs; ./check compares on the host.
#  A  top around a multidev run, four times: --json (fentry), --json --kprobe, -b, and plain
#     (stdout a file, no -b). The total documents must equal the workload's counters exactly;
#     the text must name the devices. Plus -b with a count, which ends by itself.
#  B  two workloads in two containers at once; top -p (one of them) and top -d (a device of
#     the other) must count exactly that process / that device and its container's unmaps.
#  T  the terminal: top on virtual console 3 (rendered by the kernel, read back from
#     /dev/vcs3) with its keys typed through a telnetd pty; then SIGTERM on console 4. The
#     screens, exit codes and the consoles' modes during and after go to /out.
. /lab/lib.sh
up() { cut -d' ' -f1 /proc/uptime; }
wait_for_file() { i=0; while [ ! -e "$1" ]; do i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && return 1; sleep 0.1; done; }
wait_for_line() { i=0; while ! grep -q "$2" "$1" 2>/dev/null; do i=$((i + 1)); [ $i -gt $(($3 * 10)) ] && return 1; sleep 0.1; done; }

# start_top NAME ARGS...: vfio-trace top ARGS in the background; /out/NAME.out, NAME.err
start_top() { _n=$1; shift; vfio-trace top "$@" > /out/$_n.out 2> /out/$_n.err & eval "pid_$_n=$!"; }
ready_top() { wait_for_line /out/$1.err "tracing" 90 || fail "$1: tracer did not start: $(tail -n 2 /out/$1.err)"; }
stop_top() { eval "_p=\$pid_$1"; kill -INT "$_p"; wait "$_p"; echo $? > /out/$1.rc; }

dmesg_mark
dmatest_load ndev=4 ndev_nocb=1 || fail "cannot load the test module"
t0=$(up)

# --- bad arguments: one line, exit 2, nothing attached
vfio-trace top -s bogus > /out/bad-sort.txt 2>&1; echo $? > /out/bad-sort.rc
vfio-trace top 0 > /out/bad-interval.txt 2>&1; echo $? > /out/bad-interval.rc
vfio-trace top --ringbuf-pages 8 > /out/bad-option.txt 2>&1; echo $? > /out/bad-option.rc

echo "== count ($(up)s)"
# --- count: ends by itself after 3 intervals (and prints the totals)
vfio-trace top -b 0.5 3 > /out/count.out 2> /out/count.err; echo $? > /out/count.rc

# --- A: one tracer at a time (several at once lose observations: see check)
# runA NAME TOP-ARGS...: top around one multidev run, workload JSON in /out/NAME.wl.json
runA() {
	_t=$1; shift
	echo "== $_t: top $* around multidev ($(up)s)"
	start_top $_t "$@"
	ready_top $_t
	rm -f /tmp/ready /tmp/go
	vfio-workload multidev --devices 2 --maps 4 --iterations 20 --quiet --ready-file /tmp/ready \
		--go-file /tmp/go --json /out/$_t.wl.json 2> /out/$_t.wl.err &
	_w=$!
	wait_for_file /tmp/ready 120 || fail "$_t: workload not ready"
	touch /tmp/go
	wait $_w; echo $? > /out/$_t.wl.rc
	sleep 2.5	# one more interval: the interval documents cover the whole run
	stop_top $_t
}
runA json --json 1 3600	# a count keeps fentry (without one top uses kprobes)
runA jsonk --json --kprobe 1
runA batch -b -s bytes 1
runA plain 1	# stdout is a file: plain text without -b
note A_done "$(up)"

# --- B: workload a's cycles run in a child it forks per container: its pid is known once a
# is set up, too late for the tracer to see a's devices register (the task_file iterator finds
# them open); every possible callback is attached before "tracing" anyway.
# runB NAME TOP-ARGS...: top (args may use $child) around workloads a and b at once
runB() {
	_t=$1; shift
	echo "== $_t: top $* around two workloads ($(up)s)"
	rm -f /tmp/ready-a /tmp/ready-b /tmp/go
	vfio-workload multidev --devices 2 --maps 3 --iterations 15 --quiet \
		--ready-file /tmp/ready-a --go-file /tmp/go --json /out/$_t.a.wl.json 2> /out/$_t.a.wl.err &
	_wa=$!
	wait_for_file /tmp/ready-a 120 || fail "$_t: workload a not ready"
	child=$(awk -v p=$_wa '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null)
	[ -n "$child" ] || fail "$_t: no child of workload a ($_wa)"
	note ${_t}_child "$child"
	eval "start_top $_t $*"
	ready_top $_t
	vfio-workload multidev --devices 2 --first-dev 2 --maps 2 --iterations 25 --quiet \
		--ready-file /tmp/ready-b --go-file /tmp/go --json /out/$_t.b.wl.json 2> /out/$_t.b.wl.err &
	_wb=$!
	wait_for_file /tmp/ready-b 120 || fail "$_t: workload b not ready"
	touch /tmp/go
	wait $_wa; echo $? > /out/$_t.a.wl.rc
	wait $_wb; echo $? > /out/$_t.b.wl.rc
	sleep 1.5	# an interval block with the whole run
	stop_top $_t
}
runB pid --json -p '$child' 1
runB dev --json -d vfio_dmatest.2 1
runB devtext -b -d vfio_dmatest.2 -s callbacks 1
note B_done "$(up)"

# --- T: keys through a pty (telnetd), screen on virtual console 3
echo "== tty: keys through telnetd, screen on console 3 ($(up)s)"
snap() { cat /dev/vcs3 > /out/vcs.$1 2>/dev/null; }
vcs_has() { i=0; while ! grep -q "$1" /dev/vcs3 2>/dev/null; do i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && return 1; sleep 0.1; done; }
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null
ip link set lo up
cat > /tmp/tty-top.sh <<'EOS'
#!/bin/sh
# the telnet session's pty is the keyboard; console 3 is the screen
stty -icanon -echo min 1 time 0
TERM=linux TERMINFO=/lab/files/terminfo vfio-trace top 1 > /dev/tty3 2> /out/tty.err
echo $? > /out/tty.rc
EOS
chmod +x /tmp/tty-top.sh
telnetd -p 2323 -l /tmp/tty-top.sh || fail "T: telnetd"
rm -f /tmp/ready /tmp/go
keys() {
	wait_for_line /out/tty.err "tracing" 90 || { note tty_fail "no tracing line"; return; }
	vfio-workload rate --rate 20 --duration 30 --devices 2 --maps 2 --quiet \
		--ready-file /tmp/ready --go-file /tmp/go --json /out/T.wl.json 2> /out/T.wl.err &
	_w=$!
	wait_for_file /tmp/ready 120
	touch /tmp/go
	sleep 3; snap data
	# a driver module loaded now: its callback is attached and said on the status line
	insmod "$LAB_MODDIR/extra/vfio_dmatest2.ko" ndev=1 || note tty_fail "insmod vfio_dmatest2"
	vcs_has "vfio_dmatest2" 60 || note tty_fail "the module's callback message is not on the status line"
	snap attached
	stty -F /dev/tty3 -a > /out/tty3.during 2>&1
	for k in s S z h x x 3 p; do
		printf '%s' "$k"; sleep 1.5; snap "key-$k$([ -e /out/vcs.key-$k ] && echo 2)"
	done
	printf p; sleep 0.3; printf r; sleep 1.5; snap key-r
	sleep 4; snap after-r
	printf q
	wait $_w; echo $? > /out/T.wl.rc
}
keys | timeout 120 nc 127.0.0.1 2323 > /out/tty.telnet 2>&1
i=0; while [ ! -e /out/tty.rc ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
stty -F /dev/tty3 -a > /out/tty3.after 2>&1
killall telnetd 2>/dev/null
wait

# SIGTERM while the screen is up, on console 4 (stdin and stdout the console)
echo "== term: SIGTERM on console 4 ($(up)s)"
TERM=linux TERMINFO=/lab/files/terminfo vfio-trace top 1 < /dev/tty4 > /dev/tty4 2> /out/term.err &
tp=$!
wait_for_line /out/term.err "tracing" 90 || fail "term: tracer did not start"
sleep 2.5
cat /dev/vcs4 > /out/vcs4.during
stty -F /dev/tty4 -a > /out/tty4.during 2>&1
kill -TERM $tp; wait $tp; echo $? > /out/term.rc
stty -F /dev/tty4 -a > /out/tty4.after 2>&1
note T_done "$(up)"

cat /sys/kernel/debug/kprobes/list > /out/kprobes-after 2>/dev/null
ls /sys/fs/bpf > /out/bpffs-after 2>/dev/null
rmmod vfio_dmatest2 || fail "rmmod vfio_dmatest2 failed"
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
