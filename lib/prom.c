// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus series from the snapshot's rows, and their exposition (see prom.h). Names follow
 * Prometheus practice: the vfio_trace_ prefix, base units (seconds, bytes; pages where the
 * kernel counts pages), _total on counters; latency histograms in seconds with cumulative le
 * buckets read from the in-kernel log-linear histogram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "prom.h"
#include "report.h"

/* Per operation, the families it feeds (NULL: none). Every op of include/vt_ops.h has a
 * row: the unit tests check it, so a new operation is exported or says why not. */
static const struct prom_op {
	const char *count, *count_help;
	const char *bytes, *bytes_help; /* a name ending in _bytes or _pages */
	const char *errors;		/* calls that returned an error */
	const char *einval;		/* ... -EINVAL */
	const char *items, *items_help;
	const char *hist; /* duration histogram, seconds */
} prom_ops[VT_OP_MAX] = {
	[VT_OP_UNMAP] = { "unmaps", "VFIO_IOMMU_UNMAP_DMA ioctls completed", "unmapped_bytes",
			  "Bytes VFIO_IOMMU_UNMAP_DMA unmapped", "unmap_errors", NULL, NULL, NULL,
			  "unmap_duration_seconds" },
	[VT_OP_MAP] = { "maps", "VFIO_IOMMU_MAP_DMA ioctls completed", "mapped_bytes",
			"Bytes VFIO_IOMMU_MAP_DMA mapped", "map_errors", NULL, NULL, NULL,
			"map_duration_seconds" },
	[VT_OP_REMOVE_DMA] = { "dma_removals",
			       "vfio_dma removed (vfio_remove_dma), by an unmap "
			       "or a teardown",
			       "dma_removed_bytes", "Bytes of the vfio_dma removed", NULL, NULL,
			       NULL, NULL, "dma_removal_duration_seconds" },
	[VT_OP_UNMAP_UNPIN] = { "unmap_unpins", "vfio_unmap_unpin calls", "unmap_unpin_bytes",
				"Bytes vfio_unmap_unpin unmapped from the IOMMU", NULL, NULL, NULL,
				NULL, "unmap_unpin_duration_seconds" },
	[VT_OP_NOTIFY] = { "notifies",
			   "vfio_notify_dma_unmap rounds: the devices' dma_unmap "
			   "callbacks called for one vfio_dma with pinned pages",
			   "notify_bytes", "Bytes of the vfio_dma notified", NULL, NULL, NULL, NULL,
			   "notify_duration_seconds" },
	[VT_OP_RETRY] = { "notify_retries",
			  "Notifies that looped again over the same vfio_dma "
			  "because pages stayed pinned (the kernel BUG()s after 10)",
			  NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	[VT_OP_CALLBACK] = { "dma_unmap_callbacks",
			     "Calls of a device driver's dma_unmap "
			     "callback",
			     "dma_unmap_callback_bytes",
			     "Bytes the dma_unmap callbacks were asked "
			     "to unpin",
			     NULL, NULL, NULL, NULL, "dma_unmap_callback_duration_seconds" },
	[VT_OP_PIN] = { "pins", "vfio_pin_pages calls", "pinned_pages", "Pages pinned",
			"pin_errors", "pin_einval", NULL, NULL, "pin_duration_seconds" },
	[VT_OP_UNPIN] = { "unpins", "vfio_unpin_pages calls", "unpinned_pages", "Pages unpinned",
			  NULL, NULL, NULL, NULL, "unpin_duration_seconds" },
	[VT_OP_REGISTER] = { "device_registrations",
			     "Devices with a dma_unmap callback that "
			     "joined a container's device_list",
			     NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	[VT_OP_UNREGISTER] = { "device_unregistrations",
			       "Devices that left a container's "
			       "device_list",
			       NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	[VT_OP_LOCK_HOLD] = { "lock_holds",
			      "Holds of a container lock (vfio-trace export "
			      "--locks)",
			      NULL, NULL, NULL, NULL, NULL, NULL, "lock_hold_duration_seconds" },
	[VT_OP_LOCK_WAIT] = { "lock_waits", "Waits for a container lock (--locks)", NULL, NULL,
			      NULL, NULL, NULL, NULL, "lock_wait_duration_seconds" },
	[VT_OP_LOCK_DROP] = { "lock_drops",
			      "iommu->lock dropped by an unmap for its notify "
			      "(--locks)",
			      NULL, NULL, NULL, NULL, NULL, NULL, "lock_drop_duration_seconds" },
	[VT_OP_DEADLOCK] = { "deadlocks", "iommu->lock / device_list_lock ABBA cycles closed", NULL,
			     NULL, NULL, NULL, NULL, NULL, NULL },
	[VT_OP_TEARDOWN] = { "teardowns",
			     "Containers whose remaining mappings were removed "
			     "without VFIO_IOMMU_UNMAP_DMA (a VM's exit)",
			     "teardown_bytes",
			     "Bytes removed at "
			     "teardowns",
			     NULL, NULL, "teardown_mappings", "vfio_dma removed at teardowns",
			     "teardown_duration_seconds" },
	[VT_OP_IOMMU_UNMAP] = { "iommu_unmaps",
				"IOMMU unmaps inside vfio_unmap_unpin (iommu_unmap_fast, "
				"iommu_unmap)",
				"iommu_unmapped_bytes", "Bytes those IOMMU unmaps unmapped", NULL,
				NULL, "iommu_unmapped_4k_bytes",
				"Bytes of those the IOMMU driver unmapped in 4 KiB pages",
				"iommu_unmap_duration_seconds" },
	[VT_OP_UNPIN_REMOTE] = { "unpin_remotes",
				 "vfio_unpin_pages_remote calls inside vfio_unmap_unpin",
				 "unpin_remote_pages", "Pages vfio_unmap_unpin unpinned", NULL,
				 NULL, NULL, NULL, "unpin_remote_duration_seconds" },
	[VT_OP_IOTLB_SYNC] = { "iotlb_syncs",
			       "IOTLB flushes inside vfio_unmap_unpin (the driver's iotlb_sync)",
			       "iotlb_synced_bytes", "Bytes of IOVA range those flushes covered",
			       NULL, NULL, NULL, NULL, "iotlb_sync_duration_seconds" },
	[VT_OP_IOVA_WALK] = { "iova_walks",
			      "vfio_unmap_unpin IOVA-to-phys walks (one per vfio_unmap_unpin)",
			      "iova_walk_lookup_pages",
			      "Pages those walks looked up (iommu_iova_to_phys calls)", NULL, NULL,
			      NULL, NULL, "iova_walk_duration_seconds" },
};

const char *vt_prom_op_family(int op)
{
	return op >= 0 && op < VT_OP_MAX ? prom_ops[op].count : NULL;
}

/* ---- the series table ------------------------------------------------------------------- */

static char *labels_of(const struct vt_prom_key *k);

static uint64_t key_hash(const struct vt_prom_key *k)
{
	const unsigned char *b = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over the key (zero-filled) */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static size_t *find_slot(const struct vt_prom *p, const struct vt_prom_key *k)
{
	for (size_t i = key_hash(k) & p->mask;; i = (i + 1) & p->mask)
		if (!p->slot[i] || !memcmp(&p->s[p->slot[i] - 1].key, k, sizeof(*k)))
			return &p->slot[i];
}

/* The index rebuilt for 2 * want slots at least (after growth, or after series went). */
static int reindex(struct vt_prom *p, size_t want)
{
	size_t slots = 64;

	while (slots < 2 * want)
		slots *= 2;
	free(p->slot);
	p->slot = calloc(slots, sizeof(*p->slot));
	if (!p->slot) {
		p->mask = 0;
		return -ENOMEM;
	}
	p->mask = slots - 1;
	for (size_t i = 0; i < p->n; i++)
		*find_slot(p, &p->s[i].key) = i + 1;
	return 0;
}

void vt_prom_init(struct vt_prom *p, size_t max_series, uint64_t forget_ns)
{
	memset(p, 0, sizeof(*p));
	p->max_series = max_series;
	p->forget_ns = forget_ns;
}

void vt_prom_free(struct vt_prom *p)
{
	free(p->progs);
	p->progs = NULL;
	p->nprogs = p->progcap = 0;
	for (size_t i = 0; i < p->n; i++)
		free(p->s[i].labels);
	free(p->s);
	free(p->slot);
	p->s = NULL;
	p->slot = NULL;
	p->n = p->cap = p->mask = 0;
}

int vt_prom_add(struct vt_prom *p, const struct vt_prom_key *key, const struct vtr_stat *inc,
		bool alive, uint64_t now)
{
	struct vt_prom_series *s;
	size_t *slot;

	if (!p->slot && reindex(p, 32))
		return -ENOMEM;
	slot = find_slot(p, key);
	if (!*slot) {
		if (!inc->count && !alive)
			return 0; /* an exited process's row, nothing new: no series */
		if (p->n >= p->max_series) {
			p->dropped_ops += inc->count;
			return 1;
		}
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			void *ns = realloc(p->s, cap * sizeof(*p->s));

			if (!ns)
				return -ENOMEM;
			p->s = ns;
			p->cap = cap;
		}
		if (2 * (p->n + 1) > p->mask + 1) {
			if (reindex(p, p->n + 1))
				return -ENOMEM;
			slot = find_slot(p, key);
		}
		s = &p->s[p->n];
		memset(s, 0, sizeof(*s));
		s->key = *key;
		s->labels = labels_of(key);
		if (!s->labels)
			return -ENOMEM;
		s->alive_ns = now;
		*slot = ++p->n;
	}
	s = &p->s[*slot - 1];
	vt_stat_add(&s->st, inc);
	if (alive)
		s->alive_ns = now;
	return 0;
}

void vt_prom_forget(struct vt_prom *p, uint64_t now)
{
	size_t o = 0;

	for (size_t i = 0; i < p->n; i++) {
		if (now - p->s[i].alive_ns >= p->forget_ns) {
			free(p->s[i].labels);
			p->forgotten++;
			continue;
		}
		p->s[o++] = p->s[i];
	}
	if (o != p->n) {
		p->n = o;
		reindex(p, o);
	}
}

/* ---- the exposition --------------------------------------------------------------------- */

/* A label value: escaped as the text commands show names (lib/escape.c: control bytes and
 * invalid UTF-8 as \xNN, so it is valid UTF-8 and has no newline), then as the format wants
 * (backslash and double quote). Appended to out. */
static void add_label(char *out, size_t size, const char *name, const char *v, size_t vlen)
{
	char esc[VT_ESC_SIZE(128)];
	size_t o = strlen(out);

	if (!v[0])
		return;
	vt_esc(esc, sizeof(esc), v, vlen);
	o += snprintf(out + o, size - o, "%s%s=\"", o ? "," : "", name);
	for (const char *c = esc; *c && o + 3 < size; c++) {
		if (*c == '\\' || *c == '"')
			out[o++] = '\\';
		out[o++] = *c;
	}
	if (o + 1 < size)
		out[o++] = '"';
	out[o] = 0;
}

static const char *lock_name(unsigned kind)
{
	return kind == VT_KIND_IOMMU_LOCK ? "iommu" :
	       kind == VT_KIND_DLIST_LOCK ? "device_list" :
					    "";
}

/* room for every label of a key, each value escaped twice over at worst */
#define PROM_LABELS_MAX (5 * (2 * VT_ESC_SIZE(128) + 16))

/* vm="..",uuid="..",device="..",driver="..",lock="..": made once per series (a scrape writes
 * each series' labels up to 17 times; they never change). malloc'd. */
static char *labels_of(const struct vt_prom_key *k)
{
	char buf[PROM_LABELS_MAX] = "";
	const char *lock = lock_name(k->lock);

	add_label(buf, sizeof(buf), "vm", k->vm, sizeof(k->vm));
	add_label(buf, sizeof(buf), "uuid", k->uuid, sizeof(k->uuid));
	add_label(buf, sizeof(buf), "device", k->device, sizeof(k->device));
	add_label(buf, sizeof(buf), "driver", k->driver, sizeof(k->driver));
	add_label(buf, sizeof(buf), "lock", lock, strlen(lock) + 1);
	return strdup(buf);
}

/* One sample line: vfio_trace_<name><suffix>{labels,extra} value */
static void sample(FILE *f, const char *name, const char *suffix, const char *labels,
		   const char *extra, const char *value)
{
	fputs_unlocked("vfio_trace_", f);
	fputs_unlocked(name, f);
	fputs_unlocked(suffix, f);
	if (labels[0] || extra) {
		fputc_unlocked('{', f);
		fputs_unlocked(labels, f);
		if (extra) {
			if (labels[0])
				fputc_unlocked(',', f);
			fputs_unlocked(extra, f);
		}
		fputc_unlocked('}', f);
	}
	fputc_unlocked(' ', f);
	fputs_unlocked(value, f);
	fputc_unlocked('\n', f);
}

/* v in decimal (printf's cost, measured: most of a scrape's) */
static const char *dec(char buf[24], uint64_t v)
{
	char *p = buf + 23;

	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

/* # HELP / # TYPE of a family. OpenMetrics names a counter family without its _total. */
static void family(FILE *f, bool om, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);

	if (om && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	if (om && !strcmp(type, "info") && n > 5 && !strcmp(name + n - 5, "_info"))
		n -= 5;
	else if (!om && !strcmp(type, "info"))
		type = "gauge";
	fprintf(f, "# HELP vfio_trace_%.*s %s.\n# TYPE vfio_trace_%.*s %s\n", (int)n, name, help,
		(int)n, name, type);
}

enum field { F_COUNT, F_BYTES, F_ERRORS, F_EINVAL, F_ITEMS };

static uint64_t field_of(const struct vtr_stat *st, enum field fl)
{
	switch (fl) {
	case F_COUNT: return st->count;
	case F_BYTES: return st->bytes;
	case F_ERRORS: return st->errors;
	case F_EINVAL: return st->einval;
	case F_ITEMS: return st->items;
	}
	return 0;
}

static void counters(const struct vt_prom *p, FILE *f, bool om, int op, enum field fl,
		     const char *base, const char *help)
{
	char name[96], num[24];

	if (!base)
		return;
	snprintf(name, sizeof(name), "%s_total", base);
	family(f, om, name, "counter", help);
	for (size_t i = 0; i < p->n; i++)
		if (p->s[i].key.op == op)
			sample(f, name, "", p->s[i].labels, NULL,
			       dec(num, field_of(&p->s[i].st, fl)));
}

/* Bucket bounds: every other octave boundary of the kernel histogram, 2^10 ns (1.024 us) to
 * 2^36 ns (68.7 s), a factor of 4 apart: 14 buckets and +Inf per series. An observation of
 * exactly a bound's nanoseconds is counted in the next bucket (the kernel histogram's slots
 * start at the bound): at nanosecond resolution, le and lt are the same question. */
#define PROM_OCT_FIRST 9 /* slot 9 * VT_HIST_SUB starts at 2^10 ns */
#define PROM_OCT_LAST  35
#define PROM_OCT_STEP  2
#define PROM_BUCKETS   ((PROM_OCT_LAST - PROM_OCT_FIRST) / PROM_OCT_STEP + 1)

static void histogram(const struct vt_prom *p, FILE *f, bool om, int op, const char *base,
		      const char *what)
{
	char help[320], le[PROM_BUCKETS][40], num[24], sum[40];
	unsigned ends[PROM_BUCKETS];

	if (!base || (p->untimed_ops & (1u << op)) || (vt_op_flags(op) & VT_OPF_UNTIMED))
		return;
	for (int b = 0; b < PROM_BUCKETS; b++) {
		ends[b] = (unsigned)(PROM_OCT_FIRST + b * PROM_OCT_STEP) * VT_HIST_SUB;
		snprintf(le[b], sizeof(le[b]), "le=\"%.12g\"", vt_hist_slot_low(ends[b]) / 1e9);
	}
	snprintf(help, sizeof(help), "Durations of vfio_trace_%s_total (%s), in seconds",
		 prom_ops[op].count, what);
	family(f, om, base, "histogram", help);
	for (size_t i = 0; i < p->n; i++) {
		const struct vt_prom_series *s = &p->s[i];
		uint64_t cum = 0;
		unsigned slot = 0;

		if (s->key.op != op)
			continue;
		for (int b = 0; b < PROM_BUCKETS; b++) {
			for (; slot < ends[b] && slot < VT_HIST_SLOTS; slot++)
				cum += s->st.hist[slot];
			sample(f, base, "_bucket", s->labels, le[b], dec(num, cum));
		}
		sample(f, base, "_bucket", s->labels, "le=\"+Inf\"", dec(num, s->st.count));
		snprintf(sum, sizeof(sum), "%.9f", s->st.lat_sum / 1e9);
		sample(f, base, "_sum", s->labels, NULL, sum);
		sample(f, base, "_count", s->labels, NULL, dec(num, s->st.count));
	}
}

/* Gauges of the last health check, and the checks themselves. */
static void health_metrics(const struct vt_prom *p, FILE *f, bool om)
{
	static const char *const lock[2] = { "lock=\"iommu\"", "lock=\"device_list\"" };
	char num[24], v[40];

	if (!p->health)
		return;
	family(f, om, "lock_waiters", "gauge",
	       "Tasks waiting for a container lock at the last "
	       "health check (vfio-trace hung's picture)");
	for (int l = 0; l < 2; l++)
		sample(f, "lock_waiters", "", "", lock[l], dec(num, p->lock_waiters[l]));
	family(f, om, "lock_longest_wait_seconds", "gauge",
	       "The longest of those waits so far, "
	       "in seconds (0 when nobody waits)");
	for (int l = 0; l < 2; l++) {
		snprintf(v, sizeof(v), "%.3f", p->lock_longest_s[l]);
		sample(f, "lock_longest_wait_seconds", "", "", lock[l], v);
	}
	family(f, om, "lock_deadlock_cycles", "gauge",
	       "Cycles in the wait-for graph of the "
	       "container locks at the last health check: a deadlock");
	sample(f, "lock_deadlock_cycles", "", "", NULL, dec(num, (uint64_t)p->lock_cycles));
	family(f, om, "health_checks_total", "counter", "Health checks run (--health)");
	sample(f, "health_checks_total", "", "", NULL, dec(num, p->health_checks));
	family(f, om, "health_check_errors_total", "counter",
	       "Health checks that could not look "
	       "(the gauges keep the last good picture)");
	sample(f, "health_check_errors_total", "", "", NULL, dec(num, p->health_errors));
}

/* What is attached, per kind; with bpf_stats, each program's run time and runs. */
static void program_metrics(const struct vt_prom *p, FILE *f, bool om)
{
	char num[24], lab[PROM_LABELS_MAX], v[40];
	const char *methods[16];
	size_t nm = 0;

	family(f, om, "programs", "gauge", "BPF programs attached, per kind of attach");
	for (size_t i = 0; i < p->nprogs; i++) {
		size_t n = 0, m;

		for (m = 0; m < nm && strcmp(methods[m], p->progs[i].method); m++)
			;
		if (m < nm || nm == 16)
			continue;
		methods[nm++] = p->progs[i].method;
		for (size_t j = i; j < p->nprogs; j++)
			n += !strcmp(p->progs[j].method, p->progs[i].method);
		lab[0] = 0;
		add_label(lab, sizeof(lab), "method", p->progs[i].method,
			  sizeof(p->progs[i].method));
		sample(f, "programs", "", lab, NULL, dec(num, n));
	}
	if (!p->bpf_stats)
		return;
	family(f, om, "bpf_run_seconds_total", "counter",
	       "Time the kernel ran each program "
	       "(kernel.bpf_stats_enabled=1)");
	for (size_t i = 0; i < p->nprogs; i++) {
		lab[0] = 0;
		add_label(lab, sizeof(lab), "program", p->progs[i].name, sizeof(p->progs[i].name));
		snprintf(v, sizeof(v), "%.9f", p->progs[i].run_ns / 1e9);
		sample(f, "bpf_run_seconds_total", "", lab, NULL, v);
	}
	family(f, om, "bpf_runs_total", "counter",
	       "Runs of each program "
	       "(kernel.bpf_stats_enabled=1)");
	for (size_t i = 0; i < p->nprogs; i++) {
		lab[0] = 0;
		add_label(lab, sizeof(lab), "program", p->progs[i].name, sizeof(p->progs[i].name));
		sample(f, "bpf_runs_total", "", lab, NULL, dec(num, p->progs[i].runs));
	}
}

static void self_metrics(const struct vt_prom *p, FILE *f, bool om)
{
	family(f, om, "lost_total", "counter",
	       "Observations lost, per cause (man vfio-trace, "
	       "LOSSES); zero when nothing was lost");
	for (int i = 0; i < VT_LOSS_MAX; i++)
		fprintf(f, "vfio_trace_lost_total{cause=\"%s\"} %llu\n", vt_loss_name(i),
			(unsigned long long)p->losses[i]);
	family(f, om, "dropped_operations_total", "counter",
	       "Operations not exported because "
	       "the series limit (--max-series) was reached");
	fprintf(f, "vfio_trace_dropped_operations_total %llu\n",
		(unsigned long long)p->dropped_ops);
	family(f, om, "series", "gauge", "Series exported now");
	fprintf(f, "vfio_trace_series %zu\n", p->n);
	family(f, om, "series_limit", "gauge", "Most series exported (--max-series)");
	fprintf(f, "vfio_trace_series_limit %zu\n", p->max_series);
	family(f, om, "series_forgotten_total", "counter",
	       "Series removed after their "
	       "processes exited (--forget)");
	fprintf(f, "vfio_trace_series_forgotten_total %llu\n", (unsigned long long)p->forgotten);
	family(f, om, "retry_storms_total", "counter",
	       "RETRY STORM alerts: a vfio_dma notified 5 "
	       "times in a row by one UNMAP_DMA");
	fprintf(f, "vfio_trace_retry_storms_total %llu\n", (unsigned long long)p->retry_storms);
	family(f, om, "build_info", "info", "vfio-trace's version and the kernel it traces");
	{
		char info[PROM_LABELS_MAX] = "";

		add_label(info, sizeof(info), "version", p->version, sizeof(p->version));
		add_label(info, sizeof(info), "kernel", p->kernel, sizeof(p->kernel));
		sample(f, "build_info", "", info, NULL, "1");
	}
}

void vt_prom_write(const struct vt_prom *p, FILE *f, bool om)
{
	for (int op = 0; op < VT_OP_MAX; op++) {
		const struct prom_op *m = &prom_ops[op];
		char help[256];

		if (!m->count || (p->untraced_ops & (1u << op)))
			continue;
		counters(p, f, om, op, F_COUNT, m->count, m->count_help);
		counters(p, f, om, op, F_BYTES, m->bytes, m->bytes_help);
		snprintf(help, sizeof(help), "Of vfio_trace_%s_total, those that failed", m->count);
		counters(p, f, om, op, F_ERRORS, m->errors, help);
		snprintf(help, sizeof(help),
			 "Of vfio_trace_%s_total, those that returned -EINVAL "
			 "(no device with a dma_unmap callback in the container)",
			 m->count);
		counters(p, f, om, op, F_EINVAL, m->einval, help);
		counters(p, f, om, op, F_ITEMS, m->items, m->items_help);
		histogram(p, f, om, op, m->hist, m->count_help);
	}
	health_metrics(p, f, om);
	program_metrics(p, f, om);
	self_metrics(p, f, om);
	if (om)
		fputs("# EOF\n", f);
}
