#!/bin/sh
# bench/phases-guest.sh: the cost of `top --phases` (the phase breakdown of vfio_unmap_unpin,
# bpf/vt_phases.bpf.h) on a storm, run by bench/run in a second lab guest booted with
# tests/lab/run-vm --iommu (an emulated VT-d; the e1000e bound to vfio-pci, as in the lab test
# iommu-domain): the phase points fire only under a real IOMMU domain, which the test module's
# emulated devices of bench/guest.sh do not have, and that VM keeps its own devices so that
# its rows stay comparable with earlier runs. busybox sh; bench.conf as for bench/guest.sh.
# The storm: vfio-workload pci --duration (per cycle MAP_DMA and UNMAP_DMA of 4 x 64 KiB of
# anonymous 4 KiB pages and 2 x 4 MiB of hugetlbfs 2 MiB pages, the iommu-domain test's mix).
# Modes, alternating per round: untraced; empty-lean (empty programs on top's points) and top
# (top -b with a count: fentry); empty-phases (empty programs on top --phases' points: stat's
# and the phases') and top-phases (top -b --phases with a count). Raw output in /out/raw/ in
# bench/guest.sh's formats (storm-<mode>-<round>.json, tracer-*.res, stats-<mode>-w<N>-*.tsv).
. /lab/lib.sh
. /lab/bench/guest-lib.sh
. /lab/bench/bench.conf
bench_setup
bind=$(vfio_pci_bind) || fail "cannot bind the e1000e to vfio-pci (run-vm --iommu?)"
note bdf "${bind% *}"
# as the lab test iommu-domain: type1 refuses a domain without interrupt remapping unless told
# (the lab's own kernel has no CONFIG_IRQ_REMAP)
if ! dmesg | grep -q 'Enabled IRQ remapping'; then
	echo Y > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts ||
		fail "cannot set allow_unsafe_interrupts"
	note irq_remap no
fi
echo 16 > /proc/sys/vm/nr_hugepages
# the empty "vfio" group (and top) attach the test module's dma_unmap callback: load it, unused
dmatest_load ndev=1 || fail "insmod vfio_dmatest"
note clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
MODES="untraced empty-lean top empty-phases top-phases"
note modes "$MODES"
PCI="--maps 4 --map-size 64K --huge-maps 2 --huge-size 4M"

start_tracer() { # MODE TAG
	rm -f /tmp/ready
	TLOG=$R/tracer-$1-$2.log TRES=$R/tracer-$1-$2.res
	case $1 in
	untraced) TPID=""; return 0 ;;
	empty-lean) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load lean & ;;
	empty-phases) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- empty-load vfio phases & ;;
	top) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b 1 1000000 >/dev/null & ;;
	top-phases) vtexec --match "tracing" --log $TLOG --ready /tmp/ready --result $TRES -- $VT top -b --phases 1 1000000 >/dev/null & ;;
	esac
	TPID=$!
	await_tracer $1
}
warmup() {
	vfio-workload pci --iterations ${WARMUP_ITERS:-20} $PCI -q --no-module-stats --json /tmp/warm.json >/dev/null 2>&1 ||
		echo "bench: warm-up pci storm failed"
	sleep 0.5
}
pci_storm() { # SECS OUT.json
	vfio-workload pci --duration $1 $PCI -q --no-module-stats --json "$2" ||
		{ echo "bench: pci storm exited $?"; return 1; }
	if [ -n "$TPID" ] && ! kill -0 $TPID 2>/dev/null; then
		echo "bench: the tracer died during the pci storm ($2): run discarded"; tail -3 $TLOG
		mv "$2" "$2.invalid"; return 1
	fi
}
# bench_rounds' timed storm and a bpf_stats window's storm, each into OUT.json
timed_storm() { pci_storm $STORM_SECS "$1"; }
stats_storm() { pci_storm ${STATS_SECS:-1} "$1"; }

echo "bench: phases pass (real IOMMU domain, ${bind% *}): modes [$MODES], $ROUNDS rounds of ${STORM_SECS}s pci storms"
bench_rounds "$MODES" timed_storm

echo 1 > /proc/sys/kernel/bpf_stats_enabled
bench_stats_windows "$(for m in $MODES; do [ $m = untraced ] || echo $m; done)" "" stats_storm
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo "bench: phases bpf_stats pass done ($(cut -d' ' -f1 /proc/uptime)s)"
dmatest_unload || note warn_rmmod "rmmod vfio_dmatest failed"
dmesg_clean || fail "kernel complained"
echo "bench: done"
