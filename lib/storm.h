/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unmap-storm detection (lib/storm.c) and alerts as data (lib/alert.c).
 *
 * The detector is pure: it is fed cumulative snapshots (struct vt_snapshot, live from the
 * tracer every second or from a recording), sums each process's UNMAP_DMA rows, and decides
 * once per window whether the process storms: its unmaps/s, unmapped bytes/s or unmap p99 at
 * or above a threshold. A process raises one alert when its storm starts; it can raise another
 * only after it has stayed below half of every threshold for `quiet` seconds (hysteresis).
 *
 * An alert is one JSON object, {"type":"alert","alert":"STORM"|"RETRY_STORM"|"RETRY_LIMIT"|"DEADLOCK",...}:
 * the -j streams print it as it is, recordings keep it (an ALERTS block, docs/RECORDING.md),
 * and its text line (stderr live, stdout in report) and syslog line are made from it.
 */
#ifndef VT_STORM_H
#define VT_STORM_H

#include <json-c/json.h>
#include "trace.h"

/* Defaults (docs/BENCHMARKS.md "Unmap storms": the lab's normal and storm rates). */
#define VT_STORM_RATE	  2000 /* UNMAP_DMA per second */
#define VT_STORM_BYTES	  0    /* off: a VM's reset unmaps more bytes/s in a few calls */
#define VT_STORM_P99_NS	  0    /* off: a storm's unmaps are not slower than paced ones */
#define VT_STORM_WINDOW_S 1.0
#define VT_STORM_QUIET_S  10.0
/* The p99 criterion counts only in a window with at least this many unmaps: one slow unmap
 * (a VM's whole memory at its reset) is not a storm. */
#define VT_STORM_P99_MIN  10

/* The defaults above. */
void vt_storm_cfg_default(struct vt_storm_cfg *c);

/* The settings as one line for a recording's header: "rate 2000/s, bytes off, p99 off,
 * quiet 10 s", or "off". */
char *vt_storm_desc(const struct vt_storm_cfg *c, char *buf, size_t len);

/* Why a storm started: the criteria that crossed their thresholds. */
#define VT_STORM_BY_RATE  1u
#define VT_STORM_BY_BYTES 2u
#define VT_STORM_BY_P99	  4u

/* One storm's start: the window that crossed a threshold, and the process's unmaps since the
 * detector first saw it (its first snapshot). */
struct vt_storm_hit {
	uint32_t tgid;
	unsigned why;		/* VT_STORM_BY_* */
	uint64_t ts;		/* the window's end (CLOCK_MONOTONIC ns) */
	double secs;		/* the window's length */
	uint64_t unmaps, bytes; /* in the window */
	uint64_t p99_ns, max_ns;
	uint64_t total_unmaps, total_bytes;
	unsigned nth; /* this process's storms so far, this one included */
};

typedef void (*vt_storm_fn)(void *ctx, const struct vt_storm_hit *h);

struct vt_storm;
/* NULL when out of memory. The config is copied. */
struct vt_storm *vt_storm_new(const struct vt_storm_cfg *cfg);
/* A cumulative snapshot (rows of every process, ts set): once a window has passed since the
 * last decision, decide for every process with unmap rows and call fn for each storm that
 * starts. The first snapshot is the baseline. How many storms started, or -ENOMEM. */
int vt_storm_feed(struct vt_storm *st, const struct vt_snapshot *cum, vt_storm_fn fn, void *ctx);
/* Is tgid storming now (an alert raised, not quiet long enough since)? */
bool vt_storm_active(const struct vt_storm *st, uint32_t tgid);
void vt_storm_free(struct vt_storm *st);

/* ---- alerts (lib/alert.c) ---------------------------------------------------------------- */

/* The alert's text, one line (names escaped), in buf; buf. */
char *vt_alert_text(json_object *a, char *buf, size_t len);
/* To every place out says; consumes nothing (the caller keeps a). */
void vt_alert_emit(const struct vt_alert_out *out, json_object *a);
/* {"type":"alert","alert":kind,"ts_ns":ts} to fill in. */
json_object *vt_alert_new(const char *kind, uint64_t ts);
/* The STORM alert of hit, its process named by comm/vm (from the caller: /proc live, the
 * recording's names offline). The threads are added by the caller (vt_alert_add_thread). */
json_object *vt_alert_storm(const struct vt_storm_hit *h, const struct vt_storm_cfg *cfg,
			    const char *comm, const char *vm);
/* The container, process (pid, comm, QEMU -name, from /proc now) and thread of the kernel
 * record an alert is about (RETRY_STORM, DEADLOCK). */
void vt_alert_add_event(json_object *a, const struct vtr_event *e);
/* One thread of the alert's process: tid, its comm, and its kernel stack (lines of
 * /proc/<tid>/stack as they are, NULL: not read). */
void vt_alert_add_thread(json_object *a, uint32_t tid, const char *comm, const char *stack);
/* Every alert of a tracer, whichever its backend: its text on stderr always, and where
 * o->alert_out says (the -j stream, syslog); the object to o->on_alert too (record keeps it).
 * lib/storm_live.c. */
void vt_tracer_alert(const struct vt_tracer_opts *o, json_object *a);
/* The ABBA cycle of event e (VT_OP_DEADLOCK: iova the lock its thread holds, aux the one it
 * waits for, size that one's kind, ret and dev the other thread) just closed: said at once,
 * whatever the command shows. Both backends. */
void vt_deadlock_alert(const struct vt_tracer_opts *o, const struct vtr_event *e);
/* Live: the threads of process tgid from /proc/<tgid>/task (at most max), each with its
 * /proc/<tid>/stack (root only; "stack_error" says why when it cannot be read). */
void vt_alert_add_proc_threads(json_object *a, uint32_t tgid, unsigned max);

#endif
