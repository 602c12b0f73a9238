// SPDX-License-Identifier: GPL-2.0
/* Unit tests of top's view (cmd/top/): tables from snapshot diffs, filters, sorting, text,
 * JSON rates and keys. Hostile names and the screen: test_top_screen.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curses.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"
#include "top/view.h"
#include "cli.h"
#include "top_world.h"

static void test_sort_parse(void **state)
{
	const char *names[] = {
		"unmaps", "bytes", "notifies", "callbacks", "p99", "pins", "errors"
	};

	for (int i = 0; i < VT_SORT_MAX; i++) {
		assert_int_equal(vt_sort_parse(names[i]), i);
		assert_string_equal(vt_sort_name(i), names[i]);
		assert_non_null(strstr(vt_sort_names(), names[i]));
	}
	assert_int_equal(vt_sort_parse("Unmaps"), -1);
	assert_int_equal(vt_sort_parse(""), -1);
	assert_int_equal(vt_sort_parse(NULL), -1);
	assert_int_equal(vt_sort_parse("unmap"), -1);
}

/* Each column is the sum of its op's rows in the interval; totals are since the baseline. */
static void test_build_counts(void **state)
{
	struct vt_snapshot prev, now;
	struct vt_view v;
	const struct vt_view_proc *p;
	const struct vt_view_dev *d;

	build(&v, &prev, &now);
	assert_int_equal(v.nprocs, 2);
	p = find_proc(&v, C1, 100);
	assert_non_null(p);
	assert_int_equal(p->iv.unmaps, 20);
	assert_int_equal(p->iv.unmap_bytes, 20 * 65536);
	assert_int_equal(p->iv.notifies, 20);
	assert_int_equal(p->iv.retries, 2);
	assert_int_equal(p->iv.callbacks, 41); /* D1 20 + D2 21: both in C1 */
	assert_int_equal(p->iv.pins, 20);
	assert_int_equal(p->iv.pages, 80);
	assert_int_equal(p->iv.errors, 2); /* failed MAP_DMA */
	assert_true(p->iv.unmap_p99 >= 15000 && p->iv.unmap_p99 <= 25000);
	assert_int_equal(p->tot.unmaps, 30);
	assert_int_equal(p->tot.callbacks, 61);
	/* the process that only pinned, through a device of C2 */
	p = find_proc(&v, C2, 200);
	assert_non_null(p);
	assert_int_equal(p->iv.pins, 10);
	assert_int_equal(p->iv.unmaps, 0);
	assert_int_equal(p->iv.unmap_p99, 0);
	assert_int_equal(p->iv.teardown_dmas, 7);
	assert_int_equal(p->iv.teardown_max, 3000000);
	assert_int_equal(find_proc(&v, C1, 100)->iv.teardown_dmas, 0);

	assert_int_equal(v.ndevs, 3);
	d = find_dev(&v, D1);
	assert_int_equal(d->iv.callbacks, 20);
	assert_int_equal(d->iv.pins, 20);
	assert_int_equal(d->iv.pages, 80);
	assert_int_equal(d->reg, VT_REG_YES);
	d = find_dev(&v, D2);
	assert_int_equal(d->iv.callbacks, 21);
	assert_int_equal(d->iv.cb_bytes, 21 * 65536);
	assert_true(d->iv.cb_p50 >= 2000 && d->iv.cb_p50 <= 4000);
	/* 1 of 21 is slow: p99 is the 21st */
	assert_true(d->iv.cb_p99 >= 1500000 && d->iv.cb_p99 <= 2500000);
	assert_int_equal(d->iv.cb_max, 2000000);
	assert_true(d->iv.cb_p99 <= d->iv.cb_max); /* the slot's middle is clamped to max */
	/* registered before tracing (no flag), but type1 called it back: on device_list */
	assert_int_equal(d->reg, VT_REG_YES);
	d = find_dev(&v, D3);
	assert_int_equal(d->reg, VT_REG_NOCB);
	assert_int_equal(d->iv.einval, 10);
	assert_int_equal(d->iv.pin_errors, 10);
	assert_int_equal(d->iv.pages, 0);

	assert_int_equal(v.iv.unmaps, 20);
	assert_int_equal(v.iv.callbacks, 41);
	assert_int_equal(v.iv.pins, 30);
	assert_int_equal(v.iv.errors, 2 + 10);
	assert_int_equal(v.iv.einval, 10);
	assert_int_equal(v.tot.unmaps, 30);
	assert_int_equal(v.losses[VT_LOSS_NO_ENTRY], 2);
	vt_view_free(&v);
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);
}

/* A quiet (container, process) stays listed with zero rates; z hides it. */
static void test_idle_rows(void **state)
{
	struct vt_snapshot prev, now, iv;
	struct vt_view v;
	const struct vt_view_proc *p;

	world(&prev, &now);
	/* nothing happened between now and now */
	assert_int_equal(vt_snapshot_diff(&now, &now, &iv), 0);
	assert_int_equal(vt_view_build(&v, &iv, 1.0, &now, 3.0, &now), 0);
	assert_int_equal(v.nprocs, 2);
	p = find_proc(&v, C1, 100);
	assert_int_equal(p->iv.unmaps, 0);
	assert_int_equal(p->tot.unmaps, 30);
	assert_true(vt_view_proc_idle(p));
	assert_true(vt_view_dev_idle(find_dev(&v, D1)));
	vt_view_free(&v);
	vt_snapshot_free(&iv);
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);
}

static void test_reg_states(void **state)
{
	struct vt_snapshot s = {};
	struct vt_view v;

	dev(&s, D1, C1, true, 1, false, "a", "x"); /* nothing seen: unknown */
	dev(&s, D2, C1, true, 1, false, "b", "x"); /* unregistered */
	add(&s, VT_OP_UNREGISTER, KD, D2, 1, 1, 0, 0, 0, 0);
	dev(&s, D3, C1, true, 1, true, "c", "x");
	assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
	assert_int_equal(find_dev(&v, D1)->reg, VT_REG_UNKNOWN);
	assert_int_equal(find_dev(&v, D2)->reg, VT_REG_NO);
	assert_int_equal(find_dev(&v, D3)->reg, VT_REG_YES);
	assert_string_equal(vt_reg_name(VT_REG_UNKNOWN), "?");
	assert_string_equal(vt_reg_name(VT_REG_NOCB), "nocb");
	vt_view_free(&v);
	vt_snapshot_free(&s);
}

static void test_sort(void **state)
{
	struct vt_snapshot s = {};
	struct vt_view v;

	/* pids 1..4 with unmaps 5, 20, 20, 1 and errors 0, 0, 3, 0 */
	add(&s, VT_OP_UNMAP, KC, C1, 1, 5, 5 * 4096, 1000, 0, 0);
	add(&s, VT_OP_UNMAP, KC, C1, 2, 20, 20 * 4096, 1000, 0, 0);
	add(&s, VT_OP_UNMAP, KC, C2, 3, 20, 20 * 8192, 90000, 3, 0);
	add(&s, VT_OP_UNMAP, KC, C2, 4, 1, 1 << 30, 1000, 0, 0);
	dev(&s, D1, C1, true, 1, true, "zz", "x");
	dev(&s, D2, C1, true, 1, true, "aa", "x");
	dev(&s, D3, C2, true, 1, true, "mm", "x");
	add(&s, VT_OP_CALLBACK, KD, D1, 1, 7, 0, 1000, 0, 0);
	add(&s, VT_OP_CALLBACK, KD, D3, 3, 7, 0, 1000, 0, 0);
	add(&s, VT_OP_PIN, KD, D2, 1, 50, 50, 1000, 0, 0);
	assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
	assert_int_equal(v.nprocs, 4);

	vt_view_sort(&v, VT_SORT_UNMAPS, false); /* ties: lower pid first */
	assert_int_equal(v.procs[0].tgid, 2);
	assert_int_equal(v.procs[1].tgid, 3);
	assert_int_equal(v.procs[2].tgid, 1);
	assert_int_equal(v.procs[3].tgid, 4);
	assert_string_equal(v.devs[0].name, "mm"); /* 7 callbacks, name breaks the tie */
	assert_string_equal(v.devs[1].name, "zz");
	assert_string_equal(v.devs[2].name, "aa");

	vt_view_sort(&v, VT_SORT_UNMAPS, true);
	assert_int_equal(v.procs[0].tgid, 4);
	assert_int_equal(v.procs[3].tgid, 3);
	assert_string_equal(v.devs[0].name, "aa");

	vt_view_sort(&v, VT_SORT_BYTES, false);
	assert_int_equal(v.procs[0].tgid, 4);
	vt_view_sort(&v, VT_SORT_P99, false);
	assert_int_equal(v.procs[0].tgid, 3);
	vt_view_sort(&v, VT_SORT_ERRORS, false);
	assert_int_equal(v.procs[0].tgid, 3);
	vt_view_sort(&v, VT_SORT_PINS, false);
	assert_string_equal(v.devs[0].name, "aa");
	vt_view_free(&v);
	vt_snapshot_free(&s);
}

static struct vt_filter *filt(uint32_t pid, const char *device)
{
	static struct vt_filter f;

	memset(&f, 0, sizeof(f));
	if (pid)
		f.pids[f.npids++] = pid;
	f.device = device;
	return &f;
}

static void test_filter(void **state)
{
	struct vt_snapshot prev, now;
	char uuid[] = "0b1d4ef4-6e36-4a7a-9a55-4dc2f3a1b2c3";
	char longname[] = "a-platform-device-name-that-is-longer-than-the-kernel-copy.0";
	struct vt_filter *f;

	world(&prev, &now);
	vt_snapshot_filter(&now, filt(200, NULL));
	assert_int_equal(now.n, 2); /* the nocb pins, the teardown of C2 */
	assert_int_equal(now.ndevs, 1);
	assert_string_equal(now.devs[0].d.name, "vfio_dmatest_nocb.0");
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);

	world(&prev, &now);
	vt_snapshot_filter(&now, filt(0, "vfio_dmatest.1"));
	assert_int_equal(now.ndevs, 1);
	assert_true(now.devs[0].vdev == D2);
	for (size_t i = 0; i < now.n; i++) {
		const struct vtr_key *k = &now.rows[i].key;

		assert_true(k->kind == KC ? k->obj == C1 : k->obj == D2);
	}
	assert_int_equal(now.n, 4 + 1); /* C1's unmap, map, notify, retry; D2's callbacks */
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);

	world(&prev, &now);
	vt_snapshot_filter(&now, filt(0, "vfio_dmatest")); /* a prefix is not a name */
	assert_int_equal(now.n, 0);
	assert_int_equal(now.ndevs, 0);
	assert_int_equal(now.losses[VT_LOSS_NO_ENTRY], 2); /* losses are global */
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);

	/* several PIDs: both processes' rows */
	world(&prev, &now);
	f = filt(100, NULL);
	f->pids[f->npids++] = 200;
	{
		size_t all = now.n;

		vt_snapshot_filter(&now, f);
		assert_int_equal(now.n, all);
	}
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);

	/* an mdev UUID (36 characters) is stored whole and matches exactly, not by prefix */
	memset(&now, 0, sizeof(now));
	dev(&now, D1, C1, true, 1, true, uuid, "mdev");
	assert_int_equal(strlen(now.devs[0].d.name), 36);
	vt_snapshot_filter(&now, filt(0, uuid));
	assert_int_equal(now.ndevs, 1);
	vt_snapshot_filter(&now, filt(0, "0b1d4ef4-6e36-4a7a-9a55-4dc2f3a1b2c"));
	assert_int_equal(now.ndevs, 0);
	vt_snapshot_free(&now);

	/* a name longer than the kernel's copy: the copy is its prefix, the full name matches */
	memset(&now, 0, sizeof(now));
	dev(&now, D1, C1, true, 1, true, longname, "x");
	assert_int_equal(strnlen(now.devs[0].d.name, sizeof(now.devs[0].d.name)),
			 sizeof(now.devs[0].d.name) - 1);
	vt_snapshot_filter(&now, filt(0, longname));
	assert_int_equal(now.ndevs, 1);
	vt_snapshot_free(&now);

	/* the same match for snoop's events (vt_filter_dev) */
	{
		struct vtr_event e = { 0 };

		snprintf(e.dev, sizeof(e.dev), "%s", uuid);
		assert_true(vt_filter_dev(filt(0, uuid), e.dev, sizeof(e.dev)));
		assert_false(vt_filter_dev(filt(0, "0b1d4ef4"), e.dev, sizeof(e.dev)));
		assert_true(vt_filter_dev(filt(0, NULL), e.dev, sizeof(e.dev)));
		assert_true(vt_filter_proc(filt(0, NULL), 5));
		assert_false(vt_filter_proc(filt(4, NULL), 5));
	}

	/* a recording's names (report --vm): matched there, never in this host's /proc */
	{
		struct vt_procname names[2] = { { .tgid = 100, .vm = "web" },
						{ .tgid = getpid(), .vm = "" } };

		f = filt(0, NULL);
		f->vm = "web";
		f->names = names;
		f->nnames = 2;
		assert_true(vt_filter_proc(f, 100));
		assert_false(vt_filter_proc(f, getpid()));
		assert_false(vt_filter_proc(f, 200)); /* not in the recording */
		f->pids[f->npids++] = 200;
		assert_false(vt_filter_proc(f, 100)); /* -p and --vm: both */
	}

	/* an event stream with -d: a register record (lifecycle) teaches the container; a
	 * container event of it is kept, another container's is not, another device's callback
	 * is not */
	{
		struct vtr_event reg = { .op = VT_OP_REGISTER, .container = C1, .tgid = 1 };
		struct vtr_event unmap = { .op = VT_OP_UNMAP, .container = C1, .tgid = 1 };
		struct vtr_event other = { .op = VT_OP_UNMAP, .container = C2, .tgid = 1 };
		struct vtr_event cb = { .op = VT_OP_CALLBACK, .container = C1, .tgid = 1 };

		f = filt(0, "vfio_dmatest.1");
		assert_false(vt_filter_event(f, &unmap, false)); /* its container not known yet */
		snprintf(reg.dev, sizeof(reg.dev), "vfio_dmatest.1");
		assert_false(vt_filter_event(f, &reg, true)); /* learnt, never shown */
		assert_true(vt_filter_event(f, &unmap, false));
		assert_false(vt_filter_event(f, &other, false));
		snprintf(cb.dev, sizeof(cb.dev), "vfio_dmatest.0");
		assert_false(vt_filter_event(f, &cb, false));
		snprintf(cb.dev, sizeof(cb.dev), "vfio_dmatest.1");
		assert_true(vt_filter_event(f, &cb, false));
	}
}

static void test_copy(void **state)
{
	struct vt_snapshot prev, now, c;

	world(&prev, &now);
	assert_int_equal(vt_snapshot_copy(&now, &c), 0);
	assert_int_equal(c.n, now.n);
	assert_int_equal(c.ndevs, now.ndevs);
	assert_true(c.rows != now.rows);
	assert_memory_equal(c.rows, now.rows, now.n * sizeof(*now.rows));
	vt_snapshot_free(&now);
	assert_int_equal(c.devs[2].vdev, D3);
	vt_snapshot_free(&c);
	vt_snapshot_free(&prev);
}

static void test_text(void **state)
{
	struct vt_snapshot prev, now;
	struct vt_view v;
	struct vt_view_widths w;
	char line[VT_VIEW_LINE], sum[5][VT_VIEW_LINE];
	const struct vt_view_proc *p;
	const struct vt_view_dev *d;
	int n;

	build(&v, &prev, &now);
	vt_view_widths(&v, &w);
	assert_int_equal(w.ident, 8);
	assert_int_equal(w.name, (int)strlen("vfio_dmatest_nocb.0"));
	vt_view_proc_header(line, sizeof(line), false, &w);
	assert_non_null(strstr(line, "UNMAP/s"));
	assert_non_null(strstr(line, "COMM/VM"));
	vt_view_proc_header(line, sizeof(line), true, &w);
	assert_non_null(strstr(line, "UNMAPS"));

	p = find_proc(&v, C1, 100);
	strcpy(((struct vt_view_proc *)p)->comm, "qemu-kvm");
	strcpy(((struct vt_view_proc *)p)->vm, "guest1");
	vt_view_proc_line(line, sizeof(line), p, &p->iv, v.secs, &w);
	/* 20 unmaps in 2 s: 10/s; 1.25 MiB in 2 s; 2 retries; 2 errors; VM name over comm */
	assert_non_null(strstr(line, " guest1 "));
	assert_null(strstr(line, "qemu-kvm"));
	assert_non_null(strstr(line, "     10 "));
	assert_non_null(strstr(line, " 0.62 "));
	assert_non_null(strstr(line, "0xffff888001000000"));
	vt_view_proc_line(line, sizeof(line), p, &p->tot, 0, &w);
	assert_non_null(strstr(line, "     30 "));

	d = find_dev(&v, D2);
	vt_view_dev_line(line, sizeof(line), d, &d->iv, v.secs, &w);
	assert_non_null(strstr(line, "vfio_dmatest.1 "));
	assert_non_null(strstr(line, " yes "));
	assert_non_null(strstr(line, " 2.0ms")); /* CB_MAX */
	assert_non_null(strstr(line, " 10 "));	 /* 21 callbacks / 2 s, rounded */
	d = find_dev(&v, D3);
	vt_view_dev_line(line, sizeof(line), d, &d->iv, v.secs, &w);
	assert_non_null(strstr(line, " nocb "));
	assert_non_null(strstr(line, "    -  ")); /* no callback: no latency */

	n = vt_view_summary(&v, "", sum, 5);
	assert_int_equal(n, 4);
	assert_non_null(strstr(sum[0], "UNMAPS"));
	/* since the baseline: 30 unmaps, 1.88 MiB, 30 notifies, 61 callbacks, 45 pins,
	 * 120 pages, 3 retries, 3 + 15 errors, 15 EINVAL, 0 unpins, 7 vfio_dma at teardown */
	assert_string_equal(sum[1],
			    "total 3.0s            30      1.88        30        61        45"
			    "       120         3        18        15         0         7");
	assert_non_null(strstr(sum[2], "last 2.00s            20 "));
	assert_string_equal(sum[3], "LOST since start: exit_without_entry 2");
	v.losses[VT_LOSS_NO_ENTRY] = 0;
	v.losses[VT_LOSS_STATS_FULL] = 1;
	v.losses[VT_LOSS_RINGBUF] = 4;
	n = vt_view_summary(&v, "vfio_remove_dma (no BTF)", sum, 5);
	assert_int_equal(n, 5);
	assert_string_equal(sum[3], "LOST since start: stats_full 1 snoop_ringbuf_full 4");
	assert_string_equal(sum[4], "not traced on this kernel: vfio_remove_dma (no BTF)");
	memset(v.losses, 0, sizeof(v.losses));
	assert_int_equal(vt_view_summary(&v, NULL, sum, 5), 3);
	assert_int_equal(vt_view_summary(&v, "x", sum, 2), 2);
	vt_view_free(&v);
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);
}

static double jget(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *x;

	assert_true(json_object_object_get_ex(o, a, &x));
	assert_true(json_object_object_get_ex(x, b, &x));
	assert_true(json_object_object_get_ex(x, c, &x));
	return json_object_get_double(x);
}

static void test_json_rates(void **state)
{
	struct vt_snapshot prev, now, iv;
	json_object *doc, *a;

	world(&prev, &now);
	assert_int_equal(vt_snapshot_diff(&now, &prev, &iv), 0);
	doc = vt_report_json(&iv, 2.0, "");
	vt_view_json_rates(doc, &iv, 2.0);
	assert_true(jget(doc, "rates", "unmap", "count") == 10.0);
	assert_true(jget(doc, "rates", "pin", "pages") == 40.0);
	assert_true(json_object_object_get_ex(doc, "containers", &a));
	assert_int_equal(json_object_array_length(a), 2); /* C1 by 100, C2 by 200 (teardown) */
	assert_true(jget(json_object_array_get_idx(a, 0), "rates", "notify", "count") == 10.0);
	assert_true(jget(json_object_array_get_idx(a, 1), "rates", "teardown", "bytes") ==
		    7 * 65536 / 2.0);
	assert_true(json_object_object_get_ex(doc, "devices", &a));
	assert_int_equal(json_object_array_length(a), 3);
	for (size_t i = 0; i < 3; i++) {
		json_object *d = json_object_array_get_idx(a, i), *name;
		const char *nm;

		assert_true(json_object_object_get_ex(d, "name", &name));
		nm = json_object_get_string(name);
		if (!strcmp(nm, "vfio_dmatest.1"))
			assert_true(jget(d, "rates", "callback", "count") == 10.5);
		if (!strcmp(nm, "vfio_dmatest.0"))
			assert_true(jget(d, "rates", "pin", "count") == 10.0);
	}
	json_object_put(doc);
	vt_snapshot_free(&iv);
	vt_snapshot_free(&prev);
	vt_snapshot_free(&now);
}

static void test_keys(void **state)
{
	struct vt_view_ui ui = { .interval = 1 };

	assert_int_equal(vt_view_key(&ui, ERR), 0);
	assert_true(vt_view_key(&ui, 'q') & VT_UI_QUIT);
	assert_true(vt_view_key(&ui, 's') & VT_UI_REDRAW);
	assert_int_equal(ui.sort, VT_SORT_BYTES);
	for (int i = 0; i < VT_SORT_MAX - 1; i++)
		vt_view_key(&ui, 's');
	assert_int_equal(ui.sort, VT_SORT_UNMAPS); /* wraps */
	vt_view_key(&ui, 'S');
	assert_true(ui.reverse);
	vt_view_key(&ui, 'z');
	assert_true(ui.hide_zero);
	assert_int_equal(vt_view_key(&ui, 'p') & VT_UI_RESUME, 0);
	assert_true(ui.paused);
	assert_true(vt_view_key(&ui, 'p') & VT_UI_RESUME);
	assert_false(ui.paused);
	assert_true(vt_view_key(&ui, 'r') & VT_UI_RESET);
	assert_true(vt_view_key(&ui, '5') & VT_UI_RETIME);
	assert_true(ui.interval == 5);
	vt_view_key(&ui, '+');
	assert_true(ui.interval == 10);
	vt_view_key(&ui, '-');
	vt_view_key(&ui, '-');
	assert_true(ui.interval == 3);
	ui.interval = 0.1;
	vt_view_key(&ui, '-');
	assert_true(ui.interval == 0.1); /* the fastest step stays */
	ui.interval = 300;
	vt_view_key(&ui, '+');
	assert_true(ui.interval == 300);
	ui.interval = 1.5; /* from the command line: the next step either way */
	vt_view_key(&ui, '+');
	assert_true(ui.interval == 2);
	ui.interval = 1.5;
	vt_view_key(&ui, '-');
	assert_true(ui.interval == 1);
	vt_view_key(&ui, 'h');
	assert_true(ui.help);
	assert_int_equal(vt_view_key(&ui, 's'), VT_UI_REDRAW); /* only closes the help */
	assert_false(ui.help);
	assert_int_equal(ui.sort, VT_SORT_UNMAPS);
	vt_view_key(&ui, 'x');
	assert_non_null(strstr(ui.msg, "unknown key 'x'"));
	assert_int_equal(vt_view_key(&ui, KEY_RESIZE), VT_UI_REDRAW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_parse), cmocka_unit_test(test_build_counts),
		cmocka_unit_test(test_idle_rows),  cmocka_unit_test(test_reg_states),
		cmocka_unit_test(test_sort),	   cmocka_unit_test(test_filter),
		cmocka_unit_test(test_copy),	   cmocka_unit_test(test_text),
		cmocka_unit_test(test_json_rates), cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
