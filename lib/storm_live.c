// SPDX-License-Identifier: GPL-2.0
/*
 * A tracer's side of unmap storms, whichever its backend: while tracing, every storm.window
 * seconds a snapshot of its own goes through the storm detector (lib/storm.c), whatever the
 * command shows, so every tracing command alerts alike. A storm's alert names the process as
 * the commands do (vt_proc_ident: comm, QEMU's -name) and lists its threads with their kernel
 * stacks at that moment (the backend's task_stacks: BPF's task iterator, lib/stacks.c;
 * /proc/<tid>/stack where it has none or it cannot run).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "storm.h"
#include "filter.h"
#include "report.h"
#include "stacks.h"
#include "backend.h"

#define VT_STORM_MAX_THREADS 64 /* a QEMU has a thread per vCPU and I/O: enough to see them */

static void add_thread(void *ctx, uint32_t tid, const char *comm, const char *stack, int err)
{
	json_object *threads;

	vt_alert_add_thread(ctx, tid, comm, stack);
	/* a thread on a CPU at that moment: its stack is not walked (bpf/vt_task_stack.bpf.h) */
	if (!stack && err == -EBUSY && json_object_object_get_ex(ctx, "threads", &threads))
		json_object_object_add(
			json_object_array_get_idx(threads, json_object_array_length(threads) - 1),
			"running", json_object_new_boolean(1));
}

static void storm_hit(void *ctx, const struct vt_storm_hit *h)
{
	struct vt_storm_live *l = ctx;
	char comm[32], vm[128];
	uint64_t t0 = vt_now_ns();
	json_object *a;
	int n;

	vt_proc_ident(h->tgid, comm, sizeof(comm), vm, sizeof(vm));
	a = vt_alert_storm(h, &l->opts->storm, comm, vm);
	n = l->tracer->be->task_stacks ?
		    l->tracer->be->task_stacks(l->tracer, h->tgid, VT_STORM_MAX_THREADS, add_thread,
					       a) :
		    -EOPNOTSUPP;
	if (n >= 0) {
		json_object_object_add(a, "stacks_from",
				       json_object_new_string("bpf_get_task_stack"));
		if (n > VT_STORM_MAX_THREADS)
			json_object_object_add(a, "threads_not_shown",
					       json_object_new_int(n - VT_STORM_MAX_THREADS));
	} else { /* no task iterator here: the threads from /proc, stacks if it lets us */
		vt_dbg("storm: no stack iterator (%s): /proc instead", strerror(-n));
		vt_alert_add_proc_threads(a, h->tgid, VT_STORM_MAX_THREADS);
	}
	/* what reading the stacks cost: the tracer handles nothing else meanwhile */
	json_object_object_add(a, "stacks_ms", json_object_new_double((vt_now_ns() - t0) / 1e6));
	vt_tracer_alert(l->opts, a);
	json_object_put(a);
}

int vt_storm_live_open(struct vt_storm_live *l, struct vt_tracer *t, struct vt_tracer_opts *opts)
{
	struct vt_storm_cfg *c = &opts->storm;

	memset(l, 0, sizeof(*l));
	l->tracer = t;
	l->opts = opts;
	if (c->off)
		return 0;
	if (c->window <= 0)
		c->window = VT_STORM_WINDOW_S;
	l->storm = vt_storm_new(c);
	return l->storm ? 0 : -1;
}

void vt_storm_live_tick(struct vt_storm_live *l)
{
	struct vt_snapshot s;
	uint64_t now = vt_now_ns();

	if (!l->storm || now < l->next)
		return;
	l->next = now + (uint64_t)(l->opts->storm.window * 1e9);
	if (vt_tracer_snapshot(l->tracer, &s))
		return;
	if (l->opts->storm_filter)
		vt_snapshot_filter(&s, l->opts->storm_filter);
	vt_storm_feed(l->storm, &s, storm_hit, l);
	vt_snapshot_free(&s);
}

void vt_storm_live_close(struct vt_storm_live *l)
{
	vt_storm_free(l->storm);
	l->storm = NULL;
}
