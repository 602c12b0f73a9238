#!/bin/sh
# lab test "iommu-domain" (run-vm --iommu: q35 + emulated VT-d + an e1000e): a vfio-pci device
# with a REAL IOMMU domain, where the test module's devices have none. The e1000e is bound to
# vfio-pci; `vfio-trace stat --json 1` is started, then the workload's pci scenario maps and
# unmaps anonymous (4 KiB pages) and hugetlbfs (2 MiB pages) memory through a TYPE1v2
# container and exits with some vfio_dma left mapped. The kernel's own iommu:map/iommu:unmap
# tracepoints are recorded in a tracefs instance of this test, with kprobes on the VT-d
# driver's map_pages/unmap_pages (the page size the IOMMU really used); ./check compares all
# of it with the workload's counters, and the phases of vfio_unmap_unpin (iommu_unmap,
# unpin_remote) with both; a second run under snoop splits the phases by memory kind; a
# recording's timeline nests the phases; the ftrace backend beside BPF counts the same phases,
# and none of the DMA API's unmaps (a virtio NIC behind the VT-d, run-vm --dma-nic) reach it.
. /lab/lib.sh
T=$TRACEFS
I=$T/instances/iommu_domain	# this test's own ring buffer
G=wlpg				# kprobe event group of this test

cleanup() {
	[ -d $I ] && echo 0 > $I/tracing_on 2>/dev/null
	[ -d $I/events/$G ] && echo 0 > $I/events/$G/enable 2>/dev/null
	[ -d $I ] && echo 0 > $I/events/iommu/enable 2>/dev/null
	for e in map_pages unmap_pages; do echo "-:$G/$e" >> $T/kprobe_events 2>/dev/null; done
	[ -d $I ] && rmdir $I 2>/dev/null
}
trap cleanup EXIT
dmesg_mark
note iommu_groups "$(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l)"
bind=$(vfio_pci_bind) || fail "cannot bind the e1000e to vfio-pci"
note bdf "${bind% *}"
note group "${bind#* }"
note group_devices "$(ls /sys/kernel/iommu_groups/${bind#* }/devices | wc -l)"
note group_type "$(cat /sys/kernel/iommu_groups/${bind#* }/type 2>/dev/null)"
# type1 refuses a domain without interrupt remapping (EPERM at attach) unless told: our
# 6.12.*-vt-iommufd build has no CONFIG_IRQ_REMAP (it only changes the MSI's safety, not
# DMA mapping); ./check expects remapping on the kernels whose config has it
if dmesg | grep -q 'Enabled IRQ remapping'; then
	note irq_remap yes
else
	note irq_remap no
	echo Y > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts ||
		fail "cannot set allow_unsafe_interrupts"
fi
# 2 MiB pages for MAP_HUGETLB (the workload needs one --huge-size buffer)
echo 16 > /proc/sys/vm/nr_hugepages
note nr_hugepages "$(cat /proc/sys/vm/nr_hugepages)"

mkdir $I || fail "cannot create tracefs instance $I"
echo 8192 > $I/buffer_size_kb
echo 1 > $I/events/iommu/map/enable || fail "no iommu:map event"
echo 1 > $I/events/iommu/unmap/enable || fail "no iommu:unmap event"
# the page size and count of each call into the driver (x86-64 argument registers):
#   intel_iommu_map_pages(domain, iova, paddr, pgsize, pgcount, ...)
#   intel_iommu_unmap_pages(domain, iova, pgsize, pgcount, gather)
if echo "p:$G/map_pages intel_iommu_map_pages iova=%si:x64 pgsize=%cx:u64 pgcount=%r8:u64" >> $T/kprobe_events &&
	echo "p:$G/unmap_pages intel_iommu_unmap_pages iova=%si:x64 pgsize=%dx:u64 pgcount=%cx:u64" >> $T/kprobe_events; then
	echo 1 > $I/events/$G/enable || fail "cannot enable $G kprobes in the instance"
	note pgsize_probes ok
else
	note pgsize_probes absent
fi
echo 1 > $I/tracing_on

vt_traced pci "stat --json 1" pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M \
	--iterations 5 --leave-mapped 1

echo 0 > $I/tracing_on
cat $I/trace > /out/iommu.trace
note overrun "$(cat $I/per_cpu/cpu*/stats | awk '/^overrun:/ { s += $2 } END { print s + 0 }')"
cleanup
# the same again under snoop: per event the IOVA of each phase of vfio_unmap_unpin, which
# ./check splits by the workload's windows (4 KiB anonymous vs 2 MiB hugetlbfs memory)
vt_traced pcisnoop "snoop --json" pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M \
	--iterations 5 --leave-mapped 1
# and once with the kprobe twins (the fallback where fentry is refused): the same counts
VT_ENV=VFIO_TRACE_NO_FENTRY=1 vt_traced pcikprobe "stat --json 1" pci --maps 4 --map-size 64K \
	--huge-maps 2 --huge-size 4M --iterations 5 --leave-mapped 1
# and the ftrace backend (kprobe events, no BPF) beside the BPF one over one workload: the same
# phases, counted alike (-v: its records read, and how many were the phases', said at exit);
# the events its phases filter in the kernel on the domain's type, noted while it runs
vfio-trace stat --json 1 > /out/pciboth.bpf 2> /out/pciboth.bpf.err &
bp=$!
wait_line /out/pciboth.bpf.err tracing 90 || fail "pciboth: BPF tracer did not start"
vfio-trace stat --backend ftrace -v --json 1 > /out/pciboth.trace 2> /out/pciboth.trace.err &
fp=$!
wait_line /out/pciboth.trace.err tracing 90 || fail "pciboth: ftrace tracer did not start"
note ftrace_dtype_filters "$(grep -l dtype $T/instances/vfio_trace_$fp/events/vfio_trace_$fp/*/filter |
	sed 's|.*/\([^/]*\)/filter$|\1|' | sort | tr '\n' ' ')"
vfio-workload pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M --iterations 5 \
	--leave-mapped 1 --quiet --json /out/pciboth.wl.json 2> /out/pciboth.wl.err
echo $? > /out/pciboth.wl.rc
kill -INT $fp; wait $fp; echo $? > /out/pciboth.trace.rc
kill -INT $bp; wait $bp; echo $? > /out/pciboth.bpf.rc
# and under top --phases (its JSON: per container the split of unmap_unpin's time; its text:
# the phases table)
vt_traced pcitop "top -j --phases 1" pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M \
	--iterations 5 --leave-mapped 1
vt_traced pcitopb "top -b --phases 1" pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M \
	--iterations 5 --leave-mapped 1
# snoop's text: each unmap and teardown line ends with its phase split
vt_traced pcisnoopt "snoop" pci --maps 4 --map-size 64K --huge-maps 2 --huge-size 4M \
	--iterations 5 --leave-mapped 1
# and recorded: ./check reads the file back with report (its totals, its events, its timeline,
# where every phase must lie inside its vfio_unmap_unpin)
vt_traced pcirec "record -o /out/pci.vtr" pci --maps 4 --map-size 64K --huge-maps 2 \
	--huge-size 4M --iterations 5 --leave-mapped 1
# the DMA API's own IOMMU unmaps: a virtio NIC behind the VT-d (run-vm --dma-nic), pinged with
# --backend ftrace running and no VFIO work; ./check wants none of them in its buffer
net_up || fail "dmaapi: cannot bring the NIC up"
vfio-trace stat --backend ftrace -v --json 1 > /out/dmaapi.trace 2> /out/dmaapi.trace.err &
fp=$!
wait_line /out/dmaapi.trace.err tracing 90 || fail "dmaapi: ftrace tracer did not start"
save dmaapi.prof0 $T/kprobe_profile
ping -c 200 -i 0.01 -W 1 10.0.2.2 > /out/dmaapi.ping 2>&1
save dmaapi.prof1 $T/kprobe_profile
kill -INT $fp; wait $fp; echo $? > /out/dmaapi.trace.rc
note kprobe_events_left "$(grep -c . $T/kprobe_events)"
if dmesg_clean; then note dmesg_clean yes; else note dmesg_clean no; fi
exit 0
