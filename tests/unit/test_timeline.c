// SPDX-License-Identifier: GPL-2.0
/* Unit tests of report's pictures (lib/timeline.c, lib/heatmap.c) on a recording made here,
 * whose calls are known: the trace parses, names every process and thread (names that need
 * escaping included), nests each call in its caller (the parent first when both begin and end
 * together), makes untimed operations and alerts instant events, keeps only the window; the
 * heatmap has one cell per non-empty (column, log2 latency) bucket and the documented column
 * widths. tests/lab/timeline_check.py checks real recordings the same way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "timeline.h"

#define T0  1000000000ULL /* the recording's start, CLOCK_MONOTONIC ns */
#define VM  "web \"01\"\n<\\x>\xff"
#define DEV "0000:00:04.0 \"q\""

static struct vt_rec_writer *w;

static bool name(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	snprintf(p->comm, sizeof(p->comm), "qemu-system-x86");
	if (tgid == 100)
		snprintf(p->vm, sizeof(p->vm), "%s", VM);
	return true;
}

/* An operation of thread tid (process tgid) from start to end (ns after T0). */
static void ev(uint32_t tgid, uint32_t tid, int op, uint64_t start, uint64_t end, const char *dev,
	       bool lifecycle)
{
	struct vtr_event e = {
		.ts = T0 + end,
		.lat = end - start,
		.op = op,
		.pid = tid,
		.tgid = tgid,
		.container = 0xc0,
		.size = 4096,
	};

	snprintf(e.comm, sizeof(e.comm), tid == 101 ? "CPU 0/KVM" : "worker");
	if (dev)
		snprintf(e.dev, sizeof(e.dev), "%s", dev);
	if (op == VT_OP_RETRY || op == VT_OP_REGISTER)
		e.lat = 0;
	assert_int_equal(vt_rec_event(w, &e, lifecycle), 0);
	if (!lifecycle && tgid == 100)
		assert_int_equal(vt_rec_name(w, tgid, name, NULL), 0);
}

/* The recording, in completion order as the ring has it; its bytes in *buf. */
static size_t make(unsigned char **buf, const char *host)
{
	struct vt_rec_info in = { .start_mono = T0, .interval = 1 };
	char path[] = "/tmp/vt-test-timeline-XXXXXX";
	int fd = mkstemp(path);
	char load_err[160];
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	snprintf(in.host, sizeof(in.host), "%s", host);
	snprintf(in.kernel, sizeof(in.kernel), "6.12-test");
	w = vt_rec_create(path, 0);
	assert_non_null(w);
	assert_int_equal(vt_rec_start(w, &in), 0);
	ev(100, 102, VT_OP_PIN, 5000, 6000, DEV, false);
	/* UNMAP_DMA [10us, 100us]: under iommu->lock one removal, then the notify (the lock
	 * dropped, device_list_lock held) to two devices, the first unpinning, then a removal */
	ev(100, 101, VT_OP_LOCK_WAIT, 10500, 11000, "iommu->lock", false);
	ev(100, 101, VT_OP_UNMAP_UNPIN, 13000, 19000, NULL, false);
	ev(100, 101, VT_OP_REMOVE_DMA, 12000, 20000, NULL, false);
	ev(100, 101, VT_OP_LOCK_HOLD, 11000, 40000, "iommu->lock", false);
	ev(100, 101, VT_OP_RETRY, 42000, 42000, NULL, false);
	ev(100, 101, VT_OP_LOCK_HOLD, 44000, 58000, "iommu->lock", false);
	ev(100, 101, VT_OP_UNPIN, 43000, 59000, DEV, false);
	ev(100, 101, VT_OP_CALLBACK, 42000, 60000, DEV, false);
	ev(100, 101, VT_OP_CALLBACK, 61000, 88000, "mdev-2", false);
	ev(100, 101, VT_OP_NOTIFY, 42000, 88000, NULL, false);
	ev(100, 101, VT_OP_LOCK_HOLD, 41000, 89000, "device_list_lock", false);
	ev(100, 101, VT_OP_LOCK_DROP, 40000, 90000, "iommu->lock", false);
	ev(100, 101, VT_OP_REMOVE_DMA, 91000, 99000, NULL, false);
	ev(100, 101, VT_OP_UNMAP, 10000, 100000, NULL, false);
	/* a notify to one device: the notify and its callback begin and end together */
	ev(100, 101, VT_OP_CALLBACK, 210000, 220000, DEV, false);
	ev(100, 101, VT_OP_NOTIFY, 210000, 220000, NULL, false);
	ev(100, 101, VT_OP_UNMAP, 200000, 230000, NULL, false);
	/* alerts (lifecycle records) and what is not an alert */
	ev(100, 101, VT_OP_RETRY, 225000, 225000, NULL, true);
	ev(100, 101, VT_OP_DEADLOCK, 226000, 226000, "worker", true);
	ev(100, 101, 0x1ff, 227000, 227000, "STORM", true);
	ev(100, 101, VT_EV_MODULE_LOAD, 228000, 228000, "vfio_pci", true);
	/* another process, unnamed by the recording: its comm; a register is an instant */
	ev(200, 200, VT_OP_REGISTER, 3000000, 3000000, DEV, false);
	ev(200, 200, VT_OP_UNMAP, 2000000, 2999000, NULL, false);
	assert_int_equal(vt_rec_close(w, T0 + 4000000, "signal"), 0);
	*buf = vt_rec_load(path, &len, load_err, sizeof(load_err));
	assert_non_null(*buf);
	unlink(path);
	return len;
}

struct slice {
	const char *cat, *name;
	double ts, end;
	int pid, tid;
};

/* The trace of the window [from, to) (ns after T0): its events in *out (slices first). */
static json_object *trace(const unsigned char *b, size_t len, uint64_t from, uint64_t to)
{
	char path[] = "/tmp/vt-test-timeline-XXXXXX", err[256];
	struct vt_recording r;
	json_object *doc;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vt_rec_parse(b, len, VT_REC_READ_NO_EVENTS, &r, err, sizeof(err)), 0);
	assert_int_equal(vt_chrome_trace(&r, b, len, T0 + from, to == UINT64_MAX ? to : T0 + to,
					 path, err, sizeof(err)),
			 0);
	doc = json_object_from_file(path);
	assert_non_null(doc);
	unlink(path);
	vt_rec_free(&r);
	return doc;
}

static int count(json_object *evs, const char *ph, const char *cat)
{
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *e = json_object_array_get_idx(evs, i), *v;

		n += json_object_object_get_ex(e, "ph", &v) &&
		     !strcmp(json_object_get_string(v), ph) &&
		     (!cat || (json_object_object_get_ex(e, "cat", &v) &&
			       !strcmp(json_object_get_string(v), cat)));
	}
	return n;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* The slices of one track, in file order. */
static int slices(json_object *evs, int tid, struct slice *out, int max)
{
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *e = json_object_array_get_idx(evs, i), *v;

		if (strcmp(str(e, "ph"), "X") || !json_object_object_get_ex(e, "tid", &v) ||
		    json_object_get_int(v) != tid)
			continue;
		assert_true(n < max);
		out[n].cat = str(e, "cat");
		out[n].name = str(e, "name");
		json_object_object_get_ex(e, "ts", &v);
		out[n].ts = json_object_get_double(v);
		json_object_object_get_ex(e, "dur", &v);
		out[n].end = out[n].ts + json_object_get_double(v);
		n++;
	}
	return n;
}

/* The innermost slice before s in the file that contains it (the viewer's parent). */
static const char *parent(const struct slice *s, int i)
{
	for (int j = i - 1; j >= 0; j--)
		if (s[j].ts <= s[i].ts && s[j].end >= s[i].end)
			return s[j].cat;
	return NULL;
}

static void test_chrome_trace(void **state)
{
	unsigned char *b;
	size_t len = make(&b, "host1");
	json_object *doc = trace(b, len, 0, UINT64_MAX), *evs, *e;
	static const struct {
		double ts; /* us */
		const char *cat, *parent;
	} order[] = {
		{ 10, "unmap", NULL },
		{ 12, "remove_dma", "unmap" },
		{ 13, "unmap_unpin", "remove_dma" },
		{ 42, "notify", "unmap" },
		{ 42, "callback", "notify" },
		{ 43, "unpin", "callback" },
		{ 61, "callback", "notify" },
		{ 91, "remove_dma", "unmap" },
		{ 200, "unmap", NULL },
		{ 210, "notify", "unmap" },
		{ 210, "callback", "notify" },
	};
	struct slice s[32];
	int n, named = 0;

	assert_true(json_object_object_get_ex(doc, "traceEvents", &evs));
	/* 18 timed operations, 2 untimed ones and 3 alerts (not the module load) */
	assert_int_equal(count(evs, "X", NULL), 18);
	assert_int_equal(count(evs, "i", NULL), 5);
	assert_int_equal(count(evs, "i", "alert"), 3);
	assert_int_equal(count(evs, "X", "callback"), 3);
	/* 2 processes; 3 threads and 2 lock tracks, each named and placed */
	assert_int_equal(count(evs, "M", NULL), 2 + 2 * 5);
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		e = json_object_array_get_idx(evs, i);
		if (!strcmp(str(e, "ph"), "M") && !strcmp(str(e, "name"), "process_name")) {
			json_object *a;

			json_object_object_get_ex(e, "args", &a);
			/* the VM's name as it is, but its byte that is not UTF-8 */
			named += !strcmp(str(a, "name"),
					 "web \"01\"\n<\\x>\xef\xbf\xbd (qemu-system-x86)") ||
				 !strcmp(str(a, "name"), "worker");
		}
		if (!strcmp(str(e, "ph"), "i") && !strcmp(str(e, "cat"), "alert"))
			assert_true(!strcmp(str(e, "name"), "RETRY STORM") ||
				    !strcmp(str(e, "name"), "DEADLOCK") ||
				    !strcmp(str(e, "name"), "alert STORM"));
	}
	assert_int_equal(named, 2);
	/* the vCPU thread's calls: in the file by start (the parent first when a notify and its
	 * one callback begin and end together), each inside its caller */
	n = slices(evs, 101, s, 32);
	assert_int_equal(n, sizeof(order) / sizeof(order[0]));
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++) /* nested or apart, never partly overlapping */
			assert_true(s[i].ts >= s[j].end || s[i].end <= s[j].end);
		assert_string_equal(s[i].cat, order[i].cat);
		assert_true(s[i].ts == order[i].ts);
		if (order[i].parent)
			assert_string_equal(parent(s, i), order[i].parent);
		else
			assert_null(parent(s, i));
	}
	/* its locks, each on a track of its own: iommu->lock waited for, held, dropped for the
	 * notify and taken by the unpin meanwhile; device_list_lock held around the notify */
	n = slices(evs, 101 + (1 << 22), s, 32);
	assert_int_equal(n, 4);
	assert_string_equal(s[0].name, "lock_wait iommu->lock");
	assert_string_equal(s[1].name, "lock_hold iommu->lock");
	assert_null(parent(s, 1));
	assert_string_equal(s[2].name, "lock_drop iommu->lock");
	assert_string_equal(s[3].name, "lock_hold iommu->lock");
	assert_string_equal(parent(s, 3), "lock_drop");
	n = slices(evs, 101 + (2 << 22), s, 32);
	assert_int_equal(n, 1);
	assert_true(s[0].ts == 41.0 && s[0].end == 89.0);
	n = slices(evs, 101, s, 32);
	assert_string_equal(s[0].name, "unmap");
	assert_true(s[0].ts == 10.0 && s[0].end == 100.0); /* microseconds since the start */
	json_object_put(doc);

	/* the window [150us, 2.5ms): the second unmap, its notify, callback and the alerts */
	doc = trace(b, len, 150000, 2500000);
	json_object_object_get_ex(doc, "traceEvents", &evs);
	assert_int_equal(count(evs, "X", NULL), 3);
	assert_int_equal(count(evs, "i", "alert"), 3);
	assert_int_equal(count(evs, "X", "unmap"), 1);
	json_object_put(doc);
	free(b);
}

/* vfio_unmap_unpin [0, 100us] of thread 300: an IOMMU unmap [10, 50] that flushed inside
 * [20, 30], the batch's flush [60, 70], an unpin [75, 90]. Format version 2: the unmap is a
 * slice of the whole call with that flush nested in it, its args its inner flushes' time and
 * the rest (what its row counts); read as version 1 (whose unmaps carried only the net time)
 * it is an instant with that time. */
static void test_iommu_unmap_nested(void **state)
{
	static const struct {
		int op;
		uint64_t start, end, nested;
	} calls[] = {
		{ VT_OP_IOTLB_SYNC, 20000, 30000, 0 }, { VT_OP_IOMMU_UNMAP, 10000, 50000, 10000 },
		{ VT_OP_IOTLB_SYNC, 60000, 70000, 0 }, { VT_OP_UNPIN_REMOTE, 75000, 90000, 0 },
		{ VT_OP_UNMAP_UNPIN, 0, 100000, 0 },
	};
	struct vt_rec_info in = { .start_mono = T0, .interval = 1 };
	char path[] = "/tmp/vt-test-timeline-XXXXXX";
	int fd = mkstemp(path);
	unsigned char *b;
	json_object *doc, *evs, *a, *v;
	struct slice s[8];
	char load_err[160];
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	w = vt_rec_create(path, 0);
	assert_non_null(w);
	assert_int_equal(vt_rec_start(w, &in), 0);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct vtr_event e = { .ts = T0 + calls[i].end,
				       .lat = calls[i].end - calls[i].start,
				       .nested_ns = calls[i].nested,
				       .op = calls[i].op,
				       .pid = 300,
				       .tgid = 300,
				       .container = 0xc0 };

		assert_int_equal(vt_rec_event(w, &e, false), 0);
	}
	assert_int_equal(vt_rec_close(w, T0 + 200000, "signal"), 0);
	b = vt_rec_load(path, &len, load_err, sizeof(load_err));
	assert_non_null(b);
	unlink(path);

	doc = trace(b, len, 0, UINT64_MAX);
	assert_true(json_object_object_get_ex(doc, "traceEvents", &evs));
	assert_int_equal(slices(evs, 300, s, 8), 5);
	assert_string_equal(s[1].cat, "iommu_unmap");
	assert_true(s[1].ts == 10.0 && s[1].end == 50.0);
	assert_string_equal(parent(s, 1), "unmap_unpin");
	assert_string_equal(s[2].cat, "iotlb_sync");
	assert_string_equal(parent(s, 2), "iommu_unmap");
	assert_string_equal(s[3].cat, "iotlb_sync");
	assert_string_equal(parent(s, 3), "unmap_unpin");
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *e = json_object_array_get_idx(evs, i);

		if (str(e, "cat") && !strcmp(str(e, "cat"), "iommu_unmap")) {
			json_object_object_get_ex(e, "args", &a);
			assert_true(json_object_object_get_ex(a, "nested_flush_ns", &v));
			assert_int_equal(json_object_get_int64(v), 10000);
			assert_true(json_object_object_get_ex(a, "unmap_ns", &v));
			assert_int_equal(json_object_get_int64(v), 30000);
		}
	}
	json_object_put(doc);

	b[8] = 1; /* the header's format version (not under a block's CRC) */
	doc = trace(b, len, 0, UINT64_MAX);
	assert_true(json_object_object_get_ex(doc, "traceEvents", &evs));
	assert_int_equal(count(evs, "X", NULL), 4);
	assert_int_equal(count(evs, "i", "iommu_unmap"), 1);
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *e = json_object_array_get_idx(evs, i);

		if (str(e, "cat") && !strcmp(str(e, "cat"), "iommu_unmap")) {
			json_object_object_get_ex(e, "args", &a);
			assert_false(json_object_object_get_ex(a, "nested_flush_ns", &v));
			assert_true(json_object_object_get_ex(a, "unmap_ns", &v));
			assert_int_equal(json_object_get_int64(v), 40000);
		}
	}
	json_object_put(doc);
	free(b);
}

/* The heatmap's text and the number of its cells. */
static char *heatmap(const unsigned char *b, size_t len, int *cells)
{
	char path[] = "/tmp/vt-test-timeline-XXXXXX", err[256], *svg;
	struct vt_recording r;
	int fd = mkstemp(path);
	FILE *f;
	long n;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vt_rec_parse(b, len, VT_REC_READ_NO_EVENTS, &r, err, sizeof(err)), 0);
	assert_int_equal(vt_heatmap(&r, b, len, T0, UINT64_MAX, path, err, sizeof(err)), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	svg = calloc(1, n + 1);
	assert_int_equal(fread(svg, 1, n, f), n);
	fclose(f);
	unlink(path);
	vt_rec_free(&r);
	*cells = 0;
	for (char *p = svg; (p = strstr(p, "data-count=")); p++)
		(*cells)++;
	return svg;
}

static void test_heatmap(void **state)
{
	unsigned char *b;
	size_t len = make(&b, "<evil & 'host'>");
	int cells;
	char *svg = heatmap(b, len, &cells);

	/* 2.999 ms of events: 20 us columns. unmap: 90 us at 100 us (column 5, row 64 us), 30
	 * us at 230 us (11, 16 us), 999 us at 2999 us (149, 512 us); remove_dma 8 us at 20 and
	 * 99 us (columns 1 and 4); lock_hold 29 and 14 us at 40 and 58 us (both column 2, rows
	 * 16 and 8 us), 48 us at 89 us; callbacks 18, 27, 10 us at 60, 88, 220 us */
	assert_non_null(strstr(svg, "data-col-ns=\"20000\""));
	assert_non_null(strstr(svg, "data-op=\"unmap\" data-events=\"3\" data-cells=\"3\""));
	assert_non_null(strstr(svg, "data-op=\"callback\" data-events=\"3\" data-cells=\"3\""));
	assert_non_null(strstr(svg, "data-op=\"remove_dma\" data-events=\"2\" data-cells=\"2\""));
	assert_non_null(strstr(svg, "data-op=\"lock_hold\" data-events=\"3\" data-cells=\"3\""));
	assert_non_null(strstr(svg, "data-col=\"2\" data-row=\"13\" data-count=\"1\""));
	assert_non_null(strstr(svg, "data-col=\"149\" data-row=\"19\" data-count=\"1\""));
	/* 18 timed: pin 1, unmap 3, remove_dma 2, unmap_unpin 1, lock_wait 1, lock_hold 3,
	 * unpin 1, callback 3, notify 2, lock_drop 1; every one in a bucket of its own */
	assert_int_equal(cells, 1 + 3 + 2 + 1 + 1 + 3 + 1 + 3 + 2 + 1);
	assert_null(strstr(svg, "<evil"));
	assert_non_null(strstr(svg, "&lt;evil &amp; &apos;host&apos;&gt;"));
	assert_null(strstr(svg, "data-op=\"retry\""));
	assert_null(strstr(svg, "data-op=\"register\""));
	free(svg);
	free(b);
}

static void test_columns(void **state)
{
	assert_int_equal(vt_heat_col_ns(0), 1000);
	assert_int_equal(vt_heat_col_ns(199999), 1000);
	assert_int_equal(vt_heat_col_ns(200000), 2000);
	assert_int_equal(vt_heat_col_ns(999999999), 5000000);
	assert_int_equal(vt_heat_col_ns(1000000000), 10000000);
	assert_int_equal(vt_heat_col_ns(60ULL * 1000000000), 500000000);
	assert_true(UINT64_MAX / vt_heat_col_ns(UINT64_MAX) < VT_HEAT_MAX_COLS);
}

static void test_bad_output(void **state)
{
	unsigned char *b;
	size_t len = make(&b, "h");
	struct vt_recording r;
	char err[256];

	assert_int_equal(vt_rec_parse(b, len, VT_REC_READ_NO_EVENTS, &r, err, sizeof(err)), 0);
	assert_int_equal(
		vt_chrome_trace(&r, b, len, 0, UINT64_MAX, "/nonexistent/t.json", err, sizeof(err)),
		-1);
	assert_string_equal(err, "cannot create it: No such file or directory");
	assert_int_equal(vt_heatmap(&r, b, len, 0, UINT64_MAX, "/dev/full", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot write it: No space left on device");
	assert_int_equal(vt_chrome_trace(&r, b, len, 0, UINT64_MAX, "/dev/full", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "cannot write it: No space left on device");
	vt_rec_free(&r);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chrome_trace), cmocka_unit_test(test_iommu_unmap_nested),
		cmocka_unit_test(test_heatmap),	     cmocka_unit_test(test_columns),
		cmocka_unit_test(test_bad_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
