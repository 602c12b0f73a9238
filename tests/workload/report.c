// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload report: JSON of a container's counters, the module's sysfs counters and the
 * module counters the workload expects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "wl.h"

#define X_STR(n) #n,
const char *const ct_names[CT__N] = { CT_COUNTERS(X_STR) };
const char *const dc_names[DC__N] = { DEV_COUNTERS(X_STR) };
#undef X_STR

/* The counters of struct dmatest_stats, in ABI order, as the module prints them in sysfs. */
static const char *const mod_counters[] = {
	"pin_calls",	      "pin_errors",	"pin_einval",	   "pages_pinned_now",
	"pages_pinned_total", "unpin_calls",	"pages_unpinned",  "dma_unmap_calls",
	"dma_unmap_bytes",    "unpinned_in_cb", "faults_injected",
};
#define N_MOD_COUNTERS (sizeof(mod_counters) / sizeof(mod_counters[0]))

static json_object *u64j(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

json_object *wc_to_json(struct wcontainer *c)
{
	json_object *o = json_object_new_object(), *cnt = json_object_new_object();
	json_object *devs = json_object_new_array(), *groups = json_object_new_array();

	json_object_object_add(o, "index", json_object_new_int(c->index));
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(o, "status",
			       json_object_new_string(atomic_load(&c->failed) ? "error" : "ok"));
	if (atomic_load(&c->failed))
		json_object_object_add(o, "error", json_object_new_string(c->err));
	json_object_object_add(o, "interrupted", json_object_new_boolean(wl_stop != 0));
	json_object_object_add(o, "elapsed_s", json_object_new_double(c->elapsed));
	json_object_object_add(o, "teardown_s", json_object_new_double(c->teardown_s));
	json_object_object_add(o, "late_cycles", u64j(c->late_cycles));
	for (unsigned i = 0; i < CT__N; i++)
		json_object_object_add(cnt, ct_names[i], u64j(cget(&c->c[i])));
	json_object_object_add(o, "counters", cnt);
	for (unsigned k = 0; k < c->ndev; k++) {
		struct wdev *d = &c->dev[k];
		json_object *dj = json_object_new_object(), *dc = json_object_new_object();

		json_object_object_add(dj, "name", json_object_new_string(d->name));
		json_object_object_add(dj, "group", json_object_new_int(d->group_no));
		json_object_object_add(dj, "cdev", json_object_new_int(d->cdev_no));
		json_object_object_add(dj, "dma_unmap", json_object_new_boolean(d->cb));
		for (unsigned i = 0; i < DC__N; i++)
			json_object_object_add(dc, dc_names[i], u64j(cget(&d->c[i])));
		json_object_object_add(dj, "counters", dc);
		json_object_array_add(devs, dj);
		json_object_array_add(groups, json_object_new_int(d->group_no));
	}
	json_object_object_add(o, "groups", groups);
	json_object_object_add(o, "devices", devs);
	return o;
}

/* /sys/bus/platform/devices/<dev>/dmatest_stats: "name value" lines -> {name: value} */
json_object *modstats_read(const char *dev, char *err, size_t errlen)
{
	char path[512], line[256];
	json_object *o;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/dmatest_stats", dev);
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	o = json_object_new_object();
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned long long v;

		if (sscanf(line, "%127s %llu", name, &v) == 2)
			json_object_object_add(o, name, u64j(v));
	}
	fclose(f);
	for (unsigned i = 0; i < N_MOD_COUNTERS; i++)
		if (!json_object_object_get_ex(o, mod_counters[i], NULL)) {
			snprintf(err, errlen, "%s: no '%s' line", path, mod_counters[i]);
			json_object_put(o);
			return NULL;
		}
	return o;
}

static int64_t jget(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* after - before for the counters (pages_pinned_now is a gauge: its delta too) */
json_object *modstats_delta(json_object *before, json_object *after)
{
	json_object *o = json_object_new_object();

	for (unsigned i = 0; i < N_MOD_COUNTERS; i++)
		json_object_object_add(o, mod_counters[i],
				       json_object_new_int64(jget(after, mod_counters[i]) -
							     jget(before, mod_counters[i])));
	return o;
}

/* What the module's counters must have moved by, in the module's own names. */
json_object *expect_module(json_object *dc)
{
	static const struct {
		const char *mod, *wl;
	} map[] = {
		{ "pin_calls", "pin_ioctls" },
		{ "pin_errors", "pin_err" },
		{ "pin_einval", "pin_einval" },
		{ "pages_pinned_now", NULL }, /* every pin is given back: 0 */
		{ "pages_pinned_total", "pages_pinned" },
		{ "unpin_calls", "unpin_calls_expected" },
		{ "pages_unpinned", "pages_unpinned_expected" },
		{ "dma_unmap_calls", "dma_unmap_calls_expected" },
		{ "dma_unmap_bytes", "dma_unmap_bytes_expected" },
		{ "unpinned_in_cb", "unpinned_in_cb_expected" },
		{ "faults_injected", "faults_expected" },
	};
	json_object *o = json_object_new_object();

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		json_object_object_add(o, map[i].mod,
				       json_object_new_int64(map[i].wl ? jget(dc, map[i].wl) : 0));
	return o;
}
