/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The phases of vfio_unmap_unpin (issue #19, where the unmap time goes): the IOMMU unmap and
 * the unpinning of the pages, each timed per container.
 *
 * vfio_unmap_unpin first clears every domain but the first with iommu_unmap, then walks the
 * vfio_dma: per physically contiguous chunk it calls iommu_unmap_fast (iommu_unmap, which
 * flushes at once, where that fails), gathers up to 512 chunks, flushes the IOTLB
 * (iommu_iotlb_sync, an inline calling the driver) and unpins each chunk's pages with
 * vfio_unpin_pages_remote. iommu_unmap{,_fast} are exported from vmlinux and
 * vfio_unpin_pages_remote is a function of its own on Debian's 6.1 and 6.12 (vfio_sync_unpin
 * is an .isra clone and the flush an inline: not measured here; they are in the rest of
 * unmap_unpin's time, with the IOVA-to-phys walk).
 *
 * They are counted only while a vfio_unmap_unpin of the same thread is in flight (its
 * vt_calls slot, whose container they take): iommu_unmap{,_fast} serve every IOMMU user (the
 * DMA API, type1's own probe at attach), which are no unmap of a container.
 *
 * A part of vfio_trace.bpf.c, included once after the per-vfio_dma programs (call_get/put).
 */
#ifndef VT_PHASES_BPF_H
#define VT_PHASES_BPF_H

/* iova: the second argument of all three, what snoop shows per event. */
static __always_inline int phase_enter(__u32 op, __u64 iova)
{
	struct vtr_call *outer = call_get(VT_OP_UNMAP_UNPIN);
	struct vtr_call c = {};

	if (!outer)
		return 0; /* not inside a vfio_unmap_unpin: another IOMMU user */
	c.ts = bpf_ktime_get_ns();
	c.container = outer->container;
	c.iova = iova;
	call_put(op, &c);
	return 0;
}

/* amount: the bytes unmapped (iommu_unmap*) or pages unpinned (vfio_unpin_pages_remote). */
static __always_inline int phase_exit(__u32 op, __u64 amount)
{
	struct vtr_call *c = call_get(op);
	__u64 now;

	if (!c)
		return 0; /* its entry was outside a vfio_unmap_unpin */
	now = bpf_ktime_get_ns();
	vt_account(op, VT_KIND_CONTAINER, c->container, c->container, now - c->ts, now, amount, 0,
		   c->iova, 0, 0);
	call_done(c);
	return 0;
}

/* The four programs of a phase: entry needs the second argument, exit the return value (fexit
 * reads it with bpf_get_func_ret, whatever the function's argument count). */
#define VT_PHASE_PROGS(func, x, op)                         \
	SEC("fentry/" #func)                                \
	int BPF_PROG(fe_##x)                                \
	{                                                   \
		return phase_enter(op, fentry_arg(ctx, 1)); \
	}                                                   \
	SEC("fexit/" #func)                                 \
	int BPF_PROG(fx_##x)                                \
	{                                                   \
		__u64 ret = 0;                              \
                                                            \
		bpf_get_func_ret(ctx, &ret);                \
		return phase_exit(op, ret);                 \
	}                                                   \
	SEC("kprobe/" #func)                                \
	int BPF_KPROBE(kp_##x)                              \
	{                                                   \
		return phase_enter(op, PT_REGS_PARM2(ctx)); \
	}                                                   \
	SEC("kretprobe/" #func)                             \
	int BPF_KRETPROBE(kr_##x)                           \
	{                                                   \
		return phase_exit(op, PT_REGS_RC(ctx));     \
	}

VT_PHASE_PROGS(iommu_unmap_fast, iommu_unmap_fast, VT_OP_IOMMU_UNMAP)
VT_PHASE_PROGS(iommu_unmap, iommu_unmap, VT_OP_IOMMU_UNMAP)
VT_PHASE_PROGS(vfio_unpin_pages_remote, unpin_remote, VT_OP_UNPIN_REMOTE)

#endif
