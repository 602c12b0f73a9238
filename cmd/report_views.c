// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace report FILE top|hist|locks: the tables of top -b, hist and locks, offline, from
 * a recording's snapshots, printed by those commands' own printers (vt_top_print_block,
 * vt_hist_print, vt_locks_print). A window is, as for report's stat, the difference of the
 * last snapshots at or before its two edges.
 */
#include <string.h>
#include "trace.h"
#include "record.h"
#include "report.h"
#include "cli.h"
#include "cmd.h"
#include "top/view.h"

/* out = b - a (a NULL: since the start; b NULL: nothing), named by the recording. */
static int window(const struct vt_recording *r, const struct vt_snapshot *a,
		  const struct vt_snapshot *b, struct vt_snapshot *out)
{
	static const struct vt_snapshot empty;

	if (vt_snapshot_diff(b ? b : &empty, a, out)) {
		vt_snapshot_free(out);
		vt_err("out of memory");
		return -1;
	}
	if (!b)
		out->ts = a ? a->ts : r->info.start_mono;
	out->procs = r->procs;
	out->nprocs = r->nprocs;
	out->procs_known = true;
	return 0;
}

/* The wall-clock second of monotonic ts in the recording. */
static time_t wall(const struct vt_recording *r, uint64_t ts)
{
	return (r->info.start_real + (ts - r->info.start_mono)) / 1000000000;
}

/* A top view of the interval iv and of tot, its processes named by the recording. */
static int top_view(struct vt_view *v, const struct vt_snapshot *iv, double secs,
		    const struct vt_snapshot *tot, double tot_secs, const struct vt_snapshot *all)
{
	if (vt_view_build(v, iv, secs, tot, tot_secs, all)) {
		vt_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->nprocs; i++)
		vt_snapshot_ident(tot, v->procs[i].tgid, v->procs[i].comm, sizeof(v->procs[i].comm),
				  v->procs[i].vm, sizeof(v->procs[i].vm));
	vt_view_sort(v, VT_SORT_UNMAPS, false);
	return 0;
}

/* top -b (or -j): one block per snapshot interval of the window, then the totals. */
static int report_top(const struct vt_recording *r, const struct vt_cli *cli,
		      const struct vt_snapshot *a, const struct vt_snapshot *b)
{
	const struct vt_snapshot *prev = a;
	uint64_t t0 = a ? a->ts : r->info.start_mono;
	struct vt_snapshot iv, tot;
	struct vt_view v = {};
	int rc = 0;

	for (size_t i = 0; !rc && b && i < r->nsnaps && r->snaps[i].ts <= b->ts; i++) {
		const struct vt_snapshot *s = &r->snaps[i];
		double secs = (s->ts - (prev ? prev->ts : r->info.start_mono)) / 1e9;

		if ((a && s->ts <= a->ts) || vt_stop == VT_STOP_OUTPUT)
			continue;
		if (window(r, prev, s, &iv))
			return VT_EXIT_FAIL;
		if (window(r, a, s, &tot)) {
			vt_snapshot_free(&iv);
			return VT_EXIT_FAIL;
		}
		if (cli->json) {
			json_object *o = vt_report_json(&iv, secs, r->info.not_traced);

			vt_view_json_rates(o, &iv, secs);
			vt_view_json_phases(o, &iv);
			vt_top_print_json(o, "interval", wall(r, s->ts));
		} else if (!(rc = top_view(&v, &iv, secs, &tot, (s->ts - t0) / 1e9, s))) {
			vt_top_print_block(&v, r->info.not_traced, "", VT_SORT_UNMAPS, false, false,
					   wall(r, s->ts));
			vt_view_free(&v);
		}
		vt_snapshot_free(&iv);
		vt_snapshot_free(&tot);
		prev = s;
	}
	if (rc || vt_stop == VT_STOP_OUTPUT || window(r, a, b, &tot))
		return VT_EXIT_FAIL;
	if (cli->json) {
		json_object *o = vt_report_json(&tot, (tot.ts - t0) / 1e9, r->info.not_traced);

		vt_view_json_phases(o, &tot);
		vt_top_print_json(o, "total", wall(r, tot.ts));
	} else if (!(rc = top_view(&v, &tot, (tot.ts - (prev ? prev->ts : t0)) / 1e9, &tot,
				   (tot.ts - t0) / 1e9, b ? b : &tot))) {
		vt_top_print_block(&v, r->info.not_traced, "", VT_SORT_UNMAPS, false, true,
				   wall(r, tot.ts));
		vt_view_free(&v);
	}
	vt_snapshot_free(&tot);
	return rc ? VT_EXIT_FAIL : VT_EXIT_OK;
}

int cmd_report_view(const char *view, const struct vt_recording *r, const struct vt_cli *cli,
		    uint64_t from, uint64_t to)
{
	const struct vt_snapshot *a = cli->have_from ? vt_rec_snapshot_at(r, from) : NULL;
	const struct vt_snapshot *b = vt_rec_snapshot_at(r, to);
	uint64_t t0 = a ? a->ts : r->info.start_mono;
	struct vt_snapshot d;

	if (!strcmp(view, "top"))
		return report_top(r, cli, a, b);
	if (strcmp(view, "hist") && strcmp(view, "locks"))
		return -1;
	if (!strcmp(view, "locks") && !strstr(r->info.options, "locks")) {
		vt_err("this recording has no lock times: record with --locks");
		return VT_EXIT_FAIL;
	}
	if (window(r, a, b, &d))
		return VT_EXIT_FAIL;
	/* hist and locks without an interval: one print, of the whole window */
	if (!strcmp(view, "hist"))
		vt_hist_print(&d, cli, (d.ts - t0) / 1e9);
	else
		vt_locks_print(&d, (d.ts - t0) / 1e9, "total", cli->json, vt_rec_ksym, (void *)r);
	vt_snapshot_free(&d);
	return VT_EXIT_OK;
}
