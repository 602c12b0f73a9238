// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the unmap-storm detector (lib/storm.c: thresholds, windows, hysteresis, one
 * alert per storm and per process), the alert records (lib/alert.c: JSON, text, escaping) and
 * their place in a recording (lib/record.c's ALERTS block, read back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "storm.h"
#include "record.h"

#define SEC 1000000000ull

/* The processes' cumulative unmaps: what a tracer's snapshot holds at each moment. */
struct world {
	uint64_t ts;
	uint64_t count[4], bytes[4];
	uint64_t lat_ns[4]; /* every unmap of the step takes this long */
	struct vt_row rows[4];
	struct vt_snapshot s;
	struct vt_storm_hit hits[64];
	int nhits;
};

static void on_hit(void *ctx, const struct vt_storm_hit *h)
{
	struct world *w = ctx;

	assert_true(w->nhits < 64);
	w->hits[w->nhits++] = *h;
}

/* secs more seconds in which process i (tgid 100 + i) did rate[i] unmaps a second of
 * size bytes each, then one snapshot fed to st. */
static int step(struct vt_storm *st, struct world *w, double secs, const double rate[4],
		uint64_t size)
{
	w->ts += (uint64_t)(secs * SEC);
	for (int i = 0; i < 4; i++) {
		uint64_t n = (uint64_t)(rate[i] * secs + 0.5);
		struct vt_row *r = &w->rows[i];

		w->count[i] += n;
		w->bytes[i] += n * size;
		r->key = (struct vtr_key){ .obj = 0x1000 + i, .tgid = 100 + i, .op = VT_OP_UNMAP };
		r->st.count = w->count[i];
		r->st.bytes = w->bytes[i];
		r->st.hist[vt_hist_slot(w->lat_ns[i] ? w->lat_ns[i] : 10000)] += n;
		r->st.lat_max = w->lat_ns[i] ? w->lat_ns[i] : 10000;
	}
	w->s = (struct vt_snapshot){ .ts = w->ts, .rows = w->rows, .n = 4 };
	return vt_storm_feed(st, &w->s, on_hit, w);
}

static struct vt_storm *detector(double rate, uint64_t bytes, uint64_t p99_ns)
{
	struct vt_storm_cfg c;

	vt_storm_cfg_default(&c);
	c.rate = rate;
	c.bytes = bytes;
	c.p99_ns = p99_ns;
	return vt_storm_new(&c);
}

static void test_defaults(void **state)
{
	struct vt_storm_cfg c;
	char buf[128];

	(void)state;
	vt_storm_cfg_default(&c);
	assert_false(c.off);
	assert_int_equal((int)c.rate, VT_STORM_RATE);
	assert_int_equal(c.window, 1.0);
	assert_int_equal(c.quiet, 10.0);
	assert_string_equal(vt_storm_desc(&c, buf, sizeof(buf)),
			    "rate 2000/s, bytes off, p99 off, window 1 s, quiet 10 s");
	c.off = true;
	assert_string_equal(vt_storm_desc(&c, buf, sizeof(buf)), "off");
}

/* One alert when the storm starts, none while it lasts, none for the quiet process. */
static void test_one_alert_per_storm(void **state)
{
	struct vt_storm *st = detector(1000, 0, 0);
	struct world w = { .ts = 5 * SEC };
	const double quiet[4] = { 50, 50, 0, 0 }, storm[4] = { 20000, 50, 0, 0 };

	(void)state;
	assert_int_equal(step(st, &w, 0, quiet, 65536), 0); /* the baseline */
	for (int i = 0; i < 5; i++)
		assert_int_equal(step(st, &w, 1, quiet, 65536), 0);
	assert_int_equal(step(st, &w, 1, storm, 65536), 1);
	for (int i = 0; i < 30; i++)
		assert_int_equal(step(st, &w, 1, storm, 65536), 0);
	assert_int_equal(w.nhits, 1);
	assert_int_equal(w.hits[0].tgid, 100);
	assert_int_equal(w.hits[0].why, VT_STORM_BY_RATE);
	assert_int_equal(w.hits[0].unmaps, 20000);
	assert_int_equal(w.hits[0].bytes, 20000ull * 65536);
	assert_int_equal(w.hits[0].ts, 11 * SEC);
	assert_true(w.hits[0].secs == 1.0);
	/* since the baseline: five quiet seconds, then the first storm second */
	assert_int_equal(w.hits[0].total_unmaps, 5 * 50 + 20000);
	assert_int_equal(w.hits[0].nth, 1);
	assert_true(vt_storm_active(st, 100));
	assert_false(vt_storm_active(st, 101));
	vt_storm_free(st);
}

/* Hysteresis: below half the threshold for `quiet` seconds ends a storm; between half and
 * the threshold it goes on (no new alert however long); a new storm after the quiet time
 * alerts again, one before it does not. */
static void test_hysteresis(void **state)
{
	struct vt_storm *st = detector(1000, 0, 0);
	struct world w = {};
	const double storm[4] = { 5000 }, half[4] = { 600 }, low[4] = { 400 };

	(void)state;
	step(st, &w, 0, low, 4096);
	assert_int_equal(step(st, &w, 1, storm, 4096), 1);
	for (int i = 0; i < 60; i++) /* above half: still the same storm */
		assert_int_equal(step(st, &w, 1, half, 4096), 0);
	assert_true(vt_storm_active(st, 100));
	for (int i = 0; i < 9; i++) /* 9 s below half: not quiet long enough */
		assert_int_equal(step(st, &w, 1, low, 4096), 0);
	assert_int_equal(step(st, &w, 1, storm, 4096), 0); /* resets the quiet time */
	for (int i = 0; i < 9; i++)
		assert_int_equal(step(st, &w, 1, low, 4096), 0);
	assert_true(vt_storm_active(st, 100));
	assert_int_equal(step(st, &w, 1, low, 4096), 0); /* the 10th quiet second */
	assert_false(vt_storm_active(st, 100));
	assert_int_equal(step(st, &w, 1, storm, 4096), 1);
	assert_int_equal(w.nhits, 2);
	assert_int_equal(w.hits[1].nth, 2);
	vt_storm_free(st);
}

/* A decision per window: snapshots every 0.1 s are summed until a second has passed, so a
 * rate is never judged on a sliver; exactly at the threshold counts. */
static void test_window(void **state)
{
	struct vt_storm *st = detector(1000, 0, 0);
	struct world w = {};
	const double none[4] = { 0 }, at[4] = { 1000 }, below[4] = { 990 };

	(void)state;
	step(st, &w, 0, none, 4096);
	for (int i = 0; i < 9; i++)
		assert_int_equal(step(st, &w, 0.1, below, 4096), 0);
	assert_int_equal(step(st, &w, 0.1, below, 4096), 0); /* 990 in the second */
	assert_int_equal(w.nhits, 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(step(st, &w, 0.1, at, 4096), 0);
	assert_int_equal(step(st, &w, 0.1, at, 4096), 1);
	assert_int_equal(w.hits[0].unmaps, 1000);
	vt_storm_free(st);
}

/* Bytes and p99: each crosses on its own; p99 only over VT_STORM_P99_MIN unmaps; a zero
 * threshold is no criterion; --no-storm nothing. */
static void test_criteria(void **state)
{
	struct vt_storm *st = detector(0, 100 << 20, 0);
	struct world w = {};
	const double some[4] = { 100, 10 }, few[4] = { 5 };
	struct vt_storm_cfg off;

	(void)state;
	/* 100 unmaps of 1 MiB less a page a second: under 100 MiB/s; then exactly at it */
	step(st, &w, 0, some, 1 << 20);
	assert_int_equal(step(st, &w, 1, some, (1 << 20) - 4096), 0);
	assert_int_equal(step(st, &w, 1, some, 1 << 20), 1);
	assert_int_equal(w.hits[0].why, VT_STORM_BY_BYTES);
	vt_storm_free(st);

	st = detector(0, 0, 1000000); /* 1 ms */
	memset(&w, 0, sizeof(w));
	w.lat_ns[0] = 5000000;
	step(st, &w, 0, few, 4096);
	assert_int_equal(step(st, &w, 1, few, 4096), 0); /* 5 slow unmaps: too few */
	assert_int_equal(step(st, &w, 1, some, 4096), 1);
	assert_int_equal(w.hits[0].why, VT_STORM_BY_P99);
	assert_true(w.hits[0].p99_ns >= 4000000 && w.hits[0].p99_ns <= 6000000);
	assert_int_equal(w.hits[0].max_ns, 5000000);
	vt_storm_free(st);

	vt_storm_cfg_default(&off);
	off.off = true;
	st = vt_storm_new(&off);
	memset(&w, 0, sizeof(w));
	step(st, &w, 0, some, 4096);
	for (int i = 0; i < 3; i++)
		assert_int_equal(step(st, &w, 1, (double[4]){ 1e6 }, 4096), 0);
	vt_storm_free(st);
}

/* A process that appears after the baseline storms from its first second. */
static void test_new_process(void **state)
{
	struct vt_storm *st = detector(1000, 0, 0);
	struct world w = {};
	const double one[4] = { 10 }, two[4] = { 10, 0, 3000 };

	(void)state;
	w.s = (struct vt_snapshot){ .ts = 0, .rows = w.rows, .n = 0 };
	assert_int_equal(vt_storm_feed(st, &w.s, on_hit, &w), 0);
	step(st, &w, 1, one, 4096);
	assert_int_equal(step(st, &w, 1, two, 4096), 1);
	assert_int_equal(w.hits[0].tgid, 102);
	assert_int_equal(w.hits[0].total_unmaps, 3000);
	vt_storm_free(st);
}

/* The STORM record and its text: names escaped in text, raw in JSON; threads and stacks. */
static void test_alert_text(void **state)
{
	struct vt_storm_hit h = { .tgid = 4242,
				  .why = VT_STORM_BY_RATE | VT_STORM_BY_BYTES,
				  .ts = 7 * SEC,
				  .secs = 1.0,
				  .unmaps = 3000,
				  .bytes = 3000ull * 65536,
				  .p99_ns = 70000,
				  .max_ns = 90000,
				  .total_unmaps = 3100,
				  .total_bytes = 3100ull * 65536,
				  .nth = 1 };
	struct vt_storm_cfg c;
	char text[2048];
	json_object *a, *v;

	(void)state;
	vt_storm_cfg_default(&c);
	a = vt_alert_storm(&h, &c, "qemu\x1b[2J", "web\n1");
	vt_alert_add_thread(
		a, 4243, "CPU 0/KVM",
		"[<0>] vfio_remove_dma+0x2a/0x80 [vfio_iommu_type1]\n[<0>] x+0x1/0x2\n");
	vt_alert_add_thread(a, 4244, "worker", NULL);
	assert_true(json_object_object_get_ex(a, "type", &v));
	assert_string_equal(json_object_get_string(v), "alert");
	assert_true(json_object_object_get_ex(a, "alert", &v));
	assert_string_equal(json_object_get_string(v), "STORM");
	assert_true(json_object_object_get_ex(a, "vm", &v));
	assert_string_equal(json_object_get_string(v), "web\n1");
	vt_alert_text(a, text, sizeof(text));
	assert_string_equal(
		text, "STORM in process 4242 (qemu\\x1b[2J) VM web\\x0a1: 3000 UNMAP_DMA in "
		      "1.00 s (3000/s, 187.5 MiB/s, p99 70.0us) crossed the rate+bytes "
		      "threshold; 3100 unmaps, 203161600 bytes since tracing began; 2 threads: "
		      "4243 (CPU 0/KVM) in vfio_remove_dma+0x2a/0x80, 4244 (worker)");
	json_object_put(a);
}

/* RETRY_STORM and DEADLOCK: the text lines they always had, now made from the record; and
 * RETRY_LIMIT. */
static void test_alert_kinds(void **state)
{
	json_object *a = vt_alert_new("DEADLOCK", 5);
	char text[1024];

	(void)state;
	json_object_object_add(a, "container", json_object_new_string("0xffff8881"));
	json_object_object_add(a, "vm", json_object_new_string("db\x7f"));
	json_object_object_add(a, "tid", json_object_new_int64(11));
	json_object_object_add(a, "thread_comm", json_object_new_string("un\ta"));
	json_object_object_add(a, "holds", json_object_new_string("iommu->lock"));
	json_object_object_add(a, "waits_for", json_object_new_string("device_list_lock"));
	json_object_object_add(a, "other_tid", json_object_new_int64(-1));
	json_object_object_add(a, "other_comm", json_object_new_string("unb"));
	json_object_object_add(a, "alerted_ms", json_object_new_int64(3));
	assert_string_equal(
		vt_alert_text(a, text, sizeof(text)),
		"DEADLOCK in container 0xffff8881 of VM db\\x7f: thread 11 (un\\x09a) holds "
		"iommu->lock and waits for device_list_lock, held by thread -1 (unb), "
		"which waits for iommu->lock (alerted 3 ms after the cycle closed)");
	json_object_put(a);
	a = vt_alert_new("RETRY_STORM", 5);
	json_object_object_add(a, "container", json_object_new_string("0x10"));
	json_object_object_add(a, "tid", json_object_new_int64(7));
	json_object_object_add(a, "thread_comm", json_object_new_string("q"));
	json_object_object_add(a, "iova", json_object_new_string("0x100000000"));
	json_object_object_add(a, "size", json_object_new_int64(65536));
	json_object_object_add(a, "notifies", json_object_new_int64(5));
	assert_string_equal(
		vt_alert_text(a, text, sizeof(text)),
		"RETRY STORM in container 0x10: UNMAP_DMA by thread 7 (q) notified the "
		"vfio_dma at iova 0x100000000 (65536 bytes) 5 times in a row: a driver's "
		"dma_unmap callback does not unpin it, and the kernel BUG()s after 10");
	json_object_object_add(a, "more", json_object_new_int64(9));
	assert_string_equal(
		vt_alert_text(a, text, sizeof(text)),
		"9 more retry storms in container 0x10 since the last line about it (one "
		"line a second per container)");
	json_object_put(a);
	/* iommufd's retry limit: the thread's comm escaped like the others */
	a = vt_alert_new("RETRY_LIMIT", 5);
	json_object_object_add(a, "ioas", json_object_new_string("0x20"));
	json_object_object_add(a, "tid", json_object_new_int64(8));
	json_object_object_add(a, "thread_comm", json_object_new_string("w\n"));
	json_object_object_add(a, "iova", json_object_new_string("0x100064000"));
	json_object_object_add(a, "size", json_object_new_int64(4096));
	json_object_object_add(a, "notifies", json_object_new_int64(101));
	assert_string_equal(
		vt_alert_text(a, text, sizeof(text)),
		"RETRY LIMIT in IOAS 0x20: IOMMU_IOAS_UNMAP by thread 8 (w\\x0a) gave up after 101 "
		"notifies without a gap between areas (the last: iova 0x100064000, 4096 bytes) and "
		"failed with -EDEADLOCK (a kernel WARN); the areas not reached stay mapped and "
		"pinned");
	json_object_put(a);
}

/* An alert raised before the recording's start and one after read back in order; the INFO
 * block keeps the detector's settings. */
static void test_record_alerts(void **state)
{
	char path[] = "/tmp/vt-test-storm-XXXXXX", err[256];
	struct vt_rec_info in = { .start_mono = 1000, .interval = 1 };
	struct vt_recording r;
	struct vt_rec_writer *w;
	size_t len;
	void *buf;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(in.storm, sizeof(in.storm), "rate 2000/s");
	w = vt_rec_create(path, 0);
	assert_non_null(w);
	assert_int_equal(vt_rec_alert(w, "{\"type\":\"alert\",\"alert\":\"DEADLOCK\"}"), 0);
	assert_int_equal(vt_rec_start(w, &in), 0);
	assert_int_equal(vt_rec_alert(w, "{\"type\":\"alert\",\"alert\":\"STORM\",\"pid\":7}"), 0);
	assert_int_equal(vt_rec_close(w, 2000, "signal"), 0);
	buf = vt_rec_load(path, &len, err, sizeof(err));
	assert_non_null(buf);
	assert_int_equal(vt_rec_parse(buf, len, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.nalerts, 2);
	assert_string_equal(r.alerts[0], "{\"type\":\"alert\",\"alert\":\"DEADLOCK\"}");
	assert_string_equal(r.alerts[1], "{\"type\":\"alert\",\"alert\":\"STORM\",\"pid\":7}");
	assert_string_equal(r.info.storm, "rate 2000/s");
	assert_int_equal(r.skipped, 0);
	vt_rec_free(&r);
	free(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_one_alert_per_storm),
		cmocka_unit_test(test_hysteresis),    cmocka_unit_test(test_window),
		cmocka_unit_test(test_criteria),      cmocka_unit_test(test_new_process),
		cmocka_unit_test(test_alert_text),    cmocka_unit_test(test_alert_kinds),
		cmocka_unit_test(test_record_alerts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
