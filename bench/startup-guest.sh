#!/bin/sh
# bench/startup-guest.sh: start-up (exec to "tracing") and peak RSS of vfio-trace's tracers and
# of the empty-program loader on the same points, alternating, ROUNDS rounds (run by
# bench/startup, which says what each mode is; issue #20). Run in the lab guest as /test.sh;
# files from the host under /lab/bench/:
# vtexec, empty-load, and optionally startup.conf (ROUNDS=, MODES=: what runs, in that order
# each round; defaults below).
# Writes /out/raw/<mode>-<round>.{res,log} (vtexec's result, the tracer's stderr with -v's
# start-up line) and /out/summary.tsv: mode round attach_s maxrss_kb start-up-line.
. /lab/lib.sh
B=/lab/bench
R=/out/raw
mkdir -p $R
chmod +x $B/* 2>/dev/null
export PATH=$B:$PATH
[ -f $B/startup.conf ] && . $B/startup.conf
ROUNDS=${ROUNDS:-4}
MODES=${MODES:-"empty-lean empty-lean-noscan top top-pass snoop snoop-pass"}
dmatest_load ndev=2 || fail "insmod vfio_dmatest"
echo 1 > /proc/sys/kernel/softlockup_panic 2>/dev/null
_t0=$(cut -d' ' -f1 /proc/uptime); cat /proc/kallsyms > /dev/null; _t1=$(cut -d' ' -f1 /proc/uptime)
note kallsyms_scan_s "$(awk -v a=$_t0 -v b=$_t1 'BEGIN { printf "%.2f", b - a }')"
note kallsyms_lines "$(wc -l < /proc/kallsyms)"
# which of the two functions empty-load attaches where they exist this kernel has (found once,
# so that empty-lean-noscan does not scan kallsyms while timed)
TYPE1_FUNCS=$(awk '$4 == "[vfio_iommu_type1]" && ($3 == "vfio_dma_do_unmap" || $3 == "vfio_notify_dma_unmap") { printf "%s ", $3 }' /proc/kallsyms)
note type1_funcs "$TYPE1_FUNCS"
note version "$(vfio-trace --version 2>&1 | head -1)"

run_mode() { # MODE ROUND
	rm -f /tmp/ready
	# before-MODE: MODE with the vfio-trace of bench/startup --before BINARY
	_l=$R/$1-$2.log _r=$R/$1-$2.res _vt=vfio-trace
	case $1 in before-*) _vt=$B/vfio-trace-before ;; esac
	case ${1#before-} in
	empty-lean) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- empty-load lean ;;
	empty-lean-noscan) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env EMPTY_LOAD_TYPE1_FUNCS="$TYPE1_FUNCS" empty-load lean ;;
	top) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- $_vt top -v -b 1 1000000 ;;
	top-pass) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env VFIO_TRACE_KSYMS=pass $_vt top -v -b 1 1000000 ;;
	top-lookup) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env VFIO_TRACE_KSYMS=lookup $_vt top -v -b 1 1000000 ;;
	snoop) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- $_vt snoop -v ;;
	top-vv) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- $_vt top -v -v -b 1 1000000 ;;
	# top-rows128: the stats maps at 128 keys instead of ~32 MiB preallocated: what creating them costs the load
	top-rows128) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env VFIO_TRACE_STATS_ENTRIES=128 $_vt top -v -v -b 1 1000000 ;;
	# top-corekernel: CO-RE against the kernel's whole BTF, libbpf's own search (lib/core_btf.c off)
	top-corekernel) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env VFIO_TRACE_CORE_BTF=kernel $_vt top -v -b 1 1000000 ;;
	top-nostorm) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- $_vt top -v --no-storm -b 1 1000000 ;;
	snoop-vv) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- $_vt snoop -v -v ;;
	snoop-pass) set -- vtexec --match tracing --log $_l --ready /tmp/ready --result $_r -- env VFIO_TRACE_KSYMS=pass $_vt snoop -v ;;
	esac
	"$@" > /dev/null &
	_p=$!
	wait_file /tmp/ready 120 || echo "startup: $1 did not attach in 120 s"
	sleep 0.3
	kill -INT $_p 2>/dev/null
	wait $_p
}

r=1
while [ $r -le $ROUNDS ]; do
	for m in $MODES; do
		run_mode $m $r
	done
	echo "startup: round $r done ($(cut -d' ' -f1 /proc/uptime)s)"
	r=$((r + 1))
done
for f in $R/*.res; do
	b=$(basename $f .res)
	line=$(grep -h "start-up:" $R/$b.log 2>/dev/null | sed 's/.*start-up: //')
	echo "${b%-*}	${b##*-}	$(sed 's/.*attach_s=\([^ ]*\).*maxrss_kb=\([^ ]*\).*/\1	\2/' $f)	$line"
done | sort > /out/summary.tsv
cat /out/summary.tsv
