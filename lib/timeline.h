/* SPDX-License-Identifier: GPL-2.0
 *
 * Pictures of a recording (vfio-trace report --chrome-trace / --heatmap): a timeline in the
 * Trace Event Format (lib/timeline.c, for Perfetto UI and chrome://tracing) and a latency
 * heatmap in SVG (lib/heatmap.c). Both read the events of a recording vt_rec_parse()
 * accepted, one block at a time, and keep those whose ts (completion) is in [from, to), the
 * window report's snoop shows. Pure: no BPF (the unit tests link them).
 */
#ifndef VT_TIMELINE_H
#define VT_TIMELINE_H

#include <stdio.h>
#include <json-c/json.h>
#include "record.h"

/* ---- the timeline (lib/timeline.c) ---------------------------------------------------------
 * One process (pid = tgid, named by its VM name, else its comm) per process that caused an
 * event, one thread track (tid) per thread. A timed operation is a complete slice ("ph":"X")
 * from ts - lat to ts, and the operations of one thread nest as its calls did (UNMAP_DMA >
 * vfio_dma removal > vfio_unmap_unpin; UNMAP_DMA > notify > the callback of each device > the
 * unpins it made; lock holds and waits around what they cover): the BPF side stamps each event
 * with the clock reading its latency ends at; vfio_unmap_unpin's IOMMU unmaps, flushes and
 * unpins nest inside it, and a flush the IOMMU driver made inside an IOMMU unmap inside that
 * (the unmap's args: nested_flush_ns, their sum, and unmap_ns, the rest). Untimed operations
 * (retry, register, ...), the IOVA walk (a sum of lookups spread between the other phases:
 * walk_ns in its args) and, in a recording of format version 1, an IOMMU unmap (its time net
 * of the flushes inside it: unmap_ns) are instant events on their thread; alerts are instant
 * events across their process. */
struct vt_timeline;

struct vt_timeline *vt_timeline_new(const struct vt_recording *r, uint64_t from, uint64_t to);
/* An event of the recording (a vt_rec_each_event() callback): kept when in the window. The
 * lifecycle records that are alerts (a RETRY at VT_RETRY_WARN, a DEADLOCK; a lifecycle op
 * above VT_EV_PROC, which this version does not know, named by its dev text) become alerts. */
void vt_timeline_event(void *timeline, const struct vtr_event *e, bool lifecycle);
/* An alert at ts (CLOCK_MONOTONIC ns, kept when in the window) of process tgid, raised on
 * thread tid (0: none): an instant event named name (copied), in category "alert", with args
 * (owned by the timeline from now on; NULL: none). 0, or -ENOMEM. */
int vt_timeline_alert(struct vt_timeline *t, uint64_t ts, uint32_t tgid, uint32_t tid,
		      const char *name, json_object *args);
/* The whole trace into f: one JSON object {"traceEvents":[...], ...}. 0, or -errno (a write
 * error; ENOMEM when an event did not fit in memory). */
int vt_timeline_write(struct vt_timeline *t, FILE *f);
/* Slices and instant events kept so far (all alerts included). */
size_t vt_timeline_count(const struct vt_timeline *t);
void vt_timeline_free(struct vt_timeline *t);

/* The events of buf (a recording r was parsed from) in [from, to) as a trace into path.
 * 0, or -1 with why in err. */
int vt_chrome_trace(const struct vt_recording *r, const void *buf, size_t len, uint64_t from,
		    uint64_t to, const char *path, char *err, size_t errlen);

/* ---- the latency heatmap (lib/heatmap.c) ---------------------------------------------------
 * One panel per operation with timed events in the window: x time, in VT_HEAT_MAX_COLS
 * columns at most, each vt_heat_col_ns() wide from the window's start; y the latency's
 * power of two (row k: [2^k, 2^(k+1)) ns; 0 and 1 ns in row 0); the colour of a cell its
 * count of events, linear from the panel's smallest to its largest count. An event falls in
 * the column of its ts (completion), as snoop's time shows it. */
#define VT_HEAT_MAX_COLS 200
/* The width of a column for a window of span ns: the smallest 1, 2 or 5 x 10^k ns (1 us at
 * least) that puts the whole span in VT_HEAT_MAX_COLS columns. */
uint64_t vt_heat_col_ns(uint64_t span);
/* The heatmap of buf's events in [from, to) into path (SVG). 0, or -1 with why in err. */
int vt_heatmap(const struct vt_recording *r, const void *buf, size_t len, uint64_t from,
	       uint64_t to, const char *path, char *err, size_t errlen);

#endif
