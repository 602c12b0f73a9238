// SPDX-License-Identifier: GPL-2.0
/*
 * Detaching every program at the end, and how long the kernel takes for each.
 *
 * Detaching is kernel time, nearly all of it: the close(2) of each link. The last fentry or
 * fexit program of a function unregisters its trampoline from ftrace, and ftrace_shutdown()
 * waits for an RCU-tasks-rude and an RCU-tasks grace period while it holds ftrace_lock:
 * ~0.2 s per traced function in the TCG lab on 6.1 and 6.12 (the other program of the pair,
 * which only rebuilds the trampoline: ~0.04 s), one function at a time whatever the threads
 * (measured: 22 links in 2.35 s from one thread, 2.63 s from 4, 3.29 s from 20). A kprobe
 * link costs ~0.04-0.06 s. What vfio-trace itself adds (rings, objects, maps): ~10 ms.
 *
 * So a command can start it at the stop (vt_tracer_detach: snoop), on a thread of its own,
 * while it drains its rings and prints its summary; vt_tracer_close() waits for it, so every
 * probe is gone before the process reports its exit. No callback is attached once it started
 * (lib/callbacks.c). A command whose totals are a snapshot of the maps detaches after it
 * (vt_tracer_close): probes detached one by one while the maps are read would count some
 * operations of a running workload and not others. -v: the total and the slowest link;
 * -v -v: each link.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "tracer.h"

struct vt_detach {
	pthread_t thread;
	bool threaded;
	int n;
	uint64_t start_ns, end_ns;
	struct {
		struct bpf_link *link;
		const char *name;
		uint64_t ns;
	} l[];
};

static void take(struct vt_detach *d, int max, struct bpf_link **link, const char *name)
{
	if (!*link || d->n == max)
		return;
	d->l[d->n].link = *link;
	d->l[d->n++].name = name;
	*link = NULL; /* ours now: the owners' destroy functions skip it */
}

/* Every link, the callbacks' first: under a storm they are the hottest. */
static struct vt_detach *collect(struct vt_tracer *t)
{
	const struct bpf_object_skeleton *s = t->skel ? t->skel->skeleton : NULL;
	int max = 2 * t->ncbs + t->nextra + (s ? s->prog_cnt : 0);
	struct vt_detach *d = calloc(1, sizeof(*d) + max * sizeof(d->l[0]));

	if (!d)
		return NULL;
	for (int i = 0; i < t->ncbs; i++)
		for (int k = 0; k < 2; k++)
			take(d, max, &t->cbs[i].links[k], t->cbs[i].sym);
	for (int i = 0; i < t->nextra; i++)
		take(d, max, &t->extra[i],
		     i < t->nretarget ? bpf_program__name(t->retarget[i].prog) : "kprobe");
	t->nextra = 0;
	for (int i = 0; s && i < s->prog_cnt; i++)
		take(d, max, s->progs[i].link, s->progs[i].name);
	return d;
}

static void *detach_links(void *arg)
{
	struct vt_detach *d = arg;

	d->start_ns = vt_now_ns();
	for (int i = 0; i < d->n; i++) {
		uint64_t t0 = vt_now_ns();

		bpf_link__destroy(d->l[i].link);
		d->l[i].ns = vt_now_ns() - t0;
	}
	d->end_ns = vt_now_ns();
	return NULL;
}

void vt_tracer_detach(struct vt_tracer *t)
{
	if (t->detach)
		return;
	t->detaching = true; /* before the links go: nothing attaches any more */
	t->detach = collect(t);
	if (!t->detach)
		return;
	t->detach->threaded = !pthread_create(&t->detach->thread, NULL, detach_links, t->detach);
	if (!t->detach->threaded)
		detach_links(t->detach);
}

void vt_detach_finish(struct vt_tracer *t)
{
	struct vt_detach *d;
	int slow = 0;

	vt_tracer_detach(t);
	d = t->detach;
	if (!d) /* out of memory: the owners' destroy functions detach them */
		return;
	if (d->threaded)
		pthread_join(d->thread, NULL);
	for (int i = 0; i < d->n; i++) {
		if (d->l[i].ns > d->l[slow].ns)
			slow = i;
		if (vt_verbose > 1)
			vt_dbg("detach: %-32s %6.1f ms", d->l[i].name, d->l[i].ns / 1e6);
	}
	if (d->n)
		vt_dbg("detach: %d links in %.2f s (kernel time; the slowest %s %.2f s)", d->n,
		       (d->end_ns - d->start_ns) / 1e9, d->l[slow].name, d->l[slow].ns / 1e9);
	free(d);
	t->detach = NULL;
}
