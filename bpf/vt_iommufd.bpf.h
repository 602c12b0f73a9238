/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The iommufd path (VFIO device cdev bound to /dev/iommu, no type1 container): an IOAS is the
 * container, keyed by its struct iommufd_ioas pointer, and counted in the same rows (unmap,
 * map, notify, retry; pins and callbacks per device as on type1).
 *
 *   IOMMU_IOAS_UNMAP  iommufd_ioas_unmap(ucmd) -> iopt_unmap_iova/_all(iopt) ->
 *                     iopt_unmap_iova_range: per area with accesses (pins)
 *                     iommufd_access_notify_unmap(iopt, iova, length) -> each access's
 *                     ops->unmap (vfio_emulated_unmap) -> the driver's dma_unmap
 *                     (callback.bpf.c counts it per device) -> vfio_unpin_pages
 *   IOMMU_IOAS_MAP    iommufd_ioas_map(ucmd) -> iopt_map_user_pages(ictx, iopt)
 *
 * iommufd_ioas_unmap only has the ucmd (the IOAS is looked up by id inside): the IOAS is read
 * from the io_pagetable iopt_unmap_iova/_all (iopt_map_user_pages) receive, in the same thread.
 * The unmap's bytes are what the kernel writes back into the command (cmd->length = unmapped).
 * iopt_unmap_iova_range gives up after 100 notifies without a gap between areas (WARN_ON,
 * -EDEADLOCK): an IOAS_UNMAP that returns -EDEADLOCK raises the RETRY LIMIT alert.
 *
 * A part of vfio_trace.bpf.c, included by it once, after the pins (it uses their inner_*).
 * Nothing here is loaded on a kernel without iommufd (its points are not present).
 */
#ifndef VT_IOMMUFD_BPF_H
#define VT_IOMMUFD_BPF_H

/* drivers/iommu/iommufd/iommufd_private.h, include/uapi/linux/iommufd.h (iommufd.ko's BTF):
 * only the fields read, CO-RE. io_pagetable is only needed as a field whose offset is read. */
struct io_pagetable {
	int vt_unused;
} __attribute__((preserve_access_index));

struct iommufd_object {
	int vt_unused;
} __attribute__((preserve_access_index));

struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
} __attribute__((preserve_access_index));

/* node: the area's IOVA range [start, last] (struct interval_tree_node, vmlinux) */
struct iopt_area {
	struct interval_tree_node node;
} __attribute__((preserve_access_index));

struct iommufd_ucmd {
	void *cmd;
} __attribute__((preserve_access_index));

struct iommufd_access {
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
} __attribute__((preserve_access_index));

struct iommu_ioas_unmap {
	__u64 iova;
	__u64 length;
} __attribute__((preserve_access_index));

struct iommu_ioas_map {
	__u64 length;
	__u64 iova;
} __attribute__((preserve_access_index));

#define VT_EDEADLOCK 35
#define VT_PAGE_SIZE 4096

/* One IOAS_MAP/IOAS_UNMAP in flight per thread, and the notify running inside it (a notify
 * can also run outside one, e.g. an IOAS destroyed with pinned areas). */
struct vtr_ioas_call {
	__u64 ts;  /* 0: no IOAS_MAP/UNMAP in flight */
	__u64 cmd; /* the kernel copy of the user's struct iommu_ioas_{map,unmap} */
	__u64 ioas;
	__u64 iova;
	__u64 length;
	__u64 notify_ts; /* 0: no notify in flight */
	__u64 notify_ioas;
	__u64 notify_iova;
	__u64 notify_length;
	__u32 op; /* VT_OP_UNMAP or VT_OP_MAP */
	__u32 notifies;
	__u32 retries; /* consecutive notifies of the same area */
	__u32 pad;
};

VT_MAP(BPF_MAP_TYPE_LRU_HASH, 8192, __u32, struct vtr_ioas_call) vt_ioas_calls SEC(".maps");

static __always_inline __u64 ioas_of_iopt(__u64 iopt)
{
	return iopt ? iopt - bpf_core_field_offset(struct iommufd_ioas, iopt) : 0;
}

static __always_inline struct vtr_ioas_call *ioas_call(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&vt_ioas_calls, &tid);
}

static __always_inline int ioas_cmd_enter(__u32 op, struct iommufd_ucmd *ucmd)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 cmd = (__u64)BPF_CORE_READ(ucmd, cmd);
	struct vtr_ioas_call c = {};

	c.op = op;
	c.cmd = cmd;
	if (op == VT_OP_UNMAP) {
		c.iova = BPF_CORE_READ((struct iommu_ioas_unmap *)cmd, iova);
		c.length = BPF_CORE_READ((struct iommu_ioas_unmap *)cmd, length);
	} else {
		c.iova = BPF_CORE_READ((struct iommu_ioas_map *)cmd, iova);
		c.length = BPF_CORE_READ((struct iommu_ioas_map *)cmd, length);
	}
	c.ts = bpf_ktime_get_ns();
	VT_INFLIGHT_PUT(&vt_ioas_calls, &tid, &c);
	return 0;
}

/* The IOAS_UNMAP ended in iopt_unmap_iova_range's retry limit: tell user space now. */
static __always_inline void retry_limit_event(struct vtr_ioas_call *c)
{
	struct vtr_event *e = vt_lifecycle_event(VT_EV_RETRY_LIMIT, c->ioas, c->ioas);

	if (!e)
		return;
	e->iova = c->notify_iova;
	e->size = c->notify_length;
	e->aux = c->length;
	e->ret = -VT_EDEADLOCK;
	e->retries = c->notifies > 0xffff ? 0xffff : c->notifies;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline int ioas_cmd_exit(__u32 op, long ret)
{
	struct vtr_ioas_call *c = ioas_call();
	__u64 now = bpf_ktime_get_ns(), bytes = 0;

	if (!c || !c->ts || c->op != op) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	if (ret == 0 && op == VT_OP_UNMAP) {
		/* a local first: BPF_CORE_READ would relocate c->cmd too (not a kernel type) */
		struct iommu_ioas_unmap *cmd = (void *)c->cmd;

		bytes = BPF_CORE_READ(cmd, length);
	} else if (ret == 0)
		bytes = c->length;
	vt_account(op, VT_KIND_CONTAINER, c->ioas, c->ioas, now - c->ts, now, bytes, ret, c->iova,
		   c->length, c->notifies);
	if (op == VT_OP_UNMAP && ret == -VT_EDEADLOCK)
		retry_limit_event(c);
	c->ts = 0;
	return 0;
}

/* iopt_unmap_iova/_all, iopt_map_user_pages: the IOAS of the thread's IOAS_UNMAP/MAP. */
static __always_inline int ioas_learn(__u32 op, __u64 iopt)
{
	struct vtr_ioas_call *c = ioas_call();

	if (c && c->ts && c->op == op && !c->ioas)
		c->ioas = ioas_of_iopt(iopt);
	return 0;
}

SEC("fentry/iommufd_ioas_unmap")
int BPF_PROG(fe_ioas_unmap)
{
	return ioas_cmd_enter(VT_OP_UNMAP, (void *)fentry_arg(ctx, 0));
}

SEC("fexit/iommufd_ioas_unmap")
int BPF_PROG(fx_ioas_unmap)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return ioas_cmd_exit(VT_OP_UNMAP, (int)ret);
}

SEC("kprobe/iommufd_ioas_unmap")
int BPF_KPROBE(kp_ioas_unmap, void *ucmd)
{
	return ioas_cmd_enter(VT_OP_UNMAP, ucmd);
}

SEC("kretprobe/iommufd_ioas_unmap")
int BPF_KRETPROBE(kr_ioas_unmap, int ret)
{
	return ioas_cmd_exit(VT_OP_UNMAP, ret);
}

SEC("fentry/iommufd_ioas_map")
int BPF_PROG(fe_ioas_map)
{
	return ioas_cmd_enter(VT_OP_MAP, (void *)fentry_arg(ctx, 0));
}

SEC("fexit/iommufd_ioas_map")
int BPF_PROG(fx_ioas_map)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return ioas_cmd_exit(VT_OP_MAP, (int)ret);
}

SEC("kprobe/iommufd_ioas_map")
int BPF_KPROBE(kp_ioas_map, void *ucmd)
{
	return ioas_cmd_enter(VT_OP_MAP, ucmd);
}

SEC("kretprobe/iommufd_ioas_map")
int BPF_KRETPROBE(kr_ioas_map, int ret)
{
	return ioas_cmd_exit(VT_OP_MAP, ret);
}

/* Entry only: the kprobe and fexit halves are not needed (the loader binds none). */
SEC("fentry/iopt_unmap_iova")
int BPF_PROG(fe_iopt_unmap)
{
	return ioas_learn(VT_OP_UNMAP, fentry_arg(ctx, 0));
}

SEC("kprobe/iopt_unmap_iova")
int BPF_KPROBE(kp_iopt_unmap, void *iopt)
{
	return ioas_learn(VT_OP_UNMAP, (__u64)iopt);
}

SEC("fentry/iopt_unmap_all")
int BPF_PROG(fe_iopt_unmap_all)
{
	return ioas_learn(VT_OP_UNMAP, fentry_arg(ctx, 0));
}

SEC("kprobe/iopt_unmap_all")
int BPF_KPROBE(kp_iopt_unmap_all, void *iopt)
{
	return ioas_learn(VT_OP_UNMAP, (__u64)iopt);
}

SEC("fentry/iopt_map_user_pages")
int BPF_PROG(fe_iopt_map)
{
	return ioas_learn(VT_OP_MAP, fentry_arg(ctx, 1));
}

SEC("kprobe/iopt_map_user_pages")
int BPF_KPROBE(kp_iopt_map, void *ictx, void *iopt)
{
	return ioas_learn(VT_OP_MAP, (__u64)iopt);
}

/* ---- iommufd_access_notify_unmap(iopt, iova, length) -------------------------------------
 * One call per area with accesses, per try; the same area notified again in one IOAS_UNMAP
 * is a retry (an access kept its pins), as on type1. */
static __always_inline int ioas_notify_enter(__u64 iopt, __u64 iova, __u64 length)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_ioas_call *c = ioas_call();
	__u64 now = bpf_ktime_get_ns(), ioas = ioas_of_iopt(iopt);

	if (!c) {
		struct vtr_ioas_call n = {};

		bpf_map_update_elem(&vt_ioas_calls, &tid, &n, BPF_NOEXIST);
		c = ioas_call();
		if (!c) {
			vt_lose(VT_LOSS_TASK_FULL);
			return 0;
		}
	}
	if (c->ts && c->op == VT_OP_UNMAP) {
		if (c->notifies && c->notify_iova == iova && c->notify_ioas == ioas) {
			c->retries++;
			vt_account(VT_OP_RETRY, VT_KIND_CONTAINER, ioas, ioas, 0, now, length, 0,
				   iova, 0, c->retries);
		} else {
			c->retries = 0;
		}
		c->notifies++;
	}
	c->notify_ioas = ioas;
	c->notify_iova = iova;
	c->notify_length = length;
	c->notify_ts = now;
	return 0;
}

static __always_inline int ioas_notify_exit(void)
{
	struct vtr_ioas_call *c = ioas_call();
	__u64 now = bpf_ktime_get_ns();

	if (!c || !c->notify_ts) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	vt_account(VT_OP_NOTIFY, VT_KIND_CONTAINER, c->notify_ioas, c->notify_ioas,
		   now - c->notify_ts, now, c->notify_length, 0, c->notify_iova, 0, c->retries);
	c->notify_ts = 0;
	return 0;
}

SEC("fentry/iommufd_access_notify_unmap")
int BPF_PROG(fe_ioas_notify, void *iopt, unsigned long iova, unsigned long length)
{
	return ioas_notify_enter(fentry_arg(ctx, 0), iova, length);
}

SEC("fexit/iommufd_access_notify_unmap")
int BPF_PROG(fx_ioas_notify)
{
	return ioas_notify_exit();
}

SEC("kprobe/iommufd_access_notify_unmap")
int BPF_KPROBE(kp_ioas_notify, void *iopt, unsigned long iova, unsigned long length)
{
	return ioas_notify_enter((__u64)iopt, iova, length);
}

SEC("kretprobe/iommufd_access_notify_unmap")
int BPF_KRETPROBE(kr_ioas_notify)
{
	return ioas_notify_exit();
}

/* ---- an IOAS destroyed with areas left: a teardown ----------------------------------------
 * iommufd_ioas_destroy (the IOAS object's last reference, e.g. /dev/iommu closed by a VM that
 * exits) removes what is still mapped with iopt_unmap_all, no IOMMU_IOAS_UNMAP: counted as a
 * type1 container's release is (vt_teardown.bpf.h), an area for a vfio_dma, each seen at
 * iopt_area_unfill_domains inside it. */
static __always_inline int teardown_area(struct iopt_area *area)
{
	__u32 tid;
	struct vtr_teardown *t;

	if (!vt_teardowns_active)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&vt_teardowns, &tid);
	if (!t || !t->ts)
		return 0;
	t->dmas++;
	t->bytes += BPF_CORE_READ(area, node.last) - BPF_CORE_READ(area, node.start) + 1;
	return 0;
}

static __always_inline __u64 ioas_of_obj(__u64 obj)
{
	return obj ? obj - bpf_core_field_offset(struct iommufd_ioas, obj) : 0;
}

VT_ENTRY_EXIT_PROGS(iommufd_ioas_destroy, ioas_destroy, VT_FE_ONE_NUMBER,
		    teardown_enter((void *)ioas_of_obj(a0)), teardown_exit())

SEC("fentry/iopt_area_unfill_domains")
int BPF_PROG(fe_area_unfill)
{
	return teardown_area((void *)fentry_arg(ctx, 0));
}

SEC("kprobe/iopt_area_unfill_domains")
int BPF_KPROBE(kp_area_unfill, void *area)
{
	return teardown_area(area);
}

/* ---- iommufd_access_{pin,unpin}_pages: the inner half of vfio_{pin,unpin}_pages -----------
 * As type1's pair (vt_pins.bpf.h): attached only where vfio_{pin,unpin}_pages cannot be, then
 * counted per IOAS, in pages. */
static __always_inline __u64 access_ioas(struct iommufd_access *access, bool unpin)
{
	struct iommufd_ioas *ioas =
		unpin ? BPF_CORE_READ(access, ioas_unpin) : BPF_CORE_READ(access, ioas);

	return (__u64)ioas;
}

SEC("fentry/iommufd_access_pin_pages")
int BPF_PROG(fe_ioas_pin, void *access, unsigned long iova, unsigned long length)
{
	return inner_enter(VT_OP_PIN, (void *)access_ioas((void *)fentry_arg(ctx, 0), false), iova,
			   length / VT_PAGE_SIZE);
}

SEC("fexit/iommufd_access_pin_pages")
int BPF_PROG(fx_ioas_pin)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return inner_exit(VT_OP_PIN, (int)ret);
}

SEC("kprobe/iommufd_access_pin_pages")
int BPF_KPROBE(kp_ioas_pin, void *access, unsigned long iova, unsigned long length)
{
	return inner_enter(VT_OP_PIN, (void *)access_ioas(access, false), iova,
			   length / VT_PAGE_SIZE);
}

SEC("kretprobe/iommufd_access_pin_pages")
int BPF_KRETPROBE(kr_ioas_pin, int ret)
{
	return inner_exit(VT_OP_PIN, ret);
}

SEC("fentry/iommufd_access_unpin_pages")
int BPF_PROG(fe_ioas_unpin, void *access, unsigned long iova, unsigned long length)
{
	return inner_enter(VT_OP_UNPIN, (void *)access_ioas((void *)fentry_arg(ctx, 0), true), iova,
			   length / VT_PAGE_SIZE);
}

SEC("fexit/iommufd_access_unpin_pages")
int BPF_PROG(fx_ioas_unpin)
{
	return inner_exit(VT_OP_UNPIN, 0);
}

SEC("kprobe/iommufd_access_unpin_pages")
int BPF_KPROBE(kp_ioas_unpin, void *access, unsigned long iova, unsigned long length)
{
	return inner_enter(VT_OP_UNPIN, (void *)access_ioas(access, true), iova,
			   length / VT_PAGE_SIZE);
}

SEC("kretprobe/iommufd_access_unpin_pages")
int BPF_KRETPROBE(kr_ioas_unpin)
{
	return inner_exit(VT_OP_UNPIN, 0);
}

#endif
