#!/bin/sh
# lab test "hostile": names made to attack the admin's terminal and JSON parsers, and the two
# ways a command must always stop (issue #12).
#  The workload binary is copied to a file whose name holds ESC, BEL, a newline and bytes that
#  are not UTF-8 (comm carries them all) and is given a QEMU-like --name with the same kind of
#  bytes and an escaped comma (the VM name). Two instances run flat out, waiting for no
#  tracer: a storm (device 0) and retry storms (device 1, fault-k 6: RETRY STORM alerts).
#  Under them, one at a time: top -b / -j, stat / -j, hist / -j, locks / -j, snoop / -j;
#  then hung (text and -j) during a slow-notify of the same binary (its waits name the
#  tasks). ./check: no raw control byte in any text output, every -j line strict UTF-8 JSON,
#  the names shown escaped / as U+FFFD.
#  Stopping: stat 1 | head -1 ends (EPIPE) and leaves no vfio-trace process 2 s later;
#  snoop prints its summary and exits within 1 s of SIGINT under the storm (no count: its
#  probes are kprobes, detached in parallel); a second SIGINT kills it at once.
# One vCPU (run-vm.args): here tracers attach while the workloads run, and with two vCPUs
# multi-threaded TCG's code patching hit the int3 Oops (vm-lab NOTES) in 2 of 2 runs on 6.12.
# Outputs can be large under the storm: they stay in /tmp; /out gets their first and last
# lines and, per file, the count of bytes outside printable ASCII and newline (guest side).
. /lab/lib.sh
up() { cut -d' ' -f1 /proc/uptime; }
# keep NAME: /tmp/NAME to /out/NAME (whole when short, else first 300 + last 50 lines) and a
# note raw_NAME = bytes that are neither printable ASCII nor newline in the whole file.
keep() {
	_key=$(echo "$1" | tr '.-' '__')
	note "raw_$_key" "$(tr -d '\n\040-\176' < "/tmp/$1" | wc -c)"
	note "lines_$_key" "$(wc -l < "/tmp/$1")"
	if [ "$(wc -l < "/tmp/$1")" -le 350 ]; then
		cp "/tmp/$1" "/out/$1"
	else
		{ head -n 300 "/tmp/$1"; tail -n 50 "/tmp/$1"; } > "/out/$1"
	fi
}
# run NAME ARGS...: vfio-trace ARGS (ending by itself), stdout /tmp/NAME, stderr /tmp/NAME.err
run() {
	_n=$1; shift
	echo "== $_n: vfio-trace $* ($(up)s)"
	vfio-trace "$@" > "/tmp/$_n" 2> "/tmp/$_n.err" < /dev/null
	echo $? > "/out/$_n.rc"
	keep "$_n"; keep "$_n.err"
}
procs() { for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = vfio-trace ] && echo "${d#/proc/}"; done; }

dmesg_mark
dmatest_load ndev=4 || fail "cannot load the test module"

# comm: 'w' ESC ']0;x' BEL LF 0xff ESC '[2J' (12 bytes: the kernel keeps 15)
H=$(printf 'w\033]0;x\007\n\377\033[2J')
W="/tmp/$H"
cp /usr/bin/vfio-workload "$W" || fail "cannot copy the workload"
VMARG=$(printf 'guest=vm\033]0;t\007\033[2J\n\377\300,,x,debug-threads=on')

"$W" storm --duration 600 --name "$VMARG" --quiet --json /out/storm.json \
	> /dev/null 2> /out/storm.err < /dev/null &
spid=$!
"$W" retry --fault-k 6 --duration 600 --first-dev 1 --name "$VMARG" --quiet \
	--json /out/retry.json > /dev/null 2> /out/retry.err < /dev/null &
rpid=$!
# each container runs in a child the workload forks: the process that unmaps
child() { grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | sed -n 1p | cut -d/ -f3; }
i=0; while { [ -z "$(child $spid)" ] || [ -z "$(child $rpid)" ]; } && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.1
done
scpid=$(child $spid); rcpid=$(child $rpid)
note storm_pid $scpid
note retry_pid $rcpid
sleep 1

run top_b.txt top -b 1 4
run top_j.json top -j 1 3
run stat.txt stat 1 3
run stat_j.json stat -j 1 2
run hist.txt hist 1 2
run hist_j.json hist -j 1 2
run locks.txt locks 1 2
run locks_j.json locks -j 1 2

# the shared filters: -p one workload, --vm their (hostile) VM name, -d one device
VMNAME=$(printf 'vm\033]0;t\007\033[2J\n\377\300,x')
run stat_p.json stat -j -p $scpid 1 2
run top_vm.json top -j --vm "$VMNAME" 1 1
run top_novm.json top -j --vm nosuchvm 1 1
run hist_d.json hist -j -d vfio_dmatest.1 1 1

# snoop under the storm: SIGINT, then the summary within 1 s (guest uptime, 10 ms steps)
for f in text json; do
	a=""; [ $f = json ] && a=-j
	# -v: snoop says when, after the stop, it had drained, printed its summary, detached
	vfio-trace -v snoop $a > /tmp/snoop_$f 2> /tmp/snoop_$f.err < /dev/null &
	p=$!
	wait_line /tmp/snoop_$f.err tracing 90 || fail "snoop $a did not start"
	sleep 3
	note snoop_${f}_int "$(up)"
	kill -INT $p
	wait $p; echo $? > /out/snoop_$f.rc
	note snoop_${f}_end "$(up)"
	grep "after the stop" /tmp/snoop_$f.err > /out/snoop_$f.stop
	keep snoop_$f; keep snoop_$f.err
done
# a second SIGINT ends it at once, by that signal (rc 130)
vfio-trace snoop > /dev/null 2> /tmp/snoop2.err < /dev/null &
p=$!
wait_line /tmp/snoop2.err tracing 90 || fail "snoop did not start"
sleep 1
kill -INT $p; sleep 0.2; kill -INT $p
wait $p; echo $? > /out/snoop2.rc

# stat 1 | head -1: the reader leaves; stat ends at its next write (EPIPE)
( vfio-trace stat 1 2> /tmp/pipe.err; echo $? > /out/pipe.rc; up > /out/pipe.end ) |
	head -n 1 > /out/head.txt &
hpid=$!
i=0; while [ ! -s /out/head.txt ] && [ $i -lt 900 ]; do i=$((i + 1)); sleep 0.1; done
note head_done "$(up)"
sleep 2
note procs_after_2s "$(procs | wc -l)"
note procs_scan_done "$(up)"
i=0; while [ -n "$(procs)" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
note procs_gone "$(up)"
wait $hpid
keep pipe.err

kill -INT $spid $rpid
wait $spid; echo $? > /out/storm.rc
wait $rpid; echo $? > /out/retry.rc

# hung: tasks of the hostile binary waiting on the container locks
"$W" slow-notify --quiet --delay-us 5000000 --name "$VMARG" --json /out/slow.json \
	--ready-file /tmp/.waiting > /dev/null 2> /out/slow.err < /dev/null &
wpid=$!
wait_file /tmp/.waiting 60 || fail "slow-notify never reached the waits: $(cat /out/slow.err)"
sleep 1
vfio-trace hung --threshold 0.5 > /tmp/hung.txt 2>&1; echo $? > /out/hung.rc
vfio-trace hung --threshold 0.5 -j > /tmp/hung_j.json 2> /tmp/hung_j.err; echo $? > /out/hung_j.rc
keep hung.txt; keep hung_j.json; keep hung_j.err
wait $wpid; echo $? > /out/slow.rc

dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
