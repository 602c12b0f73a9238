// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a recording as vfio-trace report reads it (lib/record_read.c), then what
 * report does with it: the snapshots at a window's edges, their difference, the JSON total, the
 * timeline and the heatmap of its events (written to /dev/null).
 * Whatever the bytes: no crash, no read out of bounds, no leak; a refused file always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "record.h"
#include "report.h"
#include "timeline.h"

struct counts {
	size_t all, ops;
};

static void count(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct counts *c = ctx;

	c->all++;
	c->ops += !lifecycle;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = size && data[size - 1] & 1 ? VT_REC_READ_NO_EVENTS : 0;
	struct counts n = {};
	struct vt_recording r;
	struct vt_snapshot d;
	const struct vt_snapshot *a, *b;
	char err[256];

	if (vt_rec_parse(data, size, flags, &r, err, sizeof(err))) {
		if (!err[0] || r.snaps || r.events || r.procs)
			abort();
		return 0;
	}
	/* report snoop's way: the same events, one block at a time */
	if (vt_rec_each_event(data, size, count, &n) || n.ops != r.nops ||
	    (!flags && n.all != r.nevents))
		abort();
	a = r.nsnaps ? vt_rec_snapshot_at(&r, r.snaps[0].ts) : NULL;
	b = vt_rec_snapshot_at(&r, UINT64_MAX);
	if (b && !vt_snapshot_diff(b, a, &d)) {
		json_object *o;

		d.procs = r.procs;
		d.nprocs = r.nprocs;
		d.procs_known = true;
		o = vt_report_json(&d, 1.0, r.info.not_traced);
		if (!json_object_to_json_string(o))
			abort();
		json_object_put(o);
	}
	if (b)
		vt_snapshot_free(&d);
	/* the pictures of the whole file and of a window that begins at its start (any times
	 * and latencies: no division by zero, no column or row out of range) */
	if (vt_chrome_trace(&r, data, size, 0, UINT64_MAX, "/dev/null", err, sizeof(err)) ||
	    vt_heatmap(&r, data, size, r.info.start_mono, UINT64_MAX, "/dev/null", err,
		       sizeof(err)))
		abort();
	vt_rec_free(&r);
	return 0;
}
