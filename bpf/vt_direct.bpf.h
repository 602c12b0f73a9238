/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unmap and its notifies measured at their own functions, where the kernel has them as
 * functions (the lab's 6.12.117-vt-iommufd; Debian's 6.1 and 6.12 inline both into
 * vfio_iommu_type1_ioctl, where the ioctl's programs and the callbacks measure them instead).
 *
 * A part of vfio_trace.bpf.c, not a header of its own: included by it once, after the ioctl's
 * programs (whose per-thread slot these find), so the programs and their inlining stay those
 * of one object.
 */
#ifndef VT_DIRECT_BPF_H
#define VT_DIRECT_BPF_H

/* ---- vfio_dma_do_unmap(iommu, unmap, bitmap), where it is a symbol ----------------------
 * Called only by the UNMAP_DMA ioctl (whose slot it finds) after the ioctl's own argument
 * checks; it takes iommu->lock, notifies, removes the vfio_dma and writes the unmapped size
 * into the kernel's copy of the request (unmap->size) before it returns. Its row is the
 * ioctl's (VT_OP_UNMAP: count, bytes, errors, latency, notifies), its window the call alone:
 * within the ioctl's, which adds copying the request in and out. The ioctl exit then skips the
 * call (unmap_done); a call refused before reaching here is still counted there. */
static __always_inline int do_unmap_enter(__u64 iommu, __u64 unmap)
{
	struct vtr_unmap_state *st = vt_unmap_get((__u32)bpf_get_current_pid_tgid());

	if (!vt_unmap_direct || !st || st->cmd != VT_VFIO_IOMMU_UNMAP_DMA || st->container != iommu)
		return 0;
	st->unmap_arg = unmap;
	st->unmap_ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int do_unmap_exit(int ret)
{
	struct vtr_unmap_state *st = vt_unmap_get((__u32)bpf_get_current_pid_tgid());
	struct vfio_iommu_type1_dma_unmap *unmap;
	__u64 bytes = 0, now = bpf_ktime_get_ns();

	if (!st || !st->unmap_ts)
		return 0;
	/* as at the ioctl: the unmapped size only counts when the call succeeded (the ioctl
	 * copies it back to user space then alone) */
	unmap = (void *)st->unmap_arg;
	if (ret == 0)
		bytes = BPF_CORE_READ(unmap, size);
	vt_account(VT_OP_UNMAP, VT_KIND_CONTAINER, st->container, st->container, now - st->unmap_ts,
		   now, bytes, ret, st->iova, st->size, st->notifies);
	st->unmap_ts = 0;
	st->unmap_done = 1;
	return 0;
}

/* Written out: the exit needs the return value (VT_ENTRY_EXIT_PROGS's exits take none). */
SEC("fentry/vfio_dma_do_unmap")
int BPF_PROG(fe_do_unmap)
{
	return do_unmap_enter(fentry_arg(ctx, 0), fentry_arg(ctx, 1));
}

SEC("fexit/vfio_dma_do_unmap")
int BPF_PROG(fx_do_unmap, void *iommu, void *unmap, void *bitmap, int ret)
{
	return do_unmap_exit(ret);
}

SEC("kprobe/vfio_dma_do_unmap")
int BPF_KPROBE(kp_do_unmap)
{
	return do_unmap_enter(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
}

SEC("kretprobe/vfio_dma_do_unmap")
int BPF_KRETPROBE(kr_do_unmap, long ret)
{
	return do_unmap_exit((int)ret);
}

/* ---- vfio_notify_dma_unmap(iommu, dma), where it is a symbol ----------------------------
 * Called by vfio_dma_do_unmap (so inside the UNMAP_DMA ioctl, whose slot holds the unmap's
 * notify count and retry state) for a vfio_dma with pinned pages; it takes device_list_lock,
 * drops iommu->lock, calls every device's dma_unmap, and takes iommu->lock back. Its row is the
 * reconstruction's (vt_notify_open/close), its window the whole call: the reconstructed one
 * (first callback's entry to last callback's exit) lies within it. A notify with an empty
 * device_list (the kernel returns at once) is counted here; the reconstruction cannot see it. */
static __always_inline int notify_enter(__u64 iommu, struct vfio_dma *dma)
{
	struct vtr_unmap_state *st = vt_unmap_get((__u32)bpf_get_current_pid_tgid());
	__u64 now = bpf_ktime_get_ns();

	/* its ioctl began before the start: not counted (nor is the ioctl) */
	if (!st || st->cmd != VT_VFIO_IOMMU_UNMAP_DMA || st->container != iommu)
		return 0;
	vt_notify_open(st, BPF_CORE_READ(dma, iova), BPF_CORE_READ(dma, size), now);
	st->direct_ts = now;
	return 0;
}

static __always_inline int notify_exit(void)
{
	struct vtr_unmap_state *st = vt_unmap_get((__u32)bpf_get_current_pid_tgid());

	if (!st || !st->direct_ts)
		return 0;
	vt_notify_close(st, st->direct_ts, bpf_ktime_get_ns());
	st->direct_ts = 0;
	return 0;
}

VT_ENTRY_EXIT_PROGS(vfio_notify_dma_unmap, notify, VT_FE_TWO_TYPED, notify_enter(a0, (void *)a1),
		    notify_exit())

#endif
