// SPDX-License-Identifier: GPL-2.0
/*
 * top -j: the rates of an interval, added to the JSON report (lib/report.c) of that interval,
 * one object per operation of the table (include/vt_ops.h).
 */
#include <stdlib.h>
#include <json-c/json.h>
#include "trace.h"
#include "report.h"
#include "view.h"

static json_object *rate_obj(const struct vtr_stat *st, int op, double secs)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_double(st->count / secs));
	json_object_object_add(o, vt_op_flags(op) & VT_OPF_PAGES ? "pages" : "bytes",
			       json_object_new_double(st->bytes / secs));
	return o;
}

static json_object *rates_of(const struct vt_snapshot *s, const int *ops, int nops, uint64_t obj,
			     uint32_t tgid, double secs)
{
	json_object *o = json_object_new_object();
	struct vtr_stat *st = malloc(sizeof(*st));

	for (int i = 0; st && i < nops; i++) {
		vt_snapshot_sum(s, ops[i], obj, tgid, st);
		json_object_object_add(o, vt_op_name(ops[i]), rate_obj(st, ops[i], secs));
	}
	free(st);
	return o;
}

void vt_view_json_rates(json_object *doc, const struct vt_snapshot *iv, double secs)
{
	int all[VT_OP_MAX], cops[VT_OP_MAX], dops[VT_OP_MAX];
	int nall = vt_ops_with(0, all), ncops = vt_ops_with(VT_OPF_CONTAINER, cops);
	int ndops = vt_ops_with(VT_OPF_DEVICE, dops);
	json_object *a;
	struct vt_container *cs;
	size_t nc;

	if (secs <= 0)
		return;
	json_object_object_add(doc, "rates", rates_of(iv, all, nall, 0, 0, secs));
	/* vt_report_json() lists containers in vt_containers() order. */
	nc = vt_containers(iv, &cs);
	if (cs && json_object_object_get_ex(doc, "containers", &a)) {
		for (size_t i = 0; i < nc && i < json_object_array_length(a); i++)
			json_object_object_add(
				json_object_array_get_idx(a, i), "rates",
				rates_of(iv, cops, ncops, cs[i].obj, cs[i].tgid, secs));
	}
	free(cs);
	if (json_object_object_get_ex(doc, "devices", &a))
		for (size_t i = 0; i < iv->ndevs && i < json_object_array_length(a); i++)
			json_object_object_add(
				json_object_array_get_idx(a, i), "rates",
				rates_of(iv, dops, ndops, iv->devs[i].vdev, 0, secs));
}
