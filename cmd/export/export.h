/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-trace export (cmd/export/): export.c is the command and its interval (the snapshot's
 * increase into the series of lib/prom.c, programs), procs.c who each process is (VM name and
 * UUID, for labels), health.c the health checks (their own thread), serve.c what leaves the
 * host (GET /metrics through libmicrohttpd in its own thread, the textfile).
 */
#ifndef VT_CMD_EXPORT_H
#define VT_CMD_EXPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "prom.h"
#include "trace.h"

/* Who a process is, for its series' labels: read once per process (PID and start time). */
struct export_proc {
	uint32_t tgid;	  /* 0: free slot */
	uint64_t start;	  /* vt_proc_start() when read */
	uint64_t tick;	  /* the interval it was last looked at */
	uint64_t gone_ns; /* when it was found gone (0: running) */
	char vm[128], uuid[40];
};

struct export
{
	pthread_mutex_t lock; /* the series, while updated or rendered */
	struct vt_prom prom;
	bool ready; /* tracing: until then a scrape gets 503 */
	struct export_proc *procs;
	size_t pmask, nprocs;
	uint64_t tick;
	const char *textfile_dir;
	bool textfile_failing;	      /* said once, until a write works again */
	struct export_health *health; /* health.c's thread (NULL: --health 0) */
};

/* procs.c: the process tgid as of this interval (its names; gone_ns set once it has exited),
 * or NULL for a process never seen running. Main thread only. */
struct export_proc *export_proc_get(struct export *x, uint32_t tgid, uint64_t now);
/* procs.c: a process named from the command line the kernel side read at its first device
 * (VT_EV_PROC): it may exit before /proc is read. Main thread only. */
void export_proc_learn(struct export *x, const struct vtr_proc *pr, uint64_t now);

/* health.c: vfio-trace hung's picture every few seconds, in a thread of its own (a check
 * loads BPF iterators, up to seconds under emulation: the main thread must go on reading the
 * rings, whose device records name short-lived VMs while they run). init reads the kallsyms
 * it needs (before the tracer drops the capability to see addresses); -1 with one line said. */
int export_health_init(struct export *x, double every_s);
void export_health_start(struct export *x, struct vt_tracer *t);
void export_health_stop(struct export *x);

/* serve.c */
/* The whole exposition (malloc'd), rendered under x->lock. */
char *export_render(struct export *x, bool openmetrics, size_t *len);
/* DIR/vfio_trace.prom replaced atomically; a failure said once until a write works again. */
int export_write_textfile(struct export *x);
/* ADDR:PORT or [IPv6]:PORT bound and listening: the fd, or -2 (bad argument) or -1 (cannot
 * listen), with one line said. */
int export_listen(const char *spec);
/* The HTTP server on fd, in its own thread; NULL with one line said. */
struct MHD_Daemon *export_serve(struct export *x, int fd, const char *spec);

#endif
