/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM teardown: the vfio_dma a container still has when it goes, removed with no UNMAP_DMA
 * (vfio_iommu_type1_detach_group here; vfio_iommu_type1_release, in vfio_trace.bpf.c, calls
 * teardown_enter too).
 *
 * A part of vfio_trace.bpf.c, not a header of its own: included by it once, after the generic
 * call helpers, so the programs and their inlining stay those of one object (6.1's BPF
 * stack limit, 512 bytes, counts a program together with its subprograms).
 */
#ifndef VT_TEARDOWN_BPF_H
#define VT_TEARDOWN_BPF_H

/* ---- VM teardown: a container's remaining vfio_dma removed with no UNMAP_DMA --------------
 * QEMU never unmaps at exit: the last close removes every remaining vfio_dma through
 * vfio_remove_dma, inside vfio_iommu_type1_detach_group (the last emulated group or domain
 * leaves) or vfio_iommu_type1_release (vfio_iommu_unmap_unpin_all, inlined on Debian), in the
 * exiting process. One such call that removed at least one vfio_dma is a teardown: counted
 * with its vfio_dma, bytes and duration.
 */
struct vtr_teardown {
	__u64 ts; /* 0: no teardown in flight on this thread (slots stay) */
	__u64 container;
	__u64 dmas;
	__u64 bytes;
	__u32 depth; /* release -> detach nesting: the outermost call owns it */
	__u32 pad;
};

VT_MAP(BPF_MAP_TYPE_LRU_HASH, 4096, __u32, struct vtr_teardown) vt_teardowns SEC(".maps");

/* Threads inside a teardown right now: vfio_remove_dma runs once per unmapped vfio_dma in a
 * storm, and this one load is all it pays there when no container is going away. */
__u64 vt_teardowns_active;

static __always_inline int teardown_enter(void *iommu)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_teardown *t = bpf_map_lookup_elem(&vt_teardowns, &tid), nt = {};

	if (t && t->ts) {
		t->depth++;
		return 0;
	}
	nt.ts = bpf_ktime_get_ns();
	nt.container = (__u64)iommu;
	if (t)
		*t = nt;
	else if (bpf_map_update_elem(&vt_teardowns, &tid, &nt, BPF_ANY)) {
		vt_lose(VT_LOSS_TASK_FULL);
		return 0;
	}
	__sync_fetch_and_add(&vt_teardowns_active, 1);
	return 0;
}

static __always_inline int teardown_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_teardown *t = bpf_map_lookup_elem(&vt_teardowns, &tid);

	if (!t || !t->ts) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	if (t->depth) {
		t->depth--;
		return 0;
	}
	if (t->dmas) {
		__u64 now = bpf_ktime_get_ns();

		vt_account(VT_OP_TEARDOWN, VT_KIND_CONTAINER, t->container, t->container,
			   now - t->ts, now, t->bytes, 0, 0, t->dmas, 0);
	}
	t->ts = 0;
	__sync_fetch_and_add(&vt_teardowns_active, -1); /* the old clang lacks xsub */
	return 0;
}

/* vfio_remove_dma's entry: one more vfio_dma of this thread's teardown, if one is in flight. */
static __always_inline void teardown_dma(struct vfio_dma *dma)
{
	__u32 tid;
	struct vtr_teardown *t;

	if (!vt_teardowns_active)
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&vt_teardowns, &tid);
	if (!t || !t->ts)
		return;
	t->dmas++;
	t->bytes += BPF_CORE_READ(dma, size);
}

VT_ENTRY_EXIT_PROGS(vfio_iommu_type1_detach_group, detach_group, VT_FE_ONE_NUMBER,
		    teardown_enter((void *)a0), teardown_exit())

#endif
