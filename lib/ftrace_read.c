// SPDX-License-Identifier: GPL-2.0
/*
 * The ftrace backend's reading side: the instance's raw buffer (each CPU's trace_pipe_raw read
 * a sub-buffer at a time with tracefs_cpu_read, parsed with libtraceevent's kbuffer and tep
 * API) into the model's rows.
 *
 * The BPF side's per-thread state (bpf/vt_core.bpf.h, vfio_trace.bpf.c, callback.bpf.c,
 * vt_pins.bpf.h, vt_teardown.bpf.h) lives here, in user space, keyed by the recording thread
 * (common_pid), and each completed operation is accounted as vt_account() does it: the same
 * key (object, kind, process, op) and the same update (vt_stat_record()). Records are handled
 * in time order (trace_clock mono): a thread that enters on one CPU and returns on another has
 * its two records in two CPUs' buffers, so a read merges the CPUs' records by time, and ends
 * at a time every buffer has been read up to (its start, less FT_SETTLE_NS), never between
 * an entry and an earlier record of another CPU.
 *
 * The unmapped size an UNMAP_DMA returns (which the BPF side reads back from the user's struct)
 * is the sum of the vfio_dma it removed: vfio_dma_do_unmap adds each one's size just before
 * vfio_remove_dma, and reports that sum. The notify windows are reconstructed as
 * bpf/callback.bpf.c does it: a callback to the first device on the container's device_list
 * opens one, the callback to the last closes it (first: the device's list entry's prev is the
 * list head; last: its next is).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include <kbuffer.h>
#include <tracefs.h>
#include "ftrace.h"
#include "report.h"
#include "storm.h"
#include "../bpf/vt_stat.bpf.h"

/* A record is handled once every CPU's buffer has been read this long past it: an event is
 * stamped when its slot is reserved and readable when committed, microseconds later. */
#define FT_SETTLE_NS (20 * 1000000ull)

/* Tracked locks a thread may hold at once: type1 nests iommu->lock and device_list_lock of one
 * container (a callback's unpin takes iommu->lock again inside the notify). */
#define FT_HELD 4

struct ft_thread {
	uint32_t tid, tgid;
	char comm[16];
	bool used;
	/* its VFIO_IOMMU_{MAP,UNMAP}_DMA in flight (io_ts != 0) */
	uint64_t io_ts, io_container, io_iova, io_size, io_removed;
	uint32_t io_cmd, notifies, retries;
	uint64_t notify_ts, notify_iova, notify_size;
	/* its dma_unmap callback in flight (cb_ts != 0), cb_func: which (index + 1) */
	uint64_t cb_ts, cb_vdev, cb_size, cb_iova, cb_next;
	int cb_func;
	/* vfio_remove_dma, vfio_unmap_unpin; vfio_pin_pages, vfio_unpin_pages */
	struct {
		uint64_t ts, obj, size, iova;
	} call[4];
	/* its IOMMU_IOAS_{UNMAP,MAP} in flight (ioas_ts != 0): op, IOAS (learned inside), the
	 * command's iova and length, the bytes of the areas it removed; the notifies of an unmap
	 * and the consecutive ones of one area; a notify in flight (in_ts != 0), in one or not */
	uint64_t ioas_ts, ioas_obj, ioas_iova, ioas_len, ioas_unmapped;
	uint32_t ioas_op, ioas_notifies, ioas_retries;
	uint64_t in_ts, in_ioas, in_iova, in_len;
	/* a teardown (detach_group / release / ioas_destroy) in flight, nested depth */
	uint64_t td_ts, td_container, td_dmas, td_bytes;
	uint32_t td_depth;
	/* a phase of its vfio_unmap_unpin in flight (ts != 0), as bpf/vt_phases.bpf.h's slots:
	 * size the bytes an IOTLB flush flushes, or an IOMMU unmap's in 4 KiB pages; nested the
	 * time of the flushes made inside an IOMMU unmap */
	struct {
		uint64_t ts, container, iova, size, nested;
	} phase[3];
	/* the IOVA walk of its vfio_unmap_unpin entered at walk_of (vt_walks): a lookup in
	 * flight at walk_lookup_ts, the lookups so far and their time, the first one's iova */
	uint64_t walk_of, walk_container, walk_iova, walk_lookup_ts, walk_ns, walk_lookups;
	/* lock tracking: the tracked locks it asked for and has not released (ts: when its hold
	 * began, 0: not timed), the one it waits for in __mutex_lock_slowpath (wait_lock, since
	 * wait_ts), when its UNMAP_DMA released iommu->lock for a notify (drop_ts), whether that
	 * notify's callback loop is open (cb_loop: the callbacks' own holds are not the drop),
	 * and the longest hold (index + 1 in vt_ftrace.lockmax) whose stack comes next */
	struct {
		uint64_t lock, ts;
	} held[FT_HELD];
	uint64_t wait_lock, wait_ts, drop_ts;
	bool cb_loop;
	size_t stack_for;
};

enum { CALL_REMOVE, CALL_UNMAP_UNPIN, CALL_PIN, CALL_UNPIN };
enum { PHASE_IOMMU_UNMAP, PHASE_IOTLB_SYNC, PHASE_UNPIN_REMOTE };

static bool thread_busy(const struct ft_thread *th)
{
	return th->io_ts || th->cb_ts || th->td_ts || th->ioas_ts || th->in_ts || th->call[0].ts ||
	       th->call[1].ts || th->call[2].ts || th->call[3].ts || th->phase[0].ts ||
	       th->phase[1].ts || th->phase[2].ts || th->wait_lock || th->drop_ts ||
	       th->held[0].lock || th->held[1].lock || th->held[2].lock || th->held[3].lock;
}

/* The process of thread tid, read once from /proc when its first record is read; a thread
 * gone by then is its own process (rows keyed by it; totals unchanged). */
static uint32_t tgid_of(uint32_t tid, char comm[16])
{
	char path[64], line[128];
	uint32_t tgid = tid;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	fp = fopen(path, "r");
	if (!fp)
		return tid;
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "Name:\t", 6))
			snprintf(comm, 16, "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	}
	fclose(fp);
	return tgid;
}

static size_t tid_slot(uint32_t tid, size_t mask)
{
	return (tid * 0x9E3779B1u) & mask;
}

/* Grow the thread table (open addressing), keeping only the threads with something in flight:
 * those idle are found again (and named from /proc) at their next record. */
static int threads_rehash(struct vt_ftrace *f)
{
	size_t busy = 0, cap;
	struct ft_thread *nt;

	for (size_t i = 0; i < f->capthreads; i++)
		busy += f->threads[i].used && thread_busy(&f->threads[i]);
	for (cap = 256; cap < busy * 4; cap *= 2)
		;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < f->capthreads; i++) {
		struct ft_thread *o = &f->threads[i];
		size_t s;

		if (!o->used || !thread_busy(o))
			continue;
		for (s = tid_slot(o->tid, cap - 1); nt[s].used; s = (s + 1) & (cap - 1))
			;
		nt[s] = *o;
	}
	free(f->threads);
	f->threads = nt;
	f->capthreads = cap;
	f->nthreads = busy;
	return 0;
}

/* tid's entry, created when new (its process: tgid, or read from /proc when 0) */
static struct ft_thread *thread_get(struct vt_ftrace *f, uint32_t tid, uint32_t tgid)
{
	size_t s;

	if ((f->nthreads + 1) * 2 > f->capthreads && threads_rehash(f))
		return NULL;
	for (s = tid_slot(tid, f->capthreads - 1); f->threads[s].used;
	     s = (s + 1) & (f->capthreads - 1))
		if (f->threads[s].tid == tid)
			return &f->threads[s];
	memset(&f->threads[s], 0, sizeof(f->threads[s]));
	f->threads[s].used = true;
	f->threads[s].tid = tid;
	f->threads[s].tgid = tgid ? tgid : tgid_of(tid, f->threads[s].comm);
	f->nthreads++;
	return &f->threads[s];
}

/* tid's entry, or NULL: never created for it */
static struct ft_thread *thread_find(struct vt_ftrace *f, uint32_t tid)
{
	for (size_t s = f->capthreads ? tid_slot(tid, f->capthreads - 1) : 0;
	     f->capthreads && f->threads[s].used; s = (s + 1) & (f->capthreads - 1))
		if (f->threads[s].tid == tid)
			return &f->threads[s];
	return NULL;
}

/* ---- the model -------------------------------------------------------------------------- */

static struct vtr_device *device(struct vt_ftrace *f, uint64_t vdev, bool create);
static void late_callback_gap(struct vt_ftrace *f, uint64_t container, uint64_t ts);

/* vt_account() (bpf/vt_core.bpf.h) for one completed operation e (its op, obj, container, ts
 * at its end, lat, size, ret, iova, aux, retries): the row of (obj, kind, tgid, op) updated
 * and, for snoop and record, e completed with the thread and device and handed to on_event,
 * the fields filled as the BPF side fills them. */
static void account(struct vt_ftrace *f, const struct ft_thread *th, uint16_t kind,
		    struct vtr_event *e)
{
	struct vtr_key key = { .obj = e->obj, .tgid = th->tgid, .op = e->op, .kind = kind };
	struct vt_row *r = vt_rowidx_find(&f->idx, f->acc.rows, &key);

	if (!r) {
		if (f->acc.n == f->acc.cap) {
			size_t cap = f->acc.cap ? f->acc.cap * 2 : 64;
			struct vt_row *nr = realloc(f->acc.rows, cap * sizeof(*nr));

			if (!nr) {
				f->losses[VT_LOSS_STATS_FULL]++;
				goto event;
			}
			f->acc.rows = nr;
			f->acc.cap = cap;
		}
		r = &f->acc.rows[f->acc.n];
		memset(r, 0, sizeof(*r));
		r->key = key;
		if (vt_rowidx_add(&f->idx, f->acc.rows, f->acc.n)) {
			f->losses[VT_LOSS_STATS_FULL]++;
			goto event;
		}
		f->acc.n++;
	}
	/* an IOMMU unmap's row counts its own time, without the flushes made inside it (each
	 * counted as an iotlb_sync), as vt_account_nested() does; its event the whole call */
	vt_stat_record(&r->st, e->nested_ns < e->lat ? e->lat - e->nested_ns : 0, e->size, e->ret);
	if (e->op == VT_OP_TEARDOWN || e->op == VT_OP_IOMMU_UNMAP)
		r->st.items += e->aux;
event:
	if (!f->opts.snoop || !f->opts.on_event || (f->opts.tgid && f->opts.tgid != th->tgid))
		return;
	e->pid = th->tid;
	e->tgid = th->tgid;
	memcpy(e->comm, th->comm, sizeof(e->comm));
	if (kind == VT_KIND_DEVICE) {
		const struct vtr_device *d = device(f, e->obj, false);

		if (d)
			memcpy(e->dev, d->name, sizeof(e->dev));
	} else if (kind == VT_KIND_IOMMU_LOCK || kind == VT_KIND_DLIST_LOCK)
		snprintf(e->dev, sizeof(e->dev), "%s",
			 kind == VT_KIND_IOMMU_LOCK ? "iommu->lock" : "device_list_lock");
	f->opts.on_event(f->opts.ctx, e, false);
}

/* The device table's entry of vdev (created when create), as vt_learn_device() keeps it. */
static struct vtr_device *device(struct vt_ftrace *f, uint64_t vdev, bool create)
{
	for (size_t i = 0; i < f->ndevs; i++)
		if (f->devs[i].vdev == vdev)
			return &f->devs[i].d;
	if (!create)
		return NULL;
	if (f->ndevs == f->devcap) {
		size_t cap = f->devcap ? f->devcap * 2 : 16;
		struct vt_dev *nd = realloc(f->devs, cap * sizeof(*nd));

		if (!nd) {
			f->losses[VT_LOSS_DEVICES_FULL]++;
			return NULL;
		}
		f->devs = nd;
		f->devcap = cap;
	}
	memset(&f->devs[f->ndevs], 0, sizeof(f->devs[0]));
	f->devs[f->ndevs].vdev = vdev;
	return &f->devs[f->ndevs++].d;
}

/* A device seen at a pin, unpin or callback (whose events fetch its ops->dma_unmap in v[3]):
 * named the first time, with its driver and callback, as vt_learn_device() does. */
static void learn(struct vt_ftrace *f, const struct ft_thread *th, uint64_t vdev,
		  const struct ft_rec *r)
{
	struct vtr_device *d = device(f, vdev, false);

	if (d || !(d = device(f, vdev, true)))
		return;
	d->tgid = th->tgid;
	d->dma_unmap = r->v[3];
	memcpy(d->name, r->name, sizeof(d->name));
	memcpy(d->driver, r->drv, sizeof(d->driver));
}

/* A device's id in the rows and the device table: its address, unless another device had that
 * address before (a module reload gave an old vfio_dmatest.1's address to the new .0 in the
 * lab): then an id of its own (never a kernel address), so each keeps its name and counts. */
#define FT_DEV_ID_BASE 0x1000000ull

/* Where addr is in devmap (ndevmap: not there). */
static size_t devmap_slot(const struct vt_ftrace *f, uint64_t addr)
{
	size_t i = 0;

	while (i < f->ndevmap && f->devmap[i].addr != addr)
		i++;
	return i;
}

static uint64_t dev_id(const struct vt_ftrace *f, uint64_t addr)
{
	size_t i = devmap_slot(f, addr);

	return i < f->ndevmap ? f->devmap[i].id : addr;
}

/* At a register: the id of the device now at addr, named name. */
static uint64_t dev_id_at_register(struct vt_ftrace *f, uint64_t addr, const char *name)
{
	uint64_t id = dev_id(f, addr);
	const struct vtr_device *old = device(f, id, false);
	size_t i = devmap_slot(f, addr);

	if (!old || !old->name[0] || !strncmp(old->name, name, sizeof(old->name)))
		return id;
	if (i == f->ndevmap) {
		void *n = realloc(f->devmap, (f->ndevmap + 1) * sizeof(*f->devmap));

		if (!n) {
			f->losses[VT_LOSS_DEVICES_FULL]++;
			return id;
		}
		f->devmap = n;
		f->devmap[f->ndevmap++].addr = addr;
	}
	f->devmap[i].id = FT_DEV_ID_BASE + ++f->ndevids;
	return f->devmap[i].id;
}

/* ---- -v -v: what was read around a suspect operation ----------------------------------- */

static void dbg_note(struct vt_ftrace *f, int cpu, int ev, uint32_t tid, unsigned long long ts,
		     const uint64_t *v)
{
	if (f->dbg)
		f->dbg[f->dbg_n++ % VT_FT_DBG_RING] = (struct ft_dbg_rec){ .ts = ts,
									   .tid = tid,
									   .cpu = cpu,
									   .ev = ev,
									   .v0 = v[0],
									   .v1 = v[1],
									   .v2 = v[2] };
}

/* An operation of thread tid begun at since and completed now (what): when a CPU's last gap
 * ended after since, that gap and the thread's last records, oldest first. */
static void dbg_dump(struct vt_ftrace *f, uint32_t tid, unsigned long long since, const char *what)
{
	uint64_t first = f->dbg_n > VT_FT_DBG_RING ? f->dbg_n - VT_FT_DBG_RING : 0;
	bool suspect = false;

	for (int c = 0; f->dbg && c < f->ncpus; c++)
		suspect |= f->cpus[c].gap_end >= since;
	if (!suspect)
		return;
	vt_dbg("ftrace: %s by thread %u at %llu, begun at %llu before a gap ended:", what, tid,
	       f->pos, since);
	for (int c = 0; c < f->ncpus; c++)
		if (f->cpus[c].gap_end >= since)
			vt_dbg("  cpu%d: %lld overwritten before its record at %llu, seen with the "
			       "merge at %llu",
			       c, f->cpus[c].gap_missed, f->cpus[c].gap_end,
			       f->cpus[c].gap_seen_at);
	for (uint64_t i = first; i < f->dbg_n; i++) {
		const struct ft_dbg_rec *d = &f->dbg[i % VT_FT_DBG_RING];

		if (d->tid == tid)
			vt_dbg("  %llu cpu%d %-15s %#llx %#llx %#llx", d->ts, d->cpu,
			       f->ev[d->ev].name, (unsigned long long)d->v0,
			       (unsigned long long)d->v1, (unsigned long long)d->v2);
	}
}

/* ---- lock tracking (bpf/vt_locks.bpf.h, vt_core.bpf.h's tracked locks) ---------------------
 * A container's iommu->lock and device_list_lock are tracked from its first MAP/UNMAP_DMA or
 * device (un)register on, as the BPF side tracks them, until its release. The mutex records
 * are vfio_iommu_type1's calls only (lib/ftrace.c's filter); __mutex_lock_slowpath's are every
 * contended mutex_lock of the system, and those of another lock are dropped here before any
 * thread entry is made for them. */
struct ft_lock {
	uint64_t addr; /* 0: a free slot; FT_LOCK_GONE: a removed one */
	uint64_t container;
	uint32_t kind; /* VT_KIND_IOMMU_LOCK or VT_KIND_DLIST_LOCK */
};

#define FT_LOCK_GONE   1ull
#define FT_LOCKMAX_MAX 2048 /* longest holds kept, (container, lock) pairs */

static size_t lock_slot(uint64_t addr, size_t mask)
{
	return ((addr >> 3) ^ (addr >> 15)) & mask;
}

static struct ft_lock *lock_find(struct vt_ftrace *f, uint64_t addr)
{
	if (!f->caplocks || addr <= FT_LOCK_GONE)
		return NULL;
	for (size_t s = lock_slot(addr, f->caplocks - 1); f->locktab[s].addr;
	     s = (s + 1) & (f->caplocks - 1))
		if (f->locktab[s].addr == addr)
			return &f->locktab[s];
	return NULL;
}

/* The table rebuilt at twice the tracked locks (at least 64 slots), without removed ones. */
static int locks_rehash(struct vt_ftrace *f)
{
	size_t cap = 64;
	struct ft_lock *nt;

	while (cap < (f->nlocks + 1) * 4)
		cap *= 2;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -1;
	for (size_t i = 0; i < f->caplocks; i++) {
		const struct ft_lock *l = &f->locktab[i];
		size_t s;

		if (l->addr <= FT_LOCK_GONE)
			continue;
		for (s = lock_slot(l->addr, cap - 1); nt[s].addr; s = (s + 1) & (cap - 1))
			;
		nt[s] = *l;
	}
	free(f->locktab);
	f->locktab = nt;
	f->caplocks = cap;
	f->lockgone = 0;
	return 0;
}

static void lock_track(struct vt_ftrace *f, uint64_t addr, uint64_t container, uint32_t kind)
{
	size_t s;

	if ((f->nlocks + f->lockgone + 1) * 2 > f->caplocks && locks_rehash(f)) {
		f->losses[VT_LOSS_LOCKS_FULL]++;
		return;
	}
	for (s = lock_slot(addr, f->caplocks - 1); f->locktab[s].addr > FT_LOCK_GONE;
	     s = (s + 1) & (f->caplocks - 1))
		;
	f->lockgone -= f->locktab[s].addr == FT_LOCK_GONE;
	f->locktab[s] = (struct ft_lock){ .addr = addr, .container = container, .kind = kind };
	f->nlocks++;
}

/* A container seen (bpf/vt_core.bpf.h vt_track_container): its two locks tracked. */
static void track_container(struct vt_ftrace *f, uint64_t iommu)
{
	if (!f->locks || !iommu || lock_find(f, iommu + f->off.iommu_lock))
		return;
	lock_track(f, iommu + f->off.iommu_lock, iommu, VT_KIND_IOMMU_LOCK);
	lock_track(f, iommu + f->off.iommu_dlist_lock, iommu, VT_KIND_DLIST_LOCK);
}

/* The container is freed: its lock addresses may come back as another's. */
static void untrack_container(struct vt_ftrace *f, uint64_t iommu)
{
	uint64_t addrs[2] = { iommu + f->off.iommu_lock, iommu + f->off.iommu_dlist_lock };

	for (int i = 0; f->locks && i < 2; i++) {
		struct ft_lock *l = lock_find(f, addrs[i]);

		if (l) {
			l->addr = FT_LOCK_GONE;
			f->nlocks--;
			f->lockgone++;
		}
	}
}

/* th's slot of lock (create: a free one when it has none); NULL when none. */
static int held_slot(struct ft_thread *th, uint64_t lock, bool create)
{
	int free_slot = -1;

	for (int i = 0; i < FT_HELD; i++) {
		if (th->held[i].lock == lock)
			return i;
		if (!th->held[i].lock && free_slot < 0)
			free_slot = i;
	}
	return create ? free_slot : -1;
}

/* Does th own lock: it asked for it, has not released it, and is not waiting for it. */
static bool thread_holds(struct ft_thread *th, uint64_t lock)
{
	return th->wait_lock != lock && held_slot(th, lock, false) >= 0;
}

/* Is th an UNMAP_DMA outside its notify's callback loop (bpf/vt_locks.bpf.h
 * unmap_outside_callbacks): its releases of iommu->lock there are the drop for a notify. */
static bool unmap_outside_callbacks(const struct ft_thread *th)
{
	return th->io_ts && th->io_cmd == VT_VFIO_IOMMU_UNMAP_DMA && !th->cb_loop;
}

static void mutex_lock_enter(struct vt_ftrace *f, struct ft_thread *th, const struct ft_lock *l,
			     uint64_t ts)
{
	int i;

	/* the unmap asks for iommu->lock back after its notify: the drop window ends */
	if (l->kind == VT_KIND_IOMMU_LOCK && unmap_outside_callbacks(th) && th->drop_ts) {
		account(f, th, VT_KIND_IOMMU_LOCK,
			&(struct vtr_event){ .op = VT_OP_LOCK_DROP,
					     .obj = l->container,
					     .container = l->container,
					     .ts = ts,
					     .lat = ts - th->drop_ts,
					     .aux = l->addr });
		th->drop_ts = 0;
	}
	i = held_slot(th, l->addr, true);
	/* asked for again without a release between: its release was not recorded (a caller
	 * outside the filter's modules, or a driver's loaded since) and that hold is lost */
	if (i >= 0 && th->held[i].lock == l->addr && th->held[i].ts)
		f->losses[VT_LOSS_NO_ENTRY]++;
	if (i < 0) {
		f->losses[VT_LOSS_TASK_FULL]++;
		return;
	}
	th->held[i].lock = l->addr;
	th->held[i].ts = ts;
}

/* A record between a VFIO module's load and the lock filter's move to it (module_event): an
 * operation that takes a container's lock (type1's MAP/UNMAP_DMA, register, unregister, pin,
 * unpin, detach) may have done so from code the filter did not keep yet. Counted, once per
 * operation: a lock count is then short by no more than the losses. */
static void lock_blind(struct vt_ftrace *f, enum ft_kind kind, const struct ft_rec *r)
{
	if (!f->lock_blind_until || r->ts < f->lock_blind_from || r->ts >= f->lock_blind_until)
		return;
	if ((kind == FT_IOCTL &&
	     (r->v[1] == VT_VFIO_IOMMU_UNMAP_DMA || r->v[1] == VT_VFIO_IOMMU_MAP_DMA)) ||
	    kind == FT_REGISTER || kind == FT_UNREGISTER || kind == FT_PIN || kind == FT_UNPIN ||
	    kind == FT_DETACH)
		f->losses[VT_LOSS_HOLD_FULL]++;
}

/* A longest hold (bpf/vt_locks.bpf.h note_longest): who, how long; its stack is the thread's
 * next record (the trigger's). */
static void note_longest(struct vt_ftrace *f, struct ft_thread *th, const struct ft_lock *l,
			 uint64_t held)
{
	struct vt_lockmax *m = NULL;
	size_t i;

	for (i = 0; i < f->nlockmax; i++)
		if (f->lockmax[i].key.container == l->container &&
		    f->lockmax[i].key.kind == l->kind)
			break;
	if (i < f->nlockmax && held <= f->lockmax[i].m.ns)
		return;
	if (i == f->nlockmax) {
		/* as many as the BPF side's vt_lock_max keeps */
		m = f->nlockmax < FT_LOCKMAX_MAX ?
			    realloc(f->lockmax, (f->nlockmax + 1) * sizeof(*m)) :
			    NULL;
		if (!m) {
			f->losses[VT_LOSS_LOCKS_FULL]++;
			return;
		}
		f->lockmax = m;
		f->nlockmax++;
	}
	m = &f->lockmax[i];
	memset(m, 0, sizeof(*m));
	m->key.container = l->container;
	m->key.kind = l->kind;
	m->m.ns = held;
	m->m.pid = th->tid;
	m->m.tgid = th->tgid;
	m->m.stack_id = f->lock_stacks ? 0 : -1;
	memcpy(m->m.comm, th->comm, sizeof(m->m.comm));
	th->stack_for = f->lock_stacks ? i + 1 : 0;
}

static void mutex_unlock_enter(struct vt_ftrace *f, struct ft_thread *th, const struct ft_lock *l,
			       uint64_t ts)
{
	int i = held_slot(th, l->addr, false);
	uint64_t begun = i >= 0 ? th->held[i].ts : 0;

	th->stack_for = 0; /* a stack that never came (the previous release's) is not this one's */

	/* an unmap releasing iommu->lock for its notify: the window starts now (its last
	 * release, at the unmap's end, opens one that never closes and is not counted) */
	if (l->kind == VT_KIND_IOMMU_LOCK && unmap_outside_callbacks(th))
		th->drop_ts = ts;
	if (i >= 0)
		th->held[i].lock = th->held[i].ts = 0;
	if (!begun)
		return; /* taken before tracing started, or before its container was seen */
	account(f, th, l->kind,
		&(struct vtr_event){ .op = VT_OP_LOCK_HOLD,
				     .obj = l->container,
				     .container = l->container,
				     .ts = ts,
				     .lat = ts - begun,
				     .aux = l->addr });
	note_longest(f, th, l, ts - begun);
}

/* th begins to wait for l, which it asked for: the ABBA of bpf/vt_locks.bpf.h check_abba is
 * closed when th owns the container's other lock and l's owner waits for that one. The owner
 * is the thread that asked for l and is not waiting for it: one that then waits for another
 * lock got it. */
static void check_abba(struct vt_ftrace *f, struct ft_thread *th, const struct ft_lock *l,
		       uint64_t ts)
{
	uint64_t other = l->container + (l->kind == VT_KIND_IOMMU_LOCK ? f->off.iommu_dlist_lock :
									 f->off.iommu_lock);
	struct vtr_event e = {
		.op = VT_OP_DEADLOCK,
		.obj = l->container,
		.container = l->container,
		.ts = ts,
		.pid = th->tid,
		.tgid = th->tgid,
		.iova = other,	 /* held by this thread, waited for by the owner */
		.aux = l->addr,	 /* waited for by this thread, held by the owner */
		.size = l->kind, /* kind of the lock waited for */
	};

	if (!thread_holds(th, other))
		return;
	for (size_t i = 0; i < f->capthreads; i++) {
		struct ft_thread *o = &f->threads[i];

		if (!o->used || o == th || o->wait_lock != other || !thread_holds(o, l->addr))
			continue;
		account(f, th, VT_KIND_CONTAINER,
			&(struct vtr_event){ .op = VT_OP_DEADLOCK,
					     .obj = l->container,
					     .container = l->container,
					     .ts = ts,
					     .iova = other,
					     .aux = l->addr });
		e.ret = o->tid;
		memcpy(e.dev, o->comm, sizeof(o->comm));
		memcpy(e.comm, th->comm, sizeof(e.comm));
		vt_deadlock_alert(&f->opts, &e);
		if (f->opts.on_event)
			f->opts.on_event(f->opts.ctx, &e, true);
		return;
	}
}

/* A contended mutex_lock: lock's (v[0]) wait begins, when it is a tracked lock. */
static struct ft_thread *mutex_wait_enter(struct vt_ftrace *f, const struct ft_rec *r)
{
	const struct ft_lock *l = lock_find(f, r->v[0]);
	struct ft_thread *th;

	if (!l)
		return NULL;
	th = thread_get(f, r->tid, r->tgid);
	if (!th) {
		f->losses[VT_LOSS_TASK_FULL]++;
		return NULL;
	}
	th->wait_lock = l->addr;
	th->wait_ts = r->ts;
	if (!f->opts.no_alert)
		check_abba(f, th, l, r->ts);
	return th;
}

/* __mutex_lock_slowpath returns: the lock is taken, and its hold begins now. */
static struct ft_thread *mutex_wait_exit(struct vt_ftrace *f, const struct ft_rec *r)
{
	struct ft_thread *th = thread_find(f, r->tid);
	const struct ft_lock *l;
	int i;

	if (!th || !th->wait_lock)
		return th;
	l = lock_find(f, th->wait_lock);
	if (l)
		account(f, th, l->kind,
			&(struct vtr_event){ .op = VT_OP_LOCK_WAIT,
					     .obj = l->container,
					     .container = l->container,
					     .ts = r->ts,
					     .lat = r->ts - th->wait_ts,
					     .aux = l->addr });
	i = held_slot(th, th->wait_lock, false);
	if (i >= 0 && th->held[i].ts)
		th->held[i].ts = r->ts;
	th->wait_lock = 0;
	return th;
}

/* The stack the trigger recorded after th's mutex_unlock: a longest hold's when th->stack_for
 * says so, as recorded. It is started at mutex_unlock at a snapshot, not here: the first name
 * costs a pass over kallsyms (~0.5 s under the lab's emulation), which would hold the reader,
 * and a DEADLOCK alert behind it. */
static void kernel_stack(struct vt_ftrace *f, struct tep_event *te, void *data, int size,
			 uint32_t tid, uint64_t n)
{
	struct tep_format_field *cf = tep_find_field(te, "caller");
	struct ft_thread *th = thread_find(f, tid);
	struct vt_lockmax *m;

	if (!th || !th->stack_for)
		return;
	m = &f->lockmax[th->stack_for - 1];
	th->stack_for = 0;
	if (!cf || cf->offset >= size)
		return;
	if (n > (uint64_t)(size - cf->offset) / 8)
		n = (uint64_t)(size - cf->offset) / 8;
	m->nstack = 0;
	for (uint64_t i = 0; i < n && m->nstack < VT_LOCK_STACK_DEPTH; i++) {
		uint64_t a;

		memcpy(&a, (char *)data + cf->offset + i * 8, 8);
		if (a == 0 || a == ~0ull) /* the kernel's end marker */
			break;
		m->stack[m->nstack++] = a;
	}
}

/* ---- one record ------------------------------------------------------------------------- */

static void teardown_exit(struct vt_ftrace *f, struct ft_thread *th, uint64_t ts)
{
	if (!th->td_ts) {
		f->losses[VT_LOSS_NO_ENTRY]++;
		return;
	}
	if (th->td_depth) {
		th->td_depth--;
		return;
	}
	if (th->td_dmas)
		account(f, th, VT_KIND_CONTAINER,
			&(struct vtr_event){ .op = VT_OP_TEARDOWN,
					     .obj = th->td_container,
					     .container = th->td_container,
					     .ts = ts,
					     .lat = ts - th->td_ts,
					     .size = th->td_bytes,
					     .aux = th->td_dmas });
	th->td_ts = 0;
}

/* One vfio_dma notified VT_RETRY_WARN times in one unmap (bpf/callback.bpf.c retry_warning) */
static void retry_warning(struct vt_ftrace *f, const struct ft_thread *th, uint64_t iova,
			  uint64_t len)
{
	struct vtr_event e = {
		.container = th->io_container,
		.obj = th->io_container,
		.iova = iova,
		.size = len,
		.pid = th->tid,
		.tgid = th->tgid,
		.op = VT_OP_RETRY,
		.retries = th->retries,
	};

	memcpy(e.comm, th->comm, sizeof(e.comm));
	vt_retry_alert(&f->alerts, &e);
}

/* A notify of a vfio_dma (iova, len) begins in th's UNMAP_DMA (bpf/vt_core.bpf.h
 * vt_notify_open): the same vfio_dma notified again in one unmap is a retry. */
static void notify_open(struct vt_ftrace *f, struct ft_thread *th, uint64_t ts, uint64_t iova,
			uint64_t len)
{
	if (th->notifies && th->notify_iova == iova && th->notify_size == len) {
		th->retries++;
		dbg_dump(f, th->tid, th->io_ts, "a retry");
		account(f, th, VT_KIND_CONTAINER,
			&(struct vtr_event){ .op = VT_OP_RETRY,
					     .obj = th->io_container,
					     .container = th->io_container,
					     .ts = ts,
					     .size = len,
					     .iova = iova,
					     .retries = th->retries });
		if (th->retries == VT_RETRY_WARN)
			retry_warning(f, th, iova, len);
	} else {
		th->retries = 0;
	}
	th->notify_ts = ts;
	th->notify_iova = iova;
	th->notify_size = len;
	th->notifies++;
}

/* The notify begun at th->notify_ts ends at ts (bpf/vt_core.bpf.h vt_notify_close). */
static void notify_close(struct vt_ftrace *f, struct ft_thread *th, uint64_t ts)
{
	account(f, th, VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = VT_OP_NOTIFY,
				     .obj = th->io_container,
				     .container = th->io_container,
				     .ts = ts,
				     .lat = ts - th->notify_ts,
				     .size = th->notify_size,
				     .iova = th->notify_iova,
				     .retries = th->retries });
	th->notify_ts = 0;
}

/* vfio_notify_dma_unmap(iommu, dma) where it is a function: a notify is its whole call, in
 * an UNMAP_DMA of that container begun after the start (bpf/vt_direct.bpf.h) */
static void notify_enter(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	if (th->io_ts && th->io_cmd == VT_VFIO_IOMMU_UNMAP_DMA && th->io_container == r->v[0])
		notify_open(f, th, r->ts, r->v[1], r->v[2]);
}

static void notify_exit(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	if (th->io_ts && th->notify_ts)
		notify_close(f, th, r->ts);
}

static void cb_enter(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	uint64_t vdev = dev_id(f, r->v[0]), iova = r->v[1], len = r->v[2], unmap = r->v[3];
	int func = f->ev[r->ev].cb;

	/* only the device's own ops->dma_unmap is a callback */
	if (unmap != f->cbs[func].addr)
		return;
	learn(f, th, vdev, r);
	/* the first device on the list: a notify begins (rebuilt where it is inlined) */
	if (th->io_ts && r->v[5] == th->io_container + f->devlist_off) {
		if (!f->notify_direct)
			notify_open(f, th, r->ts, iova, len);
		th->cb_loop = true;
	}
	th->cb_func = func + 1;
	th->cb_vdev = vdev;
	th->cb_size = len;
	th->cb_iova = iova;
	th->cb_next = r->v[4];
	th->cb_ts = r->ts;
}

static void cb_exit(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	/* a kretprobe has no arguments: an exit without its entry (a helper with the same
	 * prototype, or begun before the start) is not a loss, as on the BPF side */
	if (!th->cb_ts || th->cb_func != f->ev[r->ev].cb + 1)
		return;
	account(f, th, VT_KIND_DEVICE,
		&(struct vtr_event){ .op = VT_OP_CALLBACK,
				     .obj = th->cb_vdev,
				     .container = th->io_ts ? th->io_container : 0,
				     .ts = r->ts,
				     .lat = r->ts - th->cb_ts,
				     .size = th->cb_size,
				     .iova = th->cb_iova });
	th->cb_ts = 0;
	/* the last device on the list: the rebuilt notify ends */
	if (th->io_ts && th->cb_next == th->io_container + f->devlist_off) {
		if (!f->notify_direct && th->notify_ts)
			notify_close(f, th, r->ts);
		th->cb_loop = false;
	}
}

static void call_enter(struct ft_thread *th, int c, uint64_t ts, uint64_t obj, uint64_t iova,
		       uint64_t size)
{
	th->call[c].ts = ts;
	th->call[c].obj = obj;
	th->call[c].iova = iova;
	th->call[c].size = size;
}

static void call_exit(struct vt_ftrace *f, struct ft_thread *th, int c, uint64_t ts, int64_t ret)
{
	static const uint16_t op[] = { VT_OP_REMOVE_DMA, VT_OP_UNMAP_UNPIN, VT_OP_PIN,
				       VT_OP_UNPIN };
	uint64_t size = th->call[c].size, container;

	if (!th->call[c].ts) {
		f->losses[VT_LOSS_NO_ENTRY]++;
		return;
	}
	if (c == CALL_PIN && ret < 0)
		size = 0;
	if (c >= CALL_PIN) {
		const struct vtr_device *d = device(f, th->call[c].obj, false);

		container = d ? d->container : 0;
	} else {
		container = th->call[c].obj;
	}
	account(f, th, c >= CALL_PIN ? VT_KIND_DEVICE : VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = op[c],
				     .obj = th->call[c].obj,
				     .container = container,
				     .ts = ts,
				     .lat = ts - th->call[c].ts,
				     .size = size,
				     .ret = c == CALL_PIN ? ret : 0,
				     .iova = th->call[c].iova });
	th->call[c].ts = 0;
}

/* ---- the phases of vfio_unmap_unpin (bpf/vt_phases.bpf.h, in user space) ------------------
 * Only inside a vfio_unmap_unpin of the same thread, whose container they take: the same
 * functions serve every IOMMU user. */

static void phase_enter(struct ft_thread *th, int p, uint64_t ts, uint64_t iova, uint64_t size)
{
	if (!th->call[CALL_UNMAP_UNPIN].ts)
		return; /* not inside a vfio_unmap_unpin: another IOMMU user */
	th->phase[p].ts = ts;
	th->phase[p].container = th->call[CALL_UNMAP_UNPIN].obj;
	th->phase[p].iova = iova;
	th->phase[p].size = size;
	th->phase[p].nested = 0;
}

/* amount: the bytes unmapped (iommu_unmap*) or pages unpinned; an IOTLB flush's bytes were
 * taken at entry, and a flush inside an IOMMU unmap adds its time to the unmap's nested. */
static void phase_exit(struct vt_ftrace *f, struct ft_thread *th, int p, uint64_t ts,
		       uint64_t amount)
{
	static const uint16_t op[] = { VT_OP_IOMMU_UNMAP, VT_OP_IOTLB_SYNC, VT_OP_UNPIN_REMOTE };
	uint64_t lat;

	if (!th->phase[p].ts)
		return; /* its entry was outside a vfio_unmap_unpin */
	lat = ts - th->phase[p].ts;
	if (p == PHASE_IOTLB_SYNC) {
		amount = th->phase[p].size;
		if (th->phase[PHASE_IOMMU_UNMAP].ts)
			th->phase[PHASE_IOMMU_UNMAP].nested += lat;
	}
	account(f, th, VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = op[p],
				     .obj = th->phase[p].container,
				     .container = th->phase[p].container,
				     .ts = ts,
				     .lat = lat,
				     .size = amount,
				     .iova = th->phase[p].iova,
				     .aux = p == PHASE_IOMMU_UNMAP ? th->phase[p].size : 0,
				     .nested_ns = p != PHASE_IOMMU_UNMAP ? 0 :
						  th->phase[p].nested < 0xffffffffull ?
									   th->phase[p].nested :
									   0xffffffffull });
	th->phase[p].ts = 0;
}

/* One iommu_iova_to_phys of the walk: the lookups of one vfio_unmap_unpin are summed and
 * accounted once, at its exit (walk_close), as the BPF side does (a 1 GiB unmap is 262,144 of
 * them: one row update, not one each). */
static void walk_enter(struct ft_thread *th, uint64_t ts, uint64_t iova)
{
	if (!th->call[CALL_UNMAP_UNPIN].ts)
		return;
	if (th->walk_of != th->call[CALL_UNMAP_UNPIN].ts) { /* its first lookup */
		th->walk_of = th->call[CALL_UNMAP_UNPIN].ts;
		th->walk_container = th->call[CALL_UNMAP_UNPIN].obj;
		th->walk_iova = iova;
		th->walk_ns = th->walk_lookups = 0;
	}
	th->walk_lookup_ts = ts;
}

static void walk_exit(struct ft_thread *th, uint64_t ts)
{
	if (!th->walk_lookup_ts)
		return;
	th->walk_ns += ts - th->walk_lookup_ts;
	th->walk_lookups++;
	th->walk_lookup_ts = 0;
}

/* The vfio_unmap_unpin entered at of ends at ts: the row of its walk, if it had one. */
static void walk_close(struct vt_ftrace *f, struct ft_thread *th, uint64_t of, uint64_t ts)
{
	if (th->walk_of != of || !th->walk_lookups)
		return;
	account(f, th, VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = VT_OP_IOVA_WALK,
				     .obj = th->walk_container,
				     .container = th->walk_container,
				     .ts = ts,
				     .lat = th->walk_ns,
				     .size = th->walk_lookups,
				     .iova = th->walk_iova });
	th->walk_of = 0;
}

/* ---- the iommufd path (bpf/vt_iommufd.bpf.h, in user space) ------------------------------
 * An IOAS is the container: the IOMMU_IOAS_UNMAP/MAP ioctl functions only have the command
 * (the IOAS is looked up by its id inside), so the IOAS is learned from the io_pagetable that
 * iopt_unmap_iova/_all or iopt_map_user_pages receive in the same thread. An unmap's bytes
 * are the areas it removed (iopt_unmap_iova_range adds each one's length as it unfills it,
 * and reports the sum back in the command's length, which the BPF side reads); its
 * notifies are iommufd_access_notify_unmap's, the same area again in one unmap a retry. */

static void ioas_cmd_enter(struct ft_thread *th, const struct ft_rec *r, uint32_t op)
{
	/* a thread gone before its first record was read has no comm from /proc */
	if (!th->comm[0])
		memcpy(th->comm, r->comm, sizeof(th->comm));
	th->ioas_ts = r->ts;
	th->ioas_op = op;
	th->ioas_obj = 0;
	th->ioas_iova = r->v[0];
	th->ioas_len = r->v[1];
	th->ioas_unmapped = 0;
	th->ioas_notifies = th->ioas_retries = 0;
	th->in_ts = th->in_ioas = th->in_iova = th->in_len = 0;
}

/* An IOMMU_IOAS_UNMAP that ended in iommufd's retry limit: the RETRY LIMIT alert, with what
 * the BPF side's VT_EV_RETRY_LIMIT record carries. */
static void retry_limit(struct vt_ftrace *f, const struct ft_thread *th, uint64_t ts, int64_t ret)
{
	struct vtr_event e = {
		.ts = ts,
		.op = VT_EV_RETRY_LIMIT,
		.obj = th->ioas_obj,
		.container = th->ioas_obj,
		.pid = th->tid,
		.tgid = th->tgid,
		.iova = th->in_iova,
		.size = th->in_len,
		.aux = th->ioas_len,
		.ret = ret,
		.retries = th->ioas_notifies > 0xffff ? 0xffff : th->ioas_notifies,
	};

	memcpy(e.comm, th->comm, sizeof(e.comm));
	vt_retry_limit_alert(&f->alerts, &e);
}

static void ioas_cmd_exit(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r,
			  uint32_t op)
{
	int64_t ret = (int32_t)r->v[0];

	if (!th->ioas_ts || th->ioas_op != op) {
		f->losses[VT_LOSS_NO_ENTRY]++;
		return;
	}
	account(f, th, VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = op,
				     .obj = th->ioas_obj,
				     .container = th->ioas_obj,
				     .ts = r->ts,
				     .lat = r->ts - th->ioas_ts,
				     .size = ret	       ? 0 :
					     op == VT_OP_UNMAP ? th->ioas_unmapped :
								 th->ioas_len,
				     .ret = ret,
				     .iova = th->ioas_iova,
				     .aux = th->ioas_len,
				     .retries = th->ioas_notifies });
	if (op == VT_OP_UNMAP && ret == -EDEADLOCK)
		retry_limit(f, th, r->ts, ret);
	th->ioas_ts = 0;
}

/* iopt_unmap_iova/_all, iopt_map_user_pages: the IOAS of the thread's unmap or map */
static void ioas_learn(struct vt_ftrace *f, struct ft_thread *th, uint64_t iopt, uint32_t op)
{
	if (th->ioas_ts && th->ioas_op == op && !th->ioas_obj && iopt)
		th->ioas_obj = iopt - f->ioas_iopt_off;
}

static void ioas_notify_enter(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	uint64_t ioas = r->v[0] ? r->v[0] - f->ioas_iopt_off : 0, iova = r->v[1], len = r->v[2];

	if (r->ts < f->armed_late_max)
		late_callback_gap(f, 0, r->ts);
	if (th->ioas_ts && th->ioas_op == VT_OP_UNMAP) {
		if (th->ioas_notifies && th->in_iova == iova && th->in_ioas == ioas) {
			th->ioas_retries++;
			dbg_dump(f, th->tid, th->ioas_ts, "an iommufd retry");
			account(f, th, VT_KIND_CONTAINER,
				&(struct vtr_event){ .op = VT_OP_RETRY,
						     .obj = ioas,
						     .container = ioas,
						     .ts = r->ts,
						     .size = len,
						     .iova = iova,
						     .retries = th->ioas_retries });
		} else {
			th->ioas_retries = 0;
		}
		th->ioas_notifies++;
	}
	th->in_ioas = ioas;
	th->in_iova = iova;
	th->in_len = len;
	th->in_ts = r->ts;
}

static void ioas_notify_exit(struct vt_ftrace *f, struct ft_thread *th, const struct ft_rec *r)
{
	if (!th->in_ts) {
		f->losses[VT_LOSS_NO_ENTRY]++;
		return;
	}
	account(f, th, VT_KIND_CONTAINER,
		&(struct vtr_event){ .op = VT_OP_NOTIFY,
				     .obj = th->in_ioas,
				     .container = th->in_ioas,
				     .ts = r->ts,
				     .lat = r->ts - th->in_ts,
				     .size = th->in_len,
				     .iova = th->in_iova,
				     .retries = th->ioas_retries });
	th->in_ts = 0;
}

/* An area removed: by the thread's unmap (its bytes), or by its teardown (an area, bytes) */
static void area_unfill(struct ft_thread *th, const struct ft_rec *r)
{
	uint64_t bytes = r->v[1] - r->v[0] + 1;

	if (th->td_ts) {
		th->td_dmas++;
		th->td_bytes += bytes;
	}
	if (th->ioas_ts && th->ioas_op == VT_OP_UNMAP)
		th->ioas_unmapped += bytes;
}

/* The function of callback cb ("module:function") when it is in module, else NULL. */
static const char *cb_in_module(const struct ft_cb *cb, const char *module)
{
	size_t l = strlen(module);

	return !strncmp(cb->sym, module, l) && cb->sym[l] == ':' ? cb->sym + l + 1 : NULL;
}

/* Does module use vfio.ko (it alone can hold a vfio_device driver)? */
static bool vfio_holder(const char *module)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/vfio/holders/%s", module);
	return !access(path, F_OK);
}

/* A driver module loaded after the start whose callbacks have no events yet (not installed,
 * or compressed: lib/ftrace_btf.c vt_ft_find_installed_callbacks): they are made now. Until
 * they exist a callback is not recorded; the unmaps that may have called one are counted
 * (late_callback_gap), never silently short. */
static void late_module(struct vt_ftrace *f, const char *module)
{
	int n;

	/* type1 and iommufd use vfio but have no device ops: no callbacks to look for (a
	 * kallsyms pass and a BTF parse, seconds under the lab's emulation, the reader stalled) */
	if (!vfio_holder(module) || !strcmp(module, "vfio_iommu_type1") ||
	    !strcmp(module, "iommufd"))
		return;
	if (vt_ksyms_reload_module(f->ks, module)) {
		vt_warn("ftrace: cannot read the symbols of %s: its callbacks are not traced",
			module);
		return;
	}
	n = vt_ft_add_late_callbacks(f, module);
	if (n > 0)
		fprintf(stderr,
			"%s: module %s loaded: %d dma_unmap callbacks probed (after its load: an "
			"unmap before then is counted in lost.module_loader_not_held)\n",
			vt_prog, module, n);
	else if (n < 0)
		vt_warn("ftrace: module %s loaded: its dma_unmap callbacks cannot be probed: not "
			"traced",
			module);
}

/* An UNMAP_DMA entered at ts on container, before a late callback's events existed: if a
 * device on that container has that callback, its calls in this unmap may not be recorded
 * (lost.module_loader_not_held, once per unmap). container 0: an iommufd notify, whose
 * accesses are not known: any device known to have that callback. */
static void late_callback_gap(struct vt_ftrace *f, uint64_t container, uint64_t ts)
{
	for (size_t i = 0; i < f->ndevs; i++) {
		const struct vtr_device *d = &f->devs[i].d;

		if (container && (!d->registered || d->container != container))
			continue;
		for (int c = 0; c < f->ncbs; c++)
			if (f->cbs[c].armed_late > ts && f->cbs[c].addr == d->dma_unmap) {
				f->losses[VT_LOSS_HOLD_FULL]++;
				return;
			}
	}
}

/* A VFIO module (vfio, vfio_iommu_type1, a driver using vfio) loaded: the mutex events'
 * filter follows its code, first thing (before its symbols and BTF are read for callbacks,
 * which takes seconds under the lab's emulation). The records from its load to now are handled
 * after this one: those that may have taken a container's lock unseen are counted lost
 * (lock_blind). */
static void lock_filter_follow(struct vt_ftrace *f, const struct ft_rec *r)
{
	uint64_t now = vt_now_ns(), late = now - r->ts;

	if (!f->locks || (strcmp(r->name, "vfio") && !vfio_holder(r->name)))
		return;
	/* vfio loaded first, type1 not yet: no container before type1's load, which moves it */
	if (access("/sys/module/vfio_iommu_type1", F_OK))
		return;
	if (vt_ft_lock_filter_covers(f, r->name)) {
		fprintf(stderr,
			"%s: lock events' filter follows %s: loaded where it keeps already\n",
			vt_prog, r->name);
		return;
	}
	/* A driver's code is never where a tracked lock's mutex call returns to while
	 * vfio_unpin_pages has its kretprobe (the unpin events): its unpin's tail-called
	 * mutex_unlock returns to the trampoline. Its range is kept, and nothing counted. */
	bool core = !strcmp(r->name, "vfio") || !strcmp(r->name, "vfio_iommu_type1");

	if (core) {
		f->lock_blind_from = r->ts;
		f->lock_blind_until = now;
	}
	if (vt_ft_lock_filter(f, true))
		vt_warn("ftrace: cannot move the lock events' filter to %s's address: lock times "
			"are not counted from here on",
			r->name);
	else
		fprintf(stderr,
			"%s: lock events' filter moved to %s's address, %.0f ms after its load%s\n",
			vt_prog, r->name, late / 1e6,
			core ? " (the operations in between are counted in "
			       "lost.module_loader_not_held)" :
			       "");
}

/* A module we trace went (its events stay, disarmed) or came (the kernel armed them before
 * its init ran: created at the start, or before an unload): said on stderr; a driver's
 * callbacks are at new addresses. */
static void module_event(struct vt_ftrace *f, const struct ft_rec *r, bool load)
{
	int ncb = 0;

	if (load)
		lock_filter_follow(f, r);
	for (int i = 0; i < f->ncbs; i++)
		ncb += cb_in_module(&f->cbs[i], r->name) != NULL;
	if (!ncb && load)
		late_module(f, r->name);
	if (!ncb && strcmp(r->name, "vfio") && strcmp(r->name, "vfio_iommu_type1") &&
	    (!f->iommufd || strcmp(r->name, "iommufd")))
		return;
	/* an iommufd-only start: type1 has no events (its offsets were not read) */
	if (!f->type1 && !strcmp(r->name, "vfio_iommu_type1")) {
		if (load)
			vt_warn("vfio_iommu_type1 loaded after the start: its containers are not "
				"traced until vfio-trace is started again");
		return;
	}
	if (!load) {
		fprintf(stderr, "%s: module %s unloaded: its kprobe events wait for it\n", vt_prog,
			r->name);
		for (int i = 0; i < f->ncbs; i++)
			if (cb_in_module(&f->cbs[i], r->name))
				f->cbs[i].addr = 0;
		return;
	}
	if (ncb && vt_ksyms_reload_module(f->ks, r->name))
		vt_warn("ftrace: cannot read the symbols of %s again: its callbacks are not traced",
			r->name);
	for (int i = 0; ncb && i < f->ncbs; i++) {
		const char *func = cb_in_module(&f->cbs[i], r->name);
		const struct vt_ksym *k = func ? vt_ksyms_by_name(f->ks, func, r->name) : NULL;

		if (func)
			f->cbs[i].addr = k ? k->addr : 0;
	}
	fprintf(stderr, "%s: module %s loaded: its kprobe events armed%s\n", vt_prog, r->name,
		ncb ? ", its dma_unmap callbacks looked up" : " again");
}

/* A process registering a device, named once (per start) to the command as the BPF side
 * names it (VT_EV_PROC, bpf/vfio_trace.bpf.c proc_event()): its command line, QEMU's -name,
 * read from /proc when its record is read (a process gone by then has its thread's comm
 * only). */
static void name_process(struct vt_ftrace *f, const struct ft_thread *th, const struct ft_rec *r)
{
	struct vtr_proc p;
	uint64_t start;
	size_t i;

	if (!f->opts.on_event || !th->tgid)
		return;
	start = vt_proc_start(th->tgid);
	for (i = 0; i < f->nnamed; i++)
		if (f->named[i].tgid == th->tgid)
			break;
	if (i < f->nnamed && f->named[i].start == start)
		return;
	if (i == f->nnamed) {
		if (f->nnamed == f->capnamed) {
			size_t cap = f->capnamed ? f->capnamed * 2 : 16;
			void *n = realloc(f->named, cap * sizeof(*f->named));

			if (!n)
				return;
			f->named = n;
			f->capnamed = cap;
		}
		f->nnamed++;
	}
	f->named[i].tgid = th->tgid;
	f->named[i].start = start;
	if (!vt_proc_record(th->tgid, &p) || !p.e.comm[0])
		memcpy(p.e.comm, r->comm[0] ? r->comm : th->comm, sizeof(p.e.comm));
	p.e.ts = r->ts;
	p.e.pid = th->tid;
	f->opts.on_event(f->opts.ctx, &p.e, true);
}

/* One record handled; returns its thread (NULL: none could be kept). */
static struct ft_thread *handle(struct vt_ftrace *f, const struct ft_rec *r)
{
	const struct ft_event *e = &f->ev[r->ev];
	int64_t ret = (int64_t)r->v[0];
	const struct ft_lock *lk = NULL;
	struct vtr_device *d;
	struct ft_thread *th;
	uint64_t vdev;

	/* the mutex records of a lock not tracked make no thread entry (the waits are every
	 * contended mutex_lock of the system) */
	if (e->kind == FT_MUTEX_WAIT)
		return mutex_wait_enter(f, r);
	if (e->kind == FT_MUTEX_WAIT_RET)
		return mutex_wait_exit(f, r);
	if ((e->kind == FT_MUTEX_LOCK || e->kind == FT_MUTEX_UNLOCK) &&
	    !(lk = lock_find(f, r->v[0])))
		return NULL;
	th = thread_get(f, r->tid, r->tgid);
	if (!th) {
		f->losses[VT_LOSS_TASK_FULL]++;
		return NULL;
	}
	lock_blind(f, e->kind, r);
	switch (e->kind) {
	case FT_IOCTL:
		if (r->v[1] != VT_VFIO_IOMMU_UNMAP_DMA && r->v[1] != VT_VFIO_IOMMU_MAP_DMA)
			return th;
		track_container(f, r->v[0]);
		th->drop_ts = 0;
		th->cb_loop = false;
		th->io_ts = r->ts;
		th->io_container = r->v[0];
		th->io_cmd = r->v[1];
		/* the caller's struct (lib/ftrace.c's ioctl event): v[3] unmap iova, v[4] map
		 * iova or unmap size (one word), v[5] map size */
		th->io_iova = r->v[1] == VT_VFIO_IOMMU_UNMAP_DMA ? r->v[3] : r->v[4];
		th->io_size = r->v[1] == VT_VFIO_IOMMU_UNMAP_DMA ? r->v[4] : r->v[5];
		th->io_removed = 0;
		th->notify_ts = 0;
		th->cb_ts = 0;
		th->notifies = th->retries = 0;
		if (r->ts < f->armed_late_max && th->io_cmd == VT_VFIO_IOMMU_UNMAP_DMA)
			late_callback_gap(f, th->io_container, r->ts);
		break;
	case FT_IOCTL_RET:
		if (!th->io_ts) /* not MAP/UNMAP, or begun before the start */
			return th;
		/* as the BPF side: iova and aux the caller's request, retries its notifies */
		if (th->io_cmd == VT_VFIO_IOMMU_UNMAP_DMA)
			account(f, th, VT_KIND_CONTAINER,
				&(struct vtr_event){ .op = VT_OP_UNMAP,
						     .obj = th->io_container,
						     .container = th->io_container,
						     .ts = r->ts,
						     .lat = r->ts - th->io_ts,
						     .size = ret == 0 ? th->io_removed : 0,
						     .ret = ret,
						     .iova = th->io_iova,
						     .aux = th->io_size,
						     .retries = th->notifies });
		else
			account(f, th, VT_KIND_CONTAINER,
				&(struct vtr_event){ .op = VT_OP_MAP,
						     .obj = th->io_container,
						     .container = th->io_container,
						     .ts = r->ts,
						     .lat = r->ts - th->io_ts,
						     .size = ret == 0 ? th->io_size : 0,
						     .ret = ret,
						     .iova = th->io_iova,
						     .aux = th->io_size });
		th->io_ts = 0;
		break;
	case FT_REMOVE:
		if (th->td_ts) {
			th->td_dmas++;
			th->td_bytes += r->v[2];
		}
		if (th->io_ts && th->io_cmd == VT_VFIO_IOMMU_UNMAP_DMA)
			th->io_removed += r->v[2];
		call_enter(th, CALL_REMOVE, r->ts, r->v[0], r->v[1], r->v[2]);
		break;
	case FT_UNMAP_UNPIN:
		call_enter(th, CALL_UNMAP_UNPIN, r->ts, r->v[0], r->v[1], r->v[2]);
		break;
	case FT_REMOVE_RET: call_exit(f, th, CALL_REMOVE, r->ts, 0); break;
	case FT_UNMAP_UNPIN_RET:
		if (th->call[CALL_UNMAP_UNPIN].ts)
			walk_close(f, th, th->call[CALL_UNMAP_UNPIN].ts, r->ts);
		call_exit(f, th, CALL_UNMAP_UNPIN, r->ts, 0);
		/* a phase whose exit was not seen (a kretprobe missed) ends with it */
		for (int p = 0; p < 3; p++)
			th->phase[p].ts = 0;
		th->walk_lookup_ts = 0;
		break;
	case FT_IOMMU_UNMAP: phase_enter(th, PHASE_IOMMU_UNMAP, r->ts, r->v[1], 0); break;
	case FT_IOMMU_UNMAP_RET: phase_exit(f, th, PHASE_IOMMU_UNMAP, r->ts, r->v[0]); break;
	case FT_IOTLB_SYNC:
		/* the range gathered: [start, end], start ULONG_MAX and end 0 when empty */
		phase_enter(th, PHASE_IOTLB_SYNC, r->ts, r->v[1],
			    r->v[1] <= r->v[2] ? r->v[2] - r->v[1] + 1 : 0);
		break;
	case FT_IOTLB_SYNC_RET: phase_exit(f, th, PHASE_IOTLB_SYNC, r->ts, 0); break;
	case FT_UNPIN_REMOTE: phase_enter(th, PHASE_UNPIN_REMOTE, r->ts, r->v[0], 0); break;
	case FT_UNPIN_REMOTE_RET: phase_exit(f, th, PHASE_UNPIN_REMOTE, r->ts, r->v[0]); break;
	case FT_IOVA_WALK: walk_enter(th, r->ts, r->v[1]); break;
	case FT_IOVA_WALK_RET: walk_exit(th, r->ts); break;
	case FT_UNMAP_PAGES:
		/* the event's filter keeps 4 KiB pages only; checked again for a kernel that
		 * refused the filter */
		if (th->phase[PHASE_IOMMU_UNMAP].ts && r->v[1] == 4096)
			th->phase[PHASE_IOMMU_UNMAP].size += r->v[1] * r->v[2];
		break;
	case FT_DETACH:
	case FT_RELEASE:
	case FT_IOAS_DESTROY:
		if (e->kind == FT_RELEASE)
			untrack_container(f, r->v[0]);
		if (th->td_ts) {
			th->td_depth++;
			break;
		}
		th->td_ts = r->ts;
		/* an IOAS is known by its struct iommufd_ioas, the object's container */
		th->td_container = e->kind != FT_IOAS_DESTROY ? r->v[0] :
				   r->v[0]		      ? r->v[0] - f->ioas_obj_off :
								0;
		th->td_dmas = th->td_bytes = th->td_depth = 0;
		break;
	case FT_DETACH_RET:
	case FT_RELEASE_RET:
	case FT_IOAS_DESTROY_RET: teardown_exit(f, th, r->ts); break;
	case FT_IOAS_UNMAP: ioas_cmd_enter(th, r, VT_OP_UNMAP); break;
	case FT_IOAS_UNMAP_RET: ioas_cmd_exit(f, th, r, VT_OP_UNMAP); break;
	case FT_IOAS_MAP: ioas_cmd_enter(th, r, VT_OP_MAP); break;
	case FT_IOAS_MAP_RET: ioas_cmd_exit(f, th, r, VT_OP_MAP); break;
	case FT_IOPT_UNMAP: ioas_learn(f, th, r->v[0], VT_OP_UNMAP); break;
	case FT_IOPT_MAP: ioas_learn(f, th, r->v[0], VT_OP_MAP); break;
	case FT_IOAS_NOTIFY: ioas_notify_enter(f, th, r); break;
	case FT_IOAS_NOTIFY_RET: ioas_notify_exit(f, th, r); break;
	case FT_AREA_UNFILL: area_unfill(th, r); break;
	case FT_REGISTER:
	case FT_UNREGISTER:
		track_container(f, r->v[0]);
		/* type1 returns at once for a device without dma_unmap: it never joins the list */
		if (!r->v[2])
			return th;
		vdev = e->kind == FT_REGISTER ? dev_id_at_register(f, r->v[1], r->name) :
						dev_id(f, r->v[1]);
		d = device(f, vdev, true);
		if (d) {
			d->container = r->v[0];
			d->dma_unmap = r->v[2];
			d->tgid = th->tgid;
			d->registered = e->kind == FT_REGISTER;
			memcpy(d->name, r->name, sizeof(d->name));
			memcpy(d->driver, r->drv, sizeof(d->driver));
		}
		/* a thread gone before its first record was read has no comm from /proc */
		if (!th->comm[0])
			memcpy(th->comm, r->comm, sizeof(th->comm));
		if (e->kind == FT_REGISTER)
			name_process(f, th, r);
		account(f, th, VT_KIND_DEVICE,
			&(struct vtr_event){ .op = e->kind == FT_REGISTER ? VT_OP_REGISTER :
									    VT_OP_UNREGISTER,
					     .obj = vdev,
					     .container = r->v[0],
					     .ts = r->ts });
		break;
	case FT_PIN:
	case FT_UNPIN:
		vdev = dev_id(f, r->v[0]);
		learn(f, th, vdev, r);
		/* npage is an int: a negative one counts as the BPF side's (u64)npage */
		call_enter(th, e->kind == FT_PIN ? CALL_PIN : CALL_UNPIN, r->ts, vdev, r->v[1],
			   (uint64_t)(int64_t)(int32_t)r->v[2]);
		break;
	case FT_PIN_RET: call_exit(f, th, CALL_PIN, r->ts, (int32_t)r->v[0]); break;
	case FT_UNPIN_RET: call_exit(f, th, CALL_UNPIN, r->ts, 0); break;
	case FT_CB: cb_enter(f, th, r); break;
	case FT_CB_RET: cb_exit(f, th, r); break;
	case FT_NOTIFY: notify_enter(f, th, r); break;
	case FT_NOTIFY_RET: notify_exit(f, th, r); break;
	case FT_MODULE_LOAD:
	case FT_MODULE_FREE: module_event(f, r, e->kind == FT_MODULE_LOAD); break;
	case FT_MUTEX_LOCK: mutex_lock_enter(f, th, lk, r->ts); break;
	case FT_MUTEX_UNLOCK: mutex_unlock_enter(f, th, lk, r->ts); break;
	case FT_MUTEX_WAIT:
	case FT_MUTEX_WAIT_RET:
	case FT_KERNEL_STACK: /* above, and in handle_raw */
	case FT_NKINDS: break;
	}
	return th;
}

/* Thread th's calls in flight given up, each counted lost: one of them may have lost its exit
 * to an overrun (or its next call its entry), and would be completed by a record from the
 * other side of the gap (a storm that unmaps the same iova again and again then reads as a
 * notify retried: seen in the lab, 2 false retries with 12,564 events overwritten). A count
 * is then short and the loss counted, never made up. */
static void forget_thread(struct vt_ftrace *f, struct ft_thread *th)
{
	f->losses[VT_LOSS_RINGBUF] +=
		!!th->io_ts + !!th->cb_ts + !!th->td_ts + !!th->ioas_ts + !!th->in_ts;
	for (int c = 0; c < 4; c++)
		f->losses[VT_LOSS_RINGBUF] += !!th->call[c].ts;
	th->io_ts = th->notify_ts = th->cb_ts = th->td_ts = th->ioas_ts = th->in_ts = 0;
	th->notifies = th->retries = th->ioas_notifies = th->ioas_retries = 0;
	th->td_depth = 0;
	for (int c = 0; c < 4; c++)
		th->call[c].ts = 0;
	for (int p = 0; p < 3; p++) {
		f->losses[VT_LOSS_RINGBUF] += !!th->phase[p].ts;
		th->phase[p].ts = 0;
	}
	th->walk_of = th->walk_lookup_ts = 0;
	/* a lock's release or a wait's end may be in the gap: neither is timed across it */
	f->losses[VT_LOSS_RINGBUF] += !!th->wait_lock + !!th->drop_ts;
	for (int i = 0; i < FT_HELD; i++) {
		f->losses[VT_LOSS_RINGBUF] += !!th->held[i].ts;
		th->held[i].lock = th->held[i].ts = 0;
	}
	th->wait_lock = th->drop_ts = 0;
	th->cb_loop = false;
	th->stack_for = 0;
}

/* A gap begins: every thread's calls in flight given up. */
static void forget_in_flight(struct vt_ftrace *f)
{
	for (size_t i = 0; i < f->capthreads; i++)
		if (f->threads[i].used && thread_busy(&f->threads[i]))
			forget_thread(f, &f->threads[i]);
}

/* ---- the buffers ------------------------------------------------------------------------ */

static int ev_index(struct vt_ftrace *f, int id)
{
	for (int i = 0; i < f->nev; i++)
		if (f->ev[i].id == id)
			return i;
	return -1;
}

static void copy_string(struct tep_event *te, struct tep_record *rec, const char *field, char *out,
			size_t size)
{
	int len = 0;
	const char *p = tep_get_field_raw(NULL, te, field, rec, &len, 0);

	memset(out, 0, size);
	if (p && len > 0)
		memcpy(out, p, (size_t)len < size - 1 ? (size_t)len : size - 1);
}

/* One record of CPU buffer c, its data at data and its time ts, parsed and handled. */
static void handle_raw(struct vt_ftrace *f, int c, void *data, uint64_t ts)
{
	struct tep_record rec = {
		.ts = ts,
		.cpu = c,
		.size = kbuffer_event_size(f->cpus[c].kbuf),
		.data = data,
	};
	int i = ev_index(f, tep_data_type(f->tep, &rec));
	const struct ft_event *e;
	struct ft_thread *th;
	struct ft_rec r;

	if (i < 0)
		return;
	e = &f->ev[i];
	f->nread[e->kind]++;
	if (e->kind == FT_KERNEL_STACK) {
		unsigned long long n = 0;

		if (e->f[0])
			tep_read_number_field(e->f[0], data, &n);
		f->pos = ts;
		kernel_stack(f, e->te, data, rec.size, tep_data_pid(f->tep, &rec), n);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.ts = ts;
	r.tid = tep_data_pid(f->tep, &rec);
	r.ev = i;
	for (int j = 0; j < VT_FT_NFIELDS && e->f[j]; j++) {
		unsigned long long v = 0;

		tep_read_number_field(e->f[j], data, &v);
		r.v[j] = v;
	}
	if (e->name_f)
		copy_string(e->te, &rec, "name", r.name, sizeof(r.name));
	if (e->drv_f)
		copy_string(e->te, &rec, "drv", r.drv, sizeof(r.drv));
	if (e->comm_f)
		copy_string(e->te, &rec, "comm", r.comm, sizeof(r.comm));
	f->pos = ts;
	dbg_note(f, c, i, r.tid, ts, r.v);
	th = handle(f, &r);
	/* between a gap's start and its end (cpu_next; not known yet while the sub-buffer after
	 * it had no record), a thread keeps nothing in flight: a record of its own may be in
	 * the gap */
	if (th && (ts <= f->fog_end || f->gaps_open))
		forget_thread(f, th);
}

/* CPU c's events lost by the instance's buffer by its per-CPU stats, read through libtracefs:
 * overwritten before they were read (overrun) or dropped. */
static uint64_t cpu_stats_lost(struct vt_ftrace *f, int c)
{
	char file[64], *text, *p;
	unsigned long long v;
	uint64_t lost = 0;

	snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", c);
	text = tracefs_instance_file_read(f->inst, file, NULL);
	if (text) {
		if ((p = strstr(text, "overrun:")) && sscanf(p, "overrun: %llu", &v) == 1)
			lost += v;
		if ((p = strstr(text, "dropped events:")) &&
		    sscanf(p, "dropped events: %llu", &v) == 1)
			lost += v;
		free(text);
	}
	return lost;
}

/* The events the writer overwrote before the sub-buffer just read into p->subbuf, from its
 * header's commit word (-1: some, not counted; 0: none). */
static long long subbuf_missed(struct ft_cpu *p)
{
	/* the header: a u64 time stamp, then the commit word, a long, up to the data */
	int start = kbuffer_start_of_data(p->kbuf);
	uint64_t commit = start == 16 ? *(uint64_t *)((char *)p->subbuf + 8) :
					*(uint32_t *)((char *)p->subbuf + 8);
	uint64_t size = commit & ((1u << 27) - 1), n;

	if (!(commit & (1ull << 31)))
		return 0;
	if (!(commit & (1ull << 30)))
		return -1;
	if (start == 16)
		memcpy(&n, (char *)p->subbuf + start + size, 8);
	else
		n = *(uint32_t *)((char *)p->subbuf + start + size);
	return (long long)n;
}

/* CPU c's gap ends at end: its first record after it, or the time its buffer ran dry with
 * no record after it (a sub-buffer of discarded events only: what it lost was written before
 * that), so that a CPU gone quiet does not keep every thread from completing anything. */
static void gap_ends(struct vt_ftrace *f, int c, unsigned long long end, const char *how)
{
	struct ft_cpu *p = &f->cpus[c];

	p->gap = false;
	f->gaps_open--;
	p->gap_end = end;
	if (end > f->fog_end)
		f->fog_end = end;
	if (vt_verbose >= 2)
		vt_dbg("ftrace: cpu%d: %lld events overwritten before %s %llu (kbuffer says %d), "
		       "seen with the merge at %llu: calls in flight given up, none kept from "
		       "records up to %llu",
		       c, p->gap_missed, how, end, p->gap_kbuf, p->gap_seen_at, f->fog_end);
}

/* CPU c's next record not handled yet (its time in *ts), reading the buffer's next sub-buffer
 * when the last one is used up; NULL when the buffer holds nothing more now (or the read
 * failed: what it holds waits for the next read).
 *
 * A gap (records the writer overwrote before we read them) is only ever right before a
 * sub-buffer whose header says so: the kernel counts the overrun when the reader takes its
 * next page, and flags the first sub-buffer read from it. The merge has then handled every
 * record up to CPU c's last one before the gap (or up to the last read's end, when c ran dry
 * then: what it lost was stamped after that, if committed within FT_SETTLE_NS of its stamp),
 * so the gap begins after the merge's position: every call in flight is given up there. It
 * ends at this sub-buffer's first record (fog_end), but the other CPUs' records up to that
 * time are still to be merged, and any of their threads may have lost a record on c in
 * between (it moved there and back): nothing is kept in flight from those (handle_raw).
 * Measured on the third lab kernel before: 1 retry made up in 2 of 3 storms under a 512 KiB
 * buffer, a thread's callback on CPU 1 and its next unmap's callback the first record after
 * 4,029 events CPU 0 lost, the 84 ms of CPU 1's records in between merged after the gap was
 * seen; none in 12 runs after (9 storms, 3 storms of retries). */
static void *cpu_next(struct vt_ftrace *f, int c, unsigned long long *ts)
{
	struct ft_cpu *p = &f->cpus[c];

	for (;;) {
		void *data;
		long long missed;

		if (p->loaded && (data = kbuffer_read_event(p->kbuf, ts))) {
			if (p->gap)
				gap_ends(f, c, *ts, "its record at");
			return data;
		}
		p->loaded = false;
		/* a sub-buffer, or what the writer committed so far of the one it is on */
		if (tracefs_cpu_read(p->tcpu, p->subbuf, true) <= 0 ||
		    kbuffer_load_subbuffer(p->kbuf, p->subbuf)) {
			if (p->gap)
				gap_ends(f, c, vt_now_ns(), "it ran dry at");
			return NULL;
		}
		p->loaded = true;
		/* what the writer overwrote before this sub-buffer (-1: some, not counted), read
		 * from its header: libtraceevent 1.7's kbuffer_missed_events() says 0 for a
		 * sub-buffer that begins with a time extend (its current event is then not the
		 * first); not seen in the lab, nothing rules it out */
		missed = subbuf_missed(p);
		if (!missed)
			continue;
		p->missed += missed < 0 ? 1 : (uint64_t)missed;
		f->gaps_open += !p->gap;
		p->gap = true;
		p->gap_missed = missed;
		p->gap_seen_at = f->pos;
		p->gap_kbuf = kbuffer_missed_events(p->kbuf);
		p->dbg_flag_unseen += !p->gap_kbuf;
		forget_in_flight(f);
	}
}

int vt_ft_read(struct vt_ftrace *f, bool all)
{
	/* The read's window: the records stamped up to the time it starts at (less the settle
	 * time, but for the final read), each CPU's buffer read until its next record is newer.
	 * A storm cannot keep one read going, and nothing is held but each CPU's last
	 * sub-buffer: the CPUs' records are merged by time as they are read, so a thread that
	 * migrated has its records handled in order (and a gap on one CPU is a gap in time for
	 * every thread: cpu_next). */
	uint64_t end = vt_now_ns() - (all ? 0 : FT_SETTLE_NS);
	int handled = 0, nactive = 0, *active = f->active;

	/* a gap is seen where it is, in the sub-buffers read (cpu_next), not by the stats: a
	 * CPU's overrun is before its next page, which the read may not reach now */
	for (int c = 0; c < f->ncpus; c++) {
		struct ft_cpu *p = &f->cpus[c];

		if (p->tcpu && (p->next = cpu_next(f, c, &p->next_ts)) && p->next_ts <= end)
			active[nactive++] = c;
	}
	while (nactive) {
		int first = 0;
		struct ft_cpu *p;

		for (int i = 1; i < nactive; i++)
			if (f->cpus[active[i]].next_ts < f->cpus[active[first]].next_ts)
				first = i;
		p = &f->cpus[active[first]];
		handle_raw(f, active[first], p->next, p->next_ts);
		handled++;
		kbuffer_next_event(p->kbuf, NULL);
		/* a CPU leaves the read once it ran dry or its next record is past the window */
		if (!(p->next = cpu_next(f, active[first], &p->next_ts)) || p->next_ts > end)
			active[first] = active[--nactive];
	}
	vt_retry_alerts_flush(&f->alerts, all);
	for (int c = 0; all && f->dbg && c < f->ncpus; c++)
		if (f->cpus[c].tcpu)
			vt_dbg("ftrace: cpu%d: %llu events overwritten by its stats, %llu by the "
			       "sub-buffers' headers, %llu sub-buffers said so unseen by kbuffer",
			       c, (unsigned long long)cpu_stats_lost(f, c),
			       (unsigned long long)f->cpus[c].missed,
			       (unsigned long long)f->cpus[c].dbg_flag_unseen);
	return handled;
}

int vt_ft_read_open(struct vt_ftrace *f)
{
	int nopen = 0;

	if (vt_verbose >= 2)
		f->dbg = calloc(VT_FT_DBG_RING, sizeof(*f->dbg));
	f->cpus = calloc(f->ncpus > 0 ? f->ncpus : 1, sizeof(*f->cpus));
	f->active = calloc(f->ncpus > 0 ? f->ncpus : 1, sizeof(*f->active));
	if (!f->cpus || !f->active)
		return -1;
	for (int c = 0; c < f->ncpus; c++) {
		struct ft_cpu *p = &f->cpus[c];

		/* a possible CPU the kernel keeps no buffer for is not read */
		p->tcpu = tracefs_cpu_open(f->inst, c, true);
		if (!p->tcpu)
			continue;
		p->kbuf = tep_kbuffer(f->tep);
		p->subbuf = malloc(tracefs_cpu_read_size(p->tcpu));
		if (!p->kbuf || !p->subbuf)
			return -1;
		nopen++;
	}
	return nopen ? 0 : -1;
}

void vt_ft_read_close(struct vt_ftrace *f)
{
	for (int c = 0; f->cpus && c < f->ncpus; c++) {
		struct ft_cpu *p = &f->cpus[c];

		/* an open trace_pipe_raw holds the instance: it could not be removed */
		if (p->tcpu)
			tracefs_cpu_close(p->tcpu);
		p->tcpu = NULL;
	}
}

/* Events the instance's buffer lost: its per-CPU stats. The sub-buffers read said how many
 * were overwritten before them (cpus[].missed): the same events, so a CPU counts the larger of
 * the two, never their sum (the stats count those not read yet too; a sub-buffer may say
 * "some" only). */
static uint64_t buffer_losses(struct vt_ftrace *f)
{
	uint64_t lost = 0;

	for (int c = 0; c < f->ncpus; c++) {
		uint64_t cpu_lost = cpu_stats_lost(f, c);

		if (f->cpus && f->cpus[c].missed > cpu_lost)
			cpu_lost = f->cpus[c].missed;
		lost += cpu_lost;
	}
	return lost;
}

/* Returns our kretprobes missed (more calls of one function in flight than its instances):
 * the kernel's kprobe_profile, "event hits misses" a line, read through libtracefs. The file
 * names events without their group: one of another group with the same name would count too
 * (a loss too many, never one too few). */
static uint64_t kretprobe_misses(struct vt_ftrace *f)
{
	char *text = tracefs_instance_file_read(NULL, "kprobe_profile", NULL), *line, *save = NULL;
	uint64_t missed = 0;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long hits, miss;

		if (sscanf(line, "%63s %llu %llu", name, &hits, &miss) != 3)
			continue;
		for (int i = 0; i < f->nev; i++)
			if (f->ev[i].retprobe && !strcmp(f->ev[i].name, name)) {
				missed += miss;
				break;
			}
	}
	free(text);
	return missed;
}

int vt_ft_losses(struct vt_ftrace *f, uint64_t losses[VT_LOSS_MAX])
{
	memcpy(losses, f->losses, sizeof(f->losses));
	losses[VT_LOSS_RINGBUF] += buffer_losses(f);
	losses[VT_LOSS_TASK_FULL] += kretprobe_misses(f);
	return 0;
}

int vt_ft_snapshot(struct vt_ftrace *f, struct vt_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	vt_ft_read(f, false);
	s->ts = vt_now_ns();
	/* lock times where lock tracking's events were created; the phases of vfio_unmap_unpin
	 * where theirs were */
	s->untraced_ops = (f->locks ? 0 :
				      1u << VT_OP_LOCK_HOLD | 1u << VT_OP_LOCK_WAIT |
					      1u << VT_OP_LOCK_DROP | 1u << VT_OP_DEADLOCK) |
			  (f->phases ? 0 : vt_phase_mask());
	if (f->nlockmax) {
		s->lockmax = malloc(f->nlockmax * sizeof(*s->lockmax));
		if (!s->lockmax) {
			vt_snapshot_free(s);
			return -ENOMEM;
		}
		memcpy(s->lockmax, f->lockmax, f->nlockmax * sizeof(*s->lockmax));
		s->nlockmax = f->nlockmax;
		for (size_t i = 0; i < s->nlockmax; i++)
			vt_lockmax_from_mutex(f->ks, &s->lockmax[i]);
	}
	s->rows = malloc((f->acc.n ? f->acc.n : 1) * sizeof(*s->rows));
	s->devs = malloc((f->ndevs ? f->ndevs : 1) * sizeof(*s->devs));
	if (!s->rows || !s->devs) {
		vt_snapshot_free(s);
		return -ENOMEM;
	}
	memcpy(s->rows, f->acc.rows, f->acc.n * sizeof(*s->rows));
	s->n = s->cap = f->acc.n;
	memcpy(s->devs, f->devs, f->ndevs * sizeof(*s->devs));
	s->ndevs = f->ndevs;
	return vt_ft_losses(f, s->losses);
}

void vt_ft_read_free(struct vt_ftrace *f)
{
	free(f->locktab);
	free(f->lockmax);
	free(f->named);
	free(f->acc.rows);
	vt_rowidx_free(&f->idx);
	free(f->devs);
	free(f->devmap);
	free(f->threads);
	vt_ft_read_close(f);
	for (int c = 0; f->cpus && c < f->ncpus; c++) {
		if (f->cpus[c].kbuf)
			kbuffer_free(f->cpus[c].kbuf);
		free(f->cpus[c].subbuf);
	}
	free(f->cpus);
	free(f->active);
	free(f->dbg);
}
