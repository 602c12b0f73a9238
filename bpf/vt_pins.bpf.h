/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pins and unpins: vfio_{pin,unpin}_pages (the device) and vfio_iommu_type1_{pin,unpin}_pages
 * (the container), each accounted once, at the exit of the outermost that ran.
 *
 * A part of vfio_trace.bpf.c, not a header of its own: included by it once, after the per-vfio_dma
 * programs, so the programs and their inlining stay those of one object (6.1's BPF
 * stack limit, 512 bytes, counts a program together with its subprograms).
 */
#ifndef VT_PINS_BPF_H
#define VT_PINS_BPF_H

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
	__u64 pages = c->size, now = bpf_ktime_get_ns();

	if (op == VT_OP_PIN && ret < 0)
		pages = 0;
	if (c->obj)
		vt_account(op, VT_KIND_DEVICE, c->obj, c->container, now - c->ts, now, pages, ret,
			   c->iova, 0, 0);
	else
		vt_account(op, VT_KIND_CONTAINER, c->container, c->container, now - c->ts, now,
			   pages, ret, c->iova, 0, 0);
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
	vt_account(op, VT_KIND_DEVICE, (__u64)vdev, 0, VT_LAT_NONE, 0,
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

#endif
