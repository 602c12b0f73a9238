// SPDX-License-Identifier: GPL-2.0
/*
 * The one place that opens, loads and attaches BPF. Per attach point it uses the method
 * probe.c found (fentry, else kprobe, else nothing and a notice); the drivers' dma_unmap
 * callbacks are attached when the kernel side first sees a device's ops (lifecycle ring).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "vfio_trace.skel.h"
#include "callback.skel.h"

#define VT_MAX_CB 64
#define VT_MAX_EXTRA 8

struct vt_cb_target {
	uint64_t addr;
	char sym[160];		/* "module:function" for kprobes */
	enum vt_method method;
	struct callback_bpf *obj;	/* fentry: one object per target */
	struct bpf_link *links[2];
};

struct vt_tracer {
	struct vt_tracer_opts opts;
	struct vt_env env;
	struct vt_ksyms *ks;
	struct vfio_trace_bpf *skel;
	struct ring_buffer *rb;
	struct callback_bpf *kp_cb;	/* the kprobe instance, attached to every target */
	struct vt_cb_target cbs[VT_MAX_CB];
	int ncbs;
	char missing[512];
	int ncpus;
	struct bpf_link *extra[VT_MAX_EXTRA];	/* kprobes attached by hand (retargeted) */
	int nextra;
	/* Under a steady stream libbpf's consume loop never runs dry: the ring callbacks end it
	 * (ring_stop()) at poll_end, or at once on a stop unless draining. */
	uint64_t poll_end;
	bool draining, cut;
};

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

/* Programs a point's method alone does not decide: the type1 pin/unpin pair is only a
 * fallback for the vfio.ko pair, and without VT_FEAT_DETAIL the vfio.ko pair's fentry half
 * is not needed (its fexit sees arguments and result; a kretprobe does not). */
static bool prog_needed(const struct vt_tracer *t, const char *name)
{
	const char *base = name + 3;

	if (!strcmp(base, "t1_pin"))
		return !point_usable("vfio_pin_pages");
	if (!strcmp(base, "t1_unpin"))
		return !point_usable("vfio_unpin_pages");
	if (!strcmp(name, "fe_vfio_pin") || !strcmp(name, "fe_vfio_unpin"))
		return features(&t->opts) & VT_FEAT_DETAIL;
	return true;
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

/* fe_/fx_ → fentry twin, kp_/kr_ → kprobe twin, rt_ → raw tracepoint, of the point whose
 * program base name follows the prefix. A point of a feature not asked for loads nothing. */
static void set_autoload(struct vt_tracer *t)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, t->skel->obj) {
		const char *name = bpf_program__name(prog), *base = name + 3;
		enum vt_method want = VT_M_KPROBE, m = VT_M_NONE;

		if (!strncmp(name, "it_", 3)) {	/* the open-device iterator */
			bpf_program__set_autoload(prog, t->skel->rodata->vt_device_fops != 0);
			continue;
		}
		if (!strncmp(name, "fe_", 3) || !strncmp(name, "fx_", 3))
			want = VT_M_FENTRY;
		else if (!strncmp(name, "rt_", 3))
			want = VT_M_TRACEPOINT;
		const struct vt_point *p = NULL;

		for (int i = 0; i < vt_npoints; i++)
			if (vt_points[i].progs && !strcmp(vt_points[i].progs, base) &&
			    point_wanted(t, &vt_points[i]))
				p = &vt_points[i];
		if (p)
			m = p->method;
		bpf_program__set_autoload(prog, m == want && prog_needed(t, name));
		/* The probed symbol is not the one in the section name (mutex_lock_nested):
		 * retarget fentry now, attach the kprobe by hand after load. */
		if (m == want && p->symbol[0] && strcmp(p->symbol, p->name)) {
			if (want == VT_M_FENTRY)
				bpf_program__set_attach_target(prog, 0, p->symbol);
			else if (want == VT_M_KPROBE)
				bpf_program__set_autoattach(prog, false);
		}
	}
}

/* kprobes set_autoload() left to attach by hand, on the symbol doctor found. */
static int attach_retargeted(struct vt_tracer *t)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, t->skel->obj) {
		const char *name = bpf_program__name(prog);
		struct bpf_link *l;

		if (!bpf_program__autoload(prog) || bpf_program__autoattach(prog) ||
		    strncmp(name, "kp_", 3) || t->nextra == VT_MAX_EXTRA)
			continue;
		for (int i = 0; i < vt_npoints; i++) {
			const struct vt_point *p = &vt_points[i];

			if (!p->progs || strcmp(p->progs, name + 3))
				continue;
			l = bpf_program__attach_kprobe(prog, false, p->symbol);
			if (!l) {
				vt_err("cannot attach a kprobe to %s: %s", p->symbol, strerror(errno));
				return -errno;
			}
			t->extra[t->nextra++] = l;
		}
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

static int reuse_maps(struct vt_tracer *t, struct callback_bpf *cb)
{
	struct {
		struct bpf_map *dst, *src;
	} m[] = {
		{ cb->maps.vt_stats, t->skel->maps.vt_stats },
		{ cb->maps.vt_rowc, t->skel->maps.vt_rowc },
		{ cb->maps.vt_stats_spill, t->skel->maps.vt_stats_spill },
		{ cb->maps.vt_zero, t->skel->maps.vt_zero },
		{ cb->maps.vt_losses, t->skel->maps.vt_losses },
		{ cb->maps.vt_devices, t->skel->maps.vt_devices },
		{ cb->maps.vt_unmaps, t->skel->maps.vt_unmaps },
		{ cb->maps.vt_calls, t->skel->maps.vt_calls },
		{ cb->maps.vt_events, t->skel->maps.vt_events },
		{ cb->maps.vt_lifecycle, t->skel->maps.vt_lifecycle },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (bpf_map__reuse_fd(m[i].dst, bpf_map__fd(m[i].src)))
			return -1;
	/* Per-task callback state is shared by every callback instance too. */
	if (t->kp_cb && t->kp_cb != cb)
		return bpf_map__reuse_fd(cb->maps.vt_cbs, bpf_map__fd(t->kp_cb->maps.vt_cbs));
	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].obj && t->cbs[i].obj != cb)
			return bpf_map__reuse_fd(cb->maps.vt_cbs, bpf_map__fd(t->cbs[i].obj->maps.vt_cbs));
	return 0;
}

static struct callback_bpf *cb_open(struct vt_tracer *t, bool fentry, const char *func)
{
	struct callback_bpf *cb = callback_bpf__open();

	if (!cb)
		return NULL;
	cb->rodata->vt_features = t->skel->rodata->vt_features;
	cb->rodata->vt_targ_tgid = t->skel->rodata->vt_targ_tgid;
	cb->rodata->vt_events_wake = t->skel->rodata->vt_events_wake;
	cb->rodata->vt_rowc_mask = t->skel->rodata->vt_rowc_mask;
	cb->rodata->vt_events_band = t->skel->rodata->vt_events_band;
	bpf_program__set_autoload(cb->progs.fe_callback, fentry);
	bpf_program__set_autoload(cb->progs.fx_callback, fentry);
	bpf_program__set_autoload(cb->progs.kp_callback, !fentry);
	bpf_program__set_autoload(cb->progs.kr_callback, !fentry);
	if (fentry && (bpf_program__set_attach_target(cb->progs.fe_callback, 0, func) ||
		       bpf_program__set_attach_target(cb->progs.fx_callback, 0, func)))
		goto fail;
	if (reuse_maps(t, cb) || callback_bpf__load(cb))
		goto fail;
	return cb;
fail:
	callback_bpf__destroy(cb);
	return NULL;
}

static int attach_callback(struct vt_tracer *t, uint64_t addr, const char *devname)
{
	const struct vt_ksym *s;
	struct vt_cb_target *c;
	char why[128] = "";

	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].addr == addr)
			return 0;
	if (t->ncbs == VT_MAX_CB) {
		vt_warn("too many distinct dma_unmap callbacks; %s's is not traced", devname);
		return -1;
	}
	/* Drivers' modules are not in the start-up table: one kallsyms pass for this address. */
	s = vt_ksyms_at(t->ks, addr);
	if (!s) {
		vt_warn("dma_unmap callback of %s at %#llx has no symbol: not traced", devname,
			(unsigned long long)addr);
		return -1;
	}
	c = &t->cbs[t->ncbs];
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	if (s->module)
		snprintf(c->sym, sizeof(c->sym), "%s:%s", s->module, s->name);
	else
		snprintf(c->sym, sizeof(c->sym), "%s", s->name);

	if (t->env.fentry_works && !t->opts.force_kprobe) {
		c->obj = cb_open(t, true, s->name);
		if (c->obj) {
			c->links[0] = bpf_program__attach(c->obj->progs.fe_callback);
			c->links[1] = bpf_program__attach(c->obj->progs.fx_callback);
			if (c->links[0] && c->links[1]) {
				c->method = VT_M_FENTRY;
				goto done;
			}
			snprintf(why, sizeof(why), "fentry attach: %s; ", strerror(errno));
			bpf_link__destroy(c->links[0]);
			bpf_link__destroy(c->links[1]);
			callback_bpf__destroy(c->obj);
			memset(c->links, 0, sizeof(c->links));
			c->obj = NULL;
		} else {
			snprintf(why, sizeof(why), "fentry load: %s; ", strerror(errno));
		}
	}
	if (!t->kp_cb)
		t->kp_cb = cb_open(t, false, NULL);
	if (t->kp_cb) {
		c->links[0] = bpf_program__attach_kprobe(t->kp_cb->progs.kp_callback, false, c->sym);
		c->links[1] = bpf_program__attach_kprobe(t->kp_cb->progs.kr_callback, true, c->sym);
		if (c->links[0] && c->links[1]) {
			c->method = VT_M_KPROBE;
			goto done;
		}
		bpf_link__destroy(c->links[0]);
		bpf_link__destroy(c->links[1]);
	}
	vt_warn("cannot attach to %s's dma_unmap callback %s: %skprobe: %s", devname, c->sym, why,
		strerror(errno));
	return -1;
done:
	t->ncbs++;
	fprintf(stderr, "%s: attached dma_unmap callback %s (%s) for %s\n", vt_prog, c->sym,
		vt_method_name(c->method), devname);
	return 0;
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

static int lifecycle_cb(void *ctx, void *data, size_t len)
{
	struct vt_tracer *t = ctx;
	const struct vtr_event *e = data;

	if (len < sizeof(*e))
		return 0;
	if (e->op == VT_OP_RETRY) {
		char comm[VT_ESC_SIZE(16)];

		vt_warn("RETRY STORM in container %#llx: UNMAP_DMA by thread %u (%s) notified the "
			"vfio_dma at iova %#llx (%llu bytes) %u times in a row: a driver's dma_unmap "
			"callback does not unpin it, and the kernel BUG()s after 10",
			(unsigned long long)e->container, e->pid,
			vt_esc(comm, sizeof(comm), e->comm, sizeof(e->comm)),
			(unsigned long long)e->iova, (unsigned long long)e->size, e->retries + 1);
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
	if (e->aux && e->op != VT_OP_UNREGISTER) {
		char dev[VT_ESC_SIZE(sizeof(e->dev))];

		attach_callback(t, e->aux, e->dev[0] ? vt_esc(dev, sizeof(dev), e->dev,
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

/* Add one stats value into the snapshot's row of its key (a new row when there is none). */
static int add_row(struct vt_snapshot *s, const struct vtr_key *key, const struct vtr_stat *v,
		   bool unique)
{
	struct vt_row *row = NULL;

	for (size_t i = 0; !unique && i < s->n && !row; i++)
		if (!memcmp(&s->rows[i].key, key, sizeof(*key)))
			row = &s->rows[i];
	if (!row) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct vt_row *r = realloc(s->rows, cap * sizeof(*r));

			if (!r)
				return -ENOMEM;
			s->rows = r;
			s->cap = cap;
		}
		row = &s->rows[s->n++];
		memset(row, 0, sizeof(*row));
		row->key = *key;
	}
	vt_stat_add(&row->st, v);
	return 0;
}

/* Add every row of a stats map (per-CPU values summed when percpu) into s. */
static int read_stats(int fd, bool percpu, int ncpus, struct vt_snapshot *s)
{
	struct vtr_stat *vals = calloc(percpu ? ncpus : 1, sizeof(*vals));
	struct vtr_key key, next, *prev = NULL;
	size_t first = s->n;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	/* Never deleted from, so walking the keys cannot lose an update: counters only grow. */
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 1; c < (percpu ? ncpus : 1); c++)
			vt_stat_add(&vals[0], &vals[c]);
		/* A per-CPU map's keys are unique: read first, it needs no search. The spill
		 * map's and the hot rows' may repeat them. */
		err = add_row(s, &key, &vals[0], percpu && first == 0);
	}
	free(vals);
	return err;
}

/* Add the hot rows (vt_rowc: per CPU, each slot owned by one key or free) into s. */
static int read_rowc(int fd, unsigned slots, int ncpus, struct vt_snapshot *s)
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
				err = add_row(s, &vals[c].key, &vals[c].st, false);
	}
	free(vals);
	return err;
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
	t->skel->rodata->vt_device_fops = fops ? fops->addr : 0;
	set_autoload(t);
	/* The per-CPU stats are preallocated: about 32 MiB whatever the CPU count, 128..4096 keys
	 * (the spill map takes the rest). */
	bpf_map__set_max_entries(t->skel->maps.vt_stats,
				 stats_entries(t->ncpus, sizeof(struct vtr_stat)));
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
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	t->nextra = 0;
	vfio_trace_bpf__destroy(t->skel);
	t->skel = NULL;
}

int vt_tracer_open(struct vt_tracer **out, const struct vt_tracer_opts *opts)
{
	struct vt_tracer *t = calloc(1, sizeof(*t));
	const char *blocker, *step;
	int err, nprog = 0;
	struct bpf_program *prog;
	uint64_t t0 = vt_now_ns(), t1, t2 = 0, t3 = 0;

	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	/* Only the VFIO modules' symbols and a few vmlinux names: drivers' callbacks are
	 * resolved one by one when they show up. */
	t->ks = vt_ksyms_load();
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

	memset(s, 0, sizeof(*s));
	s->ts = vt_now_ns();
	op_masks(t, &s->untraced_ops, &s->untimed_ops);
	if (read_stats(bpf_map__fd(t->skel->maps.vt_stats), true, t->ncpus, s) ||
	    read_stats(bpf_map__fd(t->skel->maps.vt_stats_spill), false, 1, s) ||
	    read_rowc(bpf_map__fd(t->skel->maps.vt_rowc), t->skel->rodata->vt_rowc_mask + 1,
		      t->ncpus, s))
		goto oom;
	if (vt_tracer_losses(t, s->losses))
		goto oom;
	fd = bpf_map__fd(t->skel->maps.vt_devices);
	while (!bpf_map_get_next_key(fd, pv, &vdev)) {
		struct vt_dev *d;

		cur = vdev;
		pv = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &dev))
			continue;
		d = realloc(s->devs, (s->ndevs + 1) * sizeof(*d));
		if (!d)
			goto oom;
		s->devs = d;
		s->devs[s->ndevs].vdev = cur;
		s->devs[s->ndevs].d = dev;
		s->ndevs++;
	}
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
	ring_buffer__free(t->rb);
	for (int i = 0; i < t->ncbs; i++) {
		bpf_link__destroy(t->cbs[i].links[0]);
		bpf_link__destroy(t->cbs[i].links[1]);
		callback_bpf__destroy(t->cbs[i].obj);
	}
	callback_bpf__destroy(t->kp_cb);
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	vfio_trace_bpf__destroy(t->skel);
	vt_ksyms_free(t->ks);
	free(t);
}
