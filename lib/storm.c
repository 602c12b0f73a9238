// SPDX-License-Identifier: GPL-2.0
/*
 * Unmap-storm detection: per process, the UNMAP_DMA rows of each cumulative snapshot summed,
 * the difference with the last decision's sums taken once a window has passed, and the
 * thresholds applied, with hysteresis (lib/storm.h). Pure: the live tracer (lib/storm_live.c)
 * and report on a recording feed it the same way, and the unit tests feed it by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storm.h"

struct storm_proc {
	uint32_t tgid;
	bool seen;	       /* in this snapshot (a process whose rows went stays known) */
	bool active;	       /* alerted, not yet quiet for cfg.quiet seconds */
	uint64_t quiet_ns;     /* how long it has been below half of every threshold */
	unsigned storms;       /* alerts raised */
	struct vtr_stat base;  /* its unmaps at the last decision */
	struct vtr_stat first; /* ... at its first snapshot */
	struct vtr_stat now;   /* ... in this snapshot */
};

struct vt_storm {
	struct vt_storm_cfg cfg;
	struct storm_proc *procs;
	size_t n, cap;
	uint64_t last_ts; /* the last decision, or the baseline */
	bool have_base;
};

void vt_storm_cfg_default(struct vt_storm_cfg *c)
{
	*c = (struct vt_storm_cfg){ .rate = VT_STORM_RATE,
				    .bytes = VT_STORM_BYTES,
				    .p99_ns = VT_STORM_P99_NS,
				    .window = VT_STORM_WINDOW_S,
				    .quiet = VT_STORM_QUIET_S };
}

char *vt_storm_desc(const struct vt_storm_cfg *c, char *buf, size_t len)
{
	char rate[32] = "off", bytes[32] = "off", p99[32] = "off";

	if (c->off) {
		snprintf(buf, len, "off");
		return buf;
	}
	if (c->rate > 0)
		snprintf(rate, sizeof(rate), "%.0f/s", c->rate);
	if (c->bytes)
		snprintf(bytes, sizeof(bytes), "%llu/s", (unsigned long long)c->bytes);
	if (c->p99_ns)
		snprintf(p99, sizeof(p99), "%llu us", (unsigned long long)c->p99_ns / 1000);
	snprintf(buf, len, "rate %s, bytes %s, p99 %s, window %g s, quiet %g s", rate, bytes, p99,
		 c->window, c->quiet);
	return buf;
}

struct vt_storm *vt_storm_new(const struct vt_storm_cfg *cfg)
{
	struct vt_storm *st = calloc(1, sizeof(*st));

	if (st)
		st->cfg = *cfg;
	return st;
}

void vt_storm_free(struct vt_storm *st)
{
	if (!st)
		return;
	free(st->procs);
	free(st);
}

static struct storm_proc *proc_get(struct vt_storm *st, uint32_t tgid)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->procs[i].tgid == tgid)
			return &st->procs[i];
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct storm_proc *p = realloc(st->procs, cap * sizeof(*p));

		if (!p)
			return NULL;
		st->procs = p;
		st->cap = cap;
	}
	memset(&st->procs[st->n], 0, sizeof(st->procs[0]));
	st->procs[st->n].tgid = tgid;
	return &st->procs[st->n++];
}

bool vt_storm_active(const struct vt_storm *st, uint32_t tgid)
{
	for (size_t i = 0; st && i < st->n; i++)
		if (st->procs[i].tgid == tgid)
			return st->procs[i].active;
	return false;
}

/* d = a - b, histogram included (cumulative counters only grow). */
static void stat_sub(struct vtr_stat *d, const struct vtr_stat *a, const struct vtr_stat *b)
{
	d->count = a->count - b->count;
	d->bytes = a->bytes - b->bytes;
	d->lat_max = a->lat_max;
	for (int i = 0; i < VT_HIST_SLOTS; i++)
		d->hist[i] = a->hist[i] - b->hist[i];
}

/* Which criteria the window meets at scale times their thresholds (1: a storm, 0.5: not yet
 * calm). */
static unsigned crossed(const struct vt_storm_cfg *c, const struct vtr_stat *d, double secs,
			uint64_t p99, double scale)
{
	unsigned why = 0;

	if (c->rate > 0 && d->count / secs >= c->rate * scale)
		why |= VT_STORM_BY_RATE;
	if (c->bytes && d->bytes / secs >= c->bytes * scale)
		why |= VT_STORM_BY_BYTES;
	if (c->p99_ns && d->count >= VT_STORM_P99_MIN && p99 >= c->p99_ns * scale)
		why |= VT_STORM_BY_P99;
	return why;
}

static void decide(struct vt_storm *st, struct storm_proc *p, uint64_t ts, double secs,
		   vt_storm_fn fn, void *ctx, int *nstarted)
{
	struct vtr_stat d;
	uint64_t p99;
	unsigned why;

	stat_sub(&d, &p->now, &p->base);
	p->base = p->now;
	p99 = vt_hist_percentile(d.hist, 99);
	why = crossed(&st->cfg, &d, secs, p99, 1.0);
	if (!p->active) {
		if (!why)
			return;
		struct vt_storm_hit h = {
			.tgid = p->tgid,
			.why = why,
			.ts = ts,
			.secs = secs,
			.unmaps = d.count,
			.bytes = d.bytes,
			.p99_ns = p99,
			.max_ns = d.count ? d.lat_max : 0,
			.total_unmaps = p->now.count - p->first.count,
			.total_bytes = p->now.bytes - p->first.bytes,
			.nth = ++p->storms,
		};
		p->active = true;
		p->quiet_ns = 0;
		(*nstarted)++;
		if (fn)
			fn(ctx, &h);
		return;
	}
	/* hysteresis: over, once below half of every threshold for cfg.quiet seconds */
	if (crossed(&st->cfg, &d, secs, p99, 0.5)) {
		p->quiet_ns = 0;
		return;
	}
	p->quiet_ns += (uint64_t)(secs * 1e9);
	if (p->quiet_ns >= (uint64_t)(st->cfg.quiet * 1e9))
		p->active = false;
}

int vt_storm_feed(struct vt_storm *st, const struct vt_snapshot *cum, vt_storm_fn fn, void *ctx)
{
	bool baseline = !st->have_base;
	double secs;
	int started = 0;

	if (st->cfg.off)
		return 0;
	/* 5 % early is still a window: a recording's snapshots every second may come a little
	 * early, and waiting for the next one would judge two seconds at once */
	if (!baseline && cum->ts < st->last_ts + (uint64_t)(st->cfg.window * 0.95e9))
		return 0;
	for (size_t i = 0; i < st->n; i++) {
		st->procs[i].seen = false;
		memset(&st->procs[i].now, 0, sizeof(st->procs[i].now));
	}
	for (size_t i = 0; i < cum->n; i++) {
		const struct vt_row *r = &cum->rows[i];
		struct storm_proc *p;

		if (r->key.op != VT_OP_UNMAP || !r->key.tgid)
			continue;
		p = proc_get(st, r->key.tgid);
		if (!p)
			return -ENOMEM;
		p->seen = true;
		vt_stat_add(&p->now, &r->st);
	}
	secs = baseline ? 0 : (cum->ts - st->last_ts) / 1e9;
	for (size_t i = 0; i < st->n; i++) {
		struct storm_proc *p = &st->procs[i];

		if (!p->seen) { /* its rows are gone: nothing more from it */
			p->now = p->base;
			if (!baseline)
				decide(st, p, cum->ts, secs, fn, ctx, &started);
			continue;
		}
		if (baseline) {
			p->base = p->first = p->now;
			continue;
		}
		decide(st, p, cum->ts, secs, fn, ctx, &started);
	}
	st->last_ts = cum->ts;
	st->have_base = true;
	return started;
}
