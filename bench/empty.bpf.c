// SPDX-License-Identifier: GPL-2.0
/*
 * bench: empty programs on the attach points vfio-trace uses (the cost floor of tracing them)
 * and on mutex_lock/mutex_unlock (the floor for lock timing). Loaded by bench/empty-load.c.
 * Same program types as vfio-trace's fentry variant: fentry+fexit where vfio-trace has both,
 * fentry only on register/unregister. Group vfio is what stat/hist/snoop attach, group lean
 * (a subset, chosen in empty-load.c) what top and locks attach; vfio + phases what
 * `top --phases` attaches.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(sec, name)             \
	SEC(sec) int name(void *ctx) \
	{                            \
		return 0;            \
	}

/* group "vfio" */
EMPTY("fentry/vfio_iommu_type1_ioctl", e_fe_ioctl)
EMPTY("fexit/vfio_iommu_type1_ioctl", e_fx_ioctl)
EMPTY("fentry/vfio_remove_dma", e_fe_remove_dma)
EMPTY("fexit/vfio_remove_dma", e_fx_remove_dma)
EMPTY("fentry/vfio_unmap_unpin", e_fe_unmap_unpin)
EMPTY("fexit/vfio_unmap_unpin", e_fx_unmap_unpin)
EMPTY("fentry/vfio_pin_pages", e_fe_vfio_pin)
EMPTY("fexit/vfio_pin_pages", e_fx_vfio_pin)
EMPTY("fentry/vfio_unpin_pages", e_fe_vfio_unpin)
EMPTY("fexit/vfio_unpin_pages", e_fx_vfio_unpin)
EMPTY("fentry/vfio_iommu_type1_register_device", e_fe_register)
EMPTY("fentry/vfio_iommu_type1_unregister_device", e_fe_unregister)
/* where vfio_dma_do_unmap and vfio_notify_dma_unmap are functions (the lab's
 * 6.12.117-vt-iommufd) vfio-trace attaches them; empty-load loads these only there */
EMPTY("fentry/vfio_dma_do_unmap", e_fe_do_unmap)
EMPTY("fexit/vfio_dma_do_unmap", e_fx_do_unmap)
EMPTY("fentry/vfio_notify_dma_unmap", e_fe_notify)
EMPTY("fexit/vfio_notify_dma_unmap", e_fx_notify)
/* the test module's dma_unmap callback (needs vfio_dmatest loaded, with module BTF) */
EMPTY("fentry/dt_dma_unmap", e_fe_callback)
EMPTY("fexit/dt_dma_unmap", e_fx_callback)

/* group "phases": the points of `top --phases` (stat's) that the vfio group lacks, the phases
 * of vfio_unmap_unpin (bpf/vt_phases.bpf.h), each loaded where the kernel has the function
 * (empty-load: amd_* have no callers on a VT-d guest). They fire in a storm on a real IOMMU
 * domain only (bench/phases-guest.sh), never on vfio_dmatest's emulated one. */
EMPTY("fentry/iommu_unmap_fast", e_ph_fe_unmap_fast)
EMPTY("fexit/iommu_unmap_fast", e_ph_fx_unmap_fast)
EMPTY("fentry/iommu_unmap", e_ph_fe_iommu_unmap)
EMPTY("fexit/iommu_unmap", e_ph_fx_iommu_unmap)
EMPTY("fentry/vfio_unpin_pages_remote", e_ph_fe_unpin_remote)
EMPTY("fexit/vfio_unpin_pages_remote", e_ph_fx_unpin_remote)
EMPTY("fentry/intel_iommu_tlb_sync", e_ph_fe_intel_sync)
EMPTY("fexit/intel_iommu_tlb_sync", e_ph_fx_intel_sync)
EMPTY("fentry/amd_iommu_iotlb_sync", e_ph_fe_amd_sync)
EMPTY("fexit/amd_iommu_iotlb_sync", e_ph_fx_amd_sync)
EMPTY("fentry/intel_iommu_unmap_pages", e_ph_fe_intel_unmap_pages)
EMPTY("fentry/amd_iommu_unmap_pages", e_ph_fe_amd_unmap_pages)
EMPTY("fentry/iommu_iova_to_phys", e_ph_fe_iova_to_phys)
EMPTY("fexit/iommu_iova_to_phys", e_ph_fx_iova_to_phys)

/* group "mutex" */
EMPTY("fentry/mutex_lock", e_fe_mutex_lock)
EMPTY("fentry/mutex_unlock", e_fe_mutex_unlock)
