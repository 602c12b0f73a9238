/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The phases of vfio_unmap_unpin (issue #19, where the unmap time goes): the IOMMU unmap, the
 * IOTLB flush, the IOVA-to-phys walk and the unpinning of the pages, each timed per container.
 *
 * vfio_unmap_unpin first clears every domain but the first with iommu_unmap, then walks the
 * vfio_dma: per page it asks iommu_iova_to_phys where the IOVA points (one lookup per page
 * and one more per physically contiguous chunk but the last), unmaps each chunk with
 * iommu_unmap_fast (iommu_unmap, which flushes at once, where that fails), gathers up to 512
 * chunks, flushes the IOTLB (iommu_iotlb_sync, an inline calling the driver's iotlb_sync) and
 * unpins each chunk's pages with vfio_unpin_pages_remote. iommu_unmap{,_fast} and
 * iommu_iova_to_phys are exported from vmlinux, the drivers' iotlb_sync (intel_iommu_tlb_sync,
 * amd_iommu_iotlb_sync) are functions of their own (their address is in the ops), and
 * vfio_unpin_pages_remote is a function of its own on Debian's 6.1 and 6.12.
 *
 * The driver also flushes inside an unmap (iommu_unmap's own sync; and within
 * iommu_unmap_fast, iommu_iotlb_gather_add_page syncs when the page size changes or the range
 * would be disjoint): that flush is counted as iotlb_sync and taken out of the enclosing
 * iommu_unmap's row, so the phases never overlap and their sum is at most unmap_unpin's; the
 * unmap's event keeps the whole call (gross) and says how much of it the flushes took
 * (vtr_event.nested_ns), so the timeline nests the flushes in it.
 *
 * The walk is per page: its lookups are summed per vfio_unmap_unpin (vt_walks) and accounted
 * once, at vfio_unmap_unpin's exit (walk_close), not one event per page.
 *
 * They are counted only while a vfio_unmap_unpin of the same thread is in flight (its
 * vt_calls slot, whose container they take): these functions serve every IOMMU user (the
 * DMA API, type1's own probe at attach), which are no unmap of a container.
 *
 * A part of vfio_trace.bpf.c, included after the in-flight call helpers (call_get/put), before
 * the per-vfio_dma programs (whose exit calls walk_close).
 */
#ifndef VT_PHASES_BPF_H
#define VT_PHASES_BPF_H

/* iova: the second argument of iommu_unmap{,_fast} and vfio_unpin_pages_remote, what snoop
 * shows per event; size: the bytes an iotlb_sync flushes (0 for the others). */
static __always_inline int phase_enter(__u32 op, __u64 iova, __u64 size)
{
	struct vtr_call *outer = call_get(VT_OP_UNMAP_UNPIN);
	struct vtr_call c = {};

	if (!outer)
		return 0; /* not inside a vfio_unmap_unpin: another IOMMU user */
	c.ts = bpf_ktime_get_ns();
	c.container = outer->container;
	c.iova = iova;
	c.size = size;
	call_put(op, &c);
	return 0;
}

/* amount: the bytes unmapped (iommu_unmap*) or pages unpinned (vfio_unpin_pages_remote);
 * iotlb_sync's bytes were taken at entry. A flush inside an iommu_unmap adds its time to the
 * unmap's obj (the flush time nested in it), which the unmap's row does not count (its event
 * carries the whole call and that nested time: vt_account_nested); the driver's unmap_pages
 * inside it add the bytes they unmap in 4 KiB pages to its size, which its row sums as items
 * (vt_op_items). */
static __always_inline int phase_exit(__u32 op, __u64 amount)
{
	struct vtr_call *c = call_get(op);
	struct vtr_call *unmap;
	__u64 now, lat;

	if (!c)
		return 0; /* its entry was outside a vfio_unmap_unpin */
	now = bpf_ktime_get_ns();
	lat = now - c->ts;
	if (op == VT_OP_IOTLB_SYNC) {
		amount = c->size;
		unmap = call_get(VT_OP_IOMMU_UNMAP);
		if (unmap)
			unmap->obj += lat;
	}
	/* c->obj: 0 but in an iommu_unmap that flushed inside */
	vt_account_nested(op, VT_KIND_CONTAINER, c->container, c->container, lat,
			  op == VT_OP_IOMMU_UNMAP ? c->obj : 0, now, amount, 0, c->iova,
			  op == VT_OP_IOMMU_UNMAP ? c->size : 0, 0);
	call_done(c);
	return 0;
}

/* The four programs of a phase: entry needs the second argument, exit the return value (fexit
 * reads it with bpf_get_func_ret, whatever the function's argument count). */
#define VT_PHASE_PROGS(func, x, op)                            \
	SEC("fentry/" #func)                                   \
	int BPF_PROG(fe_##x)                                   \
	{                                                      \
		return phase_enter(op, fentry_arg(ctx, 1), 0); \
	}                                                      \
	SEC("fexit/" #func)                                    \
	int BPF_PROG(fx_##x)                                   \
	{                                                      \
		__u64 ret = 0;                                 \
                                                               \
		bpf_get_func_ret(ctx, &ret);                   \
		return phase_exit(op, ret);                    \
	}                                                      \
	SEC("kprobe/" #func)                                   \
	int BPF_KPROBE(kp_##x)                                 \
	{                                                      \
		return phase_enter(op, PT_REGS_PARM2(ctx), 0); \
	}                                                      \
	SEC("kretprobe/" #func)                                \
	int BPF_KRETPROBE(kr_##x)                              \
	{                                                      \
		return phase_exit(op, PT_REGS_RC(ctx));        \
	}

VT_PHASE_PROGS(iommu_unmap_fast, iommu_unmap_fast, VT_OP_IOMMU_UNMAP)
VT_PHASE_PROGS(iommu_unmap, iommu_unmap, VT_OP_IOMMU_UNMAP)
VT_PHASE_PROGS(vfio_unpin_pages_remote, unpin_remote, VT_OP_UNPIN_REMOTE)

/* A driver's iotlb_sync(domain, gather): the range it flushes is gather's [start, end]
 * (start ULONG_MAX, end 0 when nothing was gathered). */
static __always_inline int sync_enter(struct iommu_iotlb_gather *gather)
{
	__u64 start = BPF_CORE_READ(gather, start), end = BPF_CORE_READ(gather, end);

	return phase_enter(VT_OP_IOTLB_SYNC, start, start <= end ? end - start + 1 : 0);
}

#define VT_SYNC_PROGS(func, x)                                                      \
	SEC("fentry/" #func)                                                        \
	int BPF_PROG(fe_##x)                                                        \
	{                                                                           \
		return sync_enter((struct iommu_iotlb_gather *)fentry_arg(ctx, 1)); \
	}                                                                           \
	SEC("fexit/" #func)                                                         \
	int BPF_PROG(fx_##x)                                                        \
	{                                                                           \
		return phase_exit(VT_OP_IOTLB_SYNC, 0);                             \
	}                                                                           \
	SEC("kprobe/" #func)                                                        \
	int BPF_KPROBE(kp_##x)                                                      \
	{                                                                           \
		return sync_enter((struct iommu_iotlb_gather *)PT_REGS_PARM2(ctx)); \
	}                                                                           \
	SEC("kretprobe/" #func)                                                     \
	int BPF_KRETPROBE(kr_##x)                                                   \
	{                                                                           \
		return phase_exit(VT_OP_IOTLB_SYNC, 0);                             \
	}

VT_SYNC_PROGS(intel_iommu_tlb_sync, intel_sync)
VT_SYNC_PROGS(amd_iommu_iotlb_sync, amd_sync)

/* The page size the IOMMU unmaps with: the driver's unmap_pages(domain, iova, pgsize,
 * pgcount, gather), called by iommu_unmap{,_fast} once per run of equal pages. Entry only. */
static __always_inline int unmap_pages(__u64 pgsize, __u64 pgcount)
{
	struct vtr_call *unmap = call_get(VT_OP_IOMMU_UNMAP);

	if (unmap && pgsize == 4096)
		unmap->size += pgsize * pgcount;
	return 0;
}

#define VT_UNMAP_PAGES_PROGS(func, x)                                       \
	SEC("fentry/" #func)                                                \
	int BPF_PROG(fe_##x)                                                \
	{                                                                   \
		return unmap_pages(fentry_arg(ctx, 2), fentry_arg(ctx, 3)); \
	}                                                                   \
	SEC("kprobe/" #func)                                                \
	int BPF_KPROBE(kp_##x)                                              \
	{                                                                   \
		return unmap_pages(PT_REGS_PARM3(ctx), PT_REGS_PARM4(ctx)); \
	}

VT_UNMAP_PAGES_PROGS(intel_iommu_unmap_pages, intel_unmap_pages)
VT_UNMAP_PAGES_PROGS(amd_iommu_unmap_pages, amd_unmap_pages)

/* ---- the iommu_iova_to_phys walk: summed per vfio_unmap_unpin ---------------------------- */

struct vtr_walk {
	__u64 unmap_unpin_ts; /* the vfio_unmap_unpin these lookups belong to (its entry time) */
	__u64 container;
	__u64 iova;	 /* the first lookup's */
	__u64 lookup_ts; /* a lookup in flight (0: none) */
	__u64 ns;
	__u64 lookups;
};

VT_MAP(BPF_MAP_TYPE_LRU_HASH, 4096, __u32, struct vtr_walk) vt_walks SEC(".maps");

static __always_inline int walk_enter(__u64 iova)
{
	struct vtr_call *outer = call_get(VT_OP_UNMAP_UNPIN);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_walk *w, fresh = {};

	if (!outer)
		return 0; /* the walk of an IOMMU user other than vfio_unmap_unpin */
	w = bpf_map_lookup_elem(&vt_walks, &tid);
	if (!w || w->unmap_unpin_ts != outer->ts) { /* the first lookup of this unmap_unpin */
		fresh.unmap_unpin_ts = outer->ts;
		fresh.container = outer->container;
		fresh.iova = iova;
		fresh.lookup_ts = bpf_ktime_get_ns();
		VT_INFLIGHT_PUT(&vt_walks, &tid, &fresh);
		return 0;
	}
	w->lookup_ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int walk_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_walk *w = bpf_map_lookup_elem(&vt_walks, &tid);

	if (!w || !w->lookup_ts)
		return 0;
	w->ns += bpf_ktime_get_ns() - w->lookup_ts;
	w->lookups++;
	w->lookup_ts = 0;
	return 0;
}

/* vfio_unmap_unpin c (entered at c->ts) ends at now: the row of its walk, if it had one. */
static __always_inline void walk_close(struct vtr_call *c, __u64 now)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_walk *w = bpf_map_lookup_elem(&vt_walks, &tid);

	if (!w || w->unmap_unpin_ts != c->ts || !w->lookups)
		return;
	vt_account(VT_OP_IOVA_WALK, VT_KIND_CONTAINER, w->container, w->container, w->ns, now,
		   w->lookups, 0, w->iova, 0, 0);
	w->unmap_unpin_ts = 0;
}

SEC("fentry/iommu_iova_to_phys")
int BPF_PROG(fe_iova_to_phys)
{
	return walk_enter(fentry_arg(ctx, 1));
}

SEC("fexit/iommu_iova_to_phys")
int BPF_PROG(fx_iova_to_phys)
{
	return walk_exit();
}

SEC("kprobe/iommu_iova_to_phys")
int BPF_KPROBE(kp_iova_to_phys)
{
	return walk_enter(PT_REGS_PARM2(ctx));
}

SEC("kretprobe/iommu_iova_to_phys")
int BPF_KRETPROBE(kr_iova_to_phys)
{
	return walk_exit();
}

#endif
