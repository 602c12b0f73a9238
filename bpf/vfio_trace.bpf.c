// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace: the fixed attach points of the VFIO type1 DMA-unmap path.
 *
 * On Debian's 6.1 and 6.12 vfio_dma_do_unmap and vfio_notify_dma_unmap are inlined into
 * vfio_iommu_type1_ioctl, so an unmap is measured at the ioctl, filtered on
 * VFIO_IOMMU_UNMAP_DMA, and each notify is reconstructed from the drivers' dma_unmap callbacks (callback.bpf.c).
 * Where vfio_dma_do_unmap and vfio_notify_dma_unmap are real functions (the lab's
 * 6.12.117-vt-iommufd) their own programs (vt_direct.bpf.h) measure each unmap and notify
 * instead, into the same rows; the ioctl's programs still hold the thread's unmap state for everything inside.
 *
 * Each point has an fentry/fexit program and a kprobe/kretprobe twin; the loader autoloads
 * the variant the running kernel takes (lib/probe.c).
 *
 * Here: the ioctl (MAP/UNMAP_DMA), the per-vfio_dma steps, the device lifecycle, the
 * container's release and module loads. Included into this one object, in this order:
 * vt_direct.bpf.h (vfio_dma_do_unmap and vfio_notify_dma_unmap where they are functions),
 * vt_teardown.bpf.h (VM teardown), vt_phases.bpf.h (inside vfio_unmap_unpin), vt_pins.bpf.h (pins), vt_iommufd.bpf.h (the iommufd path:
 * IOAS maps, unmaps, notifies, pins), vt_locks.bpf.h (lock times, ABBA).
 */
#include "vt_core.bpf.h"
#include "vt_task_stack.bpf.h"

/* fentry/fexit hand struct pointers over as BTF pointers, on which the verifier forbids the
 * hashes of vt_account's hot rows and of the lock slot table: read such an argument as a plain
 * number instead (bpf_get_func_arg is inlined by the verifier: a load, no helper call). */
static __always_inline __u64 fentry_arg(unsigned long long *ctx, int n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

/* How the fentry half of VT_ENTRY_EXIT_PROGS reads the arguments: two, as the kernel typed
 * them (pointers the verifier tracks: fine to read through and to store), or the first as a
 * plain number (needed where it is hashed, see fentry_arg). Never more than the function has:
 * the verifier refuses ctx[1] of a one-argument function. */
#define VT_FE_TWO_TYPED	 a0 = ctx[0], a1 = ctx[1]
#define VT_FE_ONE_NUMBER a0 = fentry_arg(ctx, 0), a1 = 0

/* The four programs of a function whose entry needs (at most) its first two arguments and whose
 * exit needs none: fentry/fexit, and the kprobe/kretprobe twins lib/loader.c attaches where
 * fentry is refused or the module must stay unloadable (lib/reload.c). enter is an expression
 * of a0 and a1, fe_args one of VT_FE_*; lib/loader.c binds the programs by these names. The
 * programs are instruction for instruction those written out by hand before. */
#define VT_ENTRY_EXIT_PROGS(func, x, fe_args, enter, exit)              \
	SEC("fentry/" #func)                                            \
	int BPF_PROG(fe_##x)                                            \
	{                                                               \
		__u64 fe_args;                                          \
		(void)a1;                                               \
		return enter;                                           \
	}                                                               \
	SEC("fexit/" #func)                                             \
	int BPF_PROG(fx_##x)                                            \
	{                                                               \
		return exit;                                            \
	}                                                               \
	SEC("kprobe/" #func)                                            \
	int BPF_KPROBE(kp_##x)                                          \
	{                                                               \
		__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx); \
		(void)a1;                                               \
		return enter;                                           \
	}                                                               \
	SEC("kretprobe/" #func)                                         \
	int BPF_KRETPROBE(kr_##x)                                       \
	{                                                               \
		return exit;                                            \
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
	slot->direct_ts = 0;
	slot->unmap_ts = 0;
	slot->unmap_done = 0;
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
		   0, ret == 0 ? m.size : 0, ret, m.iova, m.size, 0);
	return 0;
}

static __always_inline int ioctl_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vtr_unmap_state *st = vt_unmap_get(tid);
	__u64 bytes, now;

	if (!st)
		return 1; /* not MAP/UNMAP, or started mid-call */
	bytes = st->size;
	if (st->cmd == VT_VFIO_IOMMU_UNMAP_DMA && st->unmap_done) {
		/* measured at vfio_dma_do_unmap (vt_unmap_direct) */
	} else if (st->cmd == VT_VFIO_IOMMU_UNMAP_DMA) {
		/* Here too with vt_unmap_direct when the ioctl refused the call before
		 * vfio_dma_do_unmap (argsz, flags, bitmap checks): both ways count every call. */
		struct vt_uapi_dma_unmap u = {};

		/* On success the kernel wrote the unmapped size back into the user's struct. */
		bytes = 0;
		if (ret == 0 && !bpf_probe_read_user(&u, sizeof(u), (void *)st->uarg))
			bytes = u.size;
		now = bpf_ktime_get_ns();
		vt_account(VT_OP_UNMAP, VT_KIND_CONTAINER, st->container, st->container,
			   now - st->ts, now, bytes, ret, st->iova, st->size, st->notifies);
	} else {
		now = bpf_ktime_get_ns();
		vt_account(VT_OP_MAP, VT_KIND_CONTAINER, st->container, st->container, now - st->ts,
			   now, ret == 0 ? bytes : 0, ret, st->iova, st->size, 0);
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

#include "vt_direct.bpf.h"

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

#include "vt_teardown.bpf.h"
#include "vt_phases.bpf.h"

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
	c.iova = BPF_CORE_READ(dma, iova); /* read now: vfio_remove_dma frees dma */
	c.size = BPF_CORE_READ(dma, size);
	call_put(op, &c);
	return 0;
}

static __always_inline int dma_exit(__u32 op)
{
	struct vtr_call *c = call_get(op);
	__u64 now = bpf_ktime_get_ns();

	if (!c) {
		vt_lose(VT_LOSS_NO_ENTRY);
		return 0;
	}
	if (op == VT_OP_UNMAP_UNPIN)
		walk_close(c, now);
	vt_account(op, VT_KIND_CONTAINER, c->container, c->container, now - c->ts, now, c->size, 0,
		   c->iova, 0, 0);
	call_done(c);
	return 0;
}

VT_ENTRY_EXIT_PROGS(vfio_remove_dma, remove_dma, VT_FE_TWO_TYPED,
		    dma_enter(VT_OP_REMOVE_DMA, (void *)a0, (void *)a1), dma_exit(VT_OP_REMOVE_DMA))
VT_ENTRY_EXIT_PROGS(vfio_unmap_unpin, unmap_unpin, VT_FE_TWO_TYPED,
		    dma_enter(VT_OP_UNMAP_UNPIN, (void *)a0, (void *)a1),
		    dma_exit(VT_OP_UNMAP_UNPIN))

#include "vt_pins.bpf.h"
#include "vt_iommufd.bpf.h"

/* ---- device lifecycle: joining and leaving the container's device_list ------------------ */

/* The processes proc_event() has named: tgid -> start (a PID used again is named again). */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 4096, __u32, __u64) vt_named SEC(".maps");

/* The registering process's command line (QEMU's -name, -uuid) and start, once per process:
 * read here, in its context, it cannot be gone before user space reads it. */
static __always_inline void proc_event(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 start = BPF_CORE_READ(leader, start_boottime) / 10000000; /* ns -> USER_HZ ticks */
	__u64 *known = bpf_map_lookup_elem(&vt_named, &tgid);
	unsigned long arg, len;
	struct vtr_proc *p;

	if (known && *known == start)
		return;
	p = bpf_ringbuf_reserve(&vt_lifecycle, sizeof(*p), 0);
	if (!p) {
		vt_lose(VT_LOSS_LIFECYCLE);
		return;
	}
	__builtin_memset(&p->e, 0, sizeof(p->e));
	p->e.ts = bpf_ktime_get_ns();
	p->e.op = VT_EV_PROC;
	p->e.pid = (__u32)bpf_get_current_pid_tgid();
	p->e.tgid = tgid;
	bpf_probe_read_kernel_str(p->e.comm, sizeof(p->e.comm), &leader->comm);
	p->start = start;
	p->pad = 0;
	arg = BPF_CORE_READ(task, mm, arg_start);
	len = BPF_CORE_READ(task, mm, arg_end) - arg;
	if (len > VT_CMDLINE_MAX)
		len = VT_CMDLINE_MAX;
	p->len = arg && !bpf_probe_read_user(p->cmdline, len, (void *)arg) ? len : 0;
	bpf_ringbuf_submit(p, BPF_RB_FORCE_WAKEUP);
	bpf_map_update_elem(&vt_named, &tgid, &start, BPF_ANY);
}

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
	vt_account(op, VT_KIND_DEVICE, (__u64)vdev, (__u64)iommu, 0, 0, 0, 0, 0, 0, 0);
	if (op == VT_OP_REGISTER)
		proc_event();
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

#include "vt_locks.bpf.h"

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

VT_ENTRY_EXIT_PROGS(vfio_iommu_type1_release, release, VT_FE_ONE_NUMBER, release_enter((void *)a0),
		    teardown_exit())

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

/* the stopped loaders: tgid -> since when (ns) */
VT_MAP(BPF_MAP_TYPE_HASH, 256, __u32, __u64) vt_held SEC(".maps");

/* Is mod vfio.ko? (its own functions are probed too, vfio_pin_pages: its loads and unloads
 * matter when they can come and go, VT_FEAT_RELOAD) */
static __always_inline bool module_is_vfio(struct module *mod)
{
	char name[8] = {};

	bpf_probe_read_kernel_str(name, sizeof(name), &mod->name);
	return name[0] == 'v' && name[1] == 'f' && name[2] == 'i' && name[3] == 'o' && !name[4];
}

/* A walk of a module's target_list: one module_use per module it depends on. */
struct uses_vfio_walk {
	struct list_head *head, *pos;
	__u64 off; /* of target_list in struct module_use */
	bool found;
};

/* One step of it, by bpf_loop: the verifier checks this once, where an unrolled 64-step loop
 * cost it 8,690 instructions (31-69 ms of every start under TCG: -v -v -v). */
static int uses_vfio_step(__u32 i, void *data)
{
	struct uses_vfio_walk *w = data;
	/* read out of w first: a field of w inside BPF_CORE_READ would be a CO-RE relocation
	 * against a type only this program has */
	struct list_head *pos = w->pos;
	struct module_use *use = (void *)pos - w->off;
	struct module *target;

	if (!pos || pos == w->head)
		return 1;
	target = BPF_CORE_READ(use, target);
	if (target && module_is_vfio(target)) {
		w->found = true;
		return 1;
	}
	w->pos = BPF_CORE_READ(pos, next);
	return 0;
}

/* Does mod use vfio.ko's symbols (a vfio_device driver)? (its first 64 dependencies) */
static __always_inline bool module_uses_vfio(struct module *mod)
{
	struct uses_vfio_walk w = {
		.head = __builtin_preserve_access_index(&mod->target_list),
		.pos = BPF_CORE_READ(mod, target_list.next),
		.off = bpf_core_field_offset(struct module_use, target_list),
	};

	bpf_loop(64, uses_vfio_step, &w, 0);
	return w.found;
}

static __always_inline bool module_watched(struct module *mod)
{
	return module_uses_vfio(mod) || ((vt_features & VT_FEAT_RELOAD) && module_is_vfio(mod));
}

SEC("raw_tp/module_load")
int BPF_PROG(rt_module_load, struct module *mod)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct vtr_event *e;
	__u64 now = bpf_ktime_get_ns();
	bool held = false;

	if (!module_watched(mod))
		return 0;
	if (vt_hold_modules) {
		if (bpf_map_update_elem(&vt_held, &tgid, &now, BPF_ANY))
			vt_lose(VT_LOSS_HOLD_FULL);
		else if (bpf_send_signal(19 /* SIGSTOP */)) /* a kernel thread: not held */
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

/* module:module_free fires in free_module() before anything of the module is torn down (its
 * target_list still names what it uses): user space removes the module's probes and says so.
 * Loaded only with VT_FEAT_RELOAD. */
SEC("raw_tp/module_free")
int BPF_PROG(rt_module_free, struct module *mod)
{
	struct vtr_event *e;

	if (!module_watched(mod))
		return 0;
	e = vt_lifecycle_event(VT_EV_MODULE_FREE, 0, 0);
	if (!e)
		return 0;
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
		d->registered = 1; /* open with a dma_unmap: on its container's device_list */
		vt_track_container((void *)container);
	}
	return 0;
}

/* ---- a storm's threads: their kernel stacks (lib/stacks.c) --------------------------------
 * A task iterator, loaded with the rest but attached only for an alert, with vt_stack_tgid
 * (.bss: user space sets it then) the process it wants. Per thread: struct vtr_task_stack,
 * then each frame named by the kernel ("%pS": "function+0xoff/0xsize [module]", what
 * /proc/<tid>/stack shows) a line, then an empty line. bpf_get_task_stack() needs no ptrace
 * access to the threads, which /proc/<tid>/stack does (the tracers keep CAP_SYS_ADMIN, not
 * CAP_SYS_PTRACE: lib/caps.c); naming the frames here spares user space a pass over every
 * kernel symbol (2 to 6 s in the lab guest, per tracer). */
__u32 vt_stack_tgid = 0;

SEC("iter/task")
int it_task_stacks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vtr_task_stack r = {};
	long n;

	if (!task || !vt_stack_tgid || BPF_CORE_READ(task, tgid) != vt_stack_tgid)
		return 0;
	r.tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
	n = vt_get_task_stack(task, r.stack, sizeof(r.stack));
	r.nstack = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64));
	bpf_seq_write(seq, &r, sizeof(r));
	for (int i = 0; i < VT_TASK_STACK_DEPTH && i < r.nstack; i++)
		BPF_SEQ_PRINTF(seq, "%pS\n", r.stack[i]);
	bpf_seq_write(seq, "\n", 1);
	return 0;
}

/* ---- the dma_unmap callbacks found at the start (lib/callbacks.c) ------------------------
 * Their programs are here, not each in a callback.bpf.c of its own: an object of its own costs
 * libbpf a parse of the kernel's BTF and a load (0.2-0.3 s under TCG each). VT_CB_SLOTS
 * fentry/fexit pairs, each told its function (vt_cb_slot_func, its attach target) before the
 * load, the unused ones not loaded; one kprobe pair for the callbacks on kprobes or on the
 * kprobe_multi links. A callback found after the load (a module loaded later) gets a
 * callback.bpf.c of its own, which shares these maps (vt_cbs included). */
#include "vt_callback.bpf.h"

const volatile __u64 vt_cb_slot_func[VT_CB_SLOTS] = {};

VT_CB_FENTRY_PROGS(fe_callback_0, fx_callback_0, vt_cb_slot_func[0])
VT_CB_FENTRY_PROGS(fe_callback_1, fx_callback_1, vt_cb_slot_func[1])
VT_CB_FENTRY_PROGS(fe_callback_2, fx_callback_2, vt_cb_slot_func[2])
VT_CB_FENTRY_PROGS(fe_callback_3, fx_callback_3, vt_cb_slot_func[3])
_Static_assert(VT_CB_SLOTS == 4, "one VT_CB_FENTRY_PROGS per slot");

VT_CB_KPROBE_PROGS

/* ---- kprobe_multi: every kprobe of a command that runs until stopped, in two links -------
 * A perf kprobe's close waits for RCU grace periods under the kernel's event_mutex, one
 * kprobe at a time (~40 ms each under emulation), and a kprobe_multi link's ~0.2 s whatever
 * its function count, so stopping snoop took seconds; now it is two links, one for every entry
 * and one for every return (docs/BENCHMARKS.md "Exit"). lib/loader.c attaches these two
 * dispatchers by address to every point's function, each function's attach cookie the slot of
 * its kp_/kr_ program in vt_kprobe_handlers, and to the dma_unmap callbacks found at the start,
 * whose cookie is their address (bpf/callback.bpf.c reads it back: in a tail-called program
 * bpf_get_attach_cookie still answers the link's). Every handler is loaded with the expected
 * attach type BPF_TRACE_KPROBE_MULTI: a tail call needs caller and callee of the same kind. The
 * handler runs with the dispatcher's pt_regs: its arguments and return value read as under a
 * perf kprobe. */
VT_MAP(BPF_MAP_TYPE_PROG_ARRAY, VT_KM_SLOTS, __u32, __u32) vt_kprobe_handlers SEC(".maps");

/* A slot is a small integer, a callback's cookie a kernel address. */
static __always_inline __u32 km_slot(__u64 cookie, __u32 callback_slot)
{
	return cookie < VT_KM_HANDLERS ? (__u32)cookie : callback_slot;
}

SEC("kprobe.multi")
int km_dispatch_entry(struct pt_regs *ctx)
{
	bpf_tail_call(ctx, &vt_kprobe_handlers,
		      km_slot(bpf_get_attach_cookie(ctx), VT_KM_SLOT_CB_ENTRY));
	return 0;
}

SEC("kretprobe.multi")
int km_dispatch_exit(struct pt_regs *ctx)
{
	bpf_tail_call(ctx, &vt_kprobe_handlers,
		      km_slot(bpf_get_attach_cookie(ctx), VT_KM_SLOT_CB_EXIT));
	return 0;
}
