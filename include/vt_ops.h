/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one table of operations: every kind of thing vfio-trace counts is a row. The enum the
 * BPF side accounts with (include/vt_shared.h), the names in text and JSON, and the list of
 * operations each output shows (per container, per device, histograms) are generated from it
 * (X-macros, as the kernel's trace event headers and perf's builtin tables do). A new
 * operation is a row here and the BPF program that accounts it; which program and attach point
 * produce each row is in lib/points.c's vt_points and bpf/vfio_trace.bpf.c.
 *
 * X(ENUM, "name", flags): VT_OP_<ENUM>, its name in text and JSON, VT_OPF_* flags.
 */
#ifndef VT_OPS_H
#define VT_OPS_H

#define VT_OPF_CONTAINER (1u << 0) /* keyed by container: listed per container */
#define VT_OPF_DEVICE	 (1u << 1) /* keyed by device: listed per device */
#define VT_OPF_LOCK	 (1u << 2) /* keyed by container and lock kind (vfio-trace locks) */
#define VT_OPF_PAGES	 (1u << 3) /* its bytes are pages */
#define VT_OPF_UNTIMED	 (1u << 4) /* has no duration: no latency in JSON */
#define VT_OPF_HIST	 (1u << 5) /* vfio-trace hist shows its histogram (callbacks: per device) */

#define VT_OPS(X)                                                                         \
	/* VFIO_IOMMU_UNMAP_DMA ioctl (vfio_dma_do_unmap) */                              \
	X(UNMAP, "unmap", VT_OPF_CONTAINER | VT_OPF_HIST)                                 \
	/* VFIO_IOMMU_MAP_DMA ioctl */                                                    \
	X(MAP, "map", VT_OPF_CONTAINER)                                                   \
	/* vfio_remove_dma: one vfio_dma torn down (by an unmap or a teardown) */         \
	X(REMOVE_DMA, "remove_dma", VT_OPF_CONTAINER | VT_OPF_HIST)                       \
	/* vfio_unmap_unpin */                                                            \
	X(UNMAP_UNPIN, "unmap_unpin", VT_OPF_CONTAINER | VT_OPF_HIST)                     \
	/* vfio_notify_dma_unmap (a symbol, or reconstructed from the callbacks) */       \
	X(NOTIFY, "notify", VT_OPF_CONTAINER | VT_OPF_HIST)                               \
	/* a notify that re-loops over the same vfio_dma (the kernel BUG()s after 10) */  \
	X(RETRY, "retry", VT_OPF_CONTAINER | VT_OPF_UNTIMED)                              \
	/* a device driver's ops->dma_unmap */                                            \
	X(CALLBACK, "callback", VT_OPF_DEVICE)                                            \
	/* vfio_pin_pages / vfio_iommu_type1_pin_pages */                                 \
	X(PIN, "pin", VT_OPF_DEVICE | VT_OPF_PAGES | VT_OPF_HIST)                         \
	/* vfio_unpin_pages / vfio_iommu_type1_unpin_pages */                             \
	X(UNPIN, "unpin", VT_OPF_DEVICE | VT_OPF_PAGES | VT_OPF_HIST)                     \
	/* vfio_iommu_type1_register_device: the device joins device_list */              \
	X(REGISTER, "register", VT_OPF_DEVICE | VT_OPF_UNTIMED)                           \
	/* vfio_iommu_type1_unregister_device */                                          \
	X(UNREGISTER, "unregister", VT_OPF_DEVICE | VT_OPF_UNTIMED)                       \
	/* a tracked mutex held (mutex_lock -> mutex_unlock) */                           \
	X(LOCK_HOLD, "lock_hold", VT_OPF_LOCK)                                            \
	/* a tracked mutex waited for (lock:contention_begin/end) */                      \
	X(LOCK_WAIT, "lock_wait", VT_OPF_LOCK)                                            \
	/* iommu->lock dropped by an unmap for its notify */                              \
	X(LOCK_DROP, "lock_drop", VT_OPF_LOCK)                                            \
	/* the iommu->lock / device_list_lock ABBA cycle closed */                        \
	X(DEADLOCK, "deadlock", VT_OPF_LOCK)                                              \
	/* a container's remaining vfio_dma removed with no UNMAP_DMA (a VM's exit):	\
	 * vfio_iommu_type1_detach_group or _release; items = the vfio_dma */    \
	X(TEARDOWN, "teardown", VT_OPF_CONTAINER | VT_OPF_HIST)                           \
	/* inside a vfio_unmap_unpin: the IOMMU unmap (iommu_unmap_fast, or iommu_unmap	\
	 * where the fast one fails or for a second domain); bytes = what it unmapped */ \
	X(IOMMU_UNMAP, "iommu_unmap", VT_OPF_CONTAINER | VT_OPF_HIST)                     \
	/* inside a vfio_unmap_unpin, after the IOTLB flush: vfio_unpin_pages_remote;	\
	 * pages = those it unpinned (its return value) */   \
	X(UNPIN_REMOTE, "unpin_remote", VT_OPF_CONTAINER | VT_OPF_PAGES | VT_OPF_HIST)    \
	/* inside a vfio_unmap_unpin: the IOMMU driver's IOTLB flush (its iotlb_sync:	\
	 * intel_iommu_tlb_sync, amd_iommu_iotlb_sync); bytes = the IOVA range flushed */   \
	X(IOTLB_SYNC, "iotlb_sync", VT_OPF_CONTAINER | VT_OPF_HIST)                       \
	/* one per vfio_unmap_unpin: its iommu_iova_to_phys walk, the time of all its	\
	 * lookups; pages = the lookups (one per page, plus one per chunk but the last) */   \
	X(IOVA_WALK, "iova_walk", VT_OPF_CONTAINER | VT_OPF_PAGES | VT_OPF_HIST)

#define VT_OP_ENUM_(e, name, flags) VT_OP_##e,

#endif
