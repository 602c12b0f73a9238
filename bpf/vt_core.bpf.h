/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps and handlers shared by vfio_trace.bpf.c (fixed attach points) and callback.bpf.c (the
 * drivers' dma_unmap callbacks, attached at run time once a device reveals its ops). Both
 * objects declare the same maps; user space makes the callback objects reuse the main
 * object's map fds, so there is one aggregation.
 *
 * Every handler is written once and called from an fentry/fexit program and from its
 * kprobe/kretprobe twin; the loader autoloads only the variant the running kernel takes.
 */
#ifndef VT_CORE_BPF_H
#define VT_CORE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vfio_types.h"
#include "vt_map.bpf.h"
#include "vt_shared.h"
#include "vt_hist.h"
#include "vt_stat.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load; the verifier prunes what is off. */
const volatile __u32 vt_features = 0;
const volatile __u32 vt_targ_tgid = 0;
/* snoop: the reader (which also polls every 100 ms) is woken by the records that find between
 * vt_events_wake and vt_events_wake + vt_events_band bytes waiting in vt_events: a few wake-ups
 * per batch, none per event. A reader that drains the ring before it sleeps is woken when
 * the next batch crosses the band (a band many records wide: concurrent producers cannot step
 * over it). Above the band the reader is awake and busy: a forced wake-up there would cost a
 * self-IPI per event for nothing (measured: a third of snoop's BPF time in a storm). Both 0
 * (not set): never forced, the reader's poll alone. */
const volatile __u64 vt_events_wake = 0;
const volatile __u64 vt_events_band = 0;
/* vfio_notify_dma_unmap is a real function here and its own programs measure each notify
 * (vt_direct.bpf.h): the callbacks then only mark the callback loop (notify_ts, for the lock
 * drop window) and no longer reconstruct notifies and retries from it (callback.bpf.c). */
const volatile __u32 vt_notify_direct = 0;
/* vfio_dma_do_unmap is a real function here and its own programs measure each unmap
 * (vt_direct.bpf.h); the ioctl then only counts an UNMAP_DMA that never reached it. */
const volatile __u32 vt_unmap_direct = 0;

/* Cumulative per-(object, process, op) statistics. Per-CPU: no shared cache line between CPUs
 * on the hot path. Never deleted from: user space diffs snapshots. Preallocated, because a
 * no-prealloc map's inserts fail in bursts from tracing programs (its per-CPU allocation cache
 * runs dry; seen in the lab as lost counts); user space sizes it to the CPU count before load. */
VT_MAP(BPF_MAP_TYPE_PERCPU_HASH, 1024, struct vtr_key, struct vtr_stat) vt_stats SEC(".maps");

/* Where a key goes when vt_stats is full: one shared copy, updated with atomics (only the
 * overflow pays for the shared cache lines). User space adds both. */
VT_MAP(BPF_MAP_TYPE_HASH, 4096, struct vtr_key, struct vtr_stat) vt_stats_spill SEC(".maps");

/* The hot rows: a small direct-mapped per-CPU table in front of vt_stats. A key takes the slot
 * its hash names, on each CPU, the first time it is accounted there, and keeps it (slots are
 * never given back); a key whose slot is taken goes to vt_stats. An array lookup and a key
 * compare cost less than the per-CPU hash's lookup (bench/opcost: ~50 ns per account). User
 * space adds the rows of all three maps by key. vt_rowc_mask + 1 slots, set before load. A
 * key of a process that has gone keeps its slot: with many VMs coming and going during one
 * long run, later keys use vt_stats, as fast as before the table, never slower but by the
 * array lookup. */
/* struct vtr_rowc: include/vt_shared.h */
const volatile __u32 vt_rowc_mask = 0;

VT_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct vtr_rowc) vt_rowc SEC(".maps");

/* A zeroed value to insert from (too large for the BPF stack). */
VT_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct vtr_stat) vt_zero SEC(".maps");

VT_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, VT_LOSS_MAX, __u32, __u64) vt_losses SEC(".maps");

/* Devices seen, keyed by struct vfio_device *. Kept after unregister (rows keyed by the device
 * still need its name, and a device can come and go between two snapshots); a register learns
 * the device anew (its address may be a freed device's); the LRU bounds what devices that have
 * gone leave behind. User space keeps its own copy of every device it has seen. */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 4096, __u64, struct vtr_device) vt_devices SEC(".maps");

/* One in-flight VFIO_IOMMU_{UNMAP,MAP}_DMA per thread, with the state of its notifies: measured
 * at vfio_notify_dma_unmap where it is a symbol (vt_notify_direct), else reconstructed from the
 * callbacks that run inside it. The slot exists whichever way the unmap itself is measured (at
 * vfio_dma_do_unmap or at the ioctl): the notify, callback, lock and phase programs use it. */
struct vtr_unmap_state {
	__u64 ts;
	__u64 container;
	__u64 uarg;
	__u64 iova;
	__u64 size;
	__u64 notify_ts;   /* first callback of the notify's loop now open (0: none open) */
	__u64 notify_iova; /* vfio_dma of the last notify: same dma again is a retry */
	__u64 notify_size;
	__u64 drop_ts; /* iommu->lock released for a notify (lock tracking) */
	__u64 cb_ts;   /* the dma_unmap callback running inside it (callback.bpf.c) */
	__u64 cb_vdev;
	__u64 cb_iova;
	__u64 cb_size;
	__u64 cb_func;	 /* the function it entered: only its own exit closes it */
	__u64 direct_ts; /* vfio_notify_dma_unmap entered (vt_notify_direct; 0: not in one) */
	__u64 unmap_ts;	 /* vfio_dma_do_unmap entered (vt_unmap_direct; 0: not in one) */
	__u64 unmap_arg; /* its struct vfio_iommu_type1_dma_unmap (the kernel's copy) */
	__u32 cmd;
	__u32 notifies;
	__u32 retries;	  /* consecutive re-loops on the current vfio_dma */
	__u32 unmap_done; /* vfio_dma_do_unmap's exit accounted this UNMAP_DMA */
};

/* In-flight state (this map, vt_calls, callback.bpf.c's vt_cbs) lives in LRU hashes that are
 * written in place and never deleted from: an exit marks its slot idle (ts = 0). A hash update
 * plus delete per event cost several times an empty program (bench/, docs/BENCHMARKS.md);
 * a lookup costs far less, and LRU eviction bounds what exited threads leave behind. */
VT_MAP(BPF_MAP_TYPE_LRU_HASH, 8192, __u32, struct vtr_unmap_state) vt_unmaps SEC(".maps");

/* Other in-flight calls, per (thread, op): they nest (remove_dma -> unmap_unpin,
 * callback -> vfio_unpin_pages -> type1 unpin), never with themselves. */
struct vtr_call_key {
	__u32 tid;
	__u32 op;
};

struct vtr_call {
	__u64 ts;
	__u64 obj; /* device, when the outer vfio_{pin,unpin}_pages named it */
	__u64 container;
	__u64 iova;
	__u64 size;
	__u32 outer; /* entered through vfio_{pin,unpin}_pages: account at its exit */
	__u32 pad;
};

VT_MAP(BPF_MAP_TYPE_LRU_HASH, 16384, struct vtr_call_key, struct vtr_call) vt_calls SEC(".maps");

/* Per-event records for snoop, only when VT_FEAT_SNOOP. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} vt_events SEC(".maps");

/* Device lifecycle (register/unregister/first sight): user space attaches callbacks. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} vt_lifecycle SEC(".maps");

static __always_inline void vt_lose(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&vt_losses, &what);

	if (v)
		*v += 1;
}

/* Store *val under key in one of the in-flight LRU maps: in place when the slot exists. */
#define VT_INFLIGHT_PUT(map, key, val)                                 \
	({                                                             \
		typeof(*(val)) *_slot = bpf_map_lookup_elem(map, key); \
		if (_slot)                                             \
			*_slot = *(val);                               \
		else if (bpf_map_update_elem(map, key, val, BPF_ANY))  \
			vt_lose(VT_LOSS_TASK_FULL);                    \
	})

/* This thread's UNMAP_DMA/MAP_DMA in flight, or NULL. */
static __always_inline struct vtr_unmap_state *vt_unmap_get(__u32 tid)
{
	struct vtr_unmap_state *st = bpf_map_lookup_elem(&vt_unmaps, &tid);

	return st && st->ts ? st : NULL;
}

static __always_inline void vt_read_devname(struct vfio_device *vdev, char *name, int len)
{
	struct device *dev = BPF_CORE_READ(vdev, dev);
	const char *p = NULL;

	if (dev)
		p = BPF_CORE_READ(dev, kobj.name);
	if (p)
		bpf_probe_read_kernel_str(name, len, p);
}

/* The ops whose aux is also summed into items: teardown (the vfio_dma it removed) and
 * iommu_unmap (the bytes the IOMMU driver unmapped in 4 KiB pages). */
static __always_inline bool vt_op_items(__u16 op)
{
	return op == VT_OP_TEARDOWN || op == VT_OP_IOMMU_UNMAP;
}

/* vt_stats is full: count in the shared overflow map, atomically. */
static __always_inline void vt_spill(struct vtr_key *key, __u64 lat, __u64 bytes, __s64 ret,
				     __u64 items)
{
	struct vtr_stat *s = bpf_map_lookup_elem(&vt_stats_spill, key);
	__u32 zero = 0, slot;
	__u64 max;

	if (!s) {
		struct vtr_stat *z = bpf_map_lookup_elem(&vt_zero, &zero);

		if (z)
			bpf_map_update_elem(&vt_stats_spill, key, z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&vt_stats_spill, key);
		if (!s) {
			vt_lose(VT_LOSS_STATS_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&s->count, 1);
	if (ret < 0)
		__sync_fetch_and_add(&s->errors, 1);
	if (ret == -VT_EINVAL)
		__sync_fetch_and_add(&s->einval, 1);
	__sync_fetch_and_add(&s->bytes, bytes);
	if (items)
		__sync_fetch_and_add(&s->items, items);
	if (lat == VT_LAT_NONE)
		return;
	__sync_fetch_and_add(&s->lat_sum, lat);
	max = s->lat_max;
	if (lat > max)
		__sync_val_compare_and_swap(&s->lat_max, max,
					    lat); /* a lost race keeps a near max */
	slot = vt_hist_slot(lat);
	asm volatile("" : "+r"(slot));
	if (slot < VT_HIST_SLOTS)
		__sync_fetch_and_add(&s->hist[slot], 1);
}

static __always_inline struct vtr_device *vt_learn_device(struct vfio_device *vdev, __u64 container,
							  __u16 op, __u32 tgid);

/* The account of one completed operation: aggregate, and for snoop emit the event. A device's
 * pin, unpin or callback whose row is new (the first of this process on this device) also
 * learns the device: a known row means a known device, so the hot path skips that lookup.
 * end: the clock reading lat ends at (0 for an untimed one: read here). The event is stamped
 * with it, not with the time of this account, so that ts - lat is exactly when the operation
 * began and an operation's events nest in time as its calls do (report --chrome-trace). */
/* nested: of lat, the time of calls nested in this one that are accounted as phases of their
 * own (an IOMMU unmap's inner IOTLB flushes): the row counts lat - nested, so that the phases
 * never overlap in the sums, while the event carries the whole call (lat) and nested_ns, so
 * that a timeline draws the call as a slice with the nested ones inside it. */
static __always_inline void vt_account_nested(__u16 op, __u16 kind, __u64 obj, __u64 container,
					      __u64 lat, __u64 nested, __u64 end, __u64 bytes,
					      __s64 ret, __u64 iova, __u64 aux, __u16 retries)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct vtr_key key = {
		.obj = obj,
		.tgid = pid_tgid >> 32,
		.op = op,
		.kind = kind,
	};
	struct vtr_stat *s = NULL;
	__u64 rest = (__u64)key.tgid | (__u64)op << 32 | (__u64)kind << 48;
	__u32 zero = 0, slot;
	struct vtr_rowc *rc;
	bool learn = kind == VT_KIND_DEVICE &&
		     (op == VT_OP_PIN || op == VT_OP_UNPIN || op == VT_OP_CALLBACK);
	__u64 row_lat = lat == VT_LAT_NONE ? lat : nested < lat ? lat - nested : 0;

	slot = (__u32)(((obj ^ rest * 0x9E3779B97F4A7C15ULL) * 0x9E3779B97F4A7C15ULL) >> 40) &
	       vt_rowc_mask;
	rc = bpf_map_lookup_elem(&vt_rowc, &slot);
	if (rc) {
		/* tgid, op and kind are the second word of the key */
		__u64 *rk = (__u64 *)&rc->key;

		if (rk[0] == obj && rk[1] == rest) {
			s = &rc->st;
		} else if (!rk[0] && !__sync_val_compare_and_swap(&rk[0], 0, VT_ROWC_CLAIMING)) {
			/* A program that preempts this one here sees a key that matches nothing
			 * and uses vt_stats: counts split by key, never misattributed. */
			rk[1] = rest;
			rk[0] = obj;
			s = &rc->st;
			if (learn) /* a new row on this CPU: maybe a new device */
				vt_learn_device((struct vfio_device *)obj, container, op, 0);
		}
	}
	if (!s) {
		s = bpf_map_lookup_elem(&vt_stats, &key);
		if (!s) {
			struct vtr_stat *z = bpf_map_lookup_elem(&vt_zero, &zero);

			if (learn)
				vt_learn_device((struct vfio_device *)obj, container, op, 0);
			if (z)
				bpf_map_update_elem(&vt_stats, &key, z, BPF_NOEXIST);
			s = bpf_map_lookup_elem(&vt_stats, &key);
			if (!s)
				vt_spill(&key, row_lat, bytes, ret, vt_op_items(op) ? aux : 0);
		}
	}
	if (s) {
		vt_stat_record(s, row_lat, bytes, ret);
		if (vt_op_items(op)) /* a constant at every call site: pruned */
			s->items += aux;
	}

	if (!(vt_features & VT_FEAT_SNOOP))
		return;
	if (vt_targ_tgid && vt_targ_tgid != key.tgid)
		return;
	struct vtr_event *e = bpf_ringbuf_reserve(&vt_events, sizeof(*e), 0);
	if (!e) {
		vt_lose(VT_LOSS_RINGBUF);
		return;
	}
	e->ts = end ? end : bpf_ktime_get_ns();
	e->lat = lat; /* VT_LAT_NONE: not timed */
	e->obj = obj;
	e->container = container;
	e->iova = iova;
	e->size = bytes;
	e->ret = ret;
	e->aux = aux;
	e->pid = (__u32)pid_tgid;
	e->tgid = key.tgid;
	e->op = op;
	e->retries = retries;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->dev[0] = 0;
	e->nested_ns = nested < 0xffffffffULL ? nested : 0xffffffffULL;
	if (kind == VT_KIND_IOMMU_LOCK)
		__builtin_memcpy(e->dev, "iommu->lock", 12);
	else if (kind == VT_KIND_DLIST_LOCK)
		__builtin_memcpy(e->dev, "device_list_lock", 17);
	else if (kind == VT_KIND_DEVICE) {
		struct vtr_device *d = bpf_map_lookup_elem(&vt_devices, &obj);

		if (d)
			__builtin_memcpy(e->dev, d->name, sizeof(e->dev));
	}
	__u64 avail = bpf_ringbuf_query(&vt_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, avail >= vt_events_wake && avail < vt_events_wake + vt_events_band ?
				      BPF_RB_FORCE_WAKEUP :
				      BPF_RB_NO_WAKEUP);
}

/* The account of an operation with nothing nested in it taken off its time. */
static __always_inline void vt_account(__u16 op, __u16 kind, __u64 obj, __u64 container, __u64 lat,
				       __u64 end, __u64 bytes, __s64 ret, __u64 iova, __u64 aux,
				       __u16 retries)
{
	vt_account_nested(op, kind, obj, container, lat, 0, end, bytes, ret, iova, aux, retries);
}

/* A zeroed record on the lifecycle ring (device events and alerts, read by every command),
 * stamped with time, op, object and the current thread; NULL (counted) when the ring is full. */
static __always_inline struct vtr_event *vt_lifecycle_event(__u16 op, __u64 obj, __u64 container)
{
	struct vtr_event *e = bpf_ringbuf_reserve(&vt_lifecycle, sizeof(*e), 0);
	__u64 pt = bpf_get_current_pid_tgid();

	if (!e) {
		vt_lose(VT_LOSS_LIFECYCLE);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_ns();
	e->op = op;
	e->obj = obj;
	e->container = container;
	e->pid = (__u32)pt;
	e->tgid = pt >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* The type1 container (iommu_data) of a device's group, or 0 (no container: iommufd). */
static __always_inline __u64 vt_device_container(struct vfio_device *vdev)
{
	struct vfio_group *group = BPF_CORE_READ(vdev, group);
	struct vfio_container *c;

	if (!group)
		return 0;
	c = BPF_CORE_READ(group, container);
	return c ? (__u64)BPF_CORE_READ(c, iommu_data) : 0;
}

/* Learn a device (at register, pin, unpin or callback) so it has a name and its driver's
 * callback gets attached; tell user space the first time. */
static __always_inline struct vtr_device *vt_learn_device(struct vfio_device *vdev, __u64 container,
							  __u16 op, __u32 tgid)
{
	__u64 key = (__u64)vdev;
	struct vtr_device *d = bpf_map_lookup_elem(&vt_devices, &key);
	const struct vfio_device_ops *ops;

	/* A register learns anew: the address may be a device that has gone. */
	if (d && op != VT_OP_REGISTER) {
		if (container && !d->container)
			d->container = container;
		return d;
	}
	/* Filled in place, not on the stack (the name is 48 bytes: with it on the stack the
	 * mutex_unlock program's two frames passed 512 bytes on 6.1). A zeroed entry first;
	 * whoever inserts it fills it. A register of a known address fills it again: the same
	 * device gets the same values, another one at a gone one's address its own. */
	__u32 zero = 0;
	void *z = bpf_map_lookup_elem(&vt_zero, &zero);
	struct vtr_device *nd = d;

	if (!nd) {
		if (!z)
			return NULL;
		if (bpf_map_update_elem(&vt_devices, &key, z, BPF_NOEXIST)) {
			nd = bpf_map_lookup_elem(&vt_devices, &key);
			if (!nd)
				vt_lose(VT_LOSS_DEVICES_FULL);
			return nd; /* another CPU inserted it: it fills it */
		}
		nd = bpf_map_lookup_elem(&vt_devices, &key);
		if (!nd)
			return NULL;
	}
	nd->container = container ? container : vt_device_container(vdev);
	nd->tgid = tgid ? tgid : bpf_get_current_pid_tgid() >> 32;
	nd->dma_unmap = 0;
	nd->driver[0] = 0;
	ops = BPF_CORE_READ(vdev, ops);
	if (ops) {
		nd->dma_unmap = (__u64)BPF_CORE_READ(ops, dma_unmap);
		const char *drv = BPF_CORE_READ(ops, name);
		if (drv)
			bpf_probe_read_kernel_str(nd->driver, sizeof(nd->driver), drv);
	}
	vt_read_devname(vdev, nd->name, sizeof(nd->name));

	struct vtr_event *e = vt_lifecycle_event(op, key, container);
	if (e) {
		e->tgid = nd->tgid;
		e->aux = nd->dma_unmap;
		__builtin_memcpy(e->dev, nd->name, sizeof(e->dev));
		bpf_ringbuf_submit(e, 0);
	}
	return nd;
}

/* One vfio_dma notified VT_RETRY_WARN times in one unmap: its pins are not going away, and
 * the kernel BUG()s at 10. Tell user space now, through the lifecycle ring. */
static __always_inline void vt_retry_warning(__u64 container, __u64 iova, __u64 size, __u32 n)
{
	struct vtr_event *e = vt_lifecycle_event(VT_OP_RETRY, container, container);

	if (!e)
		return;
	e->iova = iova;
	e->size = size;
	e->retries = n;
	bpf_ringbuf_submit(e, 0);
}

/* A notify of the unmap st begins, on the vfio_dma (iova, size): counted for the unmap, and a
 * retry when it is the same vfio_dma as the notify before it in the same unmap (the kernel's
 * `goto again`, which BUG()s after 10). The one place both ways of measuring a notify count
 * it: at vfio_notify_dma_unmap's entry (vt_direct.bpf.h) or at its first callback's
 * (callback.bpf.c). */
static __always_inline void vt_notify_open(struct vtr_unmap_state *st, __u64 iova, __u64 size,
					   __u64 now)
{
	if (st->notifies && st->notify_iova == iova && st->notify_size == size) {
		st->retries++;
		vt_account(VT_OP_RETRY, VT_KIND_CONTAINER, st->container, st->container, 0, now,
			   size, 0, iova, 0, st->retries);
		if (st->retries == VT_RETRY_WARN)
			vt_retry_warning(st->container, iova, size, st->retries);
	} else {
		st->retries = 0;
	}
	st->notify_iova = iova;
	st->notify_size = size;
	st->notifies++;
}

/* The notify opened at begin ends now: its row (the same in both ways of measuring it). */
static __always_inline void vt_notify_close(struct vtr_unmap_state *st, __u64 begin, __u64 now)
{
	vt_account(VT_OP_NOTIFY, VT_KIND_CONTAINER, st->container, st->container, now - begin, now,
		   st->notify_size, 0, st->notify_iova, 0, st->retries);
}

/* ---- tracked locks ----------------------------------------------------------------------
 * The addresses of iommu->lock and iommu->device_list_lock are only known at run time (the
 * struct vfio_iommu is kmalloc'd). When lock tracking is on, every container the tracer sees
 * puts both addresses in a direct-mapped slot table in .bss, so mutex_lock/mutex_unlock and the
 * contention tracepoints, which fire for every lock in the system, decide with one load that a
 * lock is not tracked. A slot holding another address, or VT_SLOT_SHARED, defers to vt_locks.
 */
#define VT_LOCK_SLOTS  4096
#define VT_SLOT_SHARED 1ULL

__u64 vt_lock_slot[VT_LOCK_SLOTS];

struct vt_lock_info {
	__u64 container;
	__u32 kind;
	__u32 pad;
};

VT_MAP(BPF_MAP_TYPE_HASH, 2048, __u64, struct vt_lock_info) vt_locks SEC(".maps");

static __always_inline __u32 vt_slot_of(__u64 addr)
{
	return ((addr >> 3) ^ (addr >> 15)) & (VT_LOCK_SLOTS - 1);
}

static __always_inline void vt_track_lock(__u64 addr, __u64 container, __u32 kind)
{
	struct vt_lock_info li = { .container = container, .kind = kind };
	__u32 i = vt_slot_of(addr);
	__u64 old;

	if (bpf_map_update_elem(&vt_locks, &addr, &li, BPF_ANY)) {
		vt_lose(VT_LOSS_LOCKS_FULL);
		return;
	}
	old = __sync_val_compare_and_swap(&vt_lock_slot[i], 0, addr);
	if (old && old != addr)
		vt_lock_slot[i] = VT_SLOT_SHARED;
}

/* A container seen for the first time gets its two locks tracked. */
static __always_inline void vt_track_container(void *iommu)
{
	struct vfio_iommu *io = iommu;
	__u64 lock;

	/* no vfio_iommu_type1 BTF (an iommufd-only host): no container, and dead code here
	 * rather than an unresolvable offset */
	if (!(vt_features & (VT_FEAT_LOCKS | VT_FEAT_ALERT)) || !iommu ||
	    !bpf_core_type_exists(struct vfio_iommu))
		return;
	lock = (__u64)__builtin_preserve_access_index(&io->lock);
	if (vt_lock_slot[vt_slot_of(lock)] == lock)
		return;
	vt_track_lock(lock, (__u64)iommu, VT_KIND_IOMMU_LOCK);
	vt_track_lock((__u64)__builtin_preserve_access_index(&io->device_list_lock), (__u64)iommu,
		      VT_KIND_DLIST_LOCK);
}

#endif
