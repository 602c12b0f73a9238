// SPDX-License-Identifier: GPL-2.0
/*
 * top's two tables (per container+process, per device) and its summary, built from snapshot
 * differences, and their text (the batch output and the screen share it). Nothing here touches
 * the tracer or /proc, so all of it runs in unit tests. Sorting: sort.c; the screen and its
 * keys: screen.c; the JSON rates: rates.c; the loop: top.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "report.h"
#include "view.h"

const char *vt_reg_name(enum vt_reg_state r)
{
	switch (r) {
	case VT_REG_YES: return "yes";
	case VT_REG_NO: return "no";
	case VT_REG_NOCB: return "nocb";
	default: return "?";
	}
}

/* ---- building the tables -------------------------------------------------------------- */

/*
 * The tables' keys, each found through a vt_rowidx (lib/model.c): a process row is
 * (container, tgid), a device its vdev. Building the view is then one pass over each
 * snapshot's rows: O(rows + processes + devices) per interval (it was rows x processes:
 * 0.1-0.2 s at 16k rows and 1.4k processes).
 */
uint64_t vt_view_row_visits;

struct keyset {
	struct vt_row *k; /* only .key is used: obj, tgid */
	size_t n, cap;
	struct vt_rowidx idx;
};

static long keyset_find(const struct keyset *ks, uint64_t obj, uint32_t tgid)
{
	struct vtr_key k = { .obj = obj, .tgid = tgid };
	const struct vt_row *r = vt_rowidx_find(&ks->idx, ks->k, &k);

	return r ? r - ks->k : -1;
}

/* The index of (obj, tgid), added when new (added: true); -1 when out of memory. */
static long keyset_add(struct keyset *ks, uint64_t obj, uint32_t tgid, bool *added)
{
	long i = keyset_find(ks, obj, tgid);

	*added = false;
	if (i >= 0)
		return i;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		struct vt_row *k = realloc(ks->k, cap * sizeof(*k));

		if (!k)
			return -1;
		ks->k = k;
		ks->cap = cap;
	}
	memset(&ks->k[ks->n], 0, sizeof(ks->k[0]));
	ks->k[ks->n].key.obj = obj;
	ks->k[ks->n].key.tgid = tgid;
	if (vt_rowidx_add(&ks->idx, ks->k, ks->n))
		return -1;
	*added = true;
	return (long)ks->n++;
}

static void keyset_free(struct keyset *ks)
{
	vt_rowidx_free(&ks->idx);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

/* The container of every row (a device row: its device's, from devsrc's records indexed in
 * devkeys), looked up once per snapshot. */
static uint64_t *row_containers(const struct vt_snapshot *s, const struct vt_snapshot *devsrc,
				const struct keyset *devkeys)
{
	uint64_t *rc = calloc(s->n + 1, sizeof(*rc));

	for (size_t i = 0; rc && i < s->n; i++) {
		long d;

		vt_view_row_visits++;
		/* Container and lock rows name the container; device rows, their device. */
		if (s->rows[i].key.kind != VT_KIND_DEVICE) {
			rc[i] = s->rows[i].key.obj;
			continue;
		}
		d = keyset_find(devkeys, s->rows[i].key.obj, 0);
		rc[i] = d >= 0 ? devsrc->devs[d].d.container : 0;
	}
	return rc;
}

/* Every process row's counts over s (tot: the totals, else the interval). */
static int proc_counts(struct vt_view *v, const struct keyset *procs, const struct vt_snapshot *s,
		       const uint64_t *rc, bool tot)
{
	struct vtr_stat *un = calloc(v->nprocs + 1, sizeof(*un));

	if (!un)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct vt_row *r = &s->rows[i];
		long p = keyset_find(procs, rc[i], r->key.tgid);
		struct vt_proc_counts *c;

		vt_view_row_visits++;
		if (p < 0)
			continue;
		c = tot ? &v->procs[p].tot : &v->procs[p].iv;
		if (r->key.kind == VT_KIND_CONTAINER) {
			switch (r->key.op) {
			case VT_OP_UNMAP:
				c->unmaps += r->st.count;
				c->unmap_bytes += r->st.bytes;
				c->errors += r->st.errors;
				vt_stat_add(&un[p], &r->st);
				break;
			case VT_OP_MAP: c->errors += r->st.errors; break;
			case VT_OP_UNMAP_UNPIN: /* its time is phase_ns[0] */
			case VT_OP_IOMMU_UNMAP:
			case VT_OP_IOTLB_SYNC:
			case VT_OP_IOVA_WALK:
			case VT_OP_UNPIN_REMOTE:
				c->phase_ns[vt_phase_index(r->key.op)] += r->st.lat_sum;
				if (r->key.op == VT_OP_UNMAP_UNPIN) {
					c->uu_count += r->st.count;
					c->uu_bytes += r->st.bytes;
				} else if (r->key.op == VT_OP_IOMMU_UNMAP) {
					c->iommu_bytes += r->st.bytes;
					c->iommu_4k += r->st.items;
				}
				break;
			case VT_OP_NOTIFY: c->notifies += r->st.count; break;
			case VT_OP_RETRY: c->retries += r->st.count; break;
			case VT_OP_TEARDOWN:
				c->teardown_dmas += r->st.items;
				if (r->st.lat_max > c->teardown_max)
					c->teardown_max = r->st.lat_max;
				break;
			/* type1 pin without vfio_pin_pages around it: only the container is known */
			case VT_OP_PIN:
				c->pins += r->st.count;
				c->pages += r->st.bytes;
				break;
			}
		} else if (r->key.op == VT_OP_LOCK_WAIT) {
			c->lock_waits += r->st.count;
			if (r->st.lat_max > c->lock_wait_max)
				c->lock_wait_max = r->st.lat_max;
		} else if (r->key.kind != VT_KIND_DEVICE) {
			continue; /* lock hold and drop rows: vfio-trace locks */
		} else if (r->key.op == VT_OP_CALLBACK) {
			c->callbacks += r->st.count;
		} else if (r->key.op == VT_OP_PIN) {
			c->pins += r->st.count;
			c->pages += r->st.bytes;
		}
	}
	for (size_t p = 0; p < v->nprocs; p++) {
		struct vt_proc_counts *c = tot ? &v->procs[p].tot : &v->procs[p].iv;

		c->unmap_p99 = un[p].count ? vt_hist_percentile(un[p].hist, 99) : 0;
		/* a percentile is read as the middle of its slot: never show it above the true max */
		if (c->unmap_p99 > un[p].lat_max)
			c->unmap_p99 = un[p].lat_max;
	}
	free(un);
	return 0;
}

/* Every device row's counts over s; devkeys indexes v->devs. */
static int dev_counts(struct vt_view *v, const struct keyset *devkeys, const struct vt_snapshot *s,
		      bool tot)
{
	struct vtr_stat *cb = calloc(v->ndevs + 1, sizeof(*cb));

	if (!cb)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct vt_row *r = &s->rows[i];
		struct vt_dev_counts *c;
		long d;

		vt_view_row_visits++;
		if (r->key.kind != VT_KIND_DEVICE || (d = keyset_find(devkeys, r->key.obj, 0)) < 0)
			continue;
		c = tot ? &v->devs[d].tot : &v->devs[d].iv;
		switch (r->key.op) {
		case VT_OP_CALLBACK:
			c->callbacks += r->st.count;
			c->cb_bytes += r->st.bytes;
			vt_stat_add(&cb[d], &r->st);
			break;
		case VT_OP_PIN:
			c->pins += r->st.count;
			c->pages += r->st.bytes;
			c->pin_errors += r->st.errors;
			c->einval += r->st.einval;
			break;
		case VT_OP_UNPIN:
			c->unpins += r->st.count;
			c->unpin_pages += r->st.bytes;
			break;
		}
	}
	for (size_t d = 0; d < v->ndevs; d++) {
		struct vt_dev_counts *c = tot ? &v->devs[d].tot : &v->devs[d].iv;

		if (!cb[d].count)
			continue;
		c->cb_p50 = vt_hist_percentile(cb[d].hist, 50);
		c->cb_p99 = vt_hist_percentile(cb[d].hist, 99);
		c->cb_max = cb[d].lat_max;
		/* a percentile is read as the middle of its slot: never above the true max */
		if (c->cb_p50 > c->cb_max)
			c->cb_p50 = c->cb_max;
		if (c->cb_p99 > c->cb_max)
			c->cb_p99 = c->cb_max;
	}
	free(cb);
	return 0;
}

/* The device_list state: the flag the BPF side keeps is only set by a register it saw; a
 * device registered before vfio-trace started is known to be on the list once it gets a
 * callback (type1 only calls the devices on device_list). seen: bit 0 an unregister, bit 1 a
 * callback, in all's rows. */
static enum vt_reg_state reg_state(const struct vt_dev *d, unsigned seen)
{
	if (!d->d.dma_unmap)
		return VT_REG_NOCB;
	if (d->d.registered)
		return VT_REG_YES;
	if (seen & 1)
		return VT_REG_NO;
	if (seen & 2)
		return VT_REG_YES;
	return VT_REG_UNKNOWN;
}

static void totals(const struct vt_snapshot *s, struct vt_view_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < s->n; i++) {
		const struct vtr_stat *st = &s->rows[i].st;

		switch (s->rows[i].key.op) {
		case VT_OP_UNMAP:
			t->unmaps += st->count;
			t->unmap_bytes += st->bytes;
			t->errors += st->errors;
			break;
		case VT_OP_MAP: t->errors += st->errors; break;
		case VT_OP_NOTIFY: t->notifies += st->count; break;
		case VT_OP_RETRY: t->retries += st->count; break;
		case VT_OP_CALLBACK: t->callbacks += st->count; break;
		case VT_OP_PIN:
			t->pins += st->count;
			t->pages += st->bytes;
			t->errors += st->errors;
			t->einval += st->einval;
			break;
		case VT_OP_UNPIN: t->unpins += st->count; break;
		case VT_OP_TEARDOWN: t->teardown_dmas += st->items; break;
		}
	}
}

int vt_view_build(struct vt_view *v, const struct vt_snapshot *iv, double secs,
		  const struct vt_snapshot *tot, double tot_secs, const struct vt_snapshot *all)
{
	struct keyset procs = {}, devs = {}, alldevs = {};
	uint64_t *rc_iv = NULL, *rc_tot = NULL;
	unsigned char *seen = NULL;
	size_t cap = 0;
	bool added;

	memset(v, 0, sizeof(*v));
	v->secs = secs;
	v->tot_secs = tot_secs;
	if (!all)
		all = tot;
	for (size_t i = 0; i < all->ndevs; i++)
		if (keyset_add(&alldevs, all->devs[i].vdev, 0, &added) < 0)
			goto oom;
	rc_iv = row_containers(iv, all, &alldevs);
	rc_tot = row_containers(tot, all, &alldevs);
	if (!rc_iv || !rc_tot)
		goto oom;
	for (size_t i = 0; i < tot->n; i++) {
		const struct vtr_key *k = &tot->rows[i].key;

		vt_view_row_visits++;
		if (k->kind != VT_KIND_CONTAINER && k->op != VT_OP_CALLBACK && k->op != VT_OP_PIN &&
		    k->op != VT_OP_UNPIN && k->op != VT_OP_LOCK_WAIT)
			continue; /* register/unregister: the device table's */
		if (keyset_add(&procs, rc_tot[i], k->tgid, &added) < 0)
			goto oom;
		if (!added)
			continue;
		if (v->nprocs == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct vt_view_proc *p = realloc(v->procs, nc * sizeof(*p));

			if (!p)
				goto oom;
			v->procs = p;
			cap = nc;
		}
		memset(&v->procs[v->nprocs], 0, sizeof(v->procs[0]));
		v->procs[v->nprocs].container = rc_tot[i];
		v->procs[v->nprocs].tgid = k->tgid;
		snprintf(v->procs[v->nprocs].comm, sizeof(v->procs[0].comm), "?");
		v->nprocs++;
	}
	if (proc_counts(v, &procs, iv, rc_iv, false) || proc_counts(v, &procs, tot, rc_tot, true))
		goto oom;
	v->devs = calloc(tot->ndevs ? tot->ndevs : 1, sizeof(*v->devs));
	seen = calloc(tot->ndevs + 1, 1);
	if (!v->devs || !seen)
		goto oom;
	for (size_t i = 0; i < tot->ndevs; i++) {
		const struct vt_dev *d = &tot->devs[i];
		struct vt_view_dev *o;

		if (keyset_add(&devs, d->vdev, 0, &added) < 0)
			goto oom;
		if (!added)
			continue; /* one row per device */
		o = &v->devs[v->ndevs++];
		o->vdev = d->vdev;
		o->container = d->d.container;
		snprintf(o->name, sizeof(o->name), "%.*s", (int)sizeof(d->d.name) - 1, d->d.name);
		snprintf(o->driver, sizeof(o->driver), "%.*s", (int)sizeof(d->d.driver) - 1,
			 d->d.driver);
	}
	for (size_t i = 0; i < all->n; i++) {
		const struct vt_row *r = &all->rows[i];
		long d;

		vt_view_row_visits++;
		if (!r->st.count ||
		    (r->key.op != VT_OP_UNREGISTER && r->key.op != VT_OP_CALLBACK) ||
		    (d = keyset_find(&devs, r->key.obj, 0)) < 0)
			continue;
		seen[d] |= r->key.op == VT_OP_UNREGISTER ? 1 : 2;
	}
	for (size_t i = 0, o = 0; i < tot->ndevs && o < v->ndevs; i++)
		if (tot->devs[i].vdev == v->devs[o].vdev) {
			v->devs[o].reg = reg_state(&tot->devs[i], seen[o]);
			o++;
		}
	if (dev_counts(v, &devs, iv, false) || dev_counts(v, &devs, tot, true))
		goto oom;
	totals(iv, &v->iv);
	totals(tot, &v->tot);
	memcpy(v->losses, all->losses, sizeof(v->losses));
	free(rc_iv);
	free(rc_tot);
	free(seen);
	keyset_free(&procs);
	keyset_free(&devs);
	keyset_free(&alldevs);
	return 0;
oom:
	free(rc_iv);
	free(rc_tot);
	free(seen);
	keyset_free(&procs);
	keyset_free(&devs);
	keyset_free(&alldevs);
	vt_view_free(v);
	return -1;
}

void vt_view_free(struct vt_view *v)
{
	free(v->procs);
	free(v->devs);
	memset(v, 0, sizeof(*v));
}

bool vt_view_proc_idle(const struct vt_view_proc *p)
{
	const struct vt_proc_counts *c = &p->iv;

	return !(c->unmaps | c->notifies | c->retries | c->callbacks | c->pins | c->errors |
		 c->lock_waits);
}

bool vt_view_dev_idle(const struct vt_view_dev *d)
{
	const struct vt_dev_counts *c = &d->iv;

	return !(c->callbacks | c->pins | c->unpins | c->pin_errors);
}

/* ---- text ------------------------------------------------------------------------------ */

/* A per-second rate, or the count itself when secs <= 0. */
static char *fmt_num(char *b, size_t l, uint64_t n, double secs)
{
	double v;

	if (secs <= 0) {
		snprintf(b, l, "%llu", (unsigned long long)n);
		return b;
	}
	v = n / secs;
	if (!n)
		snprintf(b, l, "0");
	else if (v < 9.95)
		snprintf(b, l, "%.1f", v);
	else
		snprintf(b, l, "%.0f", v);
	return b;
}

static char *fmt_mib(char *b, size_t l, uint64_t bytes, double secs)
{
	double v = bytes / 1048576.0 / (secs > 0 ? secs : 1);

	if (!bytes)
		snprintf(b, l, "0");
	else if (v < 9.995)
		snprintf(b, l, "%.2f", v);
	else
		snprintf(b, l, "%.1f", v);
	return b;
}

static char *fmt_lat(char *b, size_t l, uint64_t count, uint64_t ns)
{
	if (!count)
		snprintf(b, l, "-");
	else
		vt_fmt_ns(b, l, ns);
	return b;
}

static int clamp(size_t v, int lo, int hi)
{
	return v < (size_t)lo ? lo : v > (size_t)hi ? hi : (int)v;
}

static const char *ident(const struct vt_view_proc *p)
{
	return p->vm[0] ? p->vm : p->comm;
}

void vt_view_widths(const struct vt_view *v, struct vt_view_widths *w)
{
	size_t id = 0, nm = 0;

	/* names are shown escaped (vt_esc): as wide as that */
	for (size_t i = 0; i < v->nprocs; i++) {
		size_t l = vt_esc_width(ident(&v->procs[i]), sizeof(v->procs[i].vm));

		if (l > id)
			id = l;
	}
	for (size_t i = 0; i < v->ndevs; i++) {
		size_t l = vt_esc_width(v->devs[i].name, sizeof(v->devs[i].name));

		if (l > nm)
			nm = l;
	}
	w->ident = clamp(id, 8, 24);
	w->name = clamp(nm, 12, 36);
}

/* Column order: what a user needs first on an 80-column terminal, the container address
 * (long, for matching with the JSON) last. */
void vt_view_proc_header(char *buf, size_t len, bool counts, const struct vt_view_widths *w)
{
	snprintf(buf, len, "%7s %-*s %8s %8s %8s %6s %9s %5s %8s %8s %6s %9s %7s %8s %s", "PID",
		 w->ident, "COMM/VM", counts ? "UNMAPS" : "UNMAP/s", counts ? "MiB" : "MiB/s",
		 counts ? "NOTIFIES" : "NOTIFY/s", "RETRY", "UNMAP_P99", "ERR",
		 counts ? "CBS" : "CB/s", counts ? "PINS" : "PIN/s", "LKWAIT", "LKW_MAX", "TD_DMAS",
		 "TD_TIME", "CONTAINER");
}

void vt_view_proc_line(char *buf, size_t len, const struct vt_view_proc *p,
		       const struct vt_proc_counts *c, double secs, const struct vt_view_widths *w)
{
	char un[24], mib[24], no[24], cb[24], pi[24], p99[24], lw[24], td[24];
	char id[VT_ESC_SIZE(sizeof(p->vm))];

	/* a VM name or comm is someone else's choice: escaped, cut to the column */
	snprintf(buf, len, "%7u %s %8s %8s %8s %6llu %9s %5llu %8s %8s %6llu %9s %7llu %8s %#llx",
		 p->tgid, vt_esc_cols(id, sizeof(id), ident(p), sizeof(p->vm), w->ident),
		 fmt_num(un, sizeof(un), c->unmaps, secs),
		 fmt_mib(mib, sizeof(mib), c->unmap_bytes, secs),
		 fmt_num(no, sizeof(no), c->notifies, secs), (unsigned long long)c->retries,
		 fmt_lat(p99, sizeof(p99), c->unmaps, c->unmap_p99), (unsigned long long)c->errors,
		 fmt_num(cb, sizeof(cb), c->callbacks, secs),
		 fmt_num(pi, sizeof(pi), c->pins, secs), (unsigned long long)c->lock_waits,
		 fmt_lat(lw, sizeof(lw), c->lock_waits, c->lock_wait_max),
		 (unsigned long long)c->teardown_dmas,
		 fmt_lat(td, sizeof(td), c->teardown_dmas, c->teardown_max),
		 (unsigned long long)p->container);
}

void vt_view_dev_header(char *buf, size_t len, bool counts, const struct vt_view_widths *w)
{
	snprintf(buf, len, "%-*s %-12s %4s %8s %7s %7s %7s %8s %8s %8s %6s %6s", w->name, "DEVICE",
		 "DRIVER", "REG", counts ? "CBS" : "CB/s", "CB_P50", "CB_P99", "CB_MAX",
		 counts ? "PINS" : "PIN/s", counts ? "PAGES" : "PAGES/s",
		 counts ? "UNPINS" : "UNPIN/s", "EINVAL", "PINERR");
}

void vt_view_dev_line(char *buf, size_t len, const struct vt_view_dev *d,
		      const struct vt_dev_counts *c, double secs, const struct vt_view_widths *w)
{
	char cb[24], p50[24], p99[24], mx[24], pi[24], pg[24], up[24];
	char name[VT_ESC_SIZE(sizeof(d->name))], drv[VT_ESC_SIZE(sizeof(d->driver))];

	snprintf(buf, len, "%s %s %4s %8s %7s %7s %7s %8s %8s %8s %6llu %6llu",
		 vt_esc_cols(name, sizeof(name), d->name, sizeof(d->name), w->name),
		 vt_esc_cols(drv, sizeof(drv), d->driver, sizeof(d->driver), 12),
		 vt_reg_name(d->reg), fmt_num(cb, sizeof(cb), c->callbacks, secs),
		 fmt_lat(p50, sizeof(p50), c->callbacks, c->cb_p50),
		 fmt_lat(p99, sizeof(p99), c->callbacks, c->cb_p99),
		 fmt_lat(mx, sizeof(mx), c->callbacks, c->cb_max),
		 fmt_num(pi, sizeof(pi), c->pins, secs), fmt_num(pg, sizeof(pg), c->pages, secs),
		 fmt_num(up, sizeof(up), c->unpins, secs), (unsigned long long)c->einval,
		 (unsigned long long)c->pin_errors);
}

static void summary_row(char *buf, const char *label, const struct vt_view_totals *t)
{
	char mib[24];

	snprintf(buf, VT_VIEW_LINE,
		 "%-14s %9llu %9s %9llu %9llu %9llu %9llu %9llu %9llu %9llu %9llu %9llu", label,
		 (unsigned long long)t->unmaps, fmt_mib(mib, sizeof(mib), t->unmap_bytes, 0),
		 (unsigned long long)t->notifies, (unsigned long long)t->callbacks,
		 (unsigned long long)t->pins, (unsigned long long)t->pages,
		 (unsigned long long)t->retries, (unsigned long long)t->errors,
		 (unsigned long long)t->einval, (unsigned long long)t->unpins,
		 (unsigned long long)t->teardown_dmas);
}

int vt_view_summary(const struct vt_view *v, const char *not_traced, char lines[][VT_VIEW_LINE],
		    int max)
{
	char label[32];
	int n = 0;

	if (n < max)
		snprintf(lines[n++], VT_VIEW_LINE,
			 "%-14s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s", "", "UNMAPS", "MiB",
			 "NOTIFIES", "CALLBACKS", "PINS", "PAGES", "RETRIES", "ERRORS", "EINVAL",
			 "UNPINS", "TD_DMAS");
	snprintf(label, sizeof(label), "total %.1fs", v->tot_secs);
	if (n < max)
		summary_row(lines[n++], label, &v->tot);
	snprintf(label, sizeof(label), "last %.2fs", v->secs);
	if (n < max)
		summary_row(lines[n++], label, &v->iv);
	if (n < max) {
		int len = snprintf(lines[n], VT_VIEW_LINE, "LOST since start:");

		for (int i = 0; i < VT_LOSS_MAX; i++)
			if (v->losses[i] && len < VT_VIEW_LINE)
				len += snprintf(lines[n] + len, VT_VIEW_LINE - len, " %s %llu",
						vt_loss_name(i), (unsigned long long)v->losses[i]);
		if (len > (int)strlen("LOST since start:"))
			n++;
	}
	if (not_traced && not_traced[0] && n < max)
		snprintf(lines[n++], VT_VIEW_LINE, "not traced on this kernel: %s", not_traced);
	return n;
}
