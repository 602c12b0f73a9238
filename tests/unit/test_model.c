// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the aggregation model: histogram slots, percentiles, snapshot diffs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"
#include "top/view.h"

/* Every value lands in the slot whose [low, next low) range holds it. */
static void test_hist_slot_inverse(void **state)
{
	uint64_t vals[] = { 0,
			    1,
			    3,
			    4,
			    5,
			    7,
			    8,
			    9,
			    15,
			    16,
			    1000,
			    1023,
			    1024,
			    123456789,
			    (1ULL << 39) + 5,
			    (1ULL << 40) - 1 };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		unsigned s = vt_hist_slot(vals[i]);

		assert_true(s < VT_HIST_SLOTS);
		assert_true(vt_hist_slot_low(s) <= vals[i]);
		assert_true(vals[i] < vt_hist_slot_low(s + 1));
	}
	for (uint64_t v = 0; v < 100000; v += 7) {
		unsigned s = vt_hist_slot(v);

		assert_true(vt_hist_slot_low(s) <= v && v < vt_hist_slot_low(s + 1));
	}
	assert_int_equal(vt_hist_slot(1ULL << 41), VT_HIST_SLOTS - 1);
}

/* Slots are monotonic: a larger value never gets a smaller slot. */
static void test_hist_slot_monotonic(void **state)
{
	unsigned last = 0;

	for (uint64_t v = 1; v < (1ULL << 40); v = v * 3 / 2 + 1) {
		unsigned s = vt_hist_slot(v);

		assert_true(s >= last);
		last = s;
	}
}

/* A percentile read from the histogram is within 1/VT_HIST_SUB (25 %) of the true one. */
static void test_percentile_error(void **state)
{
	static __u64 hist[VT_HIST_SLOTS];
	uint64_t vals[1000];

	srand(42);
	for (int i = 0; i < 1000; i++) {
		vals[i] = 1000 + (uint64_t)rand() % 5000000;
		hist[vt_hist_slot(vals[i])]++;
	}
	/* true p50/p99 by sorting */
	for (int i = 0; i < 1000; i++)
		for (int j = i + 1; j < 1000; j++)
			if (vals[j] < vals[i]) {
				uint64_t t = vals[i];

				vals[i] = vals[j];
				vals[j] = t;
			}
	double p50 = vt_hist_percentile(hist, 50), p99 = vt_hist_percentile(hist, 99);

	assert_true(p50 >= vals[499] * 0.75 && p50 <= vals[499] * 1.25);
	assert_true(p99 >= vals[989] * 0.75 && p99 <= vals[989] * 1.25);
	memset(hist, 0, sizeof(hist));
	assert_int_equal(vt_hist_percentile(hist, 99), 0);
	hist[vt_hist_slot(2000000)] = 1; /* a single 2 ms sample */
	p50 = vt_hist_percentile(hist, 50);
	assert_true(p50 >= 2000000 * 0.875 && p50 <= 2000000 * 1.125);
}

static struct vt_row row(uint64_t obj, uint32_t tgid, int op, uint64_t count, uint64_t bytes)
{
	struct vt_row r;

	memset(&r, 0, sizeof(r));
	r.key.obj = obj;
	r.key.tgid = tgid;
	r.key.op = op;
	r.st.count = count;
	r.st.bytes = bytes;
	r.st.hist[vt_hist_slot(100)] = count;
	r.st.lat_max = 100;
	return r;
}

static void test_snapshot_diff_and_sum(void **state)
{
	struct vt_row prev_rows[] = { row(1, 10, VT_OP_UNMAP, 5, 500),
				      row(2, 10, VT_OP_UNMAP, 1, 4096) };
	struct vt_row now_rows[] = { row(1, 10, VT_OP_UNMAP, 8, 800),
				     row(2, 10, VT_OP_UNMAP, 1, 4096),
				     row(3, 11, VT_OP_PIN, 2, 2) };
	struct vt_snapshot prev = { .rows = prev_rows, .n = 2 }, now = { .rows = now_rows, .n = 3 };
	struct vt_snapshot d;
	struct vtr_stat st;

	now.losses[VT_LOSS_RINGBUF] = 7;
	prev.losses[VT_LOSS_RINGBUF] = 3;
	assert_int_equal(vt_snapshot_diff(&now, &prev, &d), 0);
	/* the unchanged row (obj 2) is dropped, the new one (obj 3) kept whole */
	assert_int_equal(d.n, 2);
	vt_snapshot_sum(&d, VT_OP_UNMAP, 0, 0, &st);
	assert_int_equal(st.count, 3);
	assert_int_equal(st.bytes, 300);
	assert_int_equal(st.hist[vt_hist_slot(100)], 3);
	vt_snapshot_sum(&d, VT_OP_PIN, 3, 0, &st);
	assert_int_equal(st.count, 2);
	vt_snapshot_sum(&d, VT_OP_PIN, 0, 10, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(d.losses[VT_LOSS_RINGBUF], 4);
	vt_snapshot_free(&d);
	/* totals of the cumulative snapshot */
	vt_snapshot_sum(&now, VT_OP_UNMAP, 0, 10, &st);
	assert_int_equal(st.count, 9);
	assert_int_equal(st.bytes, 800 + 4096);
}

/* Ops a source did not observe are left out of the report, and the latency of ops it counted
 * without timing them, instead of zeros that look like measurements. */
static void test_report_untraced_untimed(void **state)
{
	struct vt_row rows[] = { row(1, 10, VT_OP_UNMAP, 3, 300), row(1, 10, VT_OP_PIN, 2, 2) };
	struct vt_snapshot s = { .rows = rows, .n = 2 };
	json_object *o, *ops, *x;

	o = vt_report_json(&s, 1.0, "");
	ops = json_object_object_get(o, "ops");
	assert_non_null(json_object_object_get(ops, "remove_dma"));
	assert_non_null(json_object_object_get(json_object_object_get(ops, "pin"), "latency_ns"));
	json_object_put(o);

	s.untraced_ops = 1u << VT_OP_REMOVE_DMA | 1u << VT_OP_UNMAP_UNPIN;
	s.untimed_ops = 1u << VT_OP_PIN;
	o = vt_report_json(&s, 1.0, "");
	ops = json_object_object_get(o, "ops");
	assert_null(json_object_object_get(ops, "remove_dma"));
	assert_null(json_object_object_get(ops, "unmap_unpin"));
	x = json_object_object_get(ops, "pin");
	assert_non_null(x);
	assert_int_equal(json_object_get_uint64(json_object_object_get(x, "count")), 2);
	assert_null(json_object_object_get(x, "latency_ns"));
	assert_non_null(json_object_object_get(json_object_object_get(ops, "unmap"), "latency_ns"));
	/* per container too */
	x = json_object_array_get_idx(json_object_object_get(o, "containers"), 0);
	assert_non_null(x);
	assert_null(json_object_object_get(json_object_object_get(x, "ops"), "remove_dma"));
	json_object_put(o);
}

/* n rows as the loader makes them (lib/loader.c add_row): a few containers and devices
 * (kernel pointers), many processes, every op; added through the index like add_row does. */
static void fill(struct vt_snapshot *s, struct vt_rowidx *idx, size_t n, uint64_t count)
{
	memset(s, 0, sizeof(*s));
	memset(idx, 0, sizeof(*idx));
	s->rows = calloc(n, sizeof(*s->rows));
	s->cap = n;
	assert_non_null(s->rows);
	for (size_t i = 0; i < n; i++) {
		struct vtr_key k = { .obj = 0xffff888100000000ULL + (i % 8) * 0x2000,
				     .tgid = 1000 + (uint32_t)(i / 8 / VT_OP_MAX),
				     .op = (i / 8) % VT_OP_MAX,
				     .kind = i % 2 };

		assert_null(vt_rowidx_find(idx, s->rows, &k));
		s->rows[s->n] = row(k.obj, k.tgid, k.op, count, count);
		s->rows[s->n].key = k;
		assert_int_equal(vt_rowidx_add(idx, s->rows, s->n), 0);
		s->n++;
	}
}

/* Building an n-row snapshot and diffing two cost O(n): counted in index probes at 1k and
 * 16k rows (16k rows took 1.1 s per interval with the linear search), never in time. */
static void test_snapshot_linear(void **state)
{
	uint64_t per_row[2];
	size_t sizes[2] = { 1024, 16384 };

	for (int k = 0; k < 2; k++) {
		struct vt_snapshot prev, now, d;
		struct vt_rowidx pi, ni;
		uint64_t p0 = vt_rowidx_probes, p1;

		fill(&prev, &pi, sizes[k], 1);
		fill(&now, &ni, sizes[k], 3);
		/* every key is found again, at its own row */
		for (size_t i = 0; i < now.n; i++)
			assert_ptr_equal(vt_rowidx_find(&ni, now.rows, &now.rows[i].key),
					 &now.rows[i]);
		p1 = vt_rowidx_probes;
		assert_int_equal(vt_snapshot_diff(&now, &prev, &d), 0);
		assert_int_equal(d.n, now.n);
		for (size_t i = 0; i < d.n; i++)
			assert_int_equal(d.rows[i].st.count, 2);
		/* the diff: index prev (n adds, n finds), find n keys */
		assert_true(vt_rowidx_probes - p1 < 8 * sizes[k]);
		per_row[k] = (vt_rowidx_probes - p0) / sizes[k];
		vt_snapshot_free(&d);
		vt_snapshot_free(&prev);
		vt_snapshot_free(&now);
		vt_rowidx_free(&pi);
		vt_rowidx_free(&ni);
	}
	/* the same small number of probes per row at 16x the rows (17 here, over five passes;
	 * the linear search: ~n/2 per find, 8k at 16k rows) */
	assert_true(per_row[0] < 32);
	assert_true(per_row[1] < 32);
	assert_true(per_row[1] <= per_row[0] + 2);
}

/* top's tables over n rows cost O(n) too: a few row visits and index probes per row,
 * whatever n (a search of the process list per row, or of the rows per process and
 * device, is what it replaced: 0.1-0.2 s an interval at 16k rows). Counted, never timed. */
static void test_view_linear(void **state)
{
	uint64_t per_row[2];
	size_t sizes[2] = { 1024, 16384 };

	for (int k = 0; k < 2; k++) {
		struct vt_snapshot s;
		struct vt_rowidx idx;
		struct vt_view v;
		uint64_t p0;

		fill(&s, &idx, sizes[k], 2);
		s.ndevs = 8;
		s.devs = calloc(s.ndevs, sizeof(*s.devs));
		assert_non_null(s.devs);
		for (size_t d = 0; d < s.ndevs; d++) {
			s.devs[d].vdev = 0xffff888100000000ULL + d * 0x2000;
			s.devs[d].d.container = 0xffff888001000000ULL;
			s.devs[d].d.dma_unmap = 1;
		}
		p0 = vt_rowidx_probes + vt_view_row_visits;
		assert_int_equal(vt_view_build(&v, &s, 1.0, &s, 1.0, &s), 0);
		per_row[k] = (vt_rowidx_probes + vt_view_row_visits - p0) / sizes[k];
		assert_true(v.nprocs > sizes[k] / 64); /* many processes: a real table */
		vt_view_free(&v);
		vt_snapshot_free(&s);
		vt_rowidx_free(&idx);
	}
	assert_true(per_row[0] < 24);
	assert_true(per_row[1] < 24);
	assert_true(per_row[1] <= per_row[0] + 2);
}

static void test_op_names(void **state)
{
	for (int i = 0; i < VT_OP_MAX; i++)
		assert_string_not_equal(vt_op_name(i), "?");
	assert_string_equal(vt_op_name(VT_OP_MAX), "?");
	assert_string_equal(vt_op_name(VT_OP_NOTIFY), "notify");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_slot_inverse),
		cmocka_unit_test(test_hist_slot_monotonic),
		cmocka_unit_test(test_percentile_error),
		cmocka_unit_test(test_snapshot_diff_and_sum),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_report_untraced_untimed),
		cmocka_unit_test(test_snapshot_linear),
		cmocka_unit_test(test_view_linear),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
