// SPDX-License-Identifier: GPL-2.0
/*
 * top's interactive screen: its keys (what each does to the view's state) and the drawing of
 * the tables (view.c's text lines) into an ncurses screen, with the help box.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace.h"
#include "view.h"

/* ---- keys -------------------------------------------------------------------------------- */

static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300 };
#define NSTEPS ((int)(sizeof(steps) / sizeof(steps[0])))

static void set_interval(struct vt_view_ui *ui, double secs)
{
	ui->interval = secs;
	snprintf(ui->msg, sizeof(ui->msg), "interval %gs", secs);
}

int vt_view_key(struct vt_view_ui *ui, int key)
{
	if (key == ERR)
		return 0;
	if (key == KEY_RESIZE)
		return VT_UI_REDRAW;
	if (key == 'q' || key == 'Q')
		return VT_UI_QUIT;
	ui->msg[0] = 0;
	if (ui->help) { /* any key closes the help */
		ui->help = false;
		return VT_UI_REDRAW;
	}
	switch (key) {
	case 'h':
	case '?': ui->help = true; return VT_UI_REDRAW;
	case 'p':
		ui->paused = !ui->paused;
		snprintf(ui->msg, sizeof(ui->msg), ui->paused ? "paused (p resumes)" : "resumed");
		return VT_UI_REDRAW | (ui->paused ? 0 : VT_UI_RESUME);
	case 'r':
		snprintf(ui->msg, sizeof(ui->msg), "reset: totals count from now");
		return VT_UI_REDRAW | VT_UI_RESET;
	case 's':
		ui->sort = (ui->sort + 1) % VT_SORT_MAX;
		snprintf(ui->msg, sizeof(ui->msg), "sort: %s", vt_sort_name(ui->sort));
		return VT_UI_REDRAW;
	case 'S':
		ui->reverse = !ui->reverse;
		snprintf(ui->msg, sizeof(ui->msg), "sort: %s, %s", vt_sort_name(ui->sort),
			 ui->reverse ? "ascending" : "descending");
		return VT_UI_REDRAW;
	case 'z':
		ui->hide_zero = !ui->hide_zero;
		snprintf(ui->msg, sizeof(ui->msg),
			 ui->hide_zero ? "idle rows hidden" : "idle rows shown");
		return VT_UI_REDRAW;
	case '+':
	case '=': {
		int i = 0;

		while (i < NSTEPS - 1 && steps[i] <= ui->interval + 1e-9)
			i++;
		set_interval(ui, steps[i] > ui->interval ? steps[i] : ui->interval);
		return VT_UI_REDRAW | VT_UI_RETIME;
	}
	case '-':
	case '_': {
		int i = NSTEPS - 1;

		while (i > 0 && steps[i] >= ui->interval - 1e-9)
			i--;
		set_interval(ui, steps[i] < ui->interval ? steps[i] : ui->interval);
		return VT_UI_REDRAW | VT_UI_RETIME;
	}
	}
	if (key >= '1' && key <= '9') {
		set_interval(ui, key - '0');
		return VT_UI_REDRAW | VT_UI_RETIME;
	}
	if (key >= ' ' && key < 127)
		snprintf(ui->msg, sizeof(ui->msg), "unknown key '%c' (h: help)", key);
	else
		snprintf(ui->msg, sizeof(ui->msg), "unknown key (h: help)");
	return VT_UI_REDRAW;
}

/* ---- the screen ------------------------------------------------------------------------ */

static void put(int y, const char *s)
{
	/* Never the bottom-right cell: writing it would scroll the screen. */
	int w = y == LINES - 1 ? COLS - 1 : COLS;

	int n = strlen(s);

	if (y < 0 || y >= LINES || w <= 0)
		return;
	/* Cut at a column boundary: half a number (or address) would read as another value. */
	if (n > w) {
		n = w;
		while (n > 0 && s[n] != ' ')
			n--;
		if (!n)
			n = w;
	}
	mvaddnstr(y, 0, s, n);
}

static const char *const help_text[] = {
	"vfio-trace top - keys",
	"",
	"  q        quit (also Ctrl-C)",
	"  p        pause / resume the display",
	"  r        reset: totals count from now",
	"  s        next sort key",
	"  S        reverse the sort order",
	"  z        hide / show idle rows",
	"  1-9      refresh every 1..9 seconds",
	"  + -      refresh slower / faster",
	"  h ?      this help (any key closes it)",
	"",
	"  sort keys: unmaps bytes notifies callbacks",
	"             p99 pins errors",
};

static void draw_help(void)
{
	int n = sizeof(help_text) / sizeof(help_text[0]), w = 0, h, y0, x0;

	for (int i = 0; i < n; i++)
		if ((int)strlen(help_text[i]) > w)
			w = strlen(help_text[i]);
	w += 4;
	h = n + 2;
	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (int y = 0; y < h; y++) {
		move(y0 + y, x0);
		for (int x = 0; x < w; x++) {
			chtype ch = ' ';

			if (y == 0 || y == h - 1)
				ch = (x == 0 || x == w - 1) ? '+' : '-';
			else if (x == 0 || x == w - 1)
				ch = '|';
			addch(ch);
		}
		if (y > 0 && y < h - 1 && y - 1 < n)
			mvaddnstr(y0 + y, x0 + 2, help_text[y - 1], w - 4);
	}
}

void vt_view_draw(const struct vt_view *v, const struct vt_view_ui *ui, const char *not_traced,
		  const char *filter)
{
	char sum[5][VT_VIEW_LINE], line[VT_VIEW_LINE], tbuf[16];
	size_t *pv = calloc(v->nprocs + 1, sizeof(*pv)), *dv = calloc(v->ndevs + 1, sizeof(*dv));
	size_t np = 0, nd = 0, sp, sd;
	struct vt_view_widths w;
	int ns, y = 0, avail;
	time_t now = time(NULL);

	erase();
	if (!pv || !dv)
		goto out;
	for (size_t i = 0; i < v->nprocs; i++)
		if (!ui->hide_zero || !vt_view_proc_idle(&v->procs[i]))
			pv[np++] = i;
	for (size_t i = 0; i < v->ndevs; i++)
		if (!ui->hide_zero || !vt_view_dev_idle(&v->devs[i]))
			dv[nd++] = i;
	vt_view_widths(v, &w);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	/* most important first: a narrow terminal cuts the end */
	snprintf(line, sizeof(line), "vfio-trace top%s  %s  every %gs  sort: %s%s%s%s%s   h: help",
		 ui->paused ? "  [PAUSED]" : "", tbuf, ui->interval, vt_sort_name(ui->sort),
		 ui->reverse ? " (ascending)" : "", ui->hide_zero ? "  idle hidden" : "",
		 filter && filter[0] ? "  " : "", filter ? filter : "");
	attron(A_BOLD);
	put(y++, line);
	attroff(A_BOLD);
	ns = vt_view_summary(v, not_traced, sum, 5);
	for (int i = 0; i < ns; i++) {
		if (i >= 3) /* losses and what is not traced: never overlooked */
			attron(A_BOLD);
		put(y++, sum[i]);
		attroff(A_BOLD);
	}
	/* blank, process header, rows, separator, device header, rows, status line */
	avail = LINES - y - 5;
	if (avail < 0)
		avail = 0;
	sp = np;
	sd = nd;
	if (sp + sd > (size_t)avail) {
		size_t half = avail / 2;

		if (sp <= half)
			sd = avail - sp;
		else if (sd <= (size_t)avail - half)
			sp = avail - sd;
		else {
			sp = avail - half;
			sd = half;
		}
	}
	y++;
	vt_view_proc_header(line, sizeof(line), false, &w);
	attron(A_REVERSE);
	put(y++, line);
	attroff(A_REVERSE);
	for (size_t i = 0; i < sp; i++) {
		const struct vt_view_proc *p = &v->procs[pv[i]];

		vt_view_proc_line(line, sizeof(line), p, &p->iv, v->secs, &w);
		put(y++, line);
	}
	if (np > sp) {
		snprintf(line, sizeof(line), "  ... %zu more processes (z hides idle rows)",
			 np - sp);
		put(y, line);
	} else if (!np) {
		put(y, v->nprocs ? "  (all idle)" : "  (no VFIO container activity yet)");
	}
	y++;
	vt_view_dev_header(line, sizeof(line), false, &w);
	attron(A_REVERSE);
	put(y++, line);
	attroff(A_REVERSE);
	for (size_t i = 0; i < sd; i++) {
		const struct vt_view_dev *d = &v->devs[dv[i]];

		vt_view_dev_line(line, sizeof(line), d, &d->iv, v->secs, &w);
		put(y++, line);
	}
	if (!nd)
		put(y++, v->ndevs ? "  (all idle)" : "  (no device seen yet)");
	/* top --phases: below the devices, in whatever lines are left */
	if (vt_view_has_phases(v) && y + 2 < LINES - 1) {
		vt_view_phase_header(line, sizeof(line), &w);
		attron(A_REVERSE);
		put(++y, line);
		attroff(A_REVERSE);
		for (size_t i = 0; i < np && ++y < LINES - 1; i++) {
			const struct vt_view_proc *p = &v->procs[pv[i]];

			if (!vt_view_proc_has_phases(&p->tot)) {
				y--;
				continue;
			}
			vt_view_phase_line(line, sizeof(line), p, &p->iv, &w);
			put(y, line);
		}
	}
	if (nd > sd && !ui->msg[0]) {
		snprintf(line, sizeof(line), "  ... %zu more devices", nd - sd);
		put(LINES - 1, line);
	}
	if (ui->msg[0]) {
		attron(A_BOLD);
		put(LINES - 1, ui->msg);
		attroff(A_BOLD);
	}
out:
	if (ui->help)
		draw_help();
	free(pv);
	free(dv);
}
