/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracing backends behind lib/trace.h's vt_tracer_*: each one probes, attaches and reads
 * into the same model (struct vt_snapshot). BPF (lib/loader.c and its files, lib/tracer.h)
 * and ftrace (lib/ftrace*.c: kprobe events in a tracefs instance of its own, read through
 * libtracefs/libtraceevent). Private to lib/: the commands call vt_tracer_* (lib/backend.c),
 * which hand each call to the backend that opened the tracer.
 */
#ifndef VT_BACKEND_H
#define VT_BACKEND_H

#include "trace.h"
#include "stacks.h"

struct vt_backend {
	const char *name; /* "bpf", "ftrace" */
	/* each is the vt_tracer_* of the same name (lib/trace.h) */
	int (*open)(struct vt_tracer **t, const struct vt_tracer_opts *opts);
	int (*poll)(struct vt_tracer *t, int timeout_ms);
	bool (*wait)(struct vt_tracer *t, uint64_t until);
	void (*drain)(struct vt_tracer *t);
	int (*snapshot)(struct vt_tracer *t, struct vt_snapshot *s);
	int (*losses)(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX]);
	const char *(*missing)(struct vt_tracer *t);
	const char *(*ksym)(struct vt_tracer *t, uint64_t addr, char *buf, size_t len);
	struct vt_ksyms *(*ksyms)(struct vt_tracer *t);
	void (*programs)(struct vt_tracer *t, vt_prog_fn fn, void *ctx);
	unsigned (*module_generation)(struct vt_tracer *t);
	void (*close)(struct vt_tracer *t);
	/* Optional (NULL: the storm alert reads /proc): the kernel stacks of process tgid's
	 * threads (lib/stacks.h's vt_task_stacks). */
	int (*task_stacks)(struct vt_tracer *t, uint32_t tgid, unsigned max, vt_task_stack_fn fn,
			   void *ctx);
};

/* What every backend's state begins with (its first member): which backend it is. */
struct vt_tracer {
	const struct vt_backend *be;
};

/* Unmap-storm alerts while tracing (lib/storm_live.c), kept by each backend: the detector is
 * fed a snapshot of the tracer once a storm window has passed (call tick from poll). */
struct vt_storm_live {
	struct vt_tracer *tracer;
	const struct vt_tracer_opts *opts; /* the backend's copy (open sets its window) */
	struct vt_storm *storm;		   /* NULL: --no-storm */
	uint64_t next;			   /* when it gets its next snapshot */
};
/* 0, or -1 (out of memory). The first tick takes the baseline. */
int vt_storm_live_open(struct vt_storm_live *l, struct vt_tracer *t, struct vt_tracer_opts *opts);
void vt_storm_live_tick(struct vt_storm_live *l);
void vt_storm_live_close(struct vt_storm_live *l);

extern const struct vt_backend vt_backend_bpf;	  /* lib/backend_bpf.c */
extern const struct vt_backend vt_backend_ftrace; /* lib/ftrace.c */

#endif
