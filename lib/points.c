// SPDX-License-Identifier: GPL-2.0
/*
 * The attach points (vt_points): per point its symbol, module, kind, the programs that
 * measure it (bound to skeleton members by lib/loader.c's vt_point_progs()), what it measures and
 * the feature that loads it. lib/probe.c decides, per kernel, the method each point gets.
 */
#include <string.h>
#include "vt.h"

#define T1	"vfio_iommu_type1"
#define IOMMUFD "iommufd"

struct vt_point vt_points[] = {
	{ "vfio_iommu_type1_ioctl", T1, VT_PK_FUNC, "ioctl",
	  "UNMAP_DMA/MAP_DMA calls: latency, bytes, errors per container", true },
	{ "vfio_dma_do_unmap", T1, VT_PK_INLINED_FUNC, "do_unmap",
	  "the unmap itself: measured at vfio_iommu_type1_ioctl filtered on UNMAP_DMA", false },
	{ "vfio_notify_dma_unmap", T1, VT_PK_INLINED_FUNC, "notify",
	  "notify windows: reconstructed from the drivers' dma_unmap callbacks", false },
	{ "vfio_remove_dma", T1, VT_PK_FUNC, "remove_dma",
	  "per-vfio_dma removal (top: only those of a teardown, counted at entry)", false },
	{ "vfio_unmap_unpin", T1, VT_PK_FUNC, "unmap_unpin", "per-vfio_dma unmap+unpin (not top)",
	  false, VT_FEAT_DETAIL },
	/* the phases of vfio_unmap_unpin, counted only inside one (of the same thread) */
	{ "iommu_unmap_fast", NULL, VT_PK_FUNC, "iommu_unmap_fast",
	  "the IOMMU unmap inside vfio_unmap_unpin: bytes, latency per container (not top)", false,
	  VT_FEAT_DETAIL },
	{ "iommu_unmap", NULL, VT_PK_FUNC, "iommu_unmap",
	  "the same where iommu_unmap_fast fails, and other domains (not top)", false,
	  VT_FEAT_DETAIL },
	{ "vfio_unpin_pages_remote", T1, VT_PK_FUNC, "unpin_remote",
	  "the unpinning inside vfio_unmap_unpin: pages, latency per container (not top)", false,
	  VT_FEAT_DETAIL },
	{ "intel_iommu_tlb_sync", NULL, VT_PK_FUNC, "intel_sync",
	  "the IOTLB flush inside vfio_unmap_unpin (VT-d): bytes, latency per container (not top)",
	  false, VT_FEAT_DETAIL, "dmar" },
	{ "amd_iommu_iotlb_sync", NULL, VT_PK_FUNC, "amd_sync", "the same on AMD-Vi (not top)",
	  false, VT_FEAT_DETAIL, "ivhd" },
	{ "intel_iommu_unmap_pages", NULL, VT_PK_FUNC, "intel_unmap_pages",
	  "the page size of each IOMMU unmap inside vfio_unmap_unpin (VT-d): 4 KiB bytes (not top)",
	  false, VT_FEAT_DETAIL, "dmar" },
	{ "amd_iommu_unmap_pages", NULL, VT_PK_FUNC, "amd_unmap_pages",
	  "the same on AMD-Vi (not top)", false, VT_FEAT_DETAIL, "ivhd" },
	{ "iommu_iova_to_phys", NULL, VT_PK_FUNC, "iova_to_phys",
	  "the per-page IOVA walk of vfio_unmap_unpin: lookups, time per unmap_unpin (not top)",
	  false, VT_FEAT_DETAIL },
	{ "vfio_iommu_type1_pin_pages", T1, VT_PK_FUNC, "t1_pin",
	  "pins per container where vfio_pin_pages cannot be traced", false },
	{ "vfio_iommu_type1_unpin_pages", T1, VT_PK_FUNC, "t1_unpin",
	  "unpins per container where vfio_unpin_pages cannot be traced", false },
	{ "vfio_pin_pages", "vfio", VT_PK_FUNC, "vfio_pin", "pins per device", false },
	{ "vfio_unpin_pages", "vfio", VT_PK_FUNC, "vfio_unpin", "unpins per device", false },
	{ "vfio_iommu_type1_register_device", T1, VT_PK_FUNC, "register",
	  "a device joins its container's device_list", false },
	{ "vfio_iommu_type1_unregister_device", T1, VT_PK_FUNC, "unregister",
	  "a device leaves the device_list", false },
	{ "dma_unmap callbacks", NULL, VT_PK_CALLBACK, NULL,
	  "each driver's ops->dma_unmap, found in the BTF of the modules using vfio", false },
	{ "module:module_load", NULL, VT_PK_TRACEPOINT, "module_load",
	  "a driver module loaded later: its dma_unmap callbacks attached before its loader "
	  "returns",
	  false },
	{ "module:module_free", NULL, VT_PK_TRACEPOINT, "module_free",
	  "a VFIO module unloaded under export: its probes removed, attached again when it is "
	  "loaded again",
	  false, VT_FEAT_RELOAD },
	{ "vfio_iommu_type1_detach_group", T1, VT_PK_FUNC, "detach_group",
	  "VM teardown: the last group leaves and the remaining vfio_dma go", false },
	{ "vfio_iommu_type1_release", T1, VT_PK_FUNC, "release",
	  "VM teardown: the container goes away with its remaining vfio_dma (and its locks)",
	  false },
	{ "mutex_lock", NULL, VT_PK_FUNC, "mutex_lock",
	  "hold times of iommu->lock and device_list_lock (vfio-trace locks)", false,
	  VT_FEAT_LOCKS },
	{ "mutex_unlock", NULL, VT_PK_FUNC, "mutex_unlock",
	  "hold times of iommu->lock and device_list_lock (vfio-trace locks)", false,
	  VT_FEAT_LOCKS },
	{ "lock:contention_begin", NULL, VT_PK_TRACEPOINT, "contention_begin",
	  "lock wait times (locks); the live ABBA deadlock alert (every tracing command)", false,
	  VT_FEAT_LOCKS | VT_FEAT_ALERT },
	{ "lock:contention_end", NULL, VT_PK_TRACEPOINT, "contention_end",
	  "lock wait times (locks); the live ABBA deadlock alert (every tracing command)", false,
	  VT_FEAT_LOCKS | VT_FEAT_ALERT },
	/* The iommufd path (device cdev + /dev/iommu, kernels with CONFIG_IOMMUFD): an IOAS is
	 * the container (bpf/vt_iommufd.bpf.h). */
	{ "iommufd_ioas_unmap", IOMMUFD, VT_PK_FUNC, "ioas_unmap",
	  "IOMMU_IOAS_UNMAP calls: latency, bytes, errors per IOAS; -EDEADLOCK: the RETRY LIMIT "
	  "alert",
	  false },
	{ "iopt_unmap_iova", IOMMUFD, VT_PK_FUNC, "iopt_unmap",
	  "the IOAS an IOMMU_IOAS_UNMAP unmaps", false },
	{ "iopt_unmap_all", IOMMUFD, VT_PK_FUNC, "iopt_unmap_all",
	  "the IOAS an IOMMU_IOAS_UNMAP of everything unmaps", false },
	{ "iommufd_ioas_map", IOMMUFD, VT_PK_FUNC, "ioas_map",
	  "IOMMU_IOAS_MAP calls: latency, bytes, errors per IOAS", false },
	{ "iopt_map_user_pages", IOMMUFD, VT_PK_FUNC, "iopt_map",
	  "the IOAS an IOMMU_IOAS_MAP maps into", false },
	{ "iommufd_access_notify_unmap", IOMMUFD, VT_PK_FUNC, "ioas_notify",
	  "notifies per IOAS (one per pinned area and try): latency, bytes, retries", false },
	{ "iommufd_ioas_destroy", IOMMUFD, VT_PK_FUNC, "ioas_destroy",
	  "VM teardown: an IOAS goes away with its remaining areas (no IOMMU_IOAS_UNMAP)", false },
	{ "iopt_area_unfill_domains", IOMMUFD, VT_PK_FUNC, "area_unfill",
	  "the areas and bytes of an IOAS teardown", false },
	{ "iommufd_access_pin_pages", IOMMUFD, VT_PK_FUNC, "ioas_pin",
	  "pins per IOAS where vfio_pin_pages cannot be traced", false },
	{ "iommufd_access_unpin_pages", IOMMUFD, VT_PK_FUNC, "ioas_unpin",
	  "unpins per IOAS where vfio_unpin_pages cannot be traced", false },
	{ "iommu:map", NULL, VT_PK_TRACEPOINT, NULL, "IOMMU domain maps (not with emulated IOMMUs)",
	  false },
	{ "iommu:unmap", NULL, VT_PK_TRACEPOINT, NULL, "IOMMU domain unmaps", false },
};
const int vt_npoints = sizeof(vt_points) / sizeof(vt_points[0]);

const char *vt_method_name(enum vt_method m)
{
	switch (m) {
	case VT_M_FENTRY: return "fentry";
	case VT_M_KPROBE: return "kprobe";
	case VT_M_TRACEPOINT: return "tracepoint";
	case VT_M_INLINED: return "reconstructed";
	case VT_M_DYNAMIC: return "dynamic";
	default: return "unavailable";
	}
}

struct vt_point *vt_point_find(const char *name)
{
	for (int i = 0; i < vt_npoints; i++)
		if (!strcmp(vt_points[i].name, name))
			return &vt_points[i];
	return NULL;
}
