// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of export's series and exposition (lib/prom.c): values, cumulative buckets,
 * the series cap and its counter, forgetting exited VMs, hostile names in labels, both
 * formats. With VT_PROM_SAMPLE=FILE the text rendering of a mixed model is written there
 * (tests/host/t-promtool checks it with Prometheus's own promtool).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"
#include "prom.h"

#define SEC 1000000000ULL

static struct vt_prom_key key(int op, const char *vm, const char *dev)
{
	struct vt_prom_key k;

	memset(&k, 0, sizeof(k));
	k.op = op;
	snprintf(k.vm, sizeof(k.vm), "%s", vm);
	if (dev) {
		snprintf(k.device, sizeof(k.device), "%s", dev);
		snprintf(k.driver, sizeof(k.driver), "vfio-dmatest");
	}
	return k;
}

/* count operations of lat ns each, bytes each */
static struct vtr_stat stat_of(uint64_t count, uint64_t lat, uint64_t bytes)
{
	struct vtr_stat st;

	memset(&st, 0, sizeof(st));
	st.count = count;
	st.bytes = count * bytes;
	st.lat_sum = count * lat;
	st.lat_max = count ? lat : 0;
	st.hist[vt_hist_slot(lat)] = count;
	return st;
}

static char *render(const struct vt_prom *p, bool om)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	vt_prom_write(p, f, om);
	fclose(f);
	return buf;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void fill(struct vt_prom *p)
{
	struct vt_prom_key k;
	struct vtr_stat st;

	vt_prom_init(p, 100, 300 * SEC);
	k = key(VT_OP_UNMAP, "web01", NULL);
	st = stat_of(3, 5000, 4096);
	assert_int_equal(vt_prom_add(p, &k, &st, true, 1), 0);
	st = stat_of(2, 2000000, 4096); /* the next interval: added */
	assert_int_equal(vt_prom_add(p, &k, &st, true, 2), 0);
	k = key(VT_OP_CALLBACK, "web01", "0000:00:01.0");
	st = stat_of(7, 3000, 8192);
	assert_int_equal(vt_prom_add(p, &k, &st, true, 2), 0);
	k = key(VT_OP_PIN, "db7", "mdev-1");
	st = stat_of(4, 1500, 2);
	st.errors = 1;
	st.einval = 1;
	assert_int_equal(vt_prom_add(p, &k, &st, true, 2), 0);
	k = key(VT_OP_TEARDOWN, "db7", NULL);
	st = stat_of(1, 40000000, 1 << 20);
	st.items = 16;
	assert_int_equal(vt_prom_add(p, &k, &st, true, 2), 0);
	p->losses[VT_LOSS_STATS_FULL] = 2;
	snprintf(p->version, sizeof(p->version), "test");
	p->bpf_stats = true;
	p->progs = calloc(2, sizeof(*p->progs));
	assert_non_null(p->progs);
	p->nprogs = p->progcap = 2;
	snprintf(p->progs[0].name, sizeof(p->progs[0].name), "fe_ioctl");
	snprintf(p->progs[0].method, sizeof(p->progs[0].method), "fentry");
	p->progs[0].run_ns = 1500000000;
	p->progs[0].runs = 42;
	snprintf(p->progs[1].name, sizeof(p->progs[1].name),
		 "fe_callback:vfio_dmatest:dt_dma_unmap");
	snprintf(p->progs[1].method, sizeof(p->progs[1].method), "fentry");
	p->health = true;
	p->health_checks = 3;
	p->lock_waiters[0] = 2;
	p->lock_longest_s[0] = 12.5;
}

/* Every operation of include/vt_ops.h is exported under a name of its own. */
static void test_every_op_named(void **state)
{
	for (int a = 0; a < VT_OP_MAX; a++) {
		assert_non_null(vt_prom_op_family(a));
		for (int b = 0; b < a; b++)
			assert_string_not_equal(vt_prom_op_family(a), vt_prom_op_family(b));
	}
}

static void test_values(void **state)
{
	struct vt_prom p;
	char *t;

	fill(&p);
	t = render(&p, false);
	assert_true(has_line(t, "# TYPE vfio_trace_unmaps_total counter"));
	assert_true(has_line(t, "vfio_trace_unmaps_total{vm=\"web01\"} 5"));
	assert_true(has_line(t, "vfio_trace_unmapped_bytes_total{vm=\"web01\"} 20480"));
	assert_true(has_line(
		t, "vfio_trace_dma_unmap_callbacks_total{vm=\"web01\",device=\"0000:00:01.0\","
		   "driver=\"vfio-dmatest\"} 7"));
	assert_true(has_line(t, "vfio_trace_pinned_pages_total{vm=\"db7\",device=\"mdev-1\","
				"driver=\"vfio-dmatest\"} 8"));
	assert_true(has_line(t, "vfio_trace_pin_einval_total{vm=\"db7\",device=\"mdev-1\","
				"driver=\"vfio-dmatest\"} 1"));
	assert_true(has_line(t, "vfio_trace_teardown_mappings_total{vm=\"db7\"} 16"));
	assert_true(has_line(t, "vfio_trace_lost_total{cause=\"stats_full\"} 2"));
	assert_true(has_line(t, "vfio_trace_series 4"));
	assert_true(has_line(t, "vfio_trace_lock_waiters{lock=\"iommu\"} 2"));
	assert_true(has_line(t, "vfio_trace_lock_longest_wait_seconds{lock=\"iommu\"} 12.500"));
	assert_true(has_line(t, "vfio_trace_lock_deadlock_cycles 0"));
	assert_true(has_line(t, "vfio_trace_programs{method=\"fentry\"} 2"));
	assert_true(
		has_line(t, "vfio_trace_bpf_run_seconds_total{program=\"fe_ioctl\"} 1.500000000"));
	assert_true(has_line(t, "vfio_trace_bpf_runs_total{program=\"fe_ioctl\"} 42"));
	/* 3 unmaps of 5 us, 2 of 2 ms: the 16.384 us bucket holds 3, 4.194304 ms holds all */
	assert_true(has_line(
		t, "vfio_trace_unmap_duration_seconds_bucket{vm=\"web01\",le=\"4.096e-06\"} 0"));
	assert_true(has_line(
		t, "vfio_trace_unmap_duration_seconds_bucket{vm=\"web01\",le=\"1.6384e-05\"} 3"));
	assert_true(has_line(
		t, "vfio_trace_unmap_duration_seconds_bucket{vm=\"web01\",le=\"0.001048576\"} 3"));
	assert_true(has_line(
		t, "vfio_trace_unmap_duration_seconds_bucket{vm=\"web01\",le=\"0.004194304\"} 5"));
	assert_true(has_line(
		t, "vfio_trace_unmap_duration_seconds_bucket{vm=\"web01\",le=\"+Inf\"} 5"));
	assert_true(has_line(t, "vfio_trace_unmap_duration_seconds_sum{vm=\"web01\"} 0.004015000"));
	assert_true(has_line(t, "vfio_trace_unmap_duration_seconds_count{vm=\"web01\"} 5"));
	assert_null(strstr(t, "# EOF"));
	free(t);
	vt_prom_free(&p);
}

/* Buckets never decrease, and +Inf equals _count, in every histogram. */
static void test_buckets_cumulative(void **state)
{
	struct vt_prom p;
	char *t, *line, *save;
	unsigned long long last = 0;
	char series[512] = "";

	fill(&p);
	t = render(&p, false);
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *le = strstr(line, "le=\""), *sp = strrchr(line, ' ');
		char name[512];

		if (!strstr(line, "_bucket{") || !le || !sp)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(le - line), line);
		if (strcmp(name, series))
			last = 0;
		snprintf(series, sizeof(series), "%s", name);
		assert_true(strtoull(sp + 1, NULL, 10) >= last);
		last = strtoull(sp + 1, NULL, 10);
	}
	free(t);
	vt_prom_free(&p);
}

static void test_cap(void **state)
{
	struct vt_prom p;
	struct vt_prom_key k;
	struct vtr_stat st = stat_of(5, 1000, 1);

	vt_prom_init(&p, 2, 300 * SEC);
	k = key(VT_OP_UNMAP, "a", NULL);
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 0);
	k = key(VT_OP_UNMAP, "b", NULL);
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 0);
	k = key(VT_OP_UNMAP, "c", NULL);
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 1);
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 1);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.dropped_ops, 10);
	k = key(VT_OP_UNMAP, "a", NULL); /* an existing series still counts */
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 0);
	assert_int_equal(p.s[0].st.count, 10);
	vt_prom_free(&p);
}

/* A series goes forget_ns after its processes were last seen running; one whose processes
 * run stays; an exited process's row that adds nothing creates none. */
static void test_forget(void **state)
{
	struct vt_prom p;
	struct vt_prom_key a = key(VT_OP_UNMAP, "gone", NULL), b = key(VT_OP_UNMAP, "alive", NULL);
	struct vtr_stat st = stat_of(1, 1000, 1), zero;
	char *t;

	memset(&zero, 0, sizeof(zero));
	vt_prom_init(&p, 100, 10 * SEC);
	assert_int_equal(vt_prom_add(&p, &a, &st, true, 1 * SEC), 0);
	assert_int_equal(vt_prom_add(&p, &b, &st, true, 1 * SEC), 0);
	for (uint64_t now = 2 * SEC; now <= 12 * SEC; now += SEC) {
		assert_int_equal(vt_prom_add(&p, &a, &zero, false, now), 0); /* exited */
		assert_int_equal(vt_prom_add(&p, &b, &zero, true, now), 0);
		vt_prom_forget(&p, now);
	}
	assert_int_equal(p.n, 1);
	assert_int_equal(p.forgotten, 1);
	assert_string_equal(p.s[0].key.vm, "alive");
	assert_int_equal(vt_prom_add(&p, &a, &zero, false, 13 * SEC), 0);
	assert_int_equal(p.n, 1);
	t = render(&p, false);
	assert_null(strstr(t, "\"gone\""));
	assert_true(has_line(t, "vfio_trace_series_forgotten_total 1"));
	free(t);
	vt_prom_free(&p);
}

/* A VM name with quotes, backslashes, a newline, an escape sequence and invalid UTF-8 stays
 * one label value on one line, valid UTF-8. */
static void test_hostile_labels(void **state)
{
	struct vt_prom p;
	struct vt_prom_key k = key(VT_OP_UNMAP, "a\"b\\c\nd\x1b[2J\xff", NULL);
	struct vtr_stat st = stat_of(1, 1000, 1);
	char *t;

	vt_prom_init(&p, 10, SEC);
	assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 0);
	t = render(&p, false);
	assert_true(has_line(
		t, "vfio_trace_unmaps_total{vm=\"a\\\"b\\\\\\\\c\\\\x0ad\\\\x1b[2J\\\\xff\"} 1"));
	for (const char *c = t; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	free(t);
	vt_prom_free(&p);
}

static void test_openmetrics(void **state)
{
	struct vt_prom p;
	char *t;
	size_t n;

	fill(&p);
	t = render(&p, true);
	n = strlen(t);
	assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
	assert_true(has_line(t, "# TYPE vfio_trace_unmaps counter"));
	assert_true(has_line(t, "vfio_trace_unmaps_total{vm=\"web01\"} 5"));
	assert_true(has_line(t, "# TYPE vfio_trace_build info"));
	assert_true(has_line(t, "vfio_trace_build_info{version=\"test\"} 1"));
	free(t);
	vt_prom_free(&p);
}

/* Ops the source did not observe are left out, not shown as zeros; untimed ones get no
 * histogram. */
static void test_untraced(void **state)
{
	struct vt_prom p;
	char *t;

	fill(&p);
	p.untraced_ops = 1u << VT_OP_REMOVE_DMA;
	p.untimed_ops = 1u << VT_OP_PIN;
	t = render(&p, false);
	assert_null(strstr(t, "dma_removals"));
	assert_null(strstr(t, "vfio_trace_pin_duration_seconds"));
	assert_non_null(strstr(t, "vfio_trace_pins_total"));
	free(t);
	vt_prom_free(&p);
}

/* 1,000 series: the text promtool checks (with VT_PROM_SAMPLE) and a bound on its size. */
static void test_sample(void **state)
{
	const char *path = getenv("VT_PROM_SAMPLE");
	struct vt_prom p;
	char *t, vm[32], dev[32];

	fill(&p);
	p.max_series = 2000;
	for (int i = 0; i < 1000; i++) {
		struct vt_prom_key k;
		struct vtr_stat st = stat_of(1 + i, 1000 + i, 4096);

		snprintf(vm, sizeof(vm), "vm%d", i / 2);
		snprintf(dev, sizeof(dev), "0000:%02x:00.%d", i / 8, i % 8);
		k = key(i % 2 ? VT_OP_CALLBACK : VT_OP_UNMAP, vm, i % 2 ? dev : NULL);
		assert_int_equal(vt_prom_add(&p, &k, &st, true, 1), 0);
	}
	assert_int_equal(p.n, 1004);
	t = render(&p, false);
	if (path) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(t, f);
		fclose(f);
	}
	free(t);
	vt_prom_free(&p);
}

static void test_uuid(void **state)
{
	const char a[] = "qemu\0-name\0guest=x\0-uuid\0"
			 "1B4E28BA-2FA1-11D2-883F-0016D3CCA427\0";
	const char b[] = "qemu\0-uuid\0not-a-uuid\0";
	const char c[] = "qemu\0-uuid"; /* cut */
	char u[40];

	assert_true(vt_qemu_vm_uuid(a, sizeof(a) - 1, u, sizeof(u)));
	assert_string_equal(u, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	assert_false(vt_qemu_vm_uuid(b, sizeof(b) - 1, u, sizeof(u)));
	assert_string_equal(u, "");
	assert_false(vt_qemu_vm_uuid(c, sizeof(c) - 1, u, sizeof(u)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_named),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_buckets_cumulative),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_hostile_labels),
		cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_untraced),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
