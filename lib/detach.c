// SPDX-License-Identifier: GPL-2.0
/*
 * Detaching every program at the end, and how long the kernel takes for each.
 *
 * Detaching is kernel time, nearly all of it: the close(2) of each link. The last fentry or
 * fexit program of a function unregisters its trampoline from ftrace, and ftrace_shutdown()
 * waits for an RCU-tasks-rude and an RCU-tasks grace period while it holds ftrace_lock:
 * ~0.2 s per traced function in the TCG lab on 6.1 and 6.12 (the other program of the pair,
 * which only rebuilds the trampoline: ~0.04 s), one function at a time whatever the threads
 * (measured: 22 links in 2.35 s from one thread, 2.63 s from 4, 3.29 s from 20). So fentry,
 * raw tracepoint and iterator links are closed here, one after the other.
 *
 * A perf kprobe link costs ~0.04-0.06 s, in grace periods that do not all wait for each
 * other: perf_kprobe_destroy() waits for one (tracepoint_synchronize_unregister) under
 * event_mutex, unregister_kprobe() for another outside every lock. Those links are closed by
 * a pool of threads, each doing the close itself (the file's release runs as the closing
 * thread's task work), so their second grace periods overlap (the lab, 24 kprobes, idle:
 * 0.57-0.79 s instead of 1.07-1.10 s on 6.1, 1.24-2.36 s instead of 1.39-2.82 s on 6.12;
 * docs/BENCHMARKS.md "Exit").
 * VFIO_TRACE_DETACH_THREADS=N caps the pool (1: every link from this thread, for measuring).
 *
 * The pool starts at the stop (vt_bpf_drain calls vt_detach_begin), while the command drains
 * its rings: it ends at the later of the two, not after both. Under emulation the kernel's
 * text patching then slows the drain (a finished workload's events were left in the ring
 * when the fentry detach ran during the drain: the events lab test, 6.1), so a drain cut
 * short waits for the pool and takes a little more (lib/rings.c). fentry and the rest are
 * closed by vt_bpf_close, one after the other. What vfio-trace itself adds (rings, objects,
 * maps): 10-40 ms. -v: the total and the slowest link; -v -v: each link.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer.h"

#define VT_DETACH_THREADS 32

struct link_time {
	struct bpf_link *link;
	const char *name;
	uint64_t ns, end; /* how long its close took; when it ended (vt_now_ns) */
};

/* The links taken from their owners at the stop, and the pool closing the perf ones (the
 * first nperf of l[hold..n)): each worker takes the next. */
struct vt_detach {
	struct link_time *l;
	int n, hold, nperf, next, done;
	pthread_t tid[VT_DETACH_THREADS];
	int nthreads, started; /* not joined yet; started in all */
	uint64_t start;
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

static void destroy_timed(struct link_time *l)
{
	uint64_t t0 = vt_now_ns();

	bpf_link__destroy(l->link);
	l->end = vt_now_ns();
	l->ns = l->end - t0;
}

static void *detach_worker(void *arg)
{
	struct vt_detach *d = arg;
	int i;

	while ((i = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED)) < d->nperf) {
		destroy_timed(&d->l[d->hold + i]);
		__atomic_fetch_add(&d->done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A perf event link (a kprobe through the perf kprobe PMU), or one the kernel cannot say
 * (before 5.15 libbpf attaches those by ioctl: no bpf_link info, and a perf fd), or a
 * kprobe_multi link (its unregister waits for grace periods too: the pool closes the entries'
 * and the returns' side by side, the only two). */
static bool is_kprobe_link(struct bpf_link *link)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return true;
	return info.type == BPF_LINK_TYPE_PERF_EVENT || info.type == BPF_LINK_TYPE_KPROBE_MULTI;
}

static int pool_threads(int nperf)
{
	const char *e = getenv("VFIO_TRACE_DETACH_THREADS");
	int cap = VT_DETACH_THREADS;

	if (e) {
		long v = strtol(e, NULL, 10);

		if (v >= 1 && v <= VT_DETACH_THREADS)
			cap = v;
	}
	return cap == 1 ? 0 : nperf < cap ? nperf : cap;
}

void vt_detach_begin(struct vt_bpf *t)
{
	const struct bpf_object_skeleton *s = t->skel ? t->skel->skeleton : NULL;
	int max = 2 * t->ncbs + t->nextra + 2 + (s ? s->prog_cnt : 0), n = 0, want;
	struct vt_detach *d;
	pthread_attr_t attr;

	if (t->detach)
		return;
	d = calloc(1, sizeof(*d));
	if (d)
		d->l = calloc(max ? max : 1, sizeof(*d->l));
	if (!d || !d->l) { /* out of memory: the owners' destroy functions detach them */
		free(d);
		return;
	}
	t->detach = d;
	d->start = vt_now_ns();
	/* The module-load hold first, alone: a loader it stopped after vt_bpf_close() let the
	 * held ones go would stay stopped (the seconds below are a wide window). Then the
	 * callbacks: under a storm they are the hottest. */
	if (t->skel)
		n = take(d->l, n, max, &t->skel->links.rt_module_load, "rt_module_load");
	d->hold = n;
	for (int i = 0; i < t->ncbs; i++)
		for (int k = 0; k < 2; k++)
			n = take(d->l, n, max, &t->cbs[i].links[k], t->cbs[i].sym);
	for (int i = 0; i < t->nextra; i++)
		n = take(d->l, n, max, &t->extra[i],
			 i < t->nretarget ? bpf_program__name(t->retarget[i].prog) : "kprobe");
	t->nextra = 0;
	for (int r = 0; r < 2; r++)
		n = take(d->l, n, max, &t->kmulti_links[r],
			 r ? "kprobe_multi (returns)" : "kprobe_multi (entries)");
	for (int i = 0; s && i < s->prog_cnt; i++)
		n = take(d->l, n, max, s->progs[i].link, s->progs[i].name);
	d->n = n;
	for (int i = 0; i < d->hold; i++)
		destroy_timed(&d->l[i]);
	if (d->hold)
		vt_hold_release_all(t);
	/* The kprobe links to the front of the rest (the pool's), the others after them. */
	for (int i = d->hold; i < n; i++)
		if (is_kprobe_link(d->l[i].link)) {
			struct link_time x = d->l[d->hold + d->nperf];

			d->l[d->hold + d->nperf] = d->l[i];
			d->l[i] = x;
			d->nperf++;
		}
	want = pool_threads(d->nperf);
	if (want && !pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, 256 << 10);
		while (d->nthreads < want &&
		       !pthread_create(&d->tid[d->nthreads], &attr, detach_worker, d))
			d->nthreads++;
		pthread_attr_destroy(&attr);
	}
	d->started = d->nthreads;
}

bool vt_detach_wait_kprobes(struct vt_bpf *t, uint64_t until)
{
	struct vt_detach *d = t->detach;

	if (!d || !d->started)
		return false;
	while (__atomic_load_n(&d->done, __ATOMIC_ACQUIRE) < d->nperf && vt_now_ns() < until)
		usleep(10000);
	return true;
}

static void join_pool(struct vt_detach *d)
{
	for (int i = 0; i < d->nthreads; i++)
		pthread_join(d->tid[i], NULL);
	d->nthreads = 0;
}

void vt_detach_links(struct vt_bpf *t)
{
	struct vt_detach *d;
	uint64_t stop, last = 0, pool_last = 0;
	int slow = 0;

	vt_detach_begin(t);
	d = t->detach;
	if (!d)
		return;
	/* without a thread (none asked for, or none started), the pool's links here too */
	for (int i = d->hold + (d->started ? d->nperf : 0); i < d->n; i++)
		destroy_timed(&d->l[i]);
	join_pool(d);
	/* the stop's own clock, as the commands' "N s after the stop" lines */
	stop = vt_stop_ns ? vt_stop_ns : d->start;
	for (int i = 0; i < d->n; i++) {
		if (d->l[i].ns > d->l[slow].ns)
			slow = i;
		if (d->l[i].end > last)
			last = d->l[i].end;
		if (i >= d->hold && i < d->hold + d->nperf && d->l[i].end > pool_last)
			pool_last = d->l[i].end;
		if (vt_verbose > 1)
			vt_dbg("detach: %-32s %6.1f ms, closed %.3f s after the stop", d->l[i].name,
			       d->l[i].ns / 1e6, (d->l[i].end - stop) / 1e9);
	}
	if (d->n) {
		vt_dbg("detach: %d links (%d kprobes) in %.2f s, from the stop, with %d threads "
		       "(kernel time; the slowest %s %.2f s)",
		       d->n, d->nperf, (vt_now_ns() - d->start) / 1e9, d->started + 1,
		       d->l[slow].name, d->l[slow].ns / 1e9);
		vt_dbg("last link closed: %.3f s after the stop (the last kprobe %.3f s, the pool "
		       "started %.3f s)",
		       (last - stop) / 1e9, pool_last ? (pool_last - stop) / 1e9 : 0.0,
		       (d->start - stop) / 1e9);
	}
	free(d->l);
	free(d);
	t->detach = NULL;
}
