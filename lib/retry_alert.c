// SPDX-License-Identifier: GPL-2.0
/*
 * The RETRY STORM warning, for every backend: one UNMAP_DMA notified the same vfio_dma
 * VT_RETRY_WARN times in a row (a driver's dma_unmap callback does not unpin it; the kernel
 * BUG()s after 10). A driver that never unpins raises one at every UNMAP_DMA, thousands a
 * second: one alert a second per container, and how many more there were in one of its own
 * (vt_tracer_alert: stderr's line, the -j stream's record, syslog, a recording).
 *
 * Its iommufd counterpart, RETRY LIMIT: an IOMMU_IOAS_UNMAP failed with -EDEADLOCK, iommufd's
 * own limit (iopt_unmap_iova_range: WARN_ON(tries > 100), tries reset only at a gap between
 * areas). One alert per such unmap: each costs the kernel 101 notifies and a WARN.
 */
#include <string.h>
#include "storm.h"
#include "report.h"

#define VT_ALERT_EVERY_NS 1000000000ULL
#define VT_NALERTS	  (sizeof(((struct vt_retry_alerts *)0)->a) / sizeof(struct vt_retry_alert))

static void retry_alert_flush(struct vt_retry_alerts *r, struct vt_retry_alert *a)
{
	if (a->more) {
		json_object *j = vt_alert_new("RETRY_STORM", vt_now_ns());
		char hex[24];

		snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)a->container);
		json_object_object_add(j, "container", json_object_new_string(hex));
		json_object_object_add(j, "more", json_object_new_uint64(a->more));
		vt_tracer_alert(r->opts, j);
		json_object_put(j);
	}
	a->more = 0;
}

static bool retry_alert_due(struct vt_retry_alerts *r, uint64_t container)
{
	struct vt_retry_alert *a = NULL, *oldest = &r->a[0];
	uint64_t now = vt_now_ns();

	for (size_t i = 0; i < VT_NALERTS && !a; i++) {
		if (r->a[i].container == container)
			a = &r->a[i];
		else if (r->a[i].last_ns < oldest->last_ns)
			oldest = &r->a[i];
	}
	if (!a) { /* a container not alerting lately: the least recent slot */
		retry_alert_flush(r, oldest);
		a = oldest;
		a->container = container;
		a->last_ns = 0;
	}
	if (a->last_ns && now - a->last_ns < VT_ALERT_EVERY_NS) {
		a->more++;
		return false;
	}
	retry_alert_flush(r, a);
	a->last_ns = now;
	return true;
}

void vt_retry_alert(struct vt_retry_alerts *r, const struct vtr_event *e)
{
	char hex[24];
	json_object *a;

	if (!retry_alert_due(r, e->container))
		return;
	a = vt_alert_new("RETRY_STORM", e->ts);
	vt_alert_add_event(a, e);
	snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)e->iova);
	json_object_object_add(a, "iova", json_object_new_string(hex));
	json_object_object_add(a, "size", json_object_new_uint64(e->size));
	json_object_object_add(a, "notifies", json_object_new_int64(e->retries + 1));
	vt_tracer_alert(r->opts, a);
	json_object_put(a);
}

void vt_retry_alerts_flush(struct vt_retry_alerts *r, bool all)
{
	uint64_t now = vt_now_ns();

	for (size_t i = 0; i < VT_NALERTS; i++)
		if (r->a[i].more && (all || now - r->a[i].last_ns >= VT_ALERT_EVERY_NS))
			retry_alert_flush(r, &r->a[i]);
}

void vt_retry_limit_alert(struct vt_retry_alerts *r, const struct vtr_event *e)
{
	json_object *a = vt_alert_new("RETRY_LIMIT", e->ts);
	char hex[24];

	vt_alert_add_event(a, e);
	json_object_object_add(a, "ioas",
			       json_object_new_string(json_object_get_string(
				       json_object_object_get(a, "container"))));
	snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)e->iova);
	json_object_object_add(a, "iova", json_object_new_string(hex));
	json_object_object_add(a, "size", json_object_new_uint64(e->size));
	json_object_object_add(a, "requested", json_object_new_uint64(e->aux));
	json_object_object_add(a, "notifies", json_object_new_int64(e->retries));
	json_object_object_add(a, "ret", json_object_new_int64(e->ret));
	vt_tracer_alert(r->opts, a);
	json_object_put(a);
}
