// SPDX-License-Identifier: GPL-2.0
/*
 * A recording's latencies as a heatmap over time (SVG), read the way Brendan Gregg's latency
 * heatmaps are: time across, latency up (here its power of two: each row twice the one
 * below), the darker a cell the more operations completed in that time with that latency. A
 * band is the usual latency; a cloud above it, outliers; a band that climbs, a slowdown. One
 * panel per operation (lib/timeline.h has the bucket choices).
 *
 * The SVG is written with fprintf: it is a few kinds of elements, and Debian has no C library
 * for writing SVG that is reasonable to link statically (librsvg and cairo render SVG, they do
 * not write it). Every text that comes from the recording is escaped for XML (xml_text).
 * Each cell with a count is one <rect data-count="N">, so a checker (tests/lab/
 * timeline_check.py) can compare the cells with the events report snoop shows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "timeline.h"
#include "report.h"

#define ROWS	  64 /* latency buckets: [2^k, 2^(k+1)) ns, k < 64 */
#define CELL_H	  12 /* px */
#define LEFT	  90 /* px: the latency labels */
#define PLOT_W	  1000
#define PANEL_GAP 40

struct heat {
	const struct vt_recording *r;
	uint64_t from, to;
	uint64_t t0, tmax; /* the window's start; the last event's ts */
	uint64_t col_ns;
	bool any;
	uint64_t (*cells)[VT_HEAT_MAX_COLS][ROWS]; /* [op] */
	uint64_t events[VT_OP_MAX];
};

uint64_t vt_heat_col_ns(uint64_t span)
{
	static const unsigned steps[] = { 1, 2, 5 };

	for (uint64_t decade = 1000; decade <= UINT64_MAX / 10; decade *= 10)
		for (int i = 0; i < 3; i++) {
			uint64_t w = decade * steps[i];

			if (span / w < VT_HEAT_MAX_COLS)
				return w;
		}
	return UINT64_MAX / 10 + 1; /* a span of centuries: one column */
}

static bool timed(const struct vtr_event *e)
{
	return e->op < VT_OP_MAX && !(vt_op_flags(e->op) & VT_OPF_UNTIMED) &&
	       e->op != VT_OP_DEADLOCK && e->lat != VT_LAT_NONE;
}

static int row_of(uint64_t lat)
{
	return lat < 2 ? 0 : 63 - __builtin_clzll(lat);
}

/* First pass: the time of the last event. */
static void span_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct heat *h = ctx;

	if (lifecycle || !timed(e) || e->ts < h->from || e->ts >= h->to)
		return;
	h->any = true;
	if (e->ts > h->tmax)
		h->tmax = e->ts;
}

/* Second pass: count. */
static void count_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct heat *h = ctx;
	uint64_t col;

	if (lifecycle || !timed(e) || e->ts < h->from || e->ts >= h->to)
		return;
	col = (e->ts - h->t0) / h->col_ns;
	if (col >= VT_HEAT_MAX_COLS) /* cannot be: tmax bounds every ts */
		col = VT_HEAT_MAX_COLS - 1;
	h->cells[e->op][col][row_of(e->lat)]++;
	h->events[e->op]++;
}

/* Text for XML: & < > " ' as entities; anything but printable ASCII as '?' (a host or kernel
 * name is ASCII; a byte that is not would need a UTF-8 check to be kept, and a picture's
 * title does not need it). */
static void xml_text(FILE *f, const char *s, size_t cap)
{
	for (size_t i = 0; i < cap && s[i]; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(c >= 0x20 && c < 0x7f ? c : '?', f);
		}
	}
}

/* Light yellow to dark red, linear in the count between the panel's least and most. */
static void colour(char *buf, size_t len, uint64_t n, uint64_t lo, uint64_t hi)
{
	double f = hi > lo ? (double)(n - lo) / (hi - lo) : 1.0;
	int r = 255 + f * (189 - 255), g = 237 + f * (0 - 237), b = 160 + f * (38 - 160);

	snprintf(buf, len, "#%02x%02x%02x", r, g, b);
}

/* One panel: its height in px. */
static int panel(FILE *f, const struct heat *h, int op, int y, int ncols, int cell_w)
{
	const uint64_t(*c)[ROWS] = h->cells[op];
	int lo_row = ROWS, hi_row = -1, nrows, cells = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	char fill[16], a[16], b[16];

	for (int x = 0; x < ncols; x++)
		for (int k = 0; k < ROWS; k++)
			if (c[x][k]) {
				lo_row = k < lo_row ? k : lo_row;
				hi_row = k > hi_row ? k : hi_row;
				lo = c[x][k] < lo ? c[x][k] : lo;
				hi = c[x][k] > hi ? c[x][k] : hi;
				cells++;
			}
	nrows = hi_row - lo_row + 1;
	fprintf(f,
		"<g class=\"panel\" data-op=\"%s\" data-events=\"%" PRIu64 "\" data-cells=\"%d\" "
		"data-row-min=\"%d\" data-row-max=\"%d\">\n",
		vt_op_name(op), h->events[op], cells, lo_row, hi_row);
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" class=\"title\">%s: %" PRIu64 " events, %" PRIu64
		" to %" PRIu64 " per cell</text>\n",
		LEFT, y + 14, vt_op_name(op), h->events[op], lo, hi);
	y += 22;
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"plot\"/>\n", LEFT, y,
		ncols * cell_w, nrows * CELL_H);
	for (int k = lo_row; k <= hi_row; k++) {
		int ry = y + (hi_row - k) * CELL_H;

		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"ylab\">%s</text>\n", LEFT - 4,
			ry + CELL_H - 2, vt_fmt_ns(a, sizeof(a), k ? 1ULL << k : 0));
		for (int x = 0; x < ncols; x++) {
			if (!c[x][k])
				continue;
			colour(fill, sizeof(fill), c[x][k], lo, hi);
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
				"data-col=\"%d\" data-row=\"%d\" data-count=\"%" PRIu64 "\">"
				"<title>%.6f s: %" PRIu64 " with latency %s to %s</title></rect>\n",
				LEFT + x * cell_w, ry, cell_w, CELL_H, fill, x, k, c[x][k],
				(double)(h->t0 - h->r->info.start_mono + x * h->col_ns) / 1e9,
				c[x][k], vt_fmt_ns(a, sizeof(a), k ? 1ULL << k : 0),
				vt_fmt_ns(b, sizeof(b), k < 63 ? 2ULL << k : UINT64_MAX));
		}
	}
	y += nrows * CELL_H;
	/* the time axis: about ten labels, seconds since the recording's start */
	for (int x = 0; x <= ncols; x += ncols > 10 ? ncols / 10 : 1)
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xlab\">%.3fs</text>\n",
			LEFT + x * cell_w, y + 12,
			(double)(h->t0 - h->r->info.start_mono + x * h->col_ns) / 1e9);
	fputs("</g>\n", f);
	return 22 + nrows * CELL_H + 16;
}

static int write_svg(FILE *f, const struct heat *h)
{
	int ncols = h->any ? (h->tmax - h->t0) / h->col_ns + 1 : 0;
	int cell_w = ncols ? PLOT_W / ncols : 0, panels = 0, height = 60;
	const struct vt_rec_info *in = &h->r->info;
	char w[16];

	errno = 0; /* a write's error, if any, is the one to report */
	cell_w = cell_w < 2 ? 2 : cell_w > 40 ? 40 : cell_w;
	for (int op = 0; op < VT_OP_MAX; op++)
		if (h->events[op]) {
			int lo = ROWS, hi = -1;

			for (int x = 0; x < ncols; x++)
				for (int k = 0; k < ROWS; k++)
					if (h->cells[op][x][k]) {
						lo = k < lo ? k : lo;
						hi = k > hi ? k : hi;
					}
			height += 22 + (hi - lo + 1) * CELL_H + 16 + PANEL_GAP;
			panels++;
		}
	if (!panels)
		height += 20;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"data-col-ns=\"%" PRIu64 "\" data-t0-ns=\"%" PRIu64 "\" data-columns=\"%d\">\n"
		"<style>text{font-family:sans-serif;font-size:10px}.title{font-size:13px;"
		"font-weight:bold}.ylab{text-anchor:end}.xlab{text-anchor:middle}"
		".plot{fill:#f8f8f8;stroke:#ccc}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		LEFT + ncols * cell_w + 60, height, h->col_ns, h->t0 - in->start_mono, ncols);
	fputs("<text x=\"10\" y=\"20\" class=\"title\">vfio-trace latency heatmap: ", f);
	xml_text(f, in->host, sizeof(in->host));
	fputs(", kernel ", f);
	xml_text(f, in->kernel, sizeof(in->kernel));
	fprintf(f,
		"</text>\n<text x=\"10\" y=\"38\">x: time since the recording's start, %s a "
		"column; y: latency, a power of two a row; colour: operations completed</text>\n",
		vt_fmt_ns(w, sizeof(w), h->col_ns));
	if (!panels)
		fputs("<text x=\"10\" y=\"70\">no timed operations in the window</text>\n", f);
	for (int op = 0, y = 60; op < VT_OP_MAX; op++)
		if (h->events[op])
			y += panel(f, h, op, y, ncols, cell_w) + PANEL_GAP;
	fputs("</svg>\n", f);
	return fflush(f) || ferror(f) ? -(errno ? errno : EIO) : 0;
}

int vt_heatmap(const struct vt_recording *r, const void *buf, size_t len, uint64_t from,
	       uint64_t to, const char *path, char *err, size_t errlen)
{
	struct heat h = { .r = r, .from = from, .to = to };
	FILE *f;
	int rc;

	/* the time axis starts at the window's start: --from, or the recording's start (an
	 * event buffered before it is not in any window, as in report's snoop) */
	h.from = h.t0 = from > r->info.start_mono ? from : r->info.start_mono;
	if (vt_rec_each_event_of(r, buf, len, span_event, &h)) {
		snprintf(err, errlen, "out of memory reading the events");
		return -1;
	}
	h.col_ns = vt_heat_col_ns(h.any ? h.tmax - h.t0 : 0);
	h.cells = calloc(VT_OP_MAX, sizeof(*h.cells));
	if (!h.cells || (h.any && vt_rec_each_event_of(r, buf, len, count_event, &h))) {
		snprintf(err, errlen, "out of memory reading the events");
		free(h.cells);
		return -1;
	}
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "cannot create it: %s", strerror(errno));
		free(h.cells);
		return -1;
	}
	rc = write_svg(f, &h);
	if (fclose(f) && !rc)
		rc = -errno;
	free(h.cells);
	if (rc)
		snprintf(err, errlen, "cannot write it: %s", strerror(-rc));
	return rc ? -1 : 0;
}
