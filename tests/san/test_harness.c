// SPDX-License-Identifier: GPL-2.0
/*
 * The host-side harness `make check` runs under ASan + UBSan (build/san): fake snapshots,
 * device records and names, generated from a fixed seed, go through the real model, view,
 * report and kallsyms code (lib/), every output path included, so a memory or undefined-
 * behaviour bug there fails the check on a machine without VFIO. The values are checked
 * only where a cheap invariant exists; the sanitizers are the main assertion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"
#include "top/view.h"
#include "cli.h"
#include "hung.h"

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* Names chosen by other people: control bytes, invalid UTF-8, the longest that fits. */
static const char *const hostile[] = {
	"",
	"0000:00:05.0",
	"\x1b]0;pwned\x07\x1b[2J",
	"line\nforged line",
	"\xff\xfe\xc3",
	"caf\xc3\xa9",
	"%s%n%x",
	"0123456789012345678901234567890",	/* 31: fills name[32] */
	"8a3f2c9e-1b4d-4e6f-9a0b-123456789abc", /* an mdev UUID, longer than name[32] */
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static void fake_stat(struct vtr_stat *st, uint64_t scale)
{
	memset(st, 0, sizeof(*st));
	st->count = rnd() % scale;
	st->errors = st->count ? rnd() % (st->count + 1) : 0;
	st->einval = st->errors ? rnd() % (st->errors + 1) : 0;
	st->bytes = rnd() % (scale << 12);
	for (uint64_t i = 0; i < st->count && i < 64; i++) {
		uint64_t lat = rnd() % (1ULL << (rnd() % 41));

		st->hist[vt_hist_slot(lat)]++;
		st->lat_sum += lat;
		if (lat > st->lat_max)
			st->lat_max = lat;
	}
}

/* A snapshot of nrows rows over a few containers, devices and processes; when prev is given,
 * the same keys with counters that only grew (as the BPF maps do), plus some new keys. */
static void fake_snapshot(struct vt_snapshot *s, const struct vt_snapshot *prev, size_t nrows,
			  size_t ndevs)
{
	memset(s, 0, sizeof(*s));
	s->ts = prev ? prev->ts + 1000000000 : 1000000000;
	s->cap = nrows + (prev ? prev->n : 0) + 1;
	s->rows = calloc(s->cap, sizeof(*s->rows));
	s->devs = calloc(ndevs + 1, sizeof(*s->devs));
	assert_non_null(s->rows);
	assert_non_null(s->devs);
	for (size_t i = 0; prev && i < prev->n; i++) {
		struct vtr_stat add;

		s->rows[s->n] = prev->rows[i];
		if (rnd() % 3) {
			fake_stat(&add, 50);
			vt_stat_add(&s->rows[s->n].st, &add);
		}
		s->n++;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct vt_row *r = &s->rows[s->n++];
		int kind = rnd() % 4;

		r->key.kind = kind;
		r->key.op = kind == VT_KIND_DEVICE    ? VT_OP_CALLBACK + rnd() % 5 :
			    kind == VT_KIND_CONTAINER ? rnd() % 6 :
							VT_OP_LOCK_HOLD + rnd() % 3;
		if (rnd() % 16 == 0)
			r->key.op = rnd() % (VT_OP_MAX + 3); /* unknown ops too */
		r->key.obj = kind == VT_KIND_DEVICE ? 0xffff888100000000ULL + rnd() % (ndevs + 2) :
						      0xffff888001000000ULL + (rnd() % 4) * 0x1000;
		r->key.tgid = rnd() % 8 ? 100 + rnd() % 6 : 0;
		fake_stat(&r->st, 1000);
		/* a key prev already has would be a duplicate: the loader never makes those */
		for (size_t j = 0; prev && j < prev->n; j++)
			if (!memcmp(&prev->rows[j].key, &r->key, sizeof(r->key))) {
				r->key.tgid = 1000 + (uint32_t)i;
				break;
			}
	}
	for (size_t i = 0; i < ndevs; i++) {
		struct vt_dev *d = &s->devs[s->ndevs++];

		d->vdev = 0xffff888100000000ULL + i;
		d->d.container = rnd() % 3 ? 0xffff888001000000ULL + (rnd() % 4) * 0x1000 : 0;
		d->d.dma_unmap = rnd() % 4 ? 0xffffffffc0001000ULL : 0;
		d->d.tgid = 100 + rnd() % 6;
		d->d.registered = rnd() % 2;
		snprintf(d->d.name, sizeof(d->d.name), "%s", hostile[rnd() % NHOSTILE]);
		snprintf(d->d.driver, sizeof(d->d.driver), "%s", hostile[rnd() % NHOSTILE]);
	}
	for (int i = 0; i < VT_LOSS_MAX; i++)
		s->losses[i] = (prev ? prev->losses[i] : 0) + rnd() % 3;
	s->untraced_ops = rnd() % 2 ? 1u << VT_OP_REMOVE_DMA : 0;
	s->untimed_ops = rnd() % 2 ? 1u << VT_OP_PIN : 0;
}

static void all_text(const struct vt_view *v, FILE *out)
{
	char line[VT_VIEW_LINE], sum[5][VT_VIEW_LINE];
	struct vt_view_widths w;
	int n;

	vt_view_widths(v, &w);
	for (int counts = 0; counts < 2; counts++) {
		vt_view_proc_header(line, sizeof(line), counts, &w);
		fprintf(out, "%s\n", line);
		for (size_t i = 0; i < v->nprocs; i++) {
			vt_view_proc_line(line, sizeof(line), &v->procs[i],
					  counts ? &v->procs[i].tot : &v->procs[i].iv,
					  counts ? 0 : v->secs, &w);
			fprintf(out, "%s\n", line);
		}
		vt_view_dev_header(line, sizeof(line), counts, &w);
		fprintf(out, "%s\n", line);
		for (size_t i = 0; i < v->ndevs; i++) {
			vt_view_dev_line(line, sizeof(line), &v->devs[i],
					 counts ? &v->devs[i].tot : &v->devs[i].iv,
					 counts ? 0 : v->secs, &w);
			fprintf(out, "%s\n", line);
		}
	}
	n = vt_view_summary(v, hostile[rnd() % NHOSTILE], sum, 5);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s\n", sum[i]);
}

/* Rows, diffs, filters, the view, every sort and text line, the JSON documents. */
static void test_rows_through_output(void **state)
{
	FILE *out = fopen("/dev/null", "w");

	assert_non_null(out);
	for (int round = 0; round < 40; round++) {
		struct vt_snapshot prev, now, iv, tot, copy;
		struct vt_view v;
		size_t nrows = round % 10 == 0 ? 0 : rnd() % 300,
		       ndevs = round % 7 ? rnd() % 12 : 0;
		json_object *o;

		fake_snapshot(&prev, NULL, nrows, ndevs);
		fake_snapshot(&now, &prev, rnd() % 50, ndevs);
		assert_int_equal(vt_snapshot_diff(&now, &prev, &iv), 0);
		assert_int_equal(vt_snapshot_diff(&now, NULL, &tot), 0);
		assert_true(iv.n <= now.n);
		assert_int_equal(tot.n, now.n);
		assert_int_equal(vt_snapshot_copy(&tot, &copy), 0);
		if (round % 3 == 0) {
			struct vt_filter f = { .npids = 1, .pids = { 100 + rnd() % 6 } };

			vt_snapshot_filter(&copy, &f);
		} else if (round % 3 == 1) {
			struct vt_filter f = { .device = hostile[rnd() % NHOSTILE] };

			vt_snapshot_filter(&copy, &f);
		}
		assert_int_equal(vt_view_build(&v, &iv, 1.0, &copy, 2.0, &now), 0);
		for (int k = 0; k < VT_SORT_MAX; k++) {
			vt_view_sort(&v, k, k % 2);
			all_text(&v, out);
		}
		o = vt_report_json(&iv, 1.0, hostile[rnd() % NHOSTILE]);
		vt_view_json_rates(o, &iv, 1.0);
		vt_json_print(out, o, round % 2);
		json_object_put(o);
		for (int op = -1; op <= VT_OP_MAX; op++) {
			struct vtr_stat st;

			vt_snapshot_sum(&now, op, 0, 0, &st);
			json_object_put(vt_json_stat(&st, op));
			json_object_put(vt_json_buckets(&st));
		}
		vt_view_free(&v);
		vt_snapshot_free(&copy);
		vt_snapshot_free(&iv);
		vt_snapshot_free(&tot);
		vt_snapshot_free(&now);
		vt_snapshot_free(&prev);
	}
	fclose(out);
}

/* Every number formatter and percentile at the edges. */
static void test_numbers(void **state)
{
	uint64_t v[] = { 0, 1, 999, 1000, 999999, 1000000, 999999999, 1000000000, UINT64_MAX };
	__u64 hist[VT_HIST_SLOTS] = {};
	char buf[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_true(strlen(vt_fmt_ns(buf, sizeof(buf), v[i])) > 0);
	for (unsigned s = 0; s <= VT_HIST_SLOTS + 1; s++)
		(void)vt_hist_slot_low(s);
	hist[VT_HIST_SLOTS - 1] = UINT64_MAX / 2;
	hist[0] = UINT64_MAX / 2;
	for (double p = 0; p <= 100; p += 12.5)
		(void)vt_hist_percentile(hist, p);
	for (int i = -1; i <= VT_OP_MAX; i++)
		assert_non_null(vt_op_name(i));
}

/* QEMU command lines, hostile and truncated (the caller's buffer need not end in a NUL). */
static void test_vm_names(void **state)
{
	char vm[64], cmd[512];

	for (int round = 0; round < 2000; round++) {
		size_t len = 0, n = rnd() % 6;

		while (n-- && len < sizeof(cmd) - 80) {
			const char *parts[] = { "-name", "--name",     "guest=",
						",",	 "guest=x,,y", hostile[rnd() % NHOSTILE],
						"-m" };
			const char *p = parts[rnd() % 7];
			size_t l = strlen(p);

			memcpy(cmd + len, p, l);
			len += l;
			if (rnd() % 3)
				cmd[len++] = 0;
		}
		/* a copy that ends exactly at len: no terminator beyond the buffer */
		char *exact = malloc(len ? len : 1);

		assert_non_null(exact);
		memcpy(exact, cmd, len);
		vt_qemu_vm_name(exact, len, vm, 1 + rnd() % sizeof(vm));
		assert_true(strlen(vm) < sizeof(vm));
		free(exact);
	}
}

/* A fake /proc/kallsyms, hostile lines included, through the loader and every lookup. */
static void test_kallsyms(void **state)
{
	char path[] = "/tmp/vt-san-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "ffffffff81000000 T _text\n"
		   "ffffffff81001000 T mutex_lock\n"
		   "ffffffff81002000 t mutex_lock.isra.0\n"
		   "ffffffff81003000 T mutex_unlock\n"
		   "0000000000000000 T mutex_lock_nested\n"
		   "ffffffffc0001000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]\n"
		   "ffffffffc0002000 d vfio_device_fops\t[vfio]\n"
		   "ffffffffc0003000 t vfio_pin_pages.cold\t[vfio\n"
		   "ffffffffc0004000 t \t[vfio]\n"
		   " t x\n"
		   "zzzz t y\n"
		   "ffffffffffffffffffffffff T long_address\n"
		   "ffffffffc0005000 t dt_dma_unmap\t[vfio_dmatest]"); /* no final newline */
	fclose(f);
	for (int all = 0; all < 2; all++) {
		struct vt_ksyms *ks = vt_ksyms_load_path(path);

		assert_non_null(ks);
		if (all)
			(void)vt_ksyms_by_addr(ks, 0xffffffff81001234ULL);
		(void)vt_ksyms_at(ks, 0xffffffffc0005000ULL);
		(void)vt_ksyms_at(ks, 0x1234);
		(void)vt_ksyms_by_name(ks, "mutex_lock", NULL);
		(void)vt_ksyms_clone(ks, "mutex_lock", NULL);
		(void)vt_ksyms_clone(ks, "vfio_pin_pages", "vfio");
		(void)vt_ksyms_data(ks, "vfio_device_fops", "vfio");
		(void)vt_ksyms_by_addr(ks, 0);
		(void)vt_ksyms_by_addr(ks, UINT64_MAX);
		vt_ksyms_free(ks);
	}
	unlink(path);
}

/* Random wait-for graphs through hung's cycle finder and chains. */
static void test_hung_graphs(void **state)
{
	for (int round = 0; round < 500; round++) {
		struct vth_wait w[64];
		int cycle[64];
		size_t n = rnd() % 64, chain[64];

		for (size_t i = 0; i < n; i++) {
			w[i].tid = 1 + i; /* unique, as vth_find_cycles requires */
			w[i].owner = rnd() % 80;
			w[i].lock = (int)(rnd() % 8);
		}
		assert_true(vth_find_cycles(w, n, cycle) >= 0);
		for (size_t i = 0; i < n; i++)
			assert_true(vth_chain(w, n, i, chain, 1 + rnd() % 64) <= 64);
	}
}

/* Live processes with hostile names (comm) named through /proc by the real code: the JSON
 * report, the name cache, top's table lines. */
static void test_live_names(void **state)
{
	static const char *const comms[] = { "\x1b]0;x\x07", "a\nb", "\xff\xfe", "%n%s", "(x) y" };
	enum { N = sizeof(comms) / sizeof(comms[0]) };
	struct vt_ident_cache *cache = calloc(1, sizeof(*cache));
	FILE *out = fopen("/dev/null", "w");
	struct vt_snapshot s = {};
	pid_t pids[N];
	struct vt_view v;
	json_object *o;

	assert_non_null(cache);
	assert_non_null(out);
	s.rows = calloc(N, sizeof(*s.rows));
	assert_non_null(s.rows);
	for (int i = 0; i < N; i++) {
		int p[2];
		char c;

		assert_int_equal(pipe(p), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i]) {
			/* gone with this test binary even if an assertion skips the kill below (the
			 * runner reads our stdout to its end) */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			prctl(PR_SET_NAME, comms[i]);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		close(p[1]);
		s.rows[s.n].key = (struct vtr_key){ .obj = 0xffff888001000000ULL, .tgid = pids[i] };
		fake_stat(&s.rows[s.n++].st, 100);
	}
	o = vt_report_json(&s, 1.0, "");
	vt_json_print(out, o, false);
	json_object_put(o);
	assert_int_equal(vt_view_build(&v, &s, 1.0, &s, 1.0, &s), 0);
	for (int round = 0; round < 2; round++) { /* alive, then exited: from the cache */
		char line[VT_VIEW_LINE];
		struct vt_view_widths w;

		for (size_t i = 0; i < v.nprocs; i++)
			vt_ident_get(cache, v.procs[i].tgid, v.procs[i].comm,
				     sizeof(v.procs[i].comm), v.procs[i].vm, sizeof(v.procs[i].vm));
		vt_view_widths(&v, &w);
		for (size_t i = 0; i < v.nprocs; i++) {
			assert_string_not_equal(v.procs[i].comm, "?");
			vt_view_proc_line(line, sizeof(line), &v.procs[i], &v.procs[i].iv, 1.0, &w);
			fprintf(out, "%s\n", line);
		}
		for (int i = 0; round == 0 && i < N; i++) {
			kill(pids[i], SIGKILL);
			assert_int_equal(waitpid(pids[i], NULL, 0), pids[i]);
		}
	}
	vt_view_free(&v);
	vt_snapshot_free(&s);
	free(cache);
	fclose(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_through_output),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_vm_names),
		cmocka_unit_test(test_kallsyms),
		cmocka_unit_test(test_hung_graphs),
		cmocka_unit_test(test_live_names),
	};

	return cmocka_run_group_tests_name("san-harness", tests, NULL, NULL);
}
