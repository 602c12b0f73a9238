#!/bin/sh
# bench/exit-guest.sh: how long the tracers take to exit, and the kernel's floor (issue #12).
# One vCPU, single-threaded TCG, like the lab's hostile test:
#   make build/vfio-trace build/bench/empty-load
#   tests/lab/run-vm KVER bench/exit-guest.sh OUTDIR --cpus 1 --add build/bench/empty-load
# Under an unmap storm: vfio-trace snoop (fentry, twice; --kprobe once) SIGINT to exit, with
# its -v -v split (drained, summary, each link's detach); stat 1 | head -1 from head's line to
# stat's exit; and bench/empty-load vfio (libbpf, empty programs: 14 fentry/fexit links on 8
# of the same functions), SIGINT to exit, idle and under the storm. Times are guest uptime.
. /lab/lib.sh
up() { cut -d' ' -f1 /proc/uptime; }
EL=/lab/files/empty-load
dmatest_load ndev=4 || fail "cannot load the test module"
# sig NAME CMD...: start CMD (stderr /tmp/NAME.err), SIGINT 2 s after its "tracing" line
sig() {
	_n=$1; shift
	"$@" > /tmp/$_n.out 2> /tmp/$_n.err < /dev/null &
	_p=$!
	wait_line /tmp/$_n.err tracing 90 || fail "$_n did not start: $(tail -n 3 /tmp/$_n.err)"
	sleep 2
	_s=$(up); kill -INT $_p; wait $_p; _rc=$?; _e=$(up)
	echo "== $_n: SIGINT at $_s, exit at $_e, rc $_rc"
	grep -E "after the stop|detach:" /tmp/$_n.err
}
chmod +x $EL
sig empty-idle-1 $EL vfio
sig empty-idle-2 $EL vfio
vfio-workload storm --duration 600 --quiet > /dev/null 2> /out/storm.err < /dev/null &
spid=$!
sleep 2
sig empty-storm-1 $EL vfio
sig empty-storm-2 $EL vfio
sig snoop-fentry-1 vfio-trace -v -v snoop
sig snoop-kprobe vfio-trace -v -v snoop --kprobe
sig snoop-fentry-2 vfio-trace -v -v snoop
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
