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

/* ---- VFIO_IOMMU_{MAP,UNMAP}_DMA at vfio_iommu_type1_ioctl ------------------------------ */

static __always_inline int ioctl_enter(void *iommu_data, unsigned int cmd, unsigned long arg)
{
	struct vtr_unmap_state st = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (cmd == VT_VFIO_IOMMU_UNMAP_DMA) {
		struct vt_uapi_dma_unmap u = {};

		bpf_probe_read_user(&u, sizeof(u), (void *)arg);
		st.iova = u.iova;
		st.size = u.size;
	} else if (cmd == VT_VFIO_IOMMU_MAP_DMA) {
		struct vt_uapi_dma_map m = {};

		bpf_probe_read_user(&m, sizeof(m), (void *)arg);
		st.iova = m.iova;
		st.size = m.size;
	} else {
		return 0;
	}
	st.ts = bpf_ktime_get_ns();
	st.container = (__u64)iommu_data;
	st.uarg = arg;
	st.cmd = cmd;
	if (bpf_map_update_elem(&vt_unmaps, &tid, &st, BPF_ANY))
		vt_lose(VT_LOSS_TASK_FULL);
	return 0;
}

static __always_inline int ioctl_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *st = bpf_map_lookup_elem(&vt_unmaps, &tid);
	__u64 bytes;

	if (!st)
		return 0;	/* not MAP/UNMAP, or started mid-call */
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
	bpf_map_delete_elem(&vt_unmaps, &tid);
	return 0;
}

SEC("fentry/vfio_iommu_type1_ioctl")
int BPF_PROG(fe_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(iommu_data, cmd, arg);
}

SEC("fexit/vfio_iommu_type1_ioctl")
int BPF_PROG(fx_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg, long ret)
{
	return ioctl_exit(ret);
}

SEC("kprobe/vfio_iommu_type1_ioctl")
int BPF_KPROBE(kp_ioctl, void *iommu_data, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(iommu_data, cmd, arg);
}

SEC("kretprobe/vfio_iommu_type1_ioctl")
int BPF_KRETPROBE(kr_ioctl, long ret)
{
	return ioctl_exit(ret);
}

/* ---- generic in-flight call helpers ---------------------------------------------------- */

static __always_inline struct vtr_call *call_get(__u32 op)
{
	struct vtr_call_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .op = op };

	return bpf_map_lookup_elem(&vt_calls, &k);
}

static __always_inline void call_put(__u32 op, struct vtr_call *c)
{
	struct vtr_call_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .op = op };

	if (bpf_map_update_elem(&vt_calls, &k, c, BPF_ANY))
		vt_lose(VT_LOSS_TASK_FULL);
}

static __always_inline void call_del(__u32 op)
{
	struct vtr_call_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .op = op };

	bpf_map_delete_elem(&vt_calls, &k);
}

/* ---- per vfio_dma: vfio_remove_dma, vfio_unmap_unpin ----------------------------------- */

static __always_inline int dma_enter(__u32 op, void *iommu, struct vfio_dma *dma)
{
	struct vtr_call c = {};

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
	call_del(op);
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
 * (iommu_data, ...) name the container and hold the -EINVAL for "no dma_unmap device". An
 * operation is accounted once, at the exit of the outermost of the two that ran.
 */

static __always_inline int outer_enter(__u32 op, struct vfio_device *vdev, __u64 iova, int npage)
{
	struct vtr_call c = {};

	c.ts = bpf_ktime_get_ns();
	c.obj = (__u64)vdev;
	c.iova = iova;
	c.size = npage;
	c.outer = 1;
	vt_learn_device(vdev, 0, op);
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
	call_del(op);
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
	call_del(op);
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
int BPF_PROG(fx_vfio_unpin)
{
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

	/* type1 returns at once for a device without dma_unmap: it never joins the list. */
	if (!ops || !BPF_CORE_READ(ops, dma_unmap))
		return 0;
	d = vt_learn_device(vdev, (__u64)iommu, op);
	if (d) {
		d->container = (__u64)iommu;
		d->registered = op == VT_OP_REGISTER;
	}
	vt_account(op, VT_KIND_DEVICE, (__u64)vdev, (__u64)iommu, 0, 0, 0, 0, 0, 0);
	if (d && op == VT_OP_UNREGISTER) {
		/* Tell user space too, so its live device_list view drops the device. */
		struct vtr_event *e = bpf_ringbuf_reserve(&vt_lifecycle, sizeof(*e), 0);

		if (e) {
			__builtin_memset(e, 0, sizeof(*e));
			e->ts = bpf_ktime_get_ns();
			e->obj = (__u64)vdev;
			e->container = (__u64)iommu;
			e->op = op;
			e->tgid = bpf_get_current_pid_tgid() >> 32;
			__builtin_memcpy(e->dev, d->name, sizeof(e->dev));
			bpf_ringbuf_submit(e, 0);
		} else {
			vt_lose(VT_LOSS_LIFECYCLE);
		}
	}
	return 0;
}

SEC("fentry/vfio_iommu_type1_register_device")
int BPF_PROG(fe_register, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_REGISTER, iommu, vdev);
}

SEC("kprobe/vfio_iommu_type1_register_device")
int BPF_KPROBE(kp_register, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_REGISTER, iommu, vdev);
}

SEC("fentry/vfio_iommu_type1_unregister_device")
int BPF_PROG(fe_unregister, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_UNREGISTER, iommu, vdev);
}

SEC("kprobe/vfio_iommu_type1_unregister_device")
int BPF_KPROBE(kp_unregister, void *iommu, struct vfio_device *vdev)
{
	return lifecycle(VT_OP_UNREGISTER, iommu, vdev);
}
