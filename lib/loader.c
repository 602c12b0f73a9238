// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend: opens, loads and attaches the fixed points (per point the method probe.c
 * found: fentry, else kprobe, else nothing and a notice), reads the maps into a snapshot
 * (struct vt_snapshot, lib/trace.h) and dispatches the ring buffers' records. The drivers'
 * dma_unmap callbacks and the module loads are lib/callbacks.c's; the state both share is
 * lib/tracer.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "tracer.h"

#define VT_MAX_POINT_PROGS 32

/* A ring callback's return: < 0 ends this poll after the record just handled. */
static int ring_stop(struct vt_tracer *t)
{
	if (vt_stop == VT_STOP_OUTPUT || (vt_stop && !t->draining) || vt_now_ns() >= t->poll_end) {
		t->cut = true;
		return -EINTR;
	}
	return 0;
}

static unsigned features(const struct vt_tracer_opts *o)
{
	return (o->snoop ? VT_FEAT_SNOOP : 0) | (o->locks ? VT_FEAT_LOCKS : 0) |
	       (o->no_alert ? 0 : VT_FEAT_ALERT) | (o->lean ? 0 : VT_FEAT_DETAIL);
}

static bool point_usable(const char *name)
{
	const struct vt_point *p = vt_point_find(name);

	return p && (p->method == VT_M_FENTRY || p->method == VT_M_KPROBE);
}

/* What a snapshot of this tracer cannot contain (struct vt_snapshot). */
static void op_masks(const struct vt_tracer *t, uint32_t *untraced, uint32_t *untimed)
{
	const struct vt_point *pin = vt_point_find("vfio_pin_pages");
	const struct vt_point *ioctl = vt_point_find("vfio_iommu_type1_ioctl");

	*untraced = *untimed = 0;
	if (!(features(&t->opts) & VT_FEAT_DETAIL)) {
		*untraced |= 1u << VT_OP_REMOVE_DMA | 1u << VT_OP_UNMAP_UNPIN;
		if (pin && pin->method == VT_M_FENTRY)
			*untimed |= 1u << VT_OP_PIN | 1u << VT_OP_UNPIN;
		if (ioctl && ioctl->method == VT_M_FENTRY)
			*untimed |= 1u << VT_OP_MAP;
	}
	if (!(features(&t->opts) & VT_FEAT_LOCKS))
		*untraced |= 1u << VT_OP_LOCK_HOLD | 1u << VT_OP_LOCK_DROP;
}

static bool point_wanted(const struct vt_tracer *t, const struct vt_point *p)
{
	return !p->feature || (features(&t->opts) & p->feature);
}

/* Which skeleton programs implement each attach point (lib/probe.c's vt_points): the
 * fentry/fexit pair, its kprobe/kretprobe twin, or a raw tracepoint. Bound through the
 * skeleton's members, so a renamed program is a compile error, never a program that silently
 * stays unloaded. */
struct point_progs {
	const char *point;
	struct bpf_program *fe, *fx, *kp, *kr, *rt;
};

static int bind_points(const struct vfio_trace_bpf *s, struct point_progs *out)
{
#define PAIRS(point, x) { point, s->progs.fe_##x, s->progs.fx_##x, s->progs.kp_##x, s->progs.kr_##x }
	const struct point_progs all[] = {
		PAIRS("vfio_iommu_type1_ioctl", ioctl),
		PAIRS("vfio_remove_dma", remove_dma),
		PAIRS("vfio_unmap_unpin", unmap_unpin),
		PAIRS("vfio_pin_pages", vfio_pin),
		PAIRS("vfio_unpin_pages", vfio_unpin),
		PAIRS("vfio_iommu_type1_pin_pages", t1_pin),
		PAIRS("vfio_iommu_type1_unpin_pages", t1_unpin),
		PAIRS("vfio_iommu_type1_detach_group", detach_group),
		PAIRS("vfio_iommu_type1_release", release),
		{ "vfio_iommu_type1_register_device", s->progs.fe_register, NULL, s->progs.kp_register },
		{ "vfio_iommu_type1_unregister_device", s->progs.fe_unregister, NULL,
		  s->progs.kp_unregister },
		{ "mutex_lock", s->progs.fe_mutex_lock, NULL, s->progs.kp_mutex_lock },
		{ "mutex_unlock", s->progs.fe_mutex_unlock, NULL, s->progs.kp_mutex_unlock },
		{ "module:module_load", .rt = s->progs.rt_module_load },
		{ "lock:contention_begin", .rt = s->progs.rt_contention_begin },
		{ "lock:contention_end", .rt = s->progs.rt_contention_end },
	};
#undef PAIRS
	memcpy(out, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

/* Programs a point's method alone does not decide: the type1 pin/unpin pair is only a
 * fallback for the vfio.ko pair; without VT_FEAT_DETAIL the vfio.ko pair's fentry half is
 * not needed (its fexit sees arguments and result; a kretprobe does not), nor
 * vfio_remove_dma's exit (its entry counts the vfio_dma of a teardown). */
static bool prog_needed(const struct vt_tracer *t, const struct point_progs *b,
			const struct bpf_program *prog)
{
	const struct vfio_trace_bpf *s = t->skel;

	if (!strcmp(b->point, "vfio_iommu_type1_pin_pages"))
		return !point_usable("vfio_pin_pages");
	if (!strcmp(b->point, "vfio_iommu_type1_unpin_pages"))
		return !point_usable("vfio_unpin_pages");
	if (prog == s->progs.fe_vfio_pin || prog == s->progs.fe_vfio_unpin ||
	    prog == s->progs.fx_remove_dma || prog == s->progs.kr_remove_dma)
		return features(&t->opts) & VT_FEAT_DETAIL;
	return true;
}

/* Load what each wanted point's method needs and nothing else. A point of a feature not asked
 * for loads nothing. */
static void set_autoload(struct vt_tracer *t)
{
	struct point_progs b[VT_MAX_POINT_PROGS];
	struct bpf_program *prog;
	int n = bind_points(t->skel, b);

	bpf_object__for_each_program(prog, t->skel->obj)
		bpf_program__set_autoload(prog, false);
	/* every point that has programs is bound (a point added to lib/probe.c but not here
	 * would never be traced) */
	for (int i = 0; i < vt_npoints; i++) {
		int k = 0;

		while (vt_points[i].progs && k < n && strcmp(b[k].point, vt_points[i].name))
			k++;
		if (vt_points[i].progs && k == n)
			vt_warn("internal: no BPF programs bound to %s: not traced", vt_points[i].name);
	}
	/* the open-device iterator */
	bpf_program__set_autoload(t->skel->progs.it_devices, t->skel->rodata->vt_device_fops != 0);
	t->nretarget = 0;
	for (int i = 0; i < n; i++) {
		const struct vt_point *p = vt_point_find(b[i].point);
		struct bpf_program *use[2] = { NULL, NULL };

		if (!p || !point_wanted(t, p))
			continue;
		if (p->method == VT_M_FENTRY) {
			use[0] = b[i].fe;
			use[1] = b[i].fx;
		} else if (p->method == VT_M_KPROBE) {
			use[0] = b[i].kp;
			use[1] = b[i].kr;
		} else if (p->method == VT_M_TRACEPOINT) {
			use[0] = b[i].rt;
		}
		for (int k = 0; k < 2; k++) {
			if (!use[k] || !prog_needed(t, &b[i], use[k]))
				continue;
			bpf_program__set_autoload(use[k], true);
			/* The probed symbol is not the one in the section name (mutex_lock_nested):
			 * retarget fentry now, attach the kprobe by hand after load. */
			if (!p->symbol[0] || !strcmp(p->symbol, p->name))
				continue;
			if (p->method == VT_M_FENTRY) {
				bpf_program__set_attach_target(use[k], 0, p->symbol);
			} else if (p->method == VT_M_KPROBE && t->nretarget < VT_MAX_EXTRA) {
				bpf_program__set_autoattach(use[k], false);
				t->retarget[t->nretarget].prog = use[k];
				t->retarget[t->nretarget].retprobe = k == 1;
				t->retarget[t->nretarget++].p = p;
			}
		}
	}
}

/* kprobes set_autoload() left to attach by hand, on the symbol doctor found. */
static int attach_retargeted(struct vt_tracer *t)
{
	for (int i = 0; i < t->nretarget; i++) {
		const struct vt_point *p = t->retarget[i].p;
		struct bpf_link *l = bpf_program__attach_kprobe(t->retarget[i].prog,
								 t->retarget[i].retprobe, p->symbol);

		if (!l) {
			vt_err("cannot attach a kprobe to %s: %s", p->symbol, strerror(errno));
			return -errno;
		}
		t->extra[t->nextra++] = l;
	}
	return 0;
}

static void note_missing(struct vt_tracer *t)
{
	size_t len = 0;

	t->missing[0] = 0;
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		if (!p->progs || p->method == VT_M_FENTRY || p->method == VT_M_KPROBE ||
		    p->method == VT_M_TRACEPOINT || !point_wanted(t, p))
			continue;
		len += snprintf(t->missing + len, sizeof(t->missing) - len, "%s%s (%s)",
				len ? "; " : "", p->name, p->reason);
		if (len >= sizeof(t->missing))
			break;
	}
}

/* ---- the devices seen, kept in user space -------------------------------------------------
 * The kernel side forgets a device at unregister (its address may return as another device),
 * and a device can come and go between two snapshots; rows keyed by it still need its name.
 * So user space keeps every device it has learned (from vt_devices and the lifecycle ring),
 * bounded: past VT_DEVTAB_MAX the oldest unregistered ones are forgotten first. */
#define VT_DEVTAB_MAX 16384

static struct vt_dev *devtab_get(struct vt_tracer *t, uint64_t vdev, bool create)
{
	for (size_t i = 0; i < t->ndevtab; i++)
		if (t->devtab[i].vdev == vdev)
			return &t->devtab[i];
	if (!create)
		return NULL;
	if (t->ndevtab == VT_DEVTAB_MAX) {
		size_t i = 0;

		while (i < t->ndevtab && t->devtab[i].d.registered)
			i++;
		if (i == t->ndevtab)
			i = 0;
		memmove(&t->devtab[i], &t->devtab[i + 1], (t->ndevtab - i - 1) * sizeof(*t->devtab));
		t->ndevtab--;
	}
	if (t->ndevtab == t->devcap) {
		size_t cap = t->devcap ? t->devcap * 2 : 64;
		struct vt_dev *d = realloc(t->devtab, cap * sizeof(*d));

		if (!d)
			return NULL;
		t->devtab = d;
		t->devcap = cap;
	}
	memset(&t->devtab[t->ndevtab], 0, sizeof(*t->devtab));
	t->devtab[t->ndevtab].vdev = vdev;
	return &t->devtab[t->ndevtab++];
}

/* A device learned or unregistered, as the lifecycle ring tells it. */
static void devtab_event(struct vt_tracer *t, const struct vtr_event *e)
{
	struct vt_dev *d;

	if (e->op != VT_OP_REGISTER && e->op != VT_OP_UNREGISTER && e->op != VT_OP_PIN &&
	    e->op != VT_OP_UNPIN && e->op != VT_OP_CALLBACK)
		return;
	d = devtab_get(t, e->obj, e->op != VT_OP_UNREGISTER);
	if (!d)
		return;
	if (e->op == VT_OP_UNREGISTER) {
		d->d.registered = 0;
		return;
	}
	/* a register may be another device at a gone one's address */
	if (!d->d.name[0] || (e->op == VT_OP_REGISTER && strncmp(d->d.name, e->dev, sizeof(e->dev)))) {
		memset(d->d.driver, 0, sizeof(d->d.driver));
		memcpy(d->d.name, e->dev, sizeof(d->d.name) < sizeof(e->dev) ?
		       sizeof(d->d.name) : sizeof(e->dev));
	}
	d->d.name[sizeof(d->d.name) - 1] = 0;
	if (e->container)
		d->d.container = e->container;
	d->d.dma_unmap = e->aux;
	d->d.tgid = e->tgid;
}

/* The ABBA cycle just closed in the kernel: say so at once, whatever the command shows. */
static void deadlock_alert(const struct vtr_event *e)
{
	const char *held = e->size == VT_KIND_IOMMU_LOCK ? "device_list_lock" : "iommu->lock";
	const char *wanted = e->size == VT_KIND_IOMMU_LOCK ? "iommu->lock" : "device_list_lock";
	char comm[32], vm[128], evm[VT_ESC_SIZE(128)], c1[VT_ESC_SIZE(16)], c2[VT_ESC_SIZE(16)];

	vt_proc_ident(e->tgid, comm, sizeof(comm), vm, sizeof(vm));
	fprintf(stderr, "%s: DEADLOCK in container %#llx%s%s: thread %u (%s) holds %s and waits "
		"for %s, held by thread %lld (%s), which waits for %s (alerted %.0f ms after the "
		"cycle closed)\n", vt_prog, (unsigned long long)e->container, vm[0] ? " of VM " : "",
		vt_esc(evm, sizeof(evm), vm, sizeof(vm)), e->pid,
		vt_esc(c1, sizeof(c1), e->comm, sizeof(e->comm)), held, wanted, (long long)e->ret,
		vt_esc(c2, sizeof(c2), e->dev, 16), held, (vt_now_ns() - e->ts) / 1e6);
}

/* A driver that never unpins raises a RETRY STORM at every UNMAP_DMA, thousands a second: one
 * line a second per container, and how many more there were in one line of their own. */
#define VT_ALERT_EVERY_NS 1000000000ULL
#define VT_NALERTS (sizeof(((struct vt_tracer *)0)->retry_alerts) / sizeof(struct vt_retry_alert))

static void retry_alert_flush(struct vt_retry_alert *a)
{
	if (a->more)
		vt_warn("%llu more retry storms in container %#llx since the last line about it "
			"(one line a second per container)", (unsigned long long)a->more,
			(unsigned long long)a->container);
	a->more = 0;
}

static bool retry_alert_due(struct vt_tracer *t, uint64_t container)
{
	struct vt_retry_alert *a = NULL, *oldest = &t->retry_alerts[0];
	uint64_t now = vt_now_ns();

	for (size_t i = 0; i < VT_NALERTS && !a; i++) {
		if (t->retry_alerts[i].container == container)
			a = &t->retry_alerts[i];
		else if (t->retry_alerts[i].last_ns < oldest->last_ns)
			oldest = &t->retry_alerts[i];
	}
	if (!a) {		/* a container not alerting lately: the least recent slot */
		retry_alert_flush(oldest);
		a = oldest;
		a->container = container;
		a->last_ns = 0;
	}
	if (a->last_ns && now - a->last_ns < VT_ALERT_EVERY_NS) {
		a->more++;
		return false;
	}
	retry_alert_flush(a);
	a->last_ns = now;
	return true;
}

/* The counts held back, once their second is over (or at the end). */
static void retry_alerts_flush(struct vt_tracer *t, bool all)
{
	uint64_t now = vt_now_ns();

	for (size_t i = 0; i < VT_NALERTS; i++)
		if (t->retry_alerts[i].more &&
		    (all || now - t->retry_alerts[i].last_ns >= VT_ALERT_EVERY_NS))
			retry_alert_flush(&t->retry_alerts[i]);
}

static int lifecycle_cb(void *ctx, void *data, size_t len)
{
	struct vt_tracer *t = ctx;
	const struct vtr_event *e = data;

	if (len < sizeof(*e))
		return 0;
	if (e->op == VT_OP_RETRY) {
		char comm[VT_ESC_SIZE(16)];

		if (retry_alert_due(t, e->container))
			vt_warn("RETRY STORM in container %#llx: UNMAP_DMA by thread %u (%s) notified "
				"the vfio_dma at iova %#llx (%llu bytes) %u times in a row: a driver's "
				"dma_unmap callback does not unpin it, and the kernel BUG()s after 10",
				(unsigned long long)e->container, e->pid,
				vt_esc(comm, sizeof(comm), e->comm, sizeof(e->comm)),
				(unsigned long long)e->iova, (unsigned long long)e->size,
				e->retries + 1);
		if (t->opts.on_event)
			t->opts.on_event(t->opts.ctx, e, true);
		return ring_stop(t);
	}
	if (e->op == VT_OP_DEADLOCK) {
		deadlock_alert(e);
		if (t->opts.on_event)
			t->opts.on_event(t->opts.ctx, e, true);
		return ring_stop(t);
	}
	if (e->op == VT_EV_MODULE_LOAD) {
		char mod[VT_MODNAME_LEN];
		const char *m = mod;

		snprintf(mod, sizeof(mod), "%.*s", (int)sizeof(e->dev), e->dev);
		vt_cb_attach_modules(t, &m, 1);
		if (e->ret)
			vt_hold_release(t, e->tgid);
		return ring_stop(t);
	}
	devtab_event(t, e);
	if (e->aux && e->op != VT_OP_UNREGISTER) {
		char dev[VT_ESC_SIZE(sizeof(e->dev))];

		vt_cb_attach_device(t, e->aux, e->dev[0] ? vt_esc(dev, sizeof(dev), e->dev,
							      sizeof(e->dev)) : "a device");
	}
	if (t->opts.on_event)
		t->opts.on_event(t->opts.ctx, e, true);
	return ring_stop(t);
}

static int event_cb(void *ctx, void *data, size_t len)
{
	struct vt_tracer *t = ctx;

	if (len >= sizeof(struct vtr_event) && t->opts.on_event)
		t->opts.on_event(t->opts.ctx, data, false);
	return ring_stop(t);
}

static unsigned stats_entries(int ncpus, size_t value)
{
	size_t n = (32u << 20) / (value * (ncpus > 0 ? ncpus : 1));

	return n < 128 ? 128 : n > 4096 ? 4096 : n;
}

/* Hot-row slots (vt_rowc): a power of two, 64 where 4 MiB allow it, at least 8;
 * VFIO_TRACE_HOT_ROWS=N (a power of two up to 64) sets it, so the lab can send most keys
 * through vt_stats (N=1) and check that both add up. */
static unsigned rowc_slots(int ncpus)
{
	size_t n = (4u << 20) / (sizeof(struct vtr_rowc) * (ncpus > 0 ? ncpus : 1));
	const char *e = getenv("VFIO_TRACE_HOT_ROWS");
	unsigned slots = 8;

	if (e) {
		unsigned long v = strtoul(e, NULL, 10);

		if (v >= 1 && v <= 64 && !(v & (v - 1)))
			return v;
	}
	while (slots < 64 && slots * 2 <= n)
		slots *= 2;
	return slots;
}

/* Add one stats value into the snapshot's row of its key (a new row when there is none),
 * found through idx (lib/model.c): O(1), so a snapshot of n rows costs O(n). */
static int add_row(struct vt_snapshot *s, struct vt_rowidx *idx, const struct vtr_key *key,
		   const struct vtr_stat *v)
{
	struct vt_row *row = vt_rowidx_find(idx, s->rows, key);

	if (!row) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct vt_row *r = realloc(s->rows, cap * sizeof(*r));

			if (!r)
				return -ENOMEM;
			s->rows = r;
			s->cap = cap;
		}
		row = &s->rows[s->n];
		memset(row, 0, sizeof(*row));
		row->key = *key;
		if (vt_rowidx_add(idx, s->rows, s->n))
			return -ENOMEM;
		s->n++;
	}
	vt_stat_add(&row->st, v);
	return 0;
}

/* Add every row of a stats map (per-CPU values summed when percpu) into s. */
/* One key's stats, summed over the CPUs into vals[0] (vals: room for ncpus); 0, or -errno. */
static int stat_read(int fd, const struct vtr_key *key, bool percpu, int ncpus, struct vtr_stat *vals)
{
	if (bpf_map_lookup_elem(fd, key, vals))
		return -errno;
	for (int c = 1; c < (percpu ? ncpus : 1); c++)
		vt_stat_add(&vals[0], &vals[c]);
	return 0;
}

static int read_stats(int fd, bool percpu, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx)
{
	struct vtr_stat *vals = calloc(percpu ? ncpus : 1, sizeof(*vals));
	struct vtr_key key, next, *prev = NULL;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	/* Never deleted from, so walking the keys cannot lose an update: counters only grow. */
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (stat_read(fd, &key, percpu, ncpus, vals))
			continue;
		/* The spill map's and the hot rows' keys may repeat the per-CPU map's. */
		err = add_row(s, idx, &key, &vals[0]);
	}
	free(vals);
	return err;
}

/* Add the hot rows (vt_rowc: per CPU, each slot owned by one key or free) into s. */
static int read_rowc(int fd, unsigned slots, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx)
{
	struct vtr_rowc *vals = calloc(ncpus, sizeof(*vals));
	int err = 0;

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; !err && i < slots; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; !err && c < ncpus; c++)
			if (vals[c].key.obj > VT_ROWC_CLAIMING)
				err = add_row(s, idx, &vals[c].key, &vals[c].st);
	}
	free(vals);
	return err;
}

/* ---- rows of processes that have gone ---------------------------------------------------
 * The kernel side never deletes a stats row: while its process lives a key can change at any
 * moment. Once the process has gone (reaped: its teardown ran in its exit, before that) its
 * keys cannot change any more, so user space moves them out of vt_stats and the spill map into
 * its own table, and a host that runs VMs for months does not fill the maps. The hot rows stay
 * (per-CPU slots that a write from user space would race with on the other CPUs; 64 a CPU).
 * Every 5 s (VFIO_TRACE_RETIRE_S sets it, 0: every snapshot, for the lab). */
static bool process_gone(uint32_t tgid)
{
	return tgid && kill(tgid, 0) < 0 && errno == ESRCH;
}

static int retire_map(struct vt_tracer *t, int fd, bool percpu)
{
	struct vtr_key key, next, *prev = NULL, *gone = NULL;
	struct vtr_stat *vals = calloc(percpu ? t->ncpus : 1, sizeof(*vals));
	size_t n = 0, cap = 0;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!process_gone(key.tgid))
			continue;
		if (n == cap) {
			struct vtr_key *g = realloc(gone, (cap = cap ? cap * 2 : 64) * sizeof(*g));

			if (!g) {
				err = -ENOMEM;
				break;
			}
			gone = g;
		}
		gone[n++] = key;
	}
	/* deleted after the walk: get_next_key from a deleted key starts over */
	for (size_t i = 0; !err && i < n; i++) {
		if (stat_read(fd, &gone[i], percpu, t->ncpus, vals))
			continue;
		err = add_row(&t->retired, &t->retired_idx, &gone[i], &vals[0]);
		if (!err)
			bpf_map_delete_elem(fd, &gone[i]);
	}
	free(gone);
	free(vals);
	return err;
}

static void retire_gone(struct vt_tracer *t)
{
	const char *e = getenv("VFIO_TRACE_RETIRE_S");
	uint64_t every = (e ? strtoull(e, NULL, 10) : 5) * 1000000000ULL, now = vt_now_ns();

	if (now - t->retired_at < every)
		return;
	t->retired_at = now;
	if (retire_map(t, bpf_map__fd(t->skel->maps.vt_stats), true) ||
	    retire_map(t, bpf_map__fd(t->skel->maps.vt_stats_spill), false))
		vt_warn("cannot move the rows of processes that have gone out of the maps: %s",
			strerror(ENOMEM));
}

/* Devices already open (VMs running before vfio-trace): one pass of the task_file iterator
 * learns them, and the lifecycle ring attaches their callbacks before tracing begins. */
static void find_open_devices(struct vt_tracer *t)
{
	struct bpf_link *l = t->skel->links.it_devices;
	char buf[64];
	int fd, n = 0;

	if (!l) {
		vt_warn("cannot list the VFIO devices open before start (no vfio_device_fops in "
			"kallsyms): their callbacks are attached at their next pin or unpin");
		return;
	}
	fd = bpf_iter_create(bpf_link__fd(l));
	if (fd < 0) {
		vt_warn("cannot run the open-device iterator: %s", strerror(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	t->poll_end = vt_now_ns() + 2000000000ull;
	while ((n = ring_buffer__poll(t->rb, 0)) > 0)
		;
}

static int open_and_load(struct vt_tracer *t, const struct vt_tracer_opts *opts)
{
	const struct vt_ksym *fops = vt_ksyms_data(t->ks, "vfio_device_fops", "vfio");
	__u32 ring, slots;

	t->skel = vfio_trace_bpf__open();
	if (!t->skel) {
		vt_err("cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	t->skel->rodata->vt_features = features(opts);
	t->skel->rodata->vt_targ_tgid = opts->tgid;
	t->skel->rodata->vt_hold_modules = !opts->no_hold;
	t->skel->rodata->vt_device_fops = fops ? fops->addr : 0;
	set_autoload(t);
	/* The per-CPU stats are preallocated: about 32 MiB whatever the CPU count, 128..4096 keys
	 * (the spill map takes the rest). VFIO_TRACE_STATS_ENTRIES=N shrinks both to N keys, so
	 * the lab can fill them and check that every observation left out is counted. */
	bpf_map__set_max_entries(t->skel->maps.vt_stats,
				 stats_entries(t->ncpus, sizeof(struct vtr_stat)));
	if (getenv("VFIO_TRACE_STATS_ENTRIES")) {
		unsigned long n = strtoul(getenv("VFIO_TRACE_STATS_ENTRIES"), NULL, 10);

		if (n >= 1 && n <= 65536) {
			bpf_map__set_max_entries(t->skel->maps.vt_stats, n);
			bpf_map__set_max_entries(t->skel->maps.vt_stats_spill, n);
		}
	}
	slots = rowc_slots(t->ncpus);
	bpf_map__set_max_entries(t->skel->maps.vt_rowc, slots);
	t->skel->rodata->vt_rowc_mask = slots - 1;
	/* The per-event ring costs memory only when snoop asks for it. */
	bpf_map__set_max_entries(t->skel->maps.vt_events,
				 (opts->snoop ? (opts->ringbuf_pages ? opts->ringbuf_pages : 64) : 1) *
				 getpagesize());
	/* Readers poll every 100 ms at most (vt_tracer_wait); the records that find the ring a
	 * quarter full, up to a band of 1/16 of it but at least ~15 records, wake them
	 * (bpf/vt_core.bpf.h). */
	ring = bpf_map__max_entries(t->skel->maps.vt_events);
	t->skel->rodata->vt_events_wake = ring / 4;
	t->skel->rodata->vt_events_band = ring / 16 > 2048 ? ring / 16 : 2048;
	return vfio_trace_bpf__load(t->skel);
}

/* The process's peak RSS so far (what wait4's ru_maxrss reports at exit), in MiB. */
static double vmhwm_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024.0;
}

/* Undo a load (and attach) that is to be retried with kprobes. */
static void unload(struct vt_tracer *t)
{
	if (t->skel)
		vt_hold_release_all(t);
	vt_guard_stop(t);
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	t->nextra = 0;
	vfio_trace_bpf__destroy(t->skel);
	t->skel = NULL;
}

#define VT_MAX_HOLDERS 64

int vt_tracer_open(struct vt_tracer **out, const struct vt_tracer_opts *opts)
{
	char holders[VT_MAX_HOLDERS][VT_MODNAME_LEN];
	const char *holder_names[VT_MAX_HOLDERS + 1];
	int nholders;
	struct vt_tracer *t = calloc(1, sizeof(*t));
	const char *blocker, *step;
	int err, nprog = 0;
	struct bpf_program *prog;
	uint64_t t0 = vt_now_ns(), t1, t2 = 0, t3 = 0;

	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	/* Only the symbols of the modules using vfio.ko and a few vmlinux names. */
	nholders = vt_vfio_holders("/sys/module", holders, VT_MAX_HOLDERS);
	for (int i = 0; i < nholders; i++)
		holder_names[i] = holders[i];
	holder_names[nholders > 0 ? nholders : 0] = NULL;
	t->ks = vt_ksyms_load_with(holder_names);
	t1 = vt_now_ns();
	/* No test attaches: the skeleton's own load and attach are the test. */
	vt_env_probe(&t->env, true);
	if (opts->force_kprobe)
		t->env.force_kprobe = true;
	if (t->env.force_kprobe)
		t->env.fentry_works = false;
	t->ncpus = libbpf_num_possible_cpus();
	for (;;) {
		vt_points_probe(&t->env, t->ks);
		blocker = vt_env_blocker(&t->env);
		if (blocker) {
			vt_err("%s", blocker);
			err = -ENOTSUP;
			goto fail;
		}
		if (!t2)
			t2 = vt_now_ns();
		step = "load";
		err = open_and_load(t, opts);
		if (!err) {
			t3 = vt_now_ns();
			step = "attach";
			if (!opts->no_hold)
				vt_guard_start(t);
			err = vfio_trace_bpf__attach(t->skel);
			if (!err)
				err = attach_retargeted(t);
			if (!err)
				break;
		}
		unload(t);
		/* A function fentry cannot take (no BTF for it, say), a kernel that refuses
		 * trampolines: everything by kprobe. */
		if (t->env.force_kprobe || !t->env.kprobes) {
			vt_err("cannot %s the BPF programs: %s (run with -v for libbpf's messages)",
			       step, strerror(-err));
			goto fail;
		}
		vt_warn("fentry programs did not %s (%s): using kprobes", step, strerror(-err));
		t->env.force_kprobe = true;
		t->env.fentry_works = false;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.vt_lifecycle), lifecycle_cb, t, NULL);
	if (!t->rb || (opts->snoop &&
		       ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.vt_events), event_cb, t))) {
		vt_err("cannot set up the ring buffers: %s", strerror(errno));
		err = -errno;
		goto fail;
	}
	/* Every function that can be a callback, before tracing starts: a device that opens,
	 * pins and unmaps in the next millisecond is traced from its first callback. */
	if (nholders > 0)
		vt_cb_attach_modules(t, holder_names, nholders);
	find_open_devices(t);
	note_missing(t);
	bpf_object__for_each_program(prog, t->skel->obj)
		nprog += bpf_program__autoload(prog);
	vt_dbg("start-up: kallsyms %.2f s (%zu symbols kept), probe %.2f s, load %.2f s, attach "
	       "%.2f s, peak RSS (VmHWM) %.1f MiB", (t1 - t0) / 1e9, vt_ksyms_count(t->ks),
	       (t2 - t1) / 1e9, (t3 - t2) / 1e9, (vt_now_ns() - t3) / 1e9, vmhwm_mib());
	fprintf(stderr, "%s: attached %d programs (%s), tracing\n", vt_prog, nprog,
		vt_method_name(vt_point_find("vfio_iommu_type1_ioctl")->method));
	if (t->missing[0])
		vt_warn("not traced on this kernel: %s", t->missing);
	/* What attaching callbacks later still takes, nothing more (lib/caps.c). */
	vt_caps_after_attach(VT_CAPS_TRACER);
	*out = t;
	return 0;
fail:
	vt_tracer_close(t);
	return err;
}

int vt_tracer_poll(struct vt_tracer *t, int timeout_ms)
{
	int n, c;

	if (vt_stop == VT_STOP_OUTPUT)
		return 0;
	/* The records of at most timeout + 100 ms, then the caller gets control back. */
	t->poll_end = vt_now_ns() + (uint64_t)(timeout_ms + 100) * 1000000;
	t->cut = false;
	n = ring_buffer__poll(t->rb, timeout_ms);
	if (n == -EINTR)
		n = 0;
	if (n < 0 || t->cut)
		return n;
	/* snoop's events come without a wake-up until a quarter of the ring fills (vt_account):
	 * epoll does not see them, so read every ring once the wait is over. */
	c = ring_buffer__consume(t->rb);
	if (!t->opts.no_hold)
		vt_hold_release_stale(t);
	retry_alerts_flush(t, false);
	return c > 0 ? n + c : n;
}

bool vt_tracer_wait(struct vt_tracer *t, uint64_t until)
{
	while (!vt_stop && !vt_out_gone()) {
		uint64_t now = vt_now_ns(), left;

		if (now >= until)
			return true;
		left = (until - now) / 1000000;
		vt_tracer_poll(t, left > 100 ? 100 : (int)left + 1);
	}
	return false;
}

void vt_tracer_drain(struct vt_tracer *t)
{
	uint64_t end = (vt_stop_ns ? vt_stop_ns : vt_now_ns()) + VT_DRAIN_MS * 1000000ull;

	if (vt_stop == VT_STOP_OUTPUT || vt_now_ns() >= end)
		return;
	t->draining = true;
	t->poll_end = end;
	t->cut = false;
	ring_buffer__consume(t->rb);
	t->draining = false;
}

struct vt_ksyms *vt_tracer_ksyms(struct vt_tracer *t)
{
	return t->ks;
}

void vt_prog_report(struct bpf_program *p, const char *name, vt_prog_fn fn, void *ctx)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	const char *sec = bpf_program__section_name(p);
	char method[16];

	if (bpf_program__fd(p) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		memset(&info, 0, sizeof(info));
	snprintf(method, sizeof(method), "%.*s", (int)strcspn(sec, "/.+"), sec);
	fn(ctx, name, method, info.run_time_ns, info.run_cnt);
}

void vt_tracer_programs(struct vt_tracer *t, vt_prog_fn fn, void *ctx)
{
	const struct bpf_object_skeleton *s = t->skel->skeleton;

	for (int i = 0; i < s->prog_cnt; i++)
		if (*s->progs[i].link)
			vt_prog_report(*s->progs[i].prog, s->progs[i].name, fn, ctx);
	for (int i = 0; i < t->nextra && i < t->nretarget; i++)
		vt_prog_report(t->retarget[i].prog, bpf_program__name(t->retarget[i].prog), fn, ctx);
	vt_cb_programs(t, fn, ctx);
}

const char *vt_tracer_missing(struct vt_tracer *t)
{
	return t->missing;
}

static int read_lockmax(struct vt_tracer *t, struct vt_snapshot *s)
{
	int fd = bpf_map__fd(t->skel->maps.vt_lock_max);
	int sfd = bpf_map__fd(t->skel->maps.vt_stacks);
	struct vtr_lock_key k, cur, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		struct vt_lockmax *lm, *arr;

		cur = k;
		prev = &cur;
		arr = realloc(s->lockmax, (s->nlockmax + 1) * sizeof(*arr));
		if (!arr)
			return -1;
		s->lockmax = arr;
		lm = &arr[s->nlockmax];
		memset(lm, 0, sizeof(*lm));
		lm->key = cur;
		if (bpf_map_lookup_elem(fd, &cur, &lm->m))
			continue;
		if (lm->m.stack_id >= 0 && !bpf_map_lookup_elem(sfd, &lm->m.stack_id, lm->stack)) {
			int first = 0;

			while (lm->nstack < 32 && lm->stack[lm->nstack])
				lm->nstack++;
			/* The top frames are the BPF program, its subprogram and trampoline (not in
			 * our kallsyms copy; how many depends on the kernel): start the stack at
			 * the mutex_unlock being traced. */
			for (int f = 0; f < lm->nstack; f++) {
				const struct vt_ksym *ks = vt_ksyms_by_addr(t->ks, lm->stack[f]);

				if (ks && (!strncmp(ks->name, "mutex_unlock", 12) ||
					   !strncmp(ks->name, "mutex_lock", 10))) {
					first = f;
					break;
				}
			}
			memmove(lm->stack, lm->stack + first, (lm->nstack - first) * sizeof(lm->stack[0]));
			lm->nstack -= first;
		}
		s->nlockmax++;
	}
	return 0;
}

const char *vt_tracer_ksym(struct vt_tracer *t, uint64_t addr, char *buf, size_t len)
{
	const struct vt_ksym *k = vt_ksyms_by_addr(t->ks, addr);

	if (!k)
		snprintf(buf, len, "%#llx", (unsigned long long)addr);
	else
		snprintf(buf, len, "%s+%#llx%s%s%s", k->name, (unsigned long long)(addr - k->addr),
			 k->module ? " [" : "", k->module ? k->module : "", k->module ? "]" : "");
	return buf;
}

int vt_tracer_losses(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX])
{
	int fd = bpf_map__fd(t->skel->maps.vt_losses);
	uint64_t *lv = calloc(t->ncpus, sizeof(*lv));

	if (!lv)
		return -ENOMEM;
	for (__u32 i = 0; i < VT_LOSS_MAX; i++) {
		losses[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, lv))
			continue;
		for (int c = 0; c < t->ncpus; c++)
			losses[i] += lv[c];
	}
	free(lv);
	return 0;
}

int vt_tracer_snapshot(struct vt_tracer *t, struct vt_snapshot *s)
{
	int fd;
	struct vtr_device dev;
	uint64_t vdev, cur, *pv = NULL;
	struct vt_rowidx idx = {};
	int err;

	memset(s, 0, sizeof(*s));
	s->ts = vt_now_ns();
	op_masks(t, &s->untraced_ops, &s->untimed_ops);
	err = read_stats(bpf_map__fd(t->skel->maps.vt_stats), true, t->ncpus, s, &idx);
	if (!err)
		err = read_stats(bpf_map__fd(t->skel->maps.vt_stats_spill), false, 1, s, &idx);
	if (!err)
		err = read_rowc(bpf_map__fd(t->skel->maps.vt_rowc), t->skel->rodata->vt_rowc_mask + 1,
				t->ncpus, s, &idx);
	for (size_t i = 0; !err && i < t->retired.n; i++)
		err = add_row(s, &idx, &t->retired.rows[i].key, &t->retired.rows[i].st);
	vt_rowidx_free(&idx);
	/* after the read: what was just read stays in the maps or moves, never both */
	if (!err)
		retire_gone(t);
	if (err)
		goto oom;
	if (vt_tracer_losses(t, s->losses))
		goto oom;
	/* Devices the kernel side knows now, into the table of every device seen. */
	vt_tracer_poll(t, 0);
	fd = bpf_map__fd(t->skel->maps.vt_devices);
	while (!bpf_map_get_next_key(fd, pv, &vdev)) {
		struct vt_dev *d;

		cur = vdev;
		pv = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &dev))
			continue;
		d = devtab_get(t, cur, true);
		if (!d)
			goto oom;
		d->d = dev;
		/* A device whose lifecycle record was lost still gets its callback. */
		if (dev.dma_unmap) {
			char name[VT_ESC_SIZE(sizeof(dev.name))];

			vt_cb_attach_device(t, dev.dma_unmap, dev.name[0] ? vt_esc(name, sizeof(name),
					dev.name, sizeof(dev.name)) : "a device");
		}
	}
	s->devs = malloc((t->ndevtab ? t->ndevtab : 1) * sizeof(*s->devs));
	if (!s->devs)
		goto oom;
	memcpy(s->devs, t->devtab, t->ndevtab * sizeof(*s->devs));
	s->ndevs = t->ndevtab;
	if (t->opts.locks && read_lockmax(t, s))
		goto oom;
	return 0;
oom:
	return -ENOMEM;
}

void vt_tracer_close(struct vt_tracer *t)
{
	if (!t)
		return;
	if (t->skel)
		vt_hold_release_all(t);
	vt_guard_stop(t);
	retry_alerts_flush(t, true);
	ring_buffer__free(t->rb);
	vt_cb_detach_all(t);
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	vfio_trace_bpf__destroy(t->skel);
	vt_ksyms_free(t->ks);
	free(t->devtab);
	vt_snapshot_free(&t->retired);
	vt_rowidx_free(&t->retired_idx);
	free(t);
}
