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
 * link costs ~0.04-0.06 s. What vfio-trace itself adds (rings, objects, maps): 10-40 ms.
 *
 * Detaching while a command still drains its rings (snoop's last events) would save its
 * 0.3 s, but under emulation the kernel's text patching slows the whole guest: the drain
 * then ran out of its 0.3 s with events of a finished workload still in the ring (the
 * events lab test, 6.1). So the commands drain and print first, then this runs
 * (vt_bpf_close). -v: the total and the slowest link; -v -v: each link.
 */
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "tracer.h"

struct link_time {
	struct bpf_link *link;
	const char *name;
	uint64_t ns;
};

static int take(struct link_time *l, int n, int max, struct bpf_link **link, const char *name)
{
	if (!*link || n == max)
		return n;
	l[n].link = *link;
	l[n].name = name;
	*link = NULL; /* ours now: the owners' destroy functions skip it */
	return n + 1;
}

void vt_detach_links(struct vt_bpf *t)
{
	const struct bpf_object_skeleton *s = t->skel ? t->skel->skeleton : NULL;
	int max = 2 * t->ncbs + t->nextra + (s ? s->prog_cnt : 0), n = 0, slow = 0, hold;
	struct link_time *l = calloc(max ? max : 1, sizeof(*l));
	uint64_t start = vt_now_ns();

	if (!l) /* out of memory: the owners' destroy functions detach them */
		return;
	/* The module-load hold first: a loader it stopped after vt_bpf_close() let the held
	 * ones go would stay stopped (the seconds below are a wide window). Then the callbacks:
	 * under a storm they are the hottest. */
	if (t->skel)
		n = take(l, n, max, &t->skel->links.rt_module_load, "rt_module_load");
	hold = n;
	for (int i = 0; i < t->ncbs; i++)
		for (int k = 0; k < 2; k++)
			n = take(l, n, max, &t->cbs[i].links[k], t->cbs[i].sym);
	for (int i = 0; i < t->nextra; i++)
		n = take(l, n, max, &t->extra[i],
			 i < t->nretarget ? bpf_program__name(t->retarget[i].prog) : "kprobe");
	t->nextra = 0;
	for (int i = 0; s && i < s->prog_cnt; i++)
		n = take(l, n, max, s->progs[i].link, s->progs[i].name);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = vt_now_ns();

		bpf_link__destroy(l[i].link);
		if (i + 1 == hold)
			vt_hold_release_all(t);
		l[i].ns = vt_now_ns() - t0;
		if (l[i].ns > l[slow].ns)
			slow = i;
		if (vt_verbose > 1)
			vt_dbg("detach: %-32s %6.1f ms", l[i].name, l[i].ns / 1e6);
	}
	if (n)
		vt_dbg("detach: %d links in %.2f s (kernel time; the slowest %s %.2f s)", n,
		       (vt_now_ns() - start) / 1e9, l[slow].name, l[slow].ns / 1e9);
	free(l);
}
