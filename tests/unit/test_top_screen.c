// SPDX-License-Identifier: GPL-2.0
/* Unit tests of top (cmd/top/): names nobody should trust through its text and JSON, and the
 * ncurses screen drawn into a terminal that writes to /dev/null. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"
#include "top/view.h"
#include "cli.h"
#include "top_world.h"

/* Names nobody should trust (comm, QEMU -name, device, driver) through top's real text. */
static const char *const hostile[] = {
	"\033]0;pwned\a",	/* set the terminal title */
	"\033[2J\033[H",	/* clear the screen */
	"a\nforged 0 0 0",	/* a forged output line */
	"bad\xff\xfe\xc3(utf8", /* not UTF-8 */
	"\xc2\x9b"
	"31m", /* C1 CSI */
};

static void no_raw_control(const char *line)
{
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
}

static void test_hostile_text(void **state)
{
	struct vt_snapshot s;
	struct vt_view v;
	struct vt_view_widths w;
	char line[VT_VIEW_LINE];

	for (size_t h = 0; h < sizeof(hostile) / sizeof(hostile[0]); h++) {
		memset(&s, 0, sizeof(s));
		add(&s, VT_OP_UNMAP, KC, C1, 100, 1, 4096, 1000, 0, 0);
		dev(&s, D1, C1, true, 100, true, hostile[h], hostile[h]);
		add(&s, VT_OP_CALLBACK, KD, D1, 100, 1, 4096, 1000, 0, 0);
		assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
		snprintf(v.procs[0].comm, sizeof(v.procs[0].comm), "%s", hostile[h]);
		snprintf(v.procs[0].vm, sizeof(v.procs[0].vm), "%s%s", hostile[h], hostile[h]);
		vt_view_widths(&v, &w);
		vt_view_proc_line(line, sizeof(line), &v.procs[0], &v.procs[0].iv, 1, &w);
		no_raw_control(line);
		/* the columns after the name stay where the header puts them */
		{
			char hdr[VT_VIEW_LINE];

			vt_view_proc_header(hdr, sizeof(hdr), false, &w);
			assert_int_equal(strlen(line) - strlen(strrchr(line, ' ')),
					 strlen(hdr) - strlen(strrchr(hdr, ' ')));
		}
		vt_view_dev_line(line, sizeof(line), &v.devs[0], &v.devs[0].iv, 1, &w);
		no_raw_control(line);
		vt_view_free(&v);
		vt_snapshot_free(&s);
	}
	/* a long VM name is cut to the column, whole escapes only */
	memset(&s, 0, sizeof(s));
	add(&s, VT_OP_UNMAP, KC, C1, 100, 1, 4096, 1000, 0, 0);
	assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
	memset(v.procs[0].vm, '\033', sizeof(v.procs[0].vm) - 1);
	v.procs[0].vm[sizeof(v.procs[0].vm) - 1] = 0;
	vt_view_widths(&v, &w);
	assert_int_equal(w.ident, 24);
	vt_view_proc_line(line, sizeof(line), &v.procs[0], &v.procs[0].iv, 1, &w);
	no_raw_control(line);
	assert_non_null(strstr(line, " \\x1b\\x1b\\x1b\\x1b\\x1b\\x1b "));
	vt_view_free(&v);
	vt_snapshot_free(&s);
}

/* The JSON documents every command prints (vt_report_json + vt_json_print) with those names:
 * valid UTF-8, control characters as JSON escapes. */
static void test_hostile_json(void **state)
{
	for (size_t h = 0; h < sizeof(hostile) / sizeof(hostile[0]); h++) {
		struct vt_snapshot s = { 0 };
		json_object *o;
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		dev(&s, D1, C1, true, 100, true, hostile[h], hostile[h]);
		add(&s, VT_OP_CALLBACK, KD, D1, 100, 1, 4096, 1000, 0, 0);
		o = vt_report_json(&s, 1, hostile[h]);
		vt_json_print(f, o, false);
		json_object_put(o);
		fclose(f);
		assert_int_equal(buf[len - 1], '\n');
		buf[len - 1] = 0;
		no_raw_control(buf);
		/* strict UTF-8: our own decoder must find nothing to replace */
		{
			char *again = vt_json_utf8(buf);

			assert_string_equal(again, buf);
			free(again);
		}
		/* and json-c reads it back as one object with the device in it */
		{
			json_object *back = json_tokener_parse(buf), *a, *d, *n;

			assert_non_null(back);
			assert_true(json_object_object_get_ex(back, "devices", &a));
			d = json_object_array_get_idx(a, 0);
			assert_true(json_object_object_get_ex(d, "name", &n));
			if (h != 3) /* valid UTF-8 names come back byte for byte */
				assert_string_equal(json_object_get_string(n), hostile[h]);
			else
				assert_string_equal(json_object_get_string(n),
						    "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd(utf8");
			json_object_put(back);
		}
		free(buf);
		vt_snapshot_free(&s);
	}
}

/* ---- the screen, drawn into a terminal that writes to /dev/null and read back ------------- */

static SCREEN *scr;
static FILE *tout, *tin;

static int screen_setup(void **state)
{
	tout = fopen("/dev/null", "w");
	tin = fopen("/dev/null", "r");
	scr = newterm("xterm", tout, tin);
	if (!scr)
		return -1;
	return 0;
}

static int screen_teardown(void **state)
{
	endwin();
	delscreen(scr);
	fclose(tout);
	fclose(tin);
	return 0;
}

static void screen_line(int y, char *buf, size_t len)
{
	int n = COLS < (int)len - 1 ? COLS : (int)len - 1;

	mvinnstr(y, 0, buf, n);
	buf[n] = 0;
	for (int i = n - 1; i >= 0 && buf[i] == ' '; i--)
		buf[i] = 0;
}

static int screen_find(const char *s)
{
	char buf[512];

	for (int y = 0; y < LINES; y++) {
		screen_line(y, buf, sizeof(buf));
		if (strstr(buf, s))
			return y;
	}
	return -1;
}

/* n processes (pid i+1, i+1 unmaps) in C1 and n devices, all in one interval of 1 s. */
static void many(struct vt_snapshot *s, int n)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++) {
		char name[48];

		add(s, VT_OP_UNMAP, KC, C1, i + 1, i + 1, 4096, 1000, 0, 0);
		snprintf(name, sizeof(name), "dev%02d", i);
		dev(s, D1 + i * 0x1000, C1, true, 1, true, name, "x");
		add(s, VT_OP_CALLBACK, KD, D1 + i * 0x1000, 1, i + 1, 0, 1000, 0, 0);
	}
}

static void test_screen(void **state)
{
	struct vt_snapshot s;
	struct vt_view v;
	struct vt_view_ui ui = { .interval = 1 };
	char buf[512];
	int y;

	many(&s, 10);
	assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
	vt_view_sort(&v, VT_SORT_UNMAPS, false);

	/* big enough: everything, busiest first */
	resizeterm(40, 160);
	vt_view_draw(&v, &ui, "", "");
	screen_line(0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "vfio-trace top"));
	assert_non_null(strstr(buf, "sort: unmaps"));
	y = screen_find("COMM/VM");
	assert_true(y > 0);
	screen_line(y + 1, buf, sizeof(buf));
	assert_true(!strncmp(buf, "     10 ", 8));
	screen_line(y + 10, buf, sizeof(buf));
	assert_true(!strncmp(buf, "      1 ", 8));
	assert_true(screen_find("more") < 0);
	assert_true(screen_find("dev00") > screen_find("dev09"));

	/* 20 lines: rows trimmed, each table says how many are not shown */
	resizeterm(20, 100);
	vt_view_draw(&v, &ui, "", "");
	assert_true(screen_find("more processes") > 0);
	assert_true(screen_find("more devices") == LINES - 1);
	assert_true(screen_find("DEVICE") > screen_find("COMM/VM"));
	assert_true(screen_find("dev09") > 0); /* the busiest device is kept */
	assert_true(screen_find("dev00") < 0);
	/* lines are cut at the screen's width, never wrapped */
	screen_line(screen_find("COMM/VM"), buf, sizeof(buf));
	assert_true(strlen(buf) <= 100);
	assert_true(screen_find("0xffff") < 0); /* no half address */
	resizeterm(20, 140);
	vt_view_draw(&v, &ui, "", "");
	assert_true(screen_find("0xffff888001000000") > 0);
	resizeterm(20, 100);

	/* a status message takes the last line; the help overlays the tables */
	snprintf(ui.msg, sizeof(ui.msg), "sort: bytes");
	vt_view_draw(&v, &ui, "", "pid 7");
	assert_int_equal(screen_find("sort: bytes"), LINES - 1);
	assert_int_equal(screen_find("pid 7"), 0);
	ui.help = true;
	vt_view_draw(&v, &ui, "", "");
	assert_true(screen_find("vfio-trace top - keys") > 0);
	assert_true(screen_find("reverse the sort order") > 0);

	/* tiny terminals do not crash */
	ui.help = false;
	resizeterm(3, 20);
	vt_view_draw(&v, &ui, "x", "");
	ui.help = true;
	vt_view_draw(&v, &ui, "x", "");
	resizeterm(1, 1);
	vt_view_draw(&v, &ui, "x", "");

	/* hide idle rows; losses and not-traced notices shown */
	resizeterm(40, 160);
	ui.help = false;
	ui.hide_zero = true;
	v.procs[0].iv.unmaps = 0;
	v.procs[0].iv.callbacks = 0;
	v.losses[VT_LOSS_STATS_FULL] = 9;
	vt_view_draw(&v, &ui, "vfio_unmap_unpin (no symbol)", "");
	assert_true(screen_find("LOST since start: stats_full 9") > 0);
	assert_true(screen_find("not traced on this kernel: vfio_unmap_unpin") > 0);
	y = screen_find("COMM/VM");
	screen_line(y + 1, buf, sizeof(buf));
	assert_true(!strncmp(buf, "      9 ", 8));
	vt_view_free(&v);
	vt_snapshot_free(&s);

	/* nothing yet */
	memset(&s, 0, sizeof(s));
	assert_int_equal(vt_view_build(&v, &s, 1, &s, 1, &s), 0);
	vt_view_draw(&v, &ui, "", "");
	assert_true(screen_find("no VFIO container activity yet") > 0);
	assert_true(screen_find("no device seen yet") > 0);
	vt_view_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_hostile_json),
		cmocka_unit_test_setup_teardown(test_screen, screen_setup, screen_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
