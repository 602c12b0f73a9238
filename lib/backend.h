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
};

/* What every backend's state begins with (its first member): which backend it is. */
struct vt_tracer {
	const struct vt_backend *be;
};

extern const struct vt_backend vt_backend_bpf;	  /* lib/backend_bpf.c */
extern const struct vt_backend vt_backend_ftrace; /* lib/ftrace.c */

#endif
