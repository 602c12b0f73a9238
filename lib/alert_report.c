// SPDX-License-Identifier: GPL-2.0
/*
 * The alerts of a recording, for vfio-trace report: those raised while it was recorded (the
 * ALERTS blocks: RETRY_STORM, DEADLOCK, STORM with the stacks read live) and, where the
 * recorder did not look for storms (an older recording, --no-storm) or report is given other
 * thresholds, the storms found anew in the recorded snapshots by the same detector
 * (lib/storm.c). Those name the process by the recording's names and list the threads of its
 * recorded events; no stacks (report reads the recording, never this host).
 */
#include <stdlib.h>
#include <string.h>
#include "storm.h"
#include "record.h"
#include "report.h"

#define MAX_THREADS 4096 /* (process, thread) pairs kept from the events */

struct rec_thread {
	uint32_t tgid, tid;
	uint64_t first_ts;
	char comm[16];
};

struct found {
	const struct vt_recording *r;
	const struct vt_storm_cfg *cfg;
	struct rec_thread *threads;
	size_t nthreads;
	json_object **alerts;
	size_t nalerts, cap;
	const struct vt_snapshot *naming; /* the snapshot being fed: its names */
};

static int keep(struct found *f, json_object *a)
{
	if (f->nalerts == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		json_object **n = realloc(f->alerts, cap * sizeof(*n));

		if (!n) {
			json_object_put(a);
			return -1;
		}
		f->alerts = n;
		f->cap = cap;
	}
	f->alerts[f->nalerts++] = a;
	return 0;
}

/* Each thread of each process once, at its first event. */
static void note_thread(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct found *f = ctx;

	if (lifecycle || !e->tgid || f->nthreads == MAX_THREADS)
		return;
	for (size_t i = f->nthreads; i-- > 0;)
		if (f->threads[i].tid == e->pid && f->threads[i].tgid == e->tgid)
			return;
	f->threads[f->nthreads] =
		(struct rec_thread){ .tgid = e->tgid, .tid = e->pid, .first_ts = e->ts };
	memcpy(f->threads[f->nthreads].comm, e->comm, sizeof(e->comm) < 16 ? sizeof(e->comm) : 16);
	f->nthreads++;
}

static void storm_hit(void *ctx, const struct vt_storm_hit *h)
{
	struct found *f = ctx;
	char comm[32], vm[128];
	json_object *a;

	vt_snapshot_ident(f->naming, h->tgid, comm, sizeof(comm), vm, sizeof(vm));
	a = vt_alert_storm(h, f->cfg, comm, vm);
	json_object_object_add(a, "detected_by", json_object_new_string("report"));
	json_object_object_add(a, "stacks_from", json_object_new_string("none (a recording)"));
	for (size_t i = 0; i < f->nthreads; i++)
		if (f->threads[i].tgid == h->tgid && f->threads[i].first_ts <= h->ts) {
			char tc[17];

			snprintf(tc, sizeof(tc), "%.16s", f->threads[i].comm);
			vt_alert_add_thread(a, f->threads[i].tid, tc, NULL);
		}
	keep(f, a);
}

static int by_ts(const void *a, const void *b)
{
	json_object *x, *y;
	uint64_t ta, tb;

	json_object_object_get_ex(*(json_object *const *)a, "ts_ns", &x);
	json_object_object_get_ex(*(json_object *const *)b, "ts_ns", &y);
	ta = x ? (uint64_t)json_object_get_int64(x) : 0;
	tb = y ? (uint64_t)json_object_get_int64(y) : 0;
	return ta < tb ? -1 : ta > tb;
}

static bool is_kind(json_object *a, const char *kind)
{
	json_object *v;

	return json_object_object_get_ex(a, "alert", &v) &&
	       !strcmp(json_object_get_string(v), kind);
}

int vt_rec_alerts_print(const struct vt_recording *r, const void *buf, size_t len,
			const struct vt_storm_cfg *cfg, bool anew, uint64_t from, uint64_t to,
			bool json)
{
	struct found f = { .r = r, .cfg = cfg };
	bool detect = !cfg->off && (anew || !r->info.storm[0] || !strcmp(r->info.storm, "off"));
	int rc = 0;

	for (size_t i = 0; i < r->nalerts; i++) {
		json_object *a = json_tokener_parse(r->alerts[i]);

		/* not an alert; or a STORM recorded live that the storms found anew replace */
		if (!a || json_object_get_type(a) != json_type_object ||
		    (is_kind(a, "STORM") && (detect || cfg->off))) {
			json_object_put(a);
			continue;
		}
		if (keep(&f, a))
			return -1;
	}
	if (detect) {
		struct vt_storm *st = vt_storm_new(cfg);

		f.threads = calloc(MAX_THREADS, sizeof(*f.threads));
		if (!st || !f.threads || vt_rec_each_event(buf, len, note_thread, &f))
			rc = -1;
		for (size_t i = 0; !rc && i < r->nsnaps; i++) {
			struct vt_snapshot s = r->snaps[i];

			s.procs = r->procs;
			s.nprocs = r->nprocs;
			s.procs_known = true;
			f.naming = &s;
			if (vt_storm_feed(st, &s, storm_hit, &f) < 0)
				rc = -1;
		}
		vt_storm_free(st);
		free(f.threads);
	}
	if (f.nalerts) /* qsort(NULL, 0, ...) is undefined */
		qsort(f.alerts, f.nalerts, sizeof(*f.alerts), by_ts);
	for (size_t i = 0; i < f.nalerts; i++) {
		json_object *a = f.alerts[i], *v;
		uint64_t ts =
			json_object_object_get_ex(a, "ts_ns", &v) ? json_object_get_int64(v) : 0;
		double t = ((double)ts - (double)r->info.start_mono) / 1e9;
		char text[4096];

		if (!rc && ts >= from && ts < to && vt_stop != VT_STOP_OUTPUT) {
			if (json) {
				json_object_object_add(a, "t_s", json_object_new_double(t));
				vt_json_print(stdout, a, false);
			} else {
				printf("ALERT at %.3f s: %s\n", t,
				       vt_alert_text(a, text, sizeof(text)));
			}
		}
		json_object_put(a);
	}
	free(f.alerts);
	return rc;
}
