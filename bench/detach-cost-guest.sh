#!/bin/sh
# bench/detach-cost-guest.sh: what taking probes off costs the kernel, by attach method, under
# an unmap storm (issue #12). One vCPU, like the lab's hostile test:
#   make build/bench/detach-cost build/tests/vfio-workload
#   tests/lab/run-vm KVER bench/detach-cost-guest.sh OUTDIR --cpus 1 \
#       --add build/bench/detach-cost
# The functions snoop probes (those this kernel has): the vmlinux ones (V), those of the VFIO
# modules and the test driver (M), iommufd's (I). Twice: all by perf kprobe; all by one
# kprobe_multi pair; V by kprobe_multi and the rest by perf (hybrid). Then whether rmmod of
# a module works while a kprobe_multi link holds one of its functions, and whether a
# kprobe_multi dispatcher can tail-call kprobe handlers by attach cookie. OUTDIR/detach-cost.txt.
. /lab/lib.sh
DC=/lab/files/detach-cost
dmatest_load ndev=4 || fail "cannot load the test module"
# one scan of kallsyms (~3 s under TCG), the test module loaded: the names, module ones
# without their [module]
cut -d' ' -f3 /proc/kallsyms | cut -f1 > /tmp/names
pick() { for _f in "$@"; do grep -qx "$_f" /tmp/names && printf '%s ' "$_f"; done; }
V=$(pick iommu_unmap iommu_unmap_fast intel_iommu_tlb_sync amd_iommu_iotlb_sync \
	iommu_iova_to_phys intel_iommu_unmap_pages amd_iommu_unmap_pages)
M=$(pick vfio_iommu_type1_ioctl vfio_dma_do_unmap vfio_notify_dma_unmap \
	vfio_iommu_type1_detach_group vfio_unpin_pages_remote vfio_remove_dma vfio_unmap_unpin \
	vfio_pin_pages vfio_unpin_pages vfio_iommu_type1_register_device \
	vfio_iommu_type1_unregister_device vfio_iommu_type1_release dt_dma_unmap)
I=$(pick iommufd_ioas_unmap iommufd_ioas_map iopt_unmap_iova iopt_unmap_all \
	iopt_map_user_pages iommufd_access_notify_unmap iopt_area_unfill_domains \
	iommufd_ioas_destroy)
nv=$(echo $V | wc -w)
{
echo "kernel $(uname -r); vmlinux: $V; modules: $M; iommufd: $I"
# rmmod while a kprobe_multi link holds a function of the module (no storm: its fds hold it)
if $DC multi dt_dma_unmap > /tmp/hold.txt 2>&1 & then
	_p=$!; sleep 2
	if rmmod vfio_dmatest 2> /tmp/rmmod.err; then echo "rmmod under kprobe_multi: unloaded"
	else echo "rmmod under kprobe_multi: refused: $(cat /tmp/rmmod.err)"; fi
	kill -INT $_p 2>/dev/null; wait $_p
	cat /tmp/hold.txt
fi
module_loaded vfio_dmatest || dmatest_load ndev=4 || fail "cannot load the test module again"
vfio-workload storm --duration 600 --quiet > /dev/null 2> /out/storm.err < /dev/null &
spid=$!
sleep 2
for r in 1 2; do
	for mode in "perf $V $M $I" "multi $V $M $I" "hybrid $nv $V $M $I"; do
		DETACH_COST_WAIT=2 $DC $mode 2>&1
	done
done
$DC tail plain vfio_iommu_type1_ioctl 2>&1
$DC tail multi vfio_iommu_type1_ioctl 2>&1
} > /out/detach-cost.txt
kill -INT $spid; wait
exit 0
