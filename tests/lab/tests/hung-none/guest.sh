#!/bin/sh
# No false positive: vfio-trace hung during and after ordinary scenarios (concurrent maps and
# pins with serialized unmaps; an unmap storm) exits 0 and sees the workload's containers.
. /lab/lib.sh
dmesg_mark
dmatest_load ndev=4 || fail "cannot load the test module"
run_during() {	# NAME SCENARIO [OPTIONS]: vfio-trace hung twice while it runs, once after
	_n=$1; shift
	vfio-workload "$@" --quiet --duration 12 --ready-file /tmp/.r.$_n --go-file /tmp/.r.$_n \
		--json /out/$_n.wl.json > /out/$_n.wl.out 2> /out/$_n.wl.err < /dev/null &
	_w=$!
	wait_file /tmp/.r.$_n 60 || fail "$_n: workload not ready"
	sleep 1
	for _i in 1 2; do
		vfio-trace hung --json > /out/$_n.during$_i.json 2> /out/$_n.during$_i.err
		echo $? > /out/$_n.during$_i.rc
	done
	wait $_w; echo $? > /out/$_n.wl.rc
	vfio-trace hung --json > /out/$_n.after.json 2> /out/$_n.after.err
	echo $? > /out/$_n.after.rc
	echo $_n >> /out/scenarios
}
run_during threads threads --threads 4 --devices 2
run_during storm storm --containers 2
vfio-trace hung > /out/text.txt 2>&1; echo $? > /out/text.rc
vfio-trace hung --threshold abc > /out/bad.txt 2>&1; echo $? > /out/bad.rc
vfio-trace hung --bogus > /out/bad2.txt 2>&1; echo $? > /out/bad2.rc
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
