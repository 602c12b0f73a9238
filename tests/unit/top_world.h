/* SPDX-License-Identifier: GPL-2.0 */
/* The made-up world the unit tests of top's view share (tests/unit/test_top*.c): containers,
 * devices and processes with known counts, and the view built over it. */
#ifndef VT_TEST_TOP_WORLD_H
#define VT_TEST_TOP_WORLD_H

#define C1 0xffff888001000000ULL /* containers */
#define C2 0xffff888002000000ULL
#define D1 0xffff888101000000ULL /* devices */
#define D2 0xffff888102000000ULL
#define D3 0xffff888103000000ULL
#define KC 0
#define KD 1

static inline struct vtr_stat *row(struct vt_snapshot *s, int op, int kind, uint64_t obj,
				   uint32_t tgid)
{
	struct vtr_key k = { .obj = obj, .tgid = tgid, .op = op, .kind = kind };

	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(&s->rows[i].key, &k, sizeof(k)))
			return &s->rows[i].st;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->rows = realloc(s->rows, s->cap * sizeof(*s->rows));
		assert_non_null(s->rows);
	}
	memset(&s->rows[s->n], 0, sizeof(s->rows[0]));
	s->rows[s->n].key = k;
	return &s->rows[s->n++].st;
}

/* n operations of lat ns each, bytes in total, err of them failed (einval with -EINVAL). */
static inline void add(struct vt_snapshot *s, int op, int kind, uint64_t obj, uint32_t tgid,
		       uint64_t n, uint64_t bytes, uint64_t lat, uint64_t err, uint64_t einval)
{
	struct vtr_stat *st = row(s, op, kind, obj, tgid);

	st->count += n;
	st->bytes += bytes;
	st->errors += err;
	st->einval += einval;
	st->lat_sum += n * lat;
	if (n && lat > st->lat_max)
		st->lat_max = lat;
	st->hist[vt_hist_slot(lat)] += n;
}

static inline void dev(struct vt_snapshot *s, uint64_t vdev, uint64_t container, bool cb,
		       uint32_t tgid, bool registered, const char *name, const char *driver)
{
	struct vt_dev *d;

	s->devs = realloc(s->devs, (s->ndevs + 1) * sizeof(*s->devs));
	assert_non_null(s->devs);
	d = &s->devs[s->ndevs++];
	memset(d, 0, sizeof(*d));
	d->vdev = vdev;
	d->d.container = container;
	d->d.dma_unmap = cb ? 0xffffffffc0001000ULL : 0;
	d->d.tgid = tgid;
	d->d.registered = registered;
	snprintf(d->d.name, sizeof(d->d.name), "%s", name);
	snprintf(d->d.driver, sizeof(d->d.driver), "%s", driver);
}

/*
 * The world the tests look at: process 100 unmaps in container C1 with devices D1 and D2
 * (both with dma_unmap); process 200 pins through D3 (no dma_unmap) in C2 and fails.
 * prev is 2 s before now.
 */
static inline void world(struct vt_snapshot *prev, struct vt_snapshot *now)
{
	memset(prev, 0, sizeof(*prev));
	memset(now, 0, sizeof(*now));
	for (int i = 0; i < 2; i++) {
		struct vt_snapshot *s = i ? now : prev;
		uint64_t k = i ? 3 : 1; /* now has three times prev's counts */

		s->ts = i ? 3000000000ULL : 1000000000ULL;
		dev(s, D1, C1, true, 100, true, "vfio_dmatest.0", "vfio_dmatest");
		dev(s, D2, C1, true, 100, false, "vfio_dmatest.1", "vfio_dmatest");
		dev(s, D3, C2, false, 200, false, "vfio_dmatest_nocb.0", "vfio_dmatest");
		add(s, VT_OP_UNMAP, KC, C1, 100, 10 * k, 10 * k * 65536, 20000, 0, 0);
		add(s, VT_OP_MAP, KC, C1, 100, 10 * k, 10 * k * 65536, 5000, k, 0);
		add(s, VT_OP_NOTIFY, KC, C1, 100, 10 * k, 10 * k * 65536, 8000, 0, 0);
		add(s, VT_OP_RETRY, KC, C1, 100, k, 65536 * k, 0, 0, 0);
		add(s, VT_OP_CALLBACK, KD, D1, 100, 10 * k, 10 * k * 65536, 3000, 0, 0);
		add(s, VT_OP_CALLBACK, KD, D2, 100, 10 * k, 10 * k * 65536, 3000, 0, 0);
		add(s, VT_OP_PIN, KD, D1, 100, 10 * k, 40 * k, 1000, 0, 0);
		add(s, VT_OP_PIN, KD, D3, 200, 5 * k, 0, 500, 5 * k, 5 * k);
		add(s, VT_OP_REGISTER, KD, D1, 100, 1, 0, 0, 0, 0);
	}
	/* one slow callback on D2 in the interval */
	add(now, VT_OP_CALLBACK, KD, D2, 100, 1, 65536, 2000000, 0, 0);
	/* process 200 let C2 go with 7 vfio_dma still mapped: one 3 ms teardown */
	add(now, VT_OP_TEARDOWN, KC, C2, 200, 1, 7 * 65536, 3000000, 0, 0);
	row(now, VT_OP_TEARDOWN, KC, C2, 200)->items = 7;
	now->losses[VT_LOSS_NO_ENTRY] = 2;
}

static inline const struct vt_view_proc *find_proc(const struct vt_view *v, uint64_t c,
						   uint32_t tgid)
{
	for (size_t i = 0; i < v->nprocs; i++)
		if (v->procs[i].container == c && v->procs[i].tgid == tgid)
			return &v->procs[i];
	return NULL;
}

static inline const struct vt_view_dev *find_dev(const struct vt_view *v, uint64_t vdev)
{
	for (size_t i = 0; i < v->ndevs; i++)
		if (v->devs[i].vdev == vdev)
			return &v->devs[i];
	return NULL;
}

/* v from the world: interval = now - prev (2 s), totals = now (tracer start = empty). */
static inline void build(struct vt_view *v, struct vt_snapshot *prev, struct vt_snapshot *now)
{
	struct vt_snapshot iv, empty = { .ts = 0 };

	world(prev, now);
	assert_int_equal(vt_snapshot_diff(now, prev, &iv), 0);
	assert_int_equal(vt_view_build(v, &iv, 2.0, now, 3.0, now), 0);
	vt_snapshot_free(&iv);
	(void)empty;
}

#endif
