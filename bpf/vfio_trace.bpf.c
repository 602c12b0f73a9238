// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace: the fixed attach points of the VFIO type1 DMA-unmap path.
 *
 * On Debian's 6.1 and 6.12 vfio_dma_do_unmap and vfio_notify_dma_unmap are inlined into
 * vfio_iommu_type1_ioctl, so an unmap is measured at the ioctl, filtered on
 * VFIO_IOMMU_UNMAP_DMA (this is correct where they are symbols too: the ioctl wraps them),
 * and each notify is reconstructed from the drivers' dma_unmap callbacks (callback.bpf.c).
 *
 * Each point has an fentry/fexit program and a kprobe/kretprobe twin; the loader autoloads
 * the variant the running kernel takes (lib/probe.c).
 */
#include "vt_core.bpf.h"

/* fentry/fexit hand struct pointers over as BTF pointers, on which the verifier forbids the
 * hashes of vt_account's hot rows and of the lock slot table: read such an argument as a plain
 * number instead (bpf_get_func_arg is inlined by the verifier: a load, no helper call). */
static __always_inline __u64 fentry_arg(unsigned long long *ctx, int n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

/* ---- VFIO_IOMMU_{MAP,UNMAP}_DMA at vfio_iommu_type1_ioctl ------------------------------ */

/* A new thread's first MAP/UNMAP: its slot is created (later ones reset it in place). */
static __always_inline int unmap_slot_new(__u32 tid, __u64 container, __u64 uarg, __u32 cmd,
				     __u64 iova, __u64 size, __u64 ts)
{
	struct vtr_unmap_state st = {};

	st.container = container;
	st.uarg = uarg;
	st.cmd = cmd;
	st.iova = iova;
	st.size = size;
	st.ts = ts;
	if (bpf_map_update_elem(&vt_unmaps, &tid, &st, BPF_ANY))
		vt_lose(VT_LOSS_TASK_FULL);
	return 0;
}

static __always_inline int ioctl_enter(void *iommu_data, unsigned int cmd, unsigned long arg,
				       bool fexit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *slot;
	__u64 iova = 0, size = 0;

	if (cmd != VT_VFIO_IOMMU_UNMAP_DMA && cmd != VT_VFIO_IOMMU_MAP_DMA)
		return 0;
	vt_track_container(iommu_data);
	if (cmd == VT_VFIO_IOMMU_UNMAP_DMA) {
		/* The asked range is only shown per event; the unmapped size is read at exit. */
		if (vt_features & VT_FEAT_SNOOP) {
			struct vt_uapi_dma_unmap u = {};

			bpf_probe_read_user(&u, sizeof(u), (void *)arg);
			iova = u.iova;
			size = u.size;
		}
	} else if (cmd == VT_VFIO_IOMMU_MAP_DMA) {
		struct vt_uapi_dma_map m = {};

		/* Without VT_FEAT_DETAIL (top: a MAP_DMA's latency is not shown) the fexit
		 * counts it alone; a kretprobe does not see the arguments. */
		if (fexit && !(vt_features & VT_FEAT_DETAIL))
			return 0;
		bpf_probe_read_user(&m, sizeof(m), (void *)arg);
		iova = m.iova;
		size = m.size;
	}
	slot = bpf_map_lookup_elem(&vt_unmaps, &tid);
	if (!slot)
		return unmap_slot_new(tid, (__u64)iommu_data, arg, cmd, iova, size,
				      bpf_ktime_get_ns());
	/* The thread's slot, reset in place: the fields that matter, not all 144 bytes. */
	slot->container = (__u64)iommu_data;
	slot->uarg = arg;
	slot->iova = iova;
	slot->size = size;
	slot->notify_ts = 0;
	slot->drop_ts = 0;
	slot->cb_ts = 0;
	slot->cmd = cmd;
	slot->notifies = 0;
	slot->retries = 0;
	slot->ts = bpf_ktime_get_ns();
	return 0;
}

/* fexit, a MAP_DMA without VT_FEAT_DETAIL: counted, not timed (see ioctl_enter). */
static __always_inline int map_counted(void *iommu_data, unsigned long arg, long ret)
{
	struct vt_uapi_dma_map m = {};

	bpf_probe_read_user(&m, sizeof(m), (void *)arg);
	vt_account(VT_OP_MAP, VT_KIND_CONTAINER, (__u64)iommu_data, (__u64)iommu_data, VT_LAT_NONE,
		   ret == 0 ? m.size : 0, ret, m.iova, m.size, 0);
	return 0;
}

static __always_inline int ioctl_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *st = vt_unmap_get(tid);
	__u64 bytes;

	if (!st)
		return 1;	/* not MAP/UNMAP, or started mid-call */
	bytes = st->size;
	if (st->cmd == VT_VFIO_IOMMU_UNMAP_DMA) {
		struct vt_uapi_dma_unmap u = {};

		/* On success the kernel wrote the unmapped size back into the user's struct. */
		bytes = 0;
		if (ret == 0 && !bpf_probe_read_user(&u, sizeof(u), (void *)st->uarg))
			bytes = u.size;
		vt_account(VT_OP_UNMAP, VT_KIND_CONTAINER, st->container, st->container,
			   bpf_ktime_get_ns() - st->ts, bytes, ret, st->iova, st->size, st->notifies);
	} else {
		vt_account(VT_OP_MAP, VT_KIND_CONTAINER, st->container, st->container,
			   bpf_ktime_get_ns() - st->ts, ret == 0 ? bytes : 0, ret, st->iova, st->size, 0);
	}
	st->ts = 0;
	return 0;
}

SEC("fentry/vfio_iommu_type1_ioctl")
int BPF_PROG(fe_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(iommu_data, cmd, arg, true);
}

SEC("fexit/vfio_iommu_type1_ioctl")
int BPF_PROG(fx_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg, long ret)
{
	if (cmd == VT_VFIO_IOMMU_MAP_DMA && !(vt_features & VT_FEAT_DETAIL))
		return map_counted(iommu_data, arg, ret);
	/* fexit sees cmd: an UNMAP_DMA without its slot (entered before start, or the slot
	 * evicted) is a counted loss; the kretprobe cannot tell it from another ioctl. */
	if (ioctl_exit(ret) && cmd == VT_VFIO_IOMMU_UNMAP_DMA)
		vt_lose(VT_LOSS_NO_ENTRY);
	return 0;
}

SEC("kprobe/vfio_iommu_type1_ioctl")
int BPF_KPROBE(kp_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(iommu_data, cmd, arg, false);
}

SEC("kretprobe/vfio_iommu_type1_ioctl")
int BPF_KRETPROBE(kr_ioctl, long ret)
{
	ioctl_exit(ret);
	return 0;
}

/* ---- generic in-flight call helpers ---------------------------------------------------- */

/* This thread's call of op in flight (ts != 0), or NULL; call_done() marks it idle. */
static __always_inline struct vtr_call *call_get(__u32 op)
{
	struct vtr_call_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .op = op };
	struct vtr_call *c = bpf_map_lookup_elem(&vt_calls, &k);

	return c && c->ts ? c : NULL;
}

static __always_inline void call_put(__u32 op, struct vtr_call *c)
{
	struct vtr_call_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .op = op };

	VT_INFLIGHT_PUT(&vt_calls, &k, c);
}

static __always_inline void call_done(struct vtr_call *c)
{
	c->ts = 0;
}

/* ---- VM teardown: a container's remaining vfio_dma removed with no UNMAP_DMA --------------
 * QEMU never unmaps at exit: the last close removes every remaining vfio_dma through
 * vfio_remove_dma, inside vfio_iommu_type1_detach_group (the last emulated group or domain
 * leaves) or vfio_iommu_type1_release (vfio_iommu_unmap_unpin_all, inlined on Debian), in the
 * exiting process. One such call that removed at least one vfio_dma is a teardown: counted
 * with its vfio_dma, bytes and duration.
 */
struct vtr_teardown {
	__u64 ts;		/* 0: no teardown in flight on this thread (slots stay) */
	__u64 container;
	__u64 dmas;
	__u64 bytes;
	__u32 depth;		/* release -> detach nesting: the outermost call owns it */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct vtr_teardown);
} vt_teardowns SEC(".maps");

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
	if (t->dmas)
		vt_account(VT_OP_TEARDOWN, VT_KIND_CONTAINER, t->container, t->container,
			   bpf_ktime_get_ns() - t->ts, t->bytes, 0, 0, t->dmas, 0);
	t->ts = 0;
	__sync_fetch_and_add(&vt_teardowns_active, -1);	/* the old clang lacks xsub */
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

SEC("fentry/vfio_iommu_type1_detach_group")
int BPF_PROG(fe_detach_group, void *iommu)
{
	return teardown_enter((void *)fentry_arg(ctx, 0));
}

SEC("fexit/vfio_iommu_type1_detach_group")
int BPF_PROG(fx_detach_group)
{
	return teardown_exit();
}

SEC("kprobe/vfio_iommu_type1_detach_group")
int BPF_KPROBE(kp_detach_group, void *iommu)
{
	return teardown_enter(iommu);
}

SEC("kretprobe/vfio_iommu_type1_detach_group")
int BPF_KRETPROBE(kr_detach_group)
{
	return teardown_exit();
}

/* ---- per vfio_dma: vfio_remove_dma, vfio_unmap_unpin ----------------------------------- */

static __always_inline int dma_enter(__u32 op, void *iommu, struct vfio_dma *dma)
{
	struct vtr_call c = {};

	if (op == VT_OP_REMOVE_DMA) {
		teardown_dma(dma);
		/* Without VT_FEAT_DETAIL (top) vfio_remove_dma is there for teardowns only. */
		if (!(vt_features & VT_FEAT_DETAIL))
			return 0;
	}

	c.ts = bpf_ktime_get_ns();
	c.container = (__u64)iommu;
	c.iova = BPF_CORE_READ(dma, iova);	/* read now: vfio_remove_dma frees dma */
	c.size = BPF_CORE_READ(dma, size);
	call_put(op, &c);
	return 0;
}

static __always_inline int dma_exit(__u32 op)
{
	struct vtr_call *c = call_get(op);

	if (!c) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	vt_account(op, VT_KIND_CONTAINER, c->container, c->container,
		   bpf_ktime_get_ns() - c->ts, c->size, 0, c->iova, 0, 0);
	call_done(c);
	return 0;
}

SEC("fentry/vfio_remove_dma")
int BPF_PROG(fe_remove_dma, void *iommu, struct vfio_dma *dma)
{
	return dma_enter(VT_OP_REMOVE_DMA, iommu, dma);
}

SEC("fexit/vfio_remove_dma")
int BPF_PROG(fx_remove_dma)
{
	return dma_exit(VT_OP_REMOVE_DMA);
}

SEC("kprobe/vfio_remove_dma")
int BPF_KPROBE(kp_remove_dma, void *iommu, struct vfio_dma *dma)
{
	return dma_enter(VT_OP_REMOVE_DMA, iommu, dma);
}

SEC("kretprobe/vfio_remove_dma")
int BPF_KRETPROBE(kr_remove_dma)
{
	return dma_exit(VT_OP_REMOVE_DMA);
}

SEC("fentry/vfio_unmap_unpin")
int BPF_PROG(fe_unmap_unpin, void *iommu, struct vfio_dma *dma)
{
	return dma_enter(VT_OP_UNMAP_UNPIN, iommu, dma);
}

SEC("fexit/vfio_unmap_unpin")
int BPF_PROG(fx_unmap_unpin)
{
	return dma_exit(VT_OP_UNMAP_UNPIN);
}

SEC("kprobe/vfio_unmap_unpin")
int BPF_KPROBE(kp_unmap_unpin, void *iommu, struct vfio_dma *dma)
{
	return dma_enter(VT_OP_UNMAP_UNPIN, iommu, dma);
}

SEC("kretprobe/vfio_unmap_unpin")
int BPF_KRETPROBE(kr_unmap_unpin)
{
	return dma_exit(VT_OP_UNMAP_UNPIN);
}

/* ---- pins ------------------------------------------------------------------------------
 * vfio_{pin,unpin}_pages(vdev, ...) (vfio.ko) name the device; vfio_iommu_type1_{pin,unpin}_pages
 * (iommu_data, ...) name the container; both return the -EINVAL for "no dma_unmap device".
 * The loader attaches the type1 pair only where the vfio.ko pair cannot be (it adds nothing
 * the device does not tell: the device's container is known from its register or group).
 * An operation is accounted once, at the exit of the outermost of those that ran.
 */

static __always_inline int outer_enter(__u32 op, struct vfio_device *vdev, __u64 iova, int npage)
{
	struct vtr_device *d = vt_learn_device(vdev, 0, op, 0);
	struct vtr_call c = {};

	c.obj = (__u64)vdev;
	c.container = d ? d->container : 0;
	c.iova = iova;
	c.size = npage;
	c.outer = 1;
	c.ts = bpf_ktime_get_ns();
	call_put(op, &c);
	return 0;
}

static __always_inline int inner_enter(__u32 op, void *iommu, __u64 iova, int npage)
{
	struct vtr_call *c = call_get(op);

	if (c) {
		c->container = (__u64)iommu;
		if (c->obj) {
			struct vtr_device *d = bpf_map_lookup_elem(&vt_devices, &c->obj);

			if (d && !d->container)
				d->container = (__u64)iommu;
		}
		return 0;
	}
	struct vtr_call n = {};
	n.ts = bpf_ktime_get_ns();
	n.container = (__u64)iommu;
	n.iova = iova;
	n.size = npage;
	call_put(op, &n);
	return 0;
}

static __always_inline void call_account(__u32 op, struct vtr_call *c, long ret)
{
	__u64 pages = c->size;

	if (op == VT_OP_PIN && ret < 0)
		pages = 0;
	if (c->obj)
		vt_account(op, VT_KIND_DEVICE, c->obj, c->container, bpf_ktime_get_ns() - c->ts,
			   pages, ret, c->iova, 0, 0);
	else
		vt_account(op, VT_KIND_CONTAINER, c->container, c->container,
			   bpf_ktime_get_ns() - c->ts, pages, ret, c->iova, 0, 0);
}

static __always_inline int inner_exit(__u32 op, long ret)
{
	struct vtr_call *c = call_get(op);

	if (!c) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	if (c->outer)
		return 0;
	call_account(op, c, ret);
	call_done(c);
	return 0;
}

static __always_inline int outer_exit(__u32 op, long ret)
{
	struct vtr_call *c = call_get(op);

	if (!c) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	call_account(op, c, ret);
	call_done(c);
	return 0;
}

/* Without VT_FEAT_DETAIL (top) a pin or unpin is counted at its fexit alone, which sees the
 * arguments and the result: no entry program, no in-flight state, no latency. The device is
 * learned by vt_account the first time (no snoop here: the container is not needed). */
static __always_inline int pin_counted(__u32 op, struct vfio_device *vdev, __u64 iova, int npage,
				       long ret)
{
	vt_account(op, VT_KIND_DEVICE, (__u64)vdev, 0, VT_LAT_NONE,
		   op == VT_OP_PIN && ret < 0 ? 0 : npage, ret, iova, 0, 0);
	return 0;
}

SEC("fentry/vfio_pin_pages")
int BPF_PROG(fe_vfio_pin, struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	return outer_enter(VT_OP_PIN, vdev, iova, npage);
}

SEC("fexit/vfio_pin_pages")
int BPF_PROG(fx_vfio_pin, struct vfio_device *vdev, dma_addr_t iova, int npage, int prot,
	     struct page **pages, int ret)
{
	if (!(vt_features & VT_FEAT_DETAIL))
		return pin_counted(VT_OP_PIN, (void *)fentry_arg(ctx, 0), iova, npage, ret);
	return outer_exit(VT_OP_PIN, ret);
}

SEC("kprobe/vfio_pin_pages")
int BPF_KPROBE(kp_vfio_pin, struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	return outer_enter(VT_OP_PIN, vdev, iova, npage);
}

SEC("kretprobe/vfio_pin_pages")
int BPF_KRETPROBE(kr_vfio_pin, int ret)
{
	return outer_exit(VT_OP_PIN, ret);
}

SEC("fentry/vfio_unpin_pages")
int BPF_PROG(fe_vfio_unpin, struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	return outer_enter(VT_OP_UNPIN, vdev, iova, npage);
}

SEC("fexit/vfio_unpin_pages")
int BPF_PROG(fx_vfio_unpin, struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	if (!(vt_features & VT_FEAT_DETAIL))
		return pin_counted(VT_OP_UNPIN, (void *)fentry_arg(ctx, 0), iova, npage, 0);
	return outer_exit(VT_OP_UNPIN, 0);
}

SEC("kprobe/vfio_unpin_pages")
int BPF_KPROBE(kp_vfio_unpin, struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	return outer_enter(VT_OP_UNPIN, vdev, iova, npage);
}

SEC("kretprobe/vfio_unpin_pages")
int BPF_KRETPROBE(kr_vfio_unpin)
{
	return outer_exit(VT_OP_UNPIN, 0);
}

SEC("fentry/vfio_iommu_type1_pin_pages")
int BPF_PROG(fe_t1_pin, void *iommu, void *group, dma_addr_t iova, int npage)
{
	return inner_enter(VT_OP_PIN, iommu, iova, npage);
}

SEC("fexit/vfio_iommu_type1_pin_pages")
int BPF_PROG(fx_t1_pin, void *iommu, void *group, dma_addr_t iova, int npage, int prot,
	     struct page **pages, int ret)
{
	return inner_exit(VT_OP_PIN, ret);
}

SEC("kprobe/vfio_iommu_type1_pin_pages")
int BPF_KPROBE(kp_t1_pin, void *iommu, void *group, dma_addr_t iova, int npage)
{
	return inner_enter(VT_OP_PIN, iommu, iova, npage);
}

SEC("kretprobe/vfio_iommu_type1_pin_pages")
int BPF_KRETPROBE(kr_t1_pin, int ret)
{
	return inner_exit(VT_OP_PIN, ret);
}

SEC("fentry/vfio_iommu_type1_unpin_pages")
int BPF_PROG(fe_t1_unpin, void *iommu, dma_addr_t iova, int npage)
{
	return inner_enter(VT_OP_UNPIN, iommu, iova, npage);
}

SEC("fexit/vfio_iommu_type1_unpin_pages")
int BPF_PROG(fx_t1_unpin)
{
	return inner_exit(VT_OP_UNPIN, 0);
}

SEC("kprobe/vfio_iommu_type1_unpin_pages")
int BPF_KPROBE(kp_t1_unpin, void *iommu, dma_addr_t iova, int npage)
{
	return inner_enter(VT_OP_UNPIN, iommu, iova, npage);
}

SEC("kretprobe/vfio_iommu_type1_unpin_pages")
int BPF_KRETPROBE(kr_t1_unpin)
{
	return inner_exit(VT_OP_UNPIN, 0);
}

/* ---- device lifecycle: joining and leaving the container's device_list ------------------ */

static __always_inline int lifecycle(__u16 op, void *iommu, struct vfio_device *vdev)
{
	const struct vfio_device_ops *ops = BPF_CORE_READ(vdev, ops);
	struct vtr_device *d;

	vt_track_container(iommu);
	/* type1 returns at once for a device without dma_unmap: it never joins the list. */
	if (!ops || !BPF_CORE_READ(ops, dma_unmap))
		return 0;
	d = vt_learn_device(vdev, (__u64)iommu, op, 0);
	if (d) {
		d->container = (__u64)iommu;
		d->registered = op == VT_OP_REGISTER;
	}
	vt_account(op, VT_KIND_DEVICE, (__u64)vdev, (__u64)iommu, 0, 0, 0, 0, 0, 0);
	if (d && op == VT_OP_UNREGISTER) {
		/* Tell user space too, so its live device_list view drops the device. */
		struct vtr_event *e = vt_lifecycle_event(op, (__u64)vdev, (__u64)iommu);

		if (e) {
			__builtin_memcpy(e->dev, d->name, sizeof(e->dev));
			e->aux = d->dma_unmap;
			bpf_ringbuf_submit(e, 0);
		}
	}
	return 0;
}

SEC("fentry/vfio_iommu_type1_register_device")
int BPF_PROG(fe_register, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_REGISTER, iommu, (void *)fentry_arg(ctx, 1));
}

SEC("kprobe/vfio_iommu_type1_register_device")
int BPF_KPROBE(kp_register, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_REGISTER, iommu, vdev);
}

SEC("fentry/vfio_iommu_type1_unregister_device")
int BPF_PROG(fe_unregister, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_UNREGISTER, iommu, (void *)fentry_arg(ctx, 1));
}

SEC("kprobe/vfio_iommu_type1_unregister_device")
int BPF_KPROBE(kp_unregister, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_UNREGISTER, iommu, vdev);
}

/* ---- lock hold and wait times (only with VT_FEAT_LOCKS: autoloaded by `locks`) -----------
 * Hold (only with VT_FEAT_LOCKS): from mutex_lock's entry (or, when it had to wait, from
 * lock:contention_end) to mutex_unlock's entry by the same task. Wait (also with the alert
 * alone): lock:contention_begin (the first one: it can fire twice, spin then sleep) to
 * lock:contention_end. Both only for tracked locks; any other lock costs the trampoline and
 * one load of vt_lock_slot.
 */
struct vt_hold_key {
	__u64 lock;
	__u32 tid;
	__u32 pad;
};

struct vt_hold {
	__u64 ts;		/* 0: not held (the slot stays; see vt_unmaps) */
};

/* Written in place and never deleted from, like the other in-flight maps: a thread that takes
 * the same lock again finds its slot (a hash update and delete per acquisition cost ~3
 * lookups, bench/). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct vt_hold_key);
	__type(value, struct vt_hold);
} vt_holds SEC(".maps");

/* Kept after the container goes (locks reports its longest holder at the next interval); the
 * LRU forgets the longest-unused once 1024 containers have come and gone. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct vtr_lock_key);
	__type(value, struct vtr_lock_max);
} vt_lock_max SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__uint(value_size, 32 * sizeof(__u64));
} vt_stacks SEC(".maps");

/* The tracked-lock test alone: one load for an untracked lock. */
static __always_inline bool vt_lock_maybe_tracked(__u64 lock)
{
	__u64 slot = vt_lock_slot[vt_slot_of(lock)];

	return slot == lock || slot == VT_SLOT_SHARED;
}

/* A tracked lock's container and kind, or NULL. */
static __always_inline struct vt_lock_info *vt_lock_lookup(__u64 lock)
{
	return vt_lock_maybe_tracked(lock) ? bpf_map_lookup_elem(&vt_locks, &lock) : NULL;
}

/* Is this thread an UNMAP_DMA between its notify's callbacks (notify_ts set)? The callbacks
 * take and release iommu->lock themselves (vfio_unpin_pages): those are not the drop window. */
static __always_inline struct vtr_unmap_state *unmap_outside_callbacks(__u32 tid)
{
	struct vtr_unmap_state *st = vt_unmap_get(tid);

	if (!st || st->cmd != VT_VFIO_IOMMU_UNMAP_DMA || st->notify_ts)
		return NULL;
	return st;
}

/* Everything past the slot test: a subprogram, so that nothing of it (zeroing its structs,
 * say) is scheduled ahead of the test and paid by every untracked lock in the system. */
static __noinline int lock_tracked(__u64 lock)
{
	struct vt_lock_info *li = bpf_map_lookup_elem(&vt_locks, &lock);
	struct vt_hold_key k = { .lock = lock };
	struct vtr_unmap_state *st;
	struct vt_hold h = {};
	__u32 tid;

	if (!li)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	k.tid = tid;
	h.ts = bpf_ktime_get_ns();
	/* The unmap asks for iommu->lock back after its notify: the drop window ends. */
	if (li->kind == VT_KIND_IOMMU_LOCK && (st = unmap_outside_callbacks(tid)) && st->drop_ts) {
		vt_account(VT_OP_LOCK_DROP, VT_KIND_IOMMU_LOCK, li->container, li->container,
			   h.ts - st->drop_ts, 0, 0, 0, lock, 0);
		st->drop_ts = 0;
	}
	VT_INFLIGHT_PUT(&vt_holds, &k, &h);
	return 0;
}

/* A hold of a tracked lock ends: account it; returns how long it was held (0: not timed). */
static __noinline __u64 unlock_tracked(__u64 lock)
{
	struct vt_lock_info *li = bpf_map_lookup_elem(&vt_locks, &lock);
	struct vt_hold_key k = { .lock = lock };
	struct vtr_unmap_state *st;
	struct vt_hold *h;
	__u64 now, held;
	__u32 tid;

	if (!li)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	k.tid = tid;
	h = bpf_map_lookup_elem(&vt_holds, &k);
	now = bpf_ktime_get_ns();
	/* An unmap dropping iommu->lock for its notify: the window starts now. The unmap itself
	 * ends with mutex_unlock(iommu->lock) too; that window never closes and is not counted. */
	if (li->kind == VT_KIND_IOMMU_LOCK && (st = unmap_outside_callbacks(tid)))
		st->drop_ts = now;
	if (!h || !h->ts)
		return 0;	/* taken before tracing started */
	held = now - h->ts;
	h->ts = 0;
	vt_account(VT_OP_LOCK_HOLD, li->kind, li->container, li->container, held, 0, 0, 0, lock, 0);
	return held;
}

/* The longest hold of each tracked lock, with who held it and the stack of its release. Its
 * own subprogram, called from the program itself: stacked under unlock_tracked (vt_account's
 * frame) the two exceeded BPF's 512 bytes on 6.1 ("combined stack size ... too large"). */
static __noinline int note_longest(void *ctx, __u64 lock, __u64 held)
{
	struct vt_lock_info *li = bpf_map_lookup_elem(&vt_locks, &lock);
	struct vtr_lock_key mk = {};
	struct vtr_lock_max *m, nm = {};

	if (!li)
		return 0;
	mk.container = li->container;
	mk.kind = li->kind;
	m = bpf_map_lookup_elem(&vt_lock_max, &mk);
	if (!m || held > m->ns) {
		__u64 pt = bpf_get_current_pid_tgid();

		nm.ns = held;
		nm.pid = (__u32)pt;
		nm.tgid = pt >> 32;
		/* The stack of the release that ended the longest hold: walked only for a new
		 * maximum, not at every acquisition (iommu->lock and device_list_lock are
		 * released in the function that took them, but the drop for a notify). */
		nm.stack_id = bpf_get_stackid(ctx, &vt_stacks, 0);
		if (nm.stack_id < 0)
			vt_lose(VT_LOSS_STACK);
		bpf_get_current_comm(nm.comm, sizeof(nm.comm));
		if (bpf_map_update_elem(&vt_lock_max, &mk, &nm, BPF_ANY))
			vt_lose(VT_LOSS_LOCKS_FULL);
	}
	return 0;
}

SEC("fentry/mutex_lock")
int BPF_PROG(fe_mutex_lock)
{
	__u64 lock = fentry_arg(ctx, 0);

	return vt_lock_maybe_tracked(lock) ? lock_tracked(lock) : 0;
}

SEC("kprobe/mutex_lock")
int BPF_KPROBE(kp_mutex_lock, struct mutex *lock)
{
	return vt_lock_maybe_tracked((__u64)lock) ? lock_tracked((__u64)lock) : 0;
}

SEC("fentry/mutex_unlock")
int BPF_PROG(fe_mutex_unlock)
{
	__u64 lock = fentry_arg(ctx, 0);

	__u64 held = vt_lock_maybe_tracked(lock) ? unlock_tracked(lock) : 0;

	return held ? note_longest(ctx, lock, held) : 0;
}

SEC("kprobe/mutex_unlock")
int BPF_KPROBE(kp_mutex_unlock, struct mutex *lock)
{
	__u64 held = vt_lock_maybe_tracked((__u64)lock) ? unlock_tracked((__u64)lock) : 0;

	return held ? note_longest(ctx, (__u64)lock, held) : 0;
}

/* Threads waiting on a tracked lock right now: tid -> lock and since when. Kept by the
 * contention tracepoints alone, so wait times and the deadlock alert need no mutex_lock probe. */
struct vt_wait {
	__u64 lock;		/* 0: not waiting (slots are kept and written in place) */
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct vt_wait);
} vt_waiting SEC(".maps");

/* The task owning a mutex: the owner word with its flag bits (MUTEX_FLAGS, 0x07) masked. */
static __always_inline struct task_struct *mutex_owner(__u64 lock)
{
	return (void *)(BPF_CORE_READ((struct mutex *)lock, owner.counter) & ~0x07L);
}

/* The ABBA of DEVELOPERS.md ("the deadlock"): this thread starts waiting for `lock` of a container while it owns the
 * container's other lock, and the owner of `lock` is already waiting for that other lock. The
 * second waiter closes the cycle, so checking here reports it the moment it forms. */
static __always_inline void check_abba(__u64 lock, struct vt_lock_info *li)
{
	struct vfio_iommu *io = (void *)li->container;
	__u64 other = li->kind == VT_KIND_IOMMU_LOCK ?
		(__u64)__builtin_preserve_access_index(&io->device_list_lock) :
		(__u64)__builtin_preserve_access_index(&io->lock);
	struct task_struct *owner = mutex_owner(lock);
	struct vt_wait *w;
	__u32 owner_tid;

	if (!owner || (__u64)mutex_owner(other) != bpf_get_current_task())
		return;
	owner_tid = BPF_CORE_READ(owner, pid);
	w = bpf_map_lookup_elem(&vt_waiting, &owner_tid);
	if (!w || w->lock != other)
		return;
	vt_account(VT_OP_DEADLOCK, VT_KIND_CONTAINER, li->container, li->container, 0, 0, 0,
		   other, lock, 0);
	struct vtr_event *e = vt_lifecycle_event(VT_OP_DEADLOCK, li->container, li->container);
	if (!e)
		return;
	e->iova = other;		/* held by this thread, waited for by the owner */
	e->aux = lock;			/* waited for by this thread, held by the owner */
	e->size = li->kind;		/* kind of `lock` */
	e->ret = owner_tid;
	bpf_probe_read_kernel_str(e->dev, sizeof(e->dev), &owner->comm);
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tp/contention_begin")
int BPF_PROG(rt_contention_begin, void *lock, unsigned int flags)
{
	struct vt_lock_info *li = vt_lock_lookup((__u64)lock);
	struct vt_wait nw = { .lock = (__u64)lock }, *was;
	__u32 tid;

	if (!li)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	/* contention_begin fires again when a spinning waiter goes to sleep: one wait. */
	was = bpf_map_lookup_elem(&vt_waiting, &tid);
	if (was && was->lock == nw.lock)
		return 0;
	nw.ts = bpf_ktime_get_ns();
	if (was)
		*was = nw;
	else if (bpf_map_update_elem(&vt_waiting, &tid, &nw, BPF_ANY))
		vt_lose(VT_LOSS_TASK_FULL);
	if (vt_features & VT_FEAT_ALERT)
		check_abba(nw.lock, li);
	return 0;
}

SEC("raw_tp/contention_end")
int BPF_PROG(rt_contention_end, void *lock, int ret)
{
	struct vt_lock_info *li = vt_lock_lookup((__u64)lock);
	struct vt_hold_key k = { .lock = (__u64)lock };
	struct vt_wait *w;
	struct vt_hold *h;
	__u64 now;

	if (!li)
		return 0;
	k.tid = (__u32)bpf_get_current_pid_tgid();
	w = bpf_map_lookup_elem(&vt_waiting, &k.tid);
	if (!w || w->lock != (__u64)lock)
		return 0;	/* began before tracing started */
	now = bpf_ktime_get_ns();
	vt_account(VT_OP_LOCK_WAIT, li->kind, li->container, li->container, now - w->ts, 0,
		   ret, 0, (__u64)lock, 0);
	w->lock = 0;
	/* With hold times on, the hold starts when the wait ends. */
	h = bpf_map_lookup_elem(&vt_holds, &k);
	if (h && h->ts)
		h->ts = now;
	return 0;
}

/* The container is freed: its remaining vfio_dma go (a teardown), and its locks are no longer
 * tracked (slots, vt_locks: the address may come back as another container's lock). */
static __always_inline int release_enter(void *iommu)
{
	struct vfio_iommu *io = iommu;
	__u64 locks[2] = {
		(__u64)__builtin_preserve_access_index(&io->lock),
		(__u64)__builtin_preserve_access_index(&io->device_list_lock),
	};

	teardown_enter(iommu);
	if (!(vt_features & (VT_FEAT_LOCKS | VT_FEAT_ALERT)))
		return 0;
	for (int i = 0; i < 2; i++) {
		__u32 s = vt_slot_of(locks[i]);

		__sync_val_compare_and_swap(&vt_lock_slot[s], locks[i], 0);
		bpf_map_delete_elem(&vt_locks, &locks[i]);
	}
	return 0;
}

SEC("fentry/vfio_iommu_type1_release")
int BPF_PROG(fe_release, void *iommu)
{
	return release_enter((void *)fentry_arg(ctx, 0));
}

SEC("fexit/vfio_iommu_type1_release")
int BPF_PROG(fx_release)
{
	return teardown_exit();
}

SEC("kprobe/vfio_iommu_type1_release")
int BPF_KPROBE(kp_release, void *iommu)
{
	return release_enter(iommu);
}

SEC("kretprobe/vfio_iommu_type1_release")
int BPF_KRETPROBE(kr_release)
{
	return teardown_exit();
}

/* ---- a module that uses vfio.ko is loaded ------------------------------------------------
 * Its drivers' dma_unmap callbacks must be attached before its first device can be opened:
 * user space finds them in the module's BTF. module:module_load fires in the loading process
 * (modprobe, insmod, a udev worker) after the module's init ran, before finit_module returns;
 * with vt_hold_modules that process is stopped (SIGSTOP, taking effect at the return to user
 * space) until user space has attached and sends SIGCONT, so whatever the loader's caller does
 * next (start a VM) finds the callbacks traced. vt_held names the stopped processes, so a
 * guardian can continue them if vfio-trace dies in between (lib/loader.c).
 */
const volatile __u32 vt_hold_modules = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);		/* tgid of the stopped loader */
	__type(value, __u64);		/* since when */
} vt_held SEC(".maps");

/* Does mod use vfio.ko's symbols (a vfio_device driver)? Its target_list holds one module_use
 * per module it depends on. */
static __always_inline bool module_uses_vfio(struct module *mod)
{
	struct list_head *head = __builtin_preserve_access_index(&mod->target_list);
	struct list_head *pos = BPF_CORE_READ(mod, target_list.next);
	__u64 off = bpf_core_field_offset(struct module_use, target_list);

	for (int i = 0; i < 64 && pos && pos != head; i++) {
		struct module_use *use = (void *)pos - off;
		struct module *target = BPF_CORE_READ(use, target);
		char name[8] = {};

		if (target)
			bpf_probe_read_kernel_str(name, sizeof(name), &target->name);
		if (name[0] == 'v' && name[1] == 'f' && name[2] == 'i' && name[3] == 'o' && !name[4])
			return true;
		pos = BPF_CORE_READ(pos, next);
	}
	return false;
}

SEC("raw_tp/module_load")
int BPF_PROG(rt_module_load, struct module *mod)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct vtr_event *e;
	__u64 now = bpf_ktime_get_ns();
	bool held = false;

	if (!module_uses_vfio(mod))
		return 0;
	if (vt_hold_modules) {
		if (bpf_map_update_elem(&vt_held, &tgid, &now, BPF_ANY))
			vt_lose(VT_LOSS_HOLD_FULL);
		else if (bpf_send_signal(19 /* SIGSTOP */))	/* a kernel thread: not held */
			bpf_map_delete_elem(&vt_held, &tgid);
		else
			held = true;
	}
	e = vt_lifecycle_event(VT_EV_MODULE_LOAD, 0, 0);
	if (!e)
		return 0;
	e->ret = held;
	bpf_probe_read_kernel_str(e->dev, sizeof(e->dev), &mod->name);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* ---- devices already open when vfio-trace starts ----------------------------------------
 * A task_file iterator, run once at start: every open VFIO device fd (f_op ==
 * vfio_device_fops, resolved from kallsyms) names its device, so the drivers' dma_unmap
 * callbacks of VMs that were running before vfio-trace get attached before they are called.
 */
const volatile __u64 vt_device_fops = 0;

SEC("iter/task_file")
int it_devices(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct vfio_device *vdev;
	struct vtr_device *d;
	__u64 container;
	void *priv;

	if (!file || !task || !vt_device_fops || (__u64)BPF_CORE_READ(file, f_op) != vt_device_fops)
		return 0;
	priv = BPF_CORE_READ(file, private_data);
	if (bpf_core_type_exists(struct vfio_device_file))
		vdev = BPF_CORE_READ((struct vfio_device_file *)priv, device);
	else
		vdev = priv;
	if (!vdev)
		return 0;
	container = vt_device_container(vdev);
	d = vt_learn_device(vdev, container, VT_OP_REGISTER, BPF_CORE_READ(task, tgid));
	if (d && d->dma_unmap && container) {
		d->registered = 1;	/* open with a dma_unmap: on its container's device_list */
		vt_track_container((void *)container);
	}
	return 0;
}
