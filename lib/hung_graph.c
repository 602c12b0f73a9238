// SPDX-License-Identifier: GPL-2.0
/*
 * `vfio-trace hung`'s pure half: the wait-for graph (cycles, chains) over the waits that
 * lib/hung.c collected, and the accessors of its snapshot. No BPF here: unit-tested without
 * the BPF toolchain (tests/unit/test_hung.c).
 */
#include <stdlib.h>
#include <string.h>
#include "vt.h"
#include "hung.h"

/* ---- the wait-for graph ------------------------------------------------------------------- */

long vth_wait_of(const struct vth_wait *w, size_t n, uint32_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].tid == tid)
			return (long)i;
	return -1;
}

size_t vth_chain(const struct vth_wait *w, size_t n, size_t i, size_t *out, size_t max)
{
	size_t len = 0;
	long cur = (long)i;

	while (cur >= 0 && len < max) {
		for (size_t k = 0; k < len; k++)
			if (out[k] == (size_t)cur)
				return len;
		out[len++] = (size_t)cur;
		if (!w[cur].owner)
			break;
		cur = vth_wait_of(w, n, w[cur].owner);
	}
	return len;
}

int vth_find_cycles(const struct vth_wait *w, size_t n, int *cycle)
{
	/* 0 unvisited, 1 on the current path, 2 done */
	unsigned char *mark = calloc(n ? n : 1, 1);
	size_t *path = calloc(n ? n : 1, sizeof(*path));
	int ncycles = 0;

	if (!mark || !path) {
		free(mark);
		free(path);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		cycle[i] = -1;
		for (size_t j = 0; j < i; j++)
			if (w[j].tid == w[i].tid) {
				free(mark);
				free(path);
				return -1;
			}
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		long cur = (long)i;

		while (cur >= 0 && mark[cur] == 0) {
			mark[cur] = 1;
			path[len++] = (size_t)cur;
			cur = w[cur].owner ? vth_wait_of(w, n, w[cur].owner) : -1;
		}
		if (cur >= 0 && mark[cur] == 1) {
			/* cur is on the current path: from it to the end is a new cycle */
			size_t k = 0;

			while (path[k] != (size_t)cur)
				k++;
			for (; k < len; k++)
				cycle[path[k]] = ncycles;
			ncycles++;
		}
		for (size_t k = 0; k < len; k++)
			mark[path[k]] = 2;
	}
	free(mark);
	free(path);
	return ncycles;
}

/* ---- the snapshot ----------------------------------------------------------------------- */

void vth_snapshot_free(struct vth_snapshot *s)
{
	for (size_t i = 0; s->stacks && i < s->ntasks; i++)
		for (int k = 0; k < VTH_STACK_DEPTH; k++)
			free(s->stacks[i][k]);
	if (!s->ks_borrowed)
		vt_ksyms_free(s->ks);
	free(s->stacks);
	free(s->tasks);
	free(s->conts);
	memset(s, 0, sizeof(*s));
}

const struct vth_task_rec *vth_task(const struct vth_snapshot *s, uint32_t tid)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].pid == tid)
			return &s->tasks[i];
	return NULL;
}

char *const *vth_stack(const struct vth_snapshot *s, uint32_t tid)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].pid == tid)
			return s->stacks[i];
	return NULL;
}

size_t vth_max_waits(const struct vth_snapshot *s)
{
	return s->nconts * VTH_NLOCKS * VTH_MAX_WAITERS + 1;
}

size_t vth_waits(const struct vth_snapshot *s, struct vth_wait *w)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nconts; i++)
		for (int l = 0; l < VTH_NLOCKS; l++) {
			const struct vth_lock *lk = &s->conts[i].lock[l];

			for (unsigned k = 0; k < lk->nwaiters && k < VTH_MAX_WAITERS; k++) {
				if (!lk->w[k].pid || vth_wait_of(w, n, lk->w[k].pid) >= 0)
					continue;
				w[n++] = (struct vth_wait){ lk->w[k].pid, lk->owner_pid,
							    (int)(i * VTH_NLOCKS + l) };
			}
		}
	return n;
}

int vth_summarize(const struct vth_snapshot *s, struct vth_summary *out)
{
	size_t max = vth_max_waits(s), n;
	struct vth_wait *w = calloc(max, sizeof(*w));
	int *cycle = calloc(max, sizeof(*cycle));

	memset(out, 0, sizeof(*out));
	if (!w || !cycle) {
		free(w);
		free(cycle);
		return -1;
	}
	n = vth_waits(s, w);
	for (size_t k = 0; k < n; k++) {
		int l = w[k].lock % VTH_NLOCKS;
		double b = vth_blocked_s(vth_task(s, w[k].tid));

		out->waiters[l]++;
		if (b > out->longest_s[l])
			out->longest_s[l] = b;
	}
	out->cycles = vth_find_cycles(w, n, cycle);
	if (out->cycles < 0)
		out->cycles = 0;
	free(w);
	free(cycle);
	return 0;
}

double vth_blocked_s(const struct vth_task_rec *t)
{
	if (!t || !t->has_sched_info || !t->last_arrival || t->now_ns < t->last_arrival)
		return -1;
	return (t->now_ns - t->last_arrival) / 1e9;
}

const char *vth_state_name(uint32_t state)
{
	if (state == 0)
		return "R";
	if (state & 0x400)
		return "I";
	if (state & 0x2)
		return "D";
	if (state & 0x1)
		return "S";
	if (state & (0x4 | 0x8))
		return "T";
	if (state & (0x10 | 0x20))
		return "Z";
	return "?";
}
