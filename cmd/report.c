// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace report FILE [stat|snoop|top|hist|locks]: what stat and snoop printed while FILE
 * was recorded (vfio-trace record), printed again by their own code (vt_stat_*, vt_snoop_*;
 * top, hist and locks: cmd/report_views.c), offline: no
 * BPF, no privilege, any machine. --from/--to cut a window: stat's totals are the difference
 * of the snapshots at its edges, so adjacent windows add up to the whole.
 */
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "record.h"
#include "report.h"
#include "timeline.h"
#include "cli.h"
#include "cmd.h"

static const char report_usage[] =
	"usage: vfio-trace report FILE [stat|snoop|top|hist|locks|info] [-j] [--from T] [--to T]\n"
	"                         [-p PID,...] [--vm NAME] [-d DEVICE]\n"
	"                         [--chrome-trace OUT.json] [--heatmap OUT.svg]\n"
	"  Show a recording (vfio-trace record) as stat (the default: one line per snapshot\n"
	"  interval, then the totals), snoop (one line per event), top -b (a block per\n"
	"  interval, then the totals), hist or locks (the window's tables; locks: recorded\n"
	"  with --locks) showed it live; info: what was recorded where, when and how.\n"
	"  -j, --json   the JSON of stat -j / snoop -j / top -j / hist -j / locks -j\n"
	"  --from T     only from T seconds after the recording's start (stat: the last\n"
	"               snapshot at or before T)\n"
	"  --to T       only up to T seconds after the start (stat: the last snapshot at or\n"
	"               before T)\n"
	"  --chrome-trace OUT.json  write the events as a timeline (Trace Event Format: Perfetto\n"
	"               UI, chrome://tracing): a track per thread, nested calls as slices\n"
	"  --heatmap OUT.svg  write a latency heatmap (time x log2 latency) per operation\n"
	"  -p, --pid PID,...     only these processes\n"
	"  --vm NAME             only the QEMU named NAME (-name), as the recording named it\n"
	"  -d, --device DEVICE   only that device and its container\n"
	"  --storm-rate N   find the unmap storms in the snapshots at N UNMAP_DMA/s instead\n"
	"               of showing the STORM alerts recorded (man vfio-trace-report)\n"
	"  --storm-bytes N  ... at N bytes unmapped/s (suffix K M G)\n"
	"  --storm-p99 US   ... at an unmap p99 of US microseconds\n"
	"  --no-storm   no STORM alerts\n"
	"  With --chrome-trace or --heatmap, a view is printed only when named.\n";

/* out = b - a (a NULL: since the start; b NULL: nothing), named by the recording. */
static int window(const struct vt_recording *r, const struct vt_snapshot *a,
		  const struct vt_snapshot *b, struct vt_snapshot *out)
{
	static const struct vt_snapshot empty;

	if (vt_snapshot_diff(b ? b : &empty, a, out))
		return -1;
	if (!b)
		out->ts = a ? a->ts : r->info.start_mono;
	out->procs = r->procs;
	out->nprocs = r->nprocs;
	out->procs_known = true;
	return 0;
}

static int report_stat(const struct vt_recording *r, const struct vt_cli *cli, uint64_t from,
		       uint64_t to)
{
	const struct vt_snapshot *a = cli->have_from ? vt_rec_snapshot_at(r, from) : NULL;
	const struct vt_snapshot *b = vt_rec_snapshot_at(r, to), *prev = a;
	uint64_t t0 = a ? a->ts : r->info.start_mono, n = 0;
	struct vt_snapshot d;

	if (!cli->json)
		vt_stat_header();
	for (size_t i = 0; b && i < r->nsnaps && r->snaps[i].ts <= b->ts; i++) {
		const struct vt_snapshot *s = &r->snaps[i];
		uint64_t since = prev ? prev->ts : r->info.start_mono;

		if (a && s->ts <= a->ts)
			continue;
		if (window(r, prev, s, &d))
			return VT_EXIT_FAIL;
		vt_stat_interval(&d, (s->ts - since) / 1e9,
				 (r->info.start_real + (s->ts - r->info.start_mono)) / 1000000000,
				 cli->json, n++);
		vt_snapshot_free(&d);
		prev = s;
	}
	if (window(r, a, b, &d))
		return VT_EXIT_FAIL;
	vt_stat_total(&d, (d.ts - t0) / 1e9, r->info.not_traced, cli->json);
	vt_snapshot_free(&d);
	return VT_EXIT_OK;
}

struct snoop_window {
	struct vt_snoop s;
	uint64_t from, to;
};

static void window_event(void *ctx, const struct vtr_event *e, bool life)
{
	struct snoop_window *w = ctx;

	if (vt_stop != VT_STOP_OUTPUT && (life || (e->ts >= w->from && e->ts < w->to)))
		vt_snoop_event(&w->s, e, life);
}

/* The events of the window, read from the file's bytes one block at a time. */
static int report_snoop(const struct vt_recording *r, const void *buf, size_t len,
			const struct vt_cli *cli, uint64_t from, uint64_t to)
{
	const struct vt_snapshot *a = cli->have_from ? vt_rec_snapshot_at(r, from) : NULL;
	const struct vt_snapshot *b = vt_rec_snapshot_at(r, to);
	struct snoop_window w = { .s = { .cli = *cli, .start_ns = r->info.start_mono },
				  .from = from,
				  .to = to };
	uint64_t lost[VT_LOSS_MAX];
	int rc;

	vt_snoop_header(&w.s);
	rc = vt_rec_each_event(buf, len, window_event, &w);
	/* the losses counted in the window (snapshot edges, like stat's) */
	for (int i = 0; i < VT_LOSS_MAX; i++)
		lost[i] = (b ? b->losses[i] : 0) - (a && b ? a->losses[i] : 0);
	if (vt_stop != VT_STOP_OUTPUT && !rc)
		vt_snoop_summary(&w.s, lost);
	free(w.s.containers);
	if (rc)
		vt_err("out of memory reading the events");
	return rc ? VT_EXIT_FAIL : VT_EXIT_OK;
}

/* A segment's baseline: its number, the counts of every op before it ("before"). */
static void report_before(const struct vt_recording *r, bool json, json_object *o)
{
	json_object *b = json_object_new_object();
	struct vtr_stat st;

	for (int op = 0; op < VT_OP_MAX; op++) {
		vt_snapshot_sum(&r->base, op, 0, 0, &st);
		json_object_object_add(b, vt_op_name(op), json_object_new_uint64(st.count));
		if (!json && st.count)
			printf("%-19s %s %llu\n", "before", vt_op_name(op),
			       (unsigned long long)st.count);
	}
	if (!json)
		printf("%-19s %u\n", "segment", r->info.segment);
	json_object_object_add(o, "segment", json_object_new_int64(r->info.segment));
	json_object_object_add(o, "before", b);
}

/* The recording's header and what it holds: text lines "key value", or one JSON document. */
/* The processes the recording named: pid, comm, and a VM's name and UUID (QEMU -name,
 * -uuid; none in a recording made before UUIDs were kept). */
static void report_procs(const struct vt_recording *r, bool json, json_object *o)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->nprocs; i++) {
		const struct vt_procname *p = &r->procs[i];
		char c[VT_ESC_SIZE(32)], v[VT_ESC_SIZE(128)], u[VT_ESC_SIZE(40)];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "pid", json_object_new_int64(p->tgid));
		json_object_object_add(j, "comm", json_object_new_string(p->comm));
		json_object_object_add(j, "vm", json_object_new_string(p->vm));
		json_object_object_add(j, "uuid", json_object_new_string(p->uuid));
		json_object_array_add(a, j);
		if (!json)
			printf("%-19s %u %s%s%s%s%s\n", "process", p->tgid,
			       vt_esc(c, sizeof(c), p->comm, sizeof(p->comm)),
			       p->vm[0] ? " vm=" : "", vt_esc(v, sizeof(v), p->vm, sizeof(p->vm)),
			       p->uuid[0] ? " uuid=" : "",
			       vt_esc(u, sizeof(u), p->uuid, sizeof(p->uuid)));
	}
	json_object_object_add(o, "process_list", a);
}

static int report_info(const struct vt_recording *r, const char *file, bool json)
{
	const struct vt_rec_info *in = &r->info;
	time_t t = in->start_real / 1000000000;
	struct tm *tm = gmtime(&t);
	char when[64] = "?", num[8][32];
	const char *ended = r->ended ? r->end_reason : "cut short (no end marker)";
	const struct {
		const char *key, *val;
		bool number;
	} kv[] = {
		{ "file", file },
		{ "format_version", num[0], true },
		{ "vfio_trace_version", in->vt_version },
		{ "kernel", in->kernel },
		{ "host", in->host },
		{ "attach", in->attach },
		{ "not_traced", in->not_traced },
		{ "options", in->options },
		{ "storm", in->storm },
		{ "started", when },
		{ "interval_s", num[1], true },
		{ "seconds", num[2], true },
		{ "events", num[3], true },
		{ "snapshots", num[4], true },
		{ "processes", num[5], true },
		{ "ended", ended },
	};
	json_object *o = json_object_new_object();

	if (tm)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", tm);
	snprintf(num[0], sizeof(num[0]), "%u", r->version);
	snprintf(num[1], sizeof(num[1]), "%g", in->interval);
	snprintf(num[2], sizeof(num[2]), "%.3f",
		 r->nsnaps ? (double)(int64_t)(r->snaps[r->nsnaps - 1].ts - in->start_mono) / 1e9 :
			     0.0);
	snprintf(num[3], sizeof(num[3]), "%llu", (unsigned long long)r->nops);
	snprintf(num[4], sizeof(num[4]), "%zu", r->nsnaps);
	snprintf(num[5], sizeof(num[5]), "%zu", r->nprocs);
	json_object_object_add(o, "type", json_object_new_string("info"));
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		char esc[VT_ESC_SIZE(512)];

		if (!json)
			printf("%-19s %s\n", kv[i].key, vt_esc(esc, sizeof(esc), kv[i].val, 512));
		else if (kv[i].number)
			json_object_object_add(
				o, kv[i].key,
				json_object_new_double_s(strtod(kv[i].val, NULL), kv[i].val));
		else
			json_object_object_add(o, kv[i].key, json_object_new_string(kv[i].val));
	}
	if (r->has_base) /* a flight recorder's segment: what its recorder counted before it */
		report_before(r, json, o);
	report_procs(r, json, o);
	if (json)
		vt_json_print(stdout, o, false);
	json_object_put(o);
	return VT_EXIT_OK;
}

static int report_fail(const char *path, const char *err)
{
	char shown[VT_ESC_SIZE(64)];

	vt_err("%s: %s", vt_esc(shown, sizeof(shown), path, 64), err);
	return VT_EXIT_FAIL;
}

int cmd_report(int argc, char **argv)
{
	struct vt_cli cli = {};
	struct vt_recording r;
	const char *file, *view = "stat";
	uint64_t from, to;
	size_t len;
	void *buf;
	char err[256];
	int rc;

	rc = vt_cli_parse(argc, argv, VT_CLI_WINDOW | VT_CLI_STORM | VT_CLI_PID | VT_CLI_DEVICE,
			  report_usage, &cli);
	if (rc >= 0)
		return rc;
	if (cli.nargs < 1 || cli.nargs > 2) {
		vt_err("%s (see vfio-trace report --help)",
		       cli.nargs ? "too many arguments" : "which recording? FILE is needed");
		return VT_EXIT_USAGE;
	}
	file = cli.args[0];
	if (cli.nargs == 2)
		view = cli.args[1];
	if (strcmp(view, "stat") && strcmp(view, "snoop") && strcmp(view, "info") &&
	    strcmp(view, "top") && strcmp(view, "hist") && strcmp(view, "locks")) {
		char shown[VT_ESC_SIZE(64)];

		vt_err("unknown view '%s': stat, snoop, top, hist, locks or info",
		       vt_esc(shown, sizeof(shown), view, 64));
		return VT_EXIT_USAGE;
	}
	if (cli.have_from && cli.have_to && cli.to < cli.from) {
		vt_err("--to %g is before --from %g", cli.to, cli.from);
		return VT_EXIT_USAGE;
	}
	vt_install_signals();
	buf = vt_rec_load(file, &len, err, sizeof(err));
	if (!buf || vt_rec_parse(buf, len, VT_REC_READ_NO_EVENTS, &r, err, sizeof(err))) {
		char shown[VT_ESC_SIZE(64)];

		vt_err("%s: %s", vt_esc(shown, sizeof(shown), file, 64), err);
		free(buf);
		return VT_EXIT_FAIL;
	}
	if (!r.ended)
		vt_warn("the recording was cut short (no end marker: the recorder was killed or "
			"its disk filled): reporting up to its last block, %.1f s after the start",
			r.nsnaps ? (r.snaps[r.nsnaps - 1].ts - r.info.start_mono) / 1e9 : 0.0);
	/* -p/--vm/-d: the recording's processes and devices by its own names */
	if (vt_filter_procs(&cli.filter) || cli.filter.device)
		vt_rec_filter(&r, &cli.filter);
	from = r.info.start_mono + (uint64_t)(cli.from * 1e9);
	to = cli.have_to ? r.info.start_mono + (uint64_t)(cli.to * 1e9) : UINT64_MAX;
	if (strcmp(view, "info") && !(cli.nargs == 1 && (cli.chrome_trace || cli.heatmap)) &&
	    vt_rec_alerts_print(&r, buf, len, &cli.storm, cli.storm_given, from, to, cli.json))
		vt_err("out of memory reading the alerts");
	if (cli.nargs == 1 && (cli.chrome_trace || cli.heatmap))
		rc = VT_EXIT_OK; /* the files are what was asked for */
	else if (!strcmp(view, "info"))
		rc = report_info(&r, file, cli.json);
	else if (!strcmp(view, "snoop"))
		rc = report_snoop(&r, buf, len, &cli, from, to);
	else if (!strcmp(view, "stat"))
		rc = report_stat(&r, &cli, from, to);
	else
		rc = cmd_report_view(view, &r, &cli, from, to);
	if (!rc && cli.chrome_trace &&
	    vt_chrome_trace(&r, buf, len, from, to, cli.chrome_trace, err, sizeof(err)))
		rc = report_fail(cli.chrome_trace, err);
	if (!rc && cli.heatmap && vt_heatmap(&r, buf, len, from, to, cli.heatmap, err, sizeof(err)))
		rc = report_fail(cli.heatmap, err);
	vt_rec_free(&r);
	free(buf);
	return vt_exit_code(rc);
}
