#!/bin/sh
# bench/exit-guest.sh: how long the tracers take to exit (issue #12).
# One vCPU, single-threaded TCG, like the lab's hostile test:
#   make build/vfio-trace build/tests/vfio-workload
#   tests/lab/run-vm KVER bench/exit-guest.sh OUTDIR --cpus 1
# Under an unmap storm, SIGINT to exit, with the -v -v split (drained, summary, each link's
# detach), twice each: snoop (no count: kprobes, closed by lib/detach.c's pool of threads),
# the same closed from one thread (VFIO_TRACE_DETACH_THREADS=1), stat 1 (kprobes, pool) and
# stat 1 100000 (a count: fentry); then stat 1 | head -1, from head's line to stat's exit.
# Times are guest uptime.
. /lab/lib.sh
up() { cut -d' ' -f1 /proc/uptime; }
dmatest_load ndev=4 || fail "cannot load the test module"
# sig NAME CMD...: start CMD (stderr /tmp/NAME.err), SIGINT 2 s after its "tracing" line
sig() {
	_n=$1; shift
	"$@" > /tmp/$_n.out 2> /tmp/$_n.err < /dev/null &
	_p=$!
	wait_line /tmp/$_n.err tracing 90 || fail "$_n did not start: $(tail -n 3 /tmp/$_n.err)"
	sleep 2
	_s=$(up); kill -INT $_p; wait $_p; _rc=$?; _e=$(up)
	echo "== $_n: SIGINT at $_s, exit at $_e, rc $_rc: $(awk "BEGIN { print $_e - $_s }") s"
	grep -E "attached|after the stop|detach:" /tmp/$_n.err
}
vfio-workload storm --duration 600 --quiet > /dev/null 2> /out/storm.err < /dev/null &
spid=$!
sleep 2
kill -0 $spid || fail "the storm did not start: $(cat /out/storm.err)"
for i in 1 2; do
	sig snoop-kprobe-pool-$i vfio-trace -v -v snoop
	sig snoop-kprobe-serial-$i env VFIO_TRACE_DETACH_THREADS=1 vfio-trace -v -v snoop
	sig stat-kprobe-pool-$i vfio-trace -v -v stat 1
	sig stat-fentry-$i vfio-trace -v -v stat 1 100000
done
( vfio-trace -v -v stat 1 2> /tmp/pipe.err; up > /tmp/pipe.end ) | head -n 1 > /tmp/head.txt &
hpid=$!
i=0; while [ ! -s /tmp/head.txt ] && [ $i -lt 900 ]; do i=$((i + 1)); sleep 0.1; done
hd=$(up)
wait $hpid
echo "== stat 1 | head -1: head had its line at $hd, stat exited at $(cat /tmp/pipe.end)"
grep -E "detach:" /tmp/pipe.err
kill -INT $spid; wait $spid
echo "== left behind: kprobes $(wc -l < /sys/kernel/debug/kprobes/list)"
dmatest_unload
exit 0
