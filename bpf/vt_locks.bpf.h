/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lock hold and wait times of the containers' iommu->lock and device_list_lock, and the
 * ABBA deadlock alert (mutex_lock/unlock, lock:contention_begin/end).
 *
 * A part of vfio_trace.bpf.c, not a header of its own: included by it once, after the device
 * lifecycle programs, so the programs and their inlining stay those of one object (6.1's BPF
 * stack limit, 512 bytes, counts a program together with its subprograms).
 */
#ifndef VT_LOCKS_BPF_H
#define VT_LOCKS_BPF_H

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
	__u64 ts; /* 0: not held (the slot stays; see vt_unmaps) */
};

/* Written in place and never deleted from, like the other in-flight maps: a thread that takes
 * the same lock again finds its slot (a hash update and delete per acquisition cost ~3
 * lookups, bench/). */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 8192, struct vt_hold_key, struct vt_hold) vt_holds SEC(".maps");

/* Kept after the container goes (locks reports its longest holder at the next interval); the
 * LRU forgets the longest-unused once 1024 containers have come and gone. */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 2048, struct vtr_lock_key, struct vt_lock_max_rec)
vt_lock_max SEC(".maps");

/* Where note_longest builds a new record: 288 bytes do not fit its BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vt_lock_max_rec);
} vt_lock_max_scratch SEC(".maps");

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
			   h.ts - st->drop_ts, h.ts, 0, 0, 0, lock, 0);
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
		return 0; /* taken before tracing started */
	held = now - h->ts;
	h->ts = 0;
	vt_account(VT_OP_LOCK_HOLD, li->kind, li->container, li->container, held, now, 0, 0, 0,
		   lock, 0);
	return held;
}

/* The longest hold of each tracked lock, with who held it and the stack of its release. Its
 * own subprogram, called from the program itself: stacked under unlock_tracked (vt_account's
 * frame) the two exceeded BPF's 512 bytes on 6.1 ("combined stack size ... too large"). */
static __noinline int note_longest(void *ctx, __u64 lock, __u64 held)
{
	struct vt_lock_info *li = bpf_map_lookup_elem(&vt_locks, &lock);
	struct vtr_lock_key mk = {};
	struct vt_lock_max_rec *m, *nm;
	__u32 zero = 0;
	long len;

	if (!li)
		return 0;
	mk.container = li->container;
	mk.kind = li->kind;
	m = bpf_map_lookup_elem(&vt_lock_max, &mk);
	if (m && held <= m->m.ns)
		return 0;
	nm = bpf_map_lookup_elem(&vt_lock_max_scratch, &zero);
	if (!nm)
		return 0;
	__u64 pt = bpf_get_current_pid_tgid();

	nm->m.ns = held;
	nm->m.pid = (__u32)pt;
	nm->m.tgid = pt >> 32;
	/* The stack of the release that ended the longest hold: walked only for a new maximum,
	 * not at every acquisition (iommu->lock and device_list_lock are released in the
	 * function that took them, but the drop for a notify). Copied into the record: a stack
	 * map's hash can collide and drop it. */
	len = bpf_get_stack(ctx, nm->stack, sizeof(nm->stack), 0);
	if (len < 0) {
		nm->m.stack_id = len;
		len = 0;
		vt_lose(VT_LOSS_STACK);
	} else {
		nm->m.stack_id = 0;
	}
	/* Frames after the walked ones: zero, so readers stop there. */
	for (int i = 0; i < VT_LOCK_STACK_DEPTH; i++)
		if (i * 8 >= len)
			nm->stack[i] = 0;
	bpf_get_current_comm(nm->m.comm, sizeof(nm->m.comm));
	if (bpf_map_update_elem(&vt_lock_max, &mk, nm, BPF_ANY))
		vt_lose(VT_LOSS_LOCKS_FULL);
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
	__u64 lock; /* 0: not waiting (slots are kept and written in place) */
	__u64 ts;
};

VT_MAP(BPF_MAP_TYPE_LRU_HASH, 8192, __u32, struct vt_wait) vt_waiting SEC(".maps");

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
	__u64 other;
	struct task_struct *owner;
	struct vt_wait *w;
	__u32 owner_tid;

	/* vfio_iommu_type1 not loaded (an iommufd-only host): no container lock is tracked, and
	 * the offsets below have no BTF to resolve against (dead code, not a load failure) */
	if (!bpf_core_type_exists(struct vfio_iommu))
		return;
	other = li->kind == VT_KIND_IOMMU_LOCK ?
			(__u64)__builtin_preserve_access_index(&io->device_list_lock) :
			(__u64)__builtin_preserve_access_index(&io->lock);
	owner = mutex_owner(lock);
	if (!owner || (__u64)mutex_owner(other) != bpf_get_current_task())
		return;
	owner_tid = BPF_CORE_READ(owner, pid);
	w = bpf_map_lookup_elem(&vt_waiting, &owner_tid);
	if (!w || w->lock != other)
		return;
	vt_account(VT_OP_DEADLOCK, VT_KIND_CONTAINER, li->container, li->container, 0, 0, 0, 0,
		   other, lock, 0);
	struct vtr_event *e = vt_lifecycle_event(VT_OP_DEADLOCK, li->container, li->container);
	if (!e)
		return;
	e->iova = other;    /* held by this thread, waited for by the owner */
	e->aux = lock;	    /* waited for by this thread, held by the owner */
	e->size = li->kind; /* kind of `lock` */
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
		return 0; /* began before tracing started */
	now = bpf_ktime_get_ns();
	vt_account(VT_OP_LOCK_WAIT, li->kind, li->container, li->container, now - w->ts, now, 0,
		   ret, 0, (__u64)lock, 0);
	w->lock = 0;
	/* With hold times on, the hold starts when the wait ends. */
	h = bpf_map_lookup_elem(&vt_holds, &k);
	if (h && h->ts)
		h->ts = now;
	return 0;
}

#endif
