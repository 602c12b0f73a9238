// SPDX-License-Identifier: GPL-2.0
/* The aggregation model: snapshots of cumulative rows, their differences, percentiles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"

#define VT_OP_INFO_(e, name, flags) [VT_OP_##e] = { name, flags },
static const struct {
	const char *name;
	unsigned flags;
} op_info[VT_OP_MAX] = { VT_OPS(VT_OP_INFO_) };

const char *vt_op_name(int op)
{
	return op >= 0 && op < VT_OP_MAX ? op_info[op].name : "?";
}

unsigned vt_op_flags(int op)
{
	return op >= 0 && op < VT_OP_MAX ? op_info[op].flags : 0;
}

int vt_ops_with(unsigned flags, int out[VT_OP_MAX])
{
	int n = 0;

	for (int op = 0; op < VT_OP_MAX; op++)
		if ((op_info[op].flags & flags) == flags)
			out[n++] = op;
	return n;
}

const int vt_phase_ops[VT_PHASE_OPS] = { VT_OP_UNMAP_UNPIN, VT_OP_IOMMU_UNMAP, VT_OP_IOTLB_SYNC,
					 VT_OP_IOVA_WALK, VT_OP_UNPIN_REMOTE };

int vt_phase_index(int op)
{
	for (int i = 0; i < VT_PHASE_OPS; i++)
		if (vt_phase_ops[i] == op)
			return i;
	return -1;
}

uint32_t vt_phase_mask(void)
{
	uint32_t m = 0;

	for (int i = 1; i < VT_PHASE_OPS; i++)
		m |= 1u << vt_phase_ops[i];
	return m;
}

uint64_t vt_event_own_ns(const struct vtr_event *e)
{
	if (e->lat == VT_LAT_NONE)
		return e->lat;
	return e->nested_ns < e->lat ? e->lat - e->nested_ns : 0;
}

void vt_snapshot_free(struct vt_snapshot *s)
{
	free(s->rows);
	free(s->devs);
	free(s->lockmax);
	memset(s, 0, sizeof(*s));
}

int vt_snapshot_copy(const struct vt_snapshot *in, struct vt_snapshot *out)
{
	*out = *in;
	out->rows = malloc((in->n ? in->n : 1) * sizeof(*in->rows));
	out->devs = malloc((in->ndevs ? in->ndevs : 1) * sizeof(*in->devs));
	if (!out->rows || !out->devs) {
		free(out->rows);
		free(out->devs);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (in->n) /* rows/devs may be NULL when empty: memcpy(NULL, ...) is undefined */
		memcpy(out->rows, in->rows, in->n * sizeof(*in->rows));
	if (in->ndevs)
		memcpy(out->devs, in->devs, in->ndevs * sizeof(*in->devs));
	out->cap = in->n;
	/* The lock maxima are not the baseline's to share: freeing both would free them twice. */
	out->lockmax = NULL;
	out->nlockmax = 0;
	return 0;
}

void vt_stat_add(struct vtr_stat *acc, const struct vtr_stat *s)
{
	acc->count += s->count;
	acc->errors += s->errors;
	acc->einval += s->einval;
	acc->bytes += s->bytes;
	acc->items += s->items;
	acc->lat_sum += s->lat_sum;
	if (s->lat_max > acc->lat_max)
		acc->lat_max = s->lat_max;
	for (int i = 0; i < VT_HIST_SLOTS; i++)
		acc->hist[i] += s->hist[i];
}

uint64_t vt_rowidx_probes;

static size_t key_hash(const struct vtr_key *k)
{
	uint64_t h = k->obj ^ ((uint64_t)k->tgid << 32 | (uint64_t)k->op << 16 | k->kind);

	/* splitmix64's finalizer: obj is a kernel pointer (low bits constant), tgid small */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (size_t)h;
}

static bool key_eq(const struct vtr_key *a, const struct vtr_key *b)
{
	return a->obj == b->obj && a->tgid == b->tgid && a->op == b->op && a->kind == b->kind;
}

struct vt_row *vt_rowidx_find(const struct vt_rowidx *x, const struct vt_row *rows,
			      const struct vtr_key *key)
{
	if (!x->mask)
		return NULL;
	for (size_t h = key_hash(key) & x->mask;; h = (h + 1) & x->mask) {
		vt_rowidx_probes++;
		if (!x->slot[h])
			return NULL;
		if (key_eq(&rows[x->slot[h] - 1].key, key)) /* the caller's constness */
			return (struct vt_row *)&rows[x->slot[h] - 1];
	}
}

static void rowidx_put(struct vt_rowidx *x, const struct vt_row *rows, size_t i)
{
	size_t h = key_hash(&rows[i].key) & x->mask;

	while (x->slot[h]) {
		vt_rowidx_probes++;
		h = (h + 1) & x->mask;
	}
	vt_rowidx_probes++;
	x->slot[h] = i + 1;
}

int vt_rowidx_add(struct vt_rowidx *x, const struct vt_row *rows, size_t i)
{
	if (!x->mask || (x->n + 1) * 2 > x->mask + 1) {
		size_t slots = x->mask ? (x->mask + 1) * 2 : 64, *old = x->slot, omask = x->mask;

		x->slot = calloc(slots, sizeof(*x->slot));
		if (!x->slot) {
			x->slot = old;
			return -ENOMEM;
		}
		x->mask = slots - 1;
		for (size_t j = 0; old && j <= omask; j++)
			if (old[j])
				rowidx_put(x, rows, old[j] - 1);
		free(old);
	}
	rowidx_put(x, rows, i);
	x->n++;
	return 0;
}

void vt_rowidx_free(struct vt_rowidx *x)
{
	free(x->slot);
	memset(x, 0, sizeof(*x));
}

/* prev's rows by key, for a diff in O(rows of now + rows of prev). */
static int index_rows(struct vt_rowidx *x, const struct vt_snapshot *s)
{
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; s && i < s->n; i++)
		if (!vt_rowidx_find(x, s->rows, &s->rows[i].key) && vt_rowidx_add(x, s->rows, i))
			return -ENOMEM;
	return 0;
}

int vt_snapshot_diff(const struct vt_snapshot *now, const struct vt_snapshot *prev,
		     struct vt_snapshot *out)
{
	struct vt_rowidx pidx;

	memset(out, 0, sizeof(*out));
	out->ts = now->ts;
	out->rows = calloc(now->n ? now->n : 1, sizeof(*out->rows));
	out->devs = calloc(now->ndevs ? now->ndevs : 1, sizeof(*out->devs));
	if (!out->rows || !out->devs)
		return -1;
	if (now->ndevs) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(out->devs, now->devs, now->ndevs * sizeof(*now->devs));
	out->ndevs = now->ndevs;
	out->untraced_ops = now->untraced_ops;
	out->untimed_ops = now->untimed_ops;
	if (now->nlockmax) {
		out->lockmax = malloc(now->nlockmax * sizeof(*now->lockmax));
		if (!out->lockmax)
			return -1;
		memcpy(out->lockmax, now->lockmax, now->nlockmax * sizeof(*now->lockmax));
		out->nlockmax = now->nlockmax;
	}
	for (int i = 0; i < VT_LOSS_MAX; i++)
		out->losses[i] = now->losses[i] - (prev ? prev->losses[i] : 0);
	if (index_rows(&pidx, prev))
		goto oom;
	for (size_t i = 0; i < now->n; i++) {
		const struct vt_row *p =
			prev ? vt_rowidx_find(&pidx, prev->rows, &now->rows[i].key) : NULL;
		struct vt_row *o = &out->rows[out->n];

		*o = now->rows[i];
		if (p) {
			o->st.count -= p->st.count;
			o->st.errors -= p->st.errors;
			o->st.einval -= p->st.einval;
			o->st.bytes -= p->st.bytes;
			o->st.items -= p->st.items;
			o->st.lat_sum -= p->st.lat_sum;
			for (int h = 0; h < VT_HIST_SLOTS; h++)
				o->st.hist[h] -= p->st.hist[h];
			/* lat_max is cumulative; the interval's max is only known from the
			 * histogram's highest non-empty slot. */
			if (o->st.count && p->st.lat_max == o->st.lat_max) {
				int h = VT_HIST_SLOTS - 1;

				while (h > 0 && !o->st.hist[h])
					h--;
				o->st.lat_max = vt_hist_slot_low(h + 1) - 1;
			}
		}
		if (o->st.count || !p)
			out->n++;
	}
	vt_rowidx_free(&pidx);
	return 0;
oom:
	vt_rowidx_free(&pidx);
	return -1;
}

void vt_snapshot_sum(const struct vt_snapshot *s, int op, uint64_t obj, uint32_t tgid,
		     struct vtr_stat *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->n; i++) {
		const struct vt_row *r = &s->rows[i];

		if (r->key.op != op || (obj && r->key.obj != obj) || (tgid && r->key.tgid != tgid))
			continue;
		vt_stat_add(out, &r->st);
	}
}

const struct vt_dev *vt_snapshot_dev(const struct vt_snapshot *s, uint64_t vdev)
{
	for (size_t i = 0; i < s->ndevs; i++)
		if (s->devs[i].vdev == vdev)
			return &s->devs[i];
	return NULL;
}

void vt_lockmax_from_mutex(struct vt_ksyms *ks, struct vt_lockmax *m)
{
	int first = 0;

	for (int f = 0; f < m->nstack; f++) {
		const struct vt_ksym *k = vt_ksyms_by_addr(ks, m->stack[f]);

		if (k && (!strncmp(k->name, "mutex_unlock", 12) ||
			  !strncmp(k->name, "mutex_lock", 10))) {
			first = f;
			break;
		}
	}
	memmove(m->stack, m->stack + first, (m->nstack - first) * sizeof(m->stack[0]));
	m->nstack -= first;
}

/* The inverse of vt_hist_slot() (include/vt_hist.h). */
uint64_t vt_hist_slot_low(unsigned slot)
{
	unsigned o, sub;

	if (slot < VT_HIST_SUB)
		return slot;
	if (slot >= VT_HIST_SLOTS)
		return 1ULL << VT_HIST_OCTAVES;
	o = slot / VT_HIST_SUB + VT_HIST_SUB_BITS - 1;
	sub = slot % VT_HIST_SUB;
	return (1ULL << o) + ((uint64_t)sub << (o - VT_HIST_SUB_BITS));
}

uint64_t vt_hist_percentile(const __u64 *hist, double p)
{
	uint64_t total = 0, seen = 0, rank;

	for (int i = 0; i < VT_HIST_SLOTS; i++)
		total += hist[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p / 100.0 * total + 0.5);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (int i = 0; i < VT_HIST_SLOTS; i++) {
		seen += hist[i];
		if (seen >= rank) {
			uint64_t lo = vt_hist_slot_low(i), hi = vt_hist_slot_low(i + 1);

			return lo + (hi - lo) / 2;
		}
	}
	return 0;
}
