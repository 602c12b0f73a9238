// SPDX-License-Identifier: GPL-2.0
/*
 * The dma_unmap callback's accounting, shared by the two objects that hold its programs:
 * bpf/vfio_trace.bpf.c (the callbacks found at the start: VT_CB_SLOTS fentry/fexit pairs,
 * each told its function before the load, and the kprobe pair of kprobe and kprobe_multi;
 * one vmlinux BTF parse and one load for all of them, the main object's) and
 * bpf/callback.bpf.c (one instance per function for a callback found later: a module loaded
 * under the tracer, a device's callback that was no candidate). What a callback is and how
 * the notifies are reconstructed from them: bpf/callback.bpf.c's header.
 */
#ifndef VT_CALLBACK_BPF_H
#define VT_CALLBACK_BPF_H
#include "vt_core.bpf.h"

struct vtr_cb_state {
	__u64 ts;
	__u64 vdev;
	__u64 iova;
	__u64 size;
	__u64 func;
};

/* A callback's in-flight state when it runs outside an UNMAP_DMA; inside one (every notify of
 * type1) it lives in the thread's vt_unmaps slot: one map lookup less per entry and exit.
 * An LRU: updated in place, never deleted (see vt_unmaps). */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 8192, __u32, struct vtr_cb_state) vt_cbs SEC(".maps");

/* func: the function this program instance is attached to; dma_unmap: the device's
 * ops->dma_unmap. Only a call of the device's own callback counts; its exit is the exit of
 * the same function (cb_exit compares with what is stored here, reading nothing). */
static __always_inline int cb_enter(struct vfio_device *vdev, __u64 iova, __u64 length, __u64 func,
				    __u64 dma_unmap)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *st;
	__u64 now = bpf_ktime_get_ns();

	if (dma_unmap != func)
		return 0;
	st = vt_unmap_get(tid);

	/* The device is learned at its first callback's account (vt_account). Without
	 * vfio_iommu_type1's BTF (an iommufd-only host) there is no UNMAP_DMA slot, and the
	 * type1 branch below is dead code, not a load failure. */
	if (!st ||
	    !bpf_core_type_exists(
		    struct
		    vfio_iommu)) { /* outside an UNMAP_DMA (not type1's notify): its own slot */
		struct vtr_cb_state cs = {
			.ts = now,
			.vdev = (__u64)vdev,
			.iova = iova,
			.size = length,
			.func = func,
		};

		VT_INFLIGHT_PUT(&vt_cbs, &tid, &cs);
		return 0;
	}
	struct vfio_iommu *iommu = (void *)st->container;
	void *first = BPF_CORE_READ(iommu, device_list.next);

	if (first == (void *)__builtin_preserve_access_index(&vdev->iommu_entry)) {
		if (!vt_notify_direct)
			vt_notify_open(st, iova, length, now);
		st->notify_ts = now;
	}
	/* inside an UNMAP_DMA (every type1 notify): the callback's state lives in its slot */
	st->cb_func = func;
	st->cb_vdev = (__u64)vdev;
	st->cb_iova = iova;
	st->cb_size = length;
	st->cb_ts = now;
	return 0;
}

/* 1 when no entry of func is open on this thread: a helper with dma_unmap's prototype, or a
 * callback that began before the start (the caller tells them apart where it can). */
static __always_inline int cb_exit(__u64 func)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *st;
	__u64 now = bpf_ktime_get_ns();
	struct vtr_cb_state *cs;

	st = vt_unmap_get(tid);

	if (!st || !st->cb_ts || st->cb_func != func || !bpf_core_type_exists(struct vfio_iommu)) {
		/* A callback outside UNMAP_DMA (not type1's notify): its own slot. */
		cs = bpf_map_lookup_elem(&vt_cbs, &tid);
		if (!cs || !cs->ts || cs->func != func)
			return 1;
		vt_account(VT_OP_CALLBACK, VT_KIND_DEVICE, cs->vdev, 0, now - cs->ts, now, cs->size,
			   0, cs->iova, 0, 0);
		cs->ts = 0;
		return 0;
	}
	vt_account(VT_OP_CALLBACK, VT_KIND_DEVICE, st->cb_vdev, st->container, now - st->cb_ts, now,
		   st->cb_size, 0, st->cb_iova, 0, 0);
	st->cb_ts = 0;
	if (st->notify_ts) {
		struct vfio_iommu *iommu = (void *)st->container;
		struct vfio_device *vdev = (void *)st->cb_vdev;
		void *next = BPF_CORE_READ(vdev, iommu_entry.next);

		if (next == (void *)__builtin_preserve_access_index(&iommu->device_list)) {
			if (!vt_notify_direct)
				vt_notify_close(st, st->notify_ts, now);
			st->notify_ts = 0;
		}
	}
	return 0;
}

/* The fentry slots' bodies, each once in the object: VT_CB_SLOTS pairs of the inlined code
 * made it ~240 KB larger (code and line info that libbpf reads at every start); the verifier
 * walks a static subprogram per call as it walks inlined code. */
static __noinline int cb_enter_once(struct vfio_device *vdev, __u64 iova, __u64 length, __u64 func,
				    __u64 dma_unmap)
{
	return cb_enter(vdev, iova, length, func, dma_unmap);
}

static __noinline int cb_exit_once(__u64 func)
{
	return cb_exit(func);
}

/* The four programs of one callback: fe/fx read the function they are attached to from
 * func (a const volatile the loader sets), the kprobe twins from the attach cookie. */
#define VT_CB_FENTRY_PROGS(fe, fx, func)                                                     \
	SEC("fentry")                                                                        \
	int BPF_PROG(fe, struct vfio_device *vdev, __u64 iova, __u64 length)                 \
	{                                                                                    \
		return cb_enter_once(vdev, iova, length, func, (__u64)vdev->ops->dma_unmap); \
	}                                                                                    \
	SEC("fexit")                                                                         \
	int BPF_PROG(fx, struct vfio_device *vdev)                                           \
	{                                                                                    \
		/* the device's own callback without its entry: it began before the start */ \
		if (cb_exit_once(func) && (__u64)vdev->ops->dma_unmap == func)               \
			vt_lose(VT_LOSS_NO_ENTRY);                                           \
		return 0;                                                                    \
	}

/* kprobe fallback: a kretprobe has no arguments, so an exit without its entry cannot be told
 * from a helper's and is not counted as a loss. */
#define VT_CB_KPROBE_PROGS                                                              \
	SEC("kprobe")                                                                   \
	int BPF_KPROBE(kp_callback, struct vfio_device *vdev, __u64 iova, __u64 length) \
	{                                                                               \
		return cb_enter(vdev, iova, length, bpf_get_attach_cookie(ctx),         \
				(__u64)BPF_CORE_READ(vdev, ops, dma_unmap));            \
	}                                                                               \
	SEC("kretprobe")                                                                \
	int BPF_KRETPROBE(kr_callback)                                                  \
	{                                                                               \
		cb_exit(bpf_get_attach_cookie(ctx));                                    \
		return 0;                                                               \
	}

#endif
