// SPDX-License-Identifier: GPL-2.0
/*
 * The RETRY STORM warning, for every backend: one UNMAP_DMA notified the same vfio_dma
 * VT_RETRY_WARN times in a row (a driver's dma_unmap callback does not unpin it; the kernel
 * BUG()s after 10). A driver that never unpins raises one at every UNMAP_DMA, thousands a
 * second: one line a second per container, and how many more there were in one line of its
 * own.
 */
#include "trace.h"

#define VT_ALERT_EVERY_NS 1000000000ULL
#define VT_NALERTS	  (sizeof(((struct vt_retry_alerts *)0)->a) / sizeof(struct vt_retry_alert))

static void retry_alert_flush(struct vt_retry_alert *a)
{
	if (a->more)
		vt_warn("%llu more retry storms in container %#llx since the last line about it "
			"(one line a second per container)",
			(unsigned long long)a->more, (unsigned long long)a->container);
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
		retry_alert_flush(oldest);
		a = oldest;
		a->container = container;
		a->last_ns = 0;
	}
	if (a->last_ns && now - a->last_ns < VT_ALERT_EVERY_NS) {
		a->more++;
		return false;
	}
	retry_alert_flush(a);
	a->last_ns = now;
	return true;
}

void vt_retry_alert(struct vt_retry_alerts *r, const struct vtr_event *e)
{
	char comm[VT_ESC_SIZE(16)];

	if (retry_alert_due(r, e->container))
		vt_warn("RETRY STORM in container %#llx: UNMAP_DMA by thread %u (%s) notified "
			"the vfio_dma at iova %#llx (%llu bytes) %u times in a row: a driver's "
			"dma_unmap callback does not unpin it, and the kernel BUG()s after 10",
			(unsigned long long)e->container, e->pid,
			vt_esc(comm, sizeof(comm), e->comm, sizeof(e->comm)),
			(unsigned long long)e->iova, (unsigned long long)e->size, e->retries + 1);
}

void vt_retry_alerts_flush(struct vt_retry_alerts *r, bool all)
{
	uint64_t now = vt_now_ns();

	for (size_t i = 0; i < VT_NALERTS; i++)
		if (r->a[i].more && (all || now - r->a[i].last_ns >= VT_ALERT_EVERY_NS))
			retry_alert_flush(&r->a[i]);
}
