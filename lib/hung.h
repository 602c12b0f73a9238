/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vfio-trace hung`: a read-only picture of the VFIO type1 locks (iommu->lock,
 * iommu->device_list_lock of every container) and of the tasks blocked on them, taken with two
 * BPF iterators (bpf/hung.bpf.c), and the wait-for graph built from it.
 */
#ifndef VT_HUNG_LIB_H
#define VT_HUNG_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vt_hung.h"

/* ---- the wait-for graph (pure logic, unit-tested) ----------------------------------------- */

/* One waiter: thread tid is on the wait_list of a lock owned by owner (0: no owner read). */
struct vth_wait {
	uint32_t tid;
	uint32_t owner;
	int lock; /* caller's index of the lock */
};

/* Every task waits on at most one mutex, so the graph tid -> owner is a function: each chain of
 * owners either ends at a task that waits for nothing, or enters a cycle. For each wait i,
 * cycle[i] = the number (0..) of the cycle i is part of, or -1. Returns the number of cycles.
 * A cycle's members are numbered in the order first met; a tid appearing twice is an error
 * (-1 returned). */
int vth_find_cycles(const struct vth_wait *w, size_t n, int *cycle);
/* The chain from wait i: indices of the waits met following owners (i first), at most max;
 * stops at a task that waits for nothing or at the first repeated wait. Returns the length. */
size_t vth_chain(const struct vth_wait *w, size_t n, size_t i, size_t *out, size_t max);
/* Index of tid's wait, or -1. */
long vth_wait_of(const struct vth_wait *w, size_t n, uint32_t tid);

/* ---- collection ---------------------------------------------------------------------------- */

struct vth_snapshot {
	struct vth_container_rec *conts; /* type1 containers, one per struct vfio_iommu */
	size_t nconts;
	size_t nfds; /* container fds seen (before dedup) */
	struct vth_task_rec *tasks;
	size_t ntasks;
	char *(*stacks)[VTH_STACK_DEPTH]; /* per task: symbolized frames (NULL-terminated) */
	const char *stack_source; /* "bpf_get_task_stack" or "/proc/<pid>/task/<tid>/stack" */
	uint64_t vfio_fops, type1_ops;
	struct vt_ksyms *ks; /* lib/ksyms.c: names the stack frames */
	bool ks_borrowed;    /* the caller's (vth_collect_with): not freed */
};

/* Take the picture. tids_extra: nothing. 0, or -1 with one sentence in err. */
int vth_collect(struct vth_snapshot *s, char *err, size_t errlen);
/* The same with kallsyms the caller loaded already (a tracer that dropped CAP_SYSLOG since;
 * export's health checks), kept after vth_snapshot_free; no stacks are named (a frame outside
 * the VFIO modules would cost a pass over all of kallsyms). */
int vth_collect_with(struct vth_snapshot *s, struct vt_ksyms *ks, char *err, size_t errlen);

/* The wait-for graph's edges: every distinct waiter of every lock in s (a torn read can show a
 * task twice: the first is kept), container by container, iommu->lock then device_list_lock;
 * w[k].lock = container index * VTH_NLOCKS + VTH_LOCK_*. w has room for vth_max_waits(s).
 * Returns how many. */
size_t vth_max_waits(const struct vth_snapshot *s);
size_t vth_waits(const struct vth_snapshot *s, struct vth_wait *w);

/* The picture in three numbers per lock kind, for metrics: tasks waiting, the longest of
 * their waits (seconds off CPU; 0 when none or unknown), and the deadlock cycles. 0, or -1
 * (out of memory). */
struct vth_summary {
	unsigned waiters[VTH_NLOCKS];
	double longest_s[VTH_NLOCKS];
	int cycles;
};
int vth_summarize(const struct vth_snapshot *s, struct vth_summary *out);
void vth_snapshot_free(struct vth_snapshot *s);
const struct vth_task_rec *vth_task(const struct vth_snapshot *s, uint32_t tid);
char *const *vth_stack(const struct vth_snapshot *s, uint32_t tid);
/* Seconds the task has been off CPU (now - sched_info.last_arrival), -1 when unknown. */
double vth_blocked_s(const struct vth_task_rec *t);
const char *vth_state_name(uint32_t state);

#endif
