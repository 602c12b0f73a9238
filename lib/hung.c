// SPDX-License-Identifier: GPL-2.0
/*
 * `vfio-trace hung`: collection (two BPF iterators, kallsyms through lib/ksyms.c) and the wait-for
 * graph. Read-only by construction: the iterators only probe-read, and nothing here opens a
 * VFIO file, issues an ioctl or reads the test module's stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vt.h"
#include "hung.h"
#include "hung.skel.h"

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

/* ---- kallsyms (lib/ksyms.c): the two fops/ops addresses, names for the stack frames ---- */

static int load_syms(struct vth_snapshot *s)
{
	const struct vt_ksym *k;

	if (!s->ks)
		s->ks = vt_ksyms_load();
	if (!s->ks)
		return -1;
	if ((k = vt_ksyms_data(s->ks, "vfio_fops", "vfio")))
		s->vfio_fops = k->addr;
	if ((k = vt_ksyms_data(s->ks, "vfio_iommu_driver_ops_type1", "vfio_iommu_type1")))
		s->type1_ops = k->addr;
	return 0;
}

static char *symbolize(const struct vth_snapshot *s, uint64_t addr)
{
	const struct vt_ksym *k = addr ? vt_ksyms_by_addr(s->ks, addr) : NULL;
	char *out = NULL;

	if (!k) {
		if (asprintf(&out, "0x%llx", (unsigned long long)addr) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "%s+0x%llx%s%s%s", k->name, (unsigned long long)(addr - k->addr),
		     k->module ? " [" : "", k->module ? k->module : "", k->module ? "]" : "") < 0)
		return NULL;
	return out;
}

/* ---- iterators ---------------------------------------------------------------------------- */

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!vt_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Run one iterator program to the end; the whole output in *buf. */
static int run_iter(struct bpf_program *prog, char **buf, size_t *len)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	size_t cap = 65536;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	*buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!*buf) {
			err = -ENOMEM;
			break;
		}
		if (cap - *len < 16384) {
			char *nb = realloc(*buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			*buf = nb;
			cap *= 2;
		}
		r = read(fd, *buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		*len += r;
	}
	close(fd);
	bpf_link__destroy(link);
	return err;
}

static struct hung_bpf *open_load(const struct vth_snapshot *s, bool with_stack, int *err)
{
	struct hung_bpf *skel = hung_bpf__open();

	if (!skel) {
		*err = -errno;
		return NULL;
	}
	skel->rodata->vth_vfio_fops = s->vfio_fops;
	skel->rodata->vth_type1_ops = s->type1_ops;
	bpf_program__set_autoload(skel->progs.vth_tasks_stack, with_stack);
	bpf_program__set_autoload(skel->progs.vth_tasks_nostack, !with_stack);
	*err = hung_bpf__load(skel);
	if (*err) {
		hung_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static bool have_cont(const struct vth_snapshot *s, uint64_t iommu)
{
	for (size_t i = 0; i < s->nconts; i++)
		if (s->conts[i].iommu == iommu)
			return true;
	return false;
}

static void read_proc_stack(const struct vth_task_rec *t, char **frames)
{
	char path[96], line[256];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/stack", t->tgid, t->pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (n < VTH_STACK_DEPTH - 1 && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ']');

		line[strcspn(line, "\n")] = 0;
		p = p ? p + 1 : line;
		while (*p == ' ')
			p++;
		frames[n++] = strdup(p);
	}
	fclose(f);
}

int vth_collect(struct vth_snapshot *s, char *err, size_t errlen)
{
	return vth_collect_with(s, NULL, err, errlen);
}

int vth_collect_with(struct vth_snapshot *s, struct vt_ksyms *ks, char *err, size_t errlen)
{
	struct hung_bpf *skel;
	char *buf = NULL;
	size_t len, off;
	int e;

	memset(s, 0, sizeof(*s));
	s->ks = ks;
	s->ks_borrowed = ks != NULL;
	libbpf_set_print(libbpf_quiet);
	if (load_syms(s)) {
		snprintf(err, errlen, "cannot read /proc/kallsyms: %s", strerror(errno));
		return -1;
	}
	if (vt_ksyms_hidden(s->ks)) {
		snprintf(err, errlen, "%s", vt_ksyms_hidden(s->ks));
		return -1;
	}
	if (!s->vfio_fops) {
		snprintf(err, errlen, "vfio_fops of module vfio is not in /proc/kallsyms (vfio not "
			 "loaded, or a kernel without CONFIG_KALLSYMS_ALL): cannot recognize VFIO "
			 "container files");
		return -1;
	}
	s->stack_source = "bpf_get_task_stack";
	/* VFIO_TRACE_HUNG_PROC_STACKS=1: the fallback on purpose (tests) */
	skel = getenv("VFIO_TRACE_HUNG_PROC_STACKS") && *getenv("VFIO_TRACE_HUNG_PROC_STACKS") == '1' ?
	       NULL : open_load(s, true, &e);
	if (!skel) {
		vt_dbg("iter/task with bpf_get_task_stack refused (%s): /proc stacks", strerror(-e));
		s->stack_source = "/proc/<pid>/task/<tid>/stack";
		skel = open_load(s, false, &e);
	}
	if (!skel) {
		snprintf(err, errlen, "BPF iterators unavailable: cannot load them: %s", strerror(-e));
		return -1;
	}

	e = run_iter(skel->progs.vth_containers, &buf, &len);
	if (e) {
		snprintf(err, errlen, "BPF iterators unavailable: iter/task_file: %s", strerror(-e));
		goto fail;
	}
	s->conts = calloc(len / sizeof(struct vth_container_rec) + 1, sizeof(*s->conts));
	for (off = 0; s->conts && off + sizeof(struct vth_container_rec) <= len;
	     off += sizeof(struct vth_container_rec)) {
		const struct vth_container_rec *r = (const void *)(buf + off);

		if (r->type != VTH_REC_CONTAINER)
			break;
		s->nfds++;
		if (!r->type1 || !r->iommu || have_cont(s, r->iommu))
			continue;
		s->conts[s->nconts++] = *r;
	}
	free(buf);
	buf = NULL;

	/* The threads the locks name: a record for them whatever their state. */
	for (size_t i = 0; i < s->nconts; i++)
		for (int l = 0; l < VTH_NLOCKS; l++) {
			const struct vth_lock *lk = &s->conts[i].lock[l];
			__u8 one = 1;

			if (lk->owner_pid)
				bpf_map__update_elem(skel->maps.vth_tids, &lk->owner_pid, 4, &one, 1, 0);
			for (unsigned k = 0; k < lk->nwaiters && k < VTH_MAX_WAITERS; k++)
				if (lk->w[k].pid)
					bpf_map__update_elem(skel->maps.vth_tids, &lk->w[k].pid, 4, &one, 1, 0);
		}

	e = run_iter(!strcmp(s->stack_source, "bpf_get_task_stack") ? skel->progs.vth_tasks_stack :
		     skel->progs.vth_tasks_nostack, &buf, &len);
	if (e) {
		snprintf(err, errlen, "BPF iterators unavailable: iter/task: %s", strerror(-e));
		goto fail;
	}
	s->tasks = calloc(len / sizeof(struct vth_task_rec) + 1, sizeof(*s->tasks));
	s->stacks = calloc(len / sizeof(struct vth_task_rec) + 1, sizeof(*s->stacks));
	for (off = 0; s->tasks && s->stacks && off + sizeof(struct vth_task_rec) <= len;
	     off += sizeof(struct vth_task_rec)) {
		const struct vth_task_rec *r = (const void *)(buf + off);

		if (r->type != VTH_REC_TASK)
			break;
		s->tasks[s->ntasks] = *r;
		if (s->ks_borrowed) {
			/* no stacks: naming a frame outside VFIO reads all of kallsyms again */
		} else if (r->nstack > 0) {
			for (int k = 0; k < r->nstack && k < VTH_STACK_DEPTH - 1; k++)
				s->stacks[s->ntasks][k] = symbolize(s, r->stack[k]);
		} else if (strcmp(s->stack_source, "bpf_get_task_stack")) {
			read_proc_stack(r, s->stacks[s->ntasks]);
		}
		s->ntasks++;
	}
	free(buf);
	hung_bpf__destroy(skel);
	return 0;
fail:
	free(buf);
	hung_bpf__destroy(skel);
	return -1;
}

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

void vth_summarize(const struct vth_snapshot *s, struct vth_summary *out)
{
	size_t maxw = s->nconts * VTH_NLOCKS * VTH_MAX_WAITERS + 1, n = 0;
	struct vth_wait *w = calloc(maxw, sizeof(*w));
	int *cycle = calloc(maxw, sizeof(*cycle));

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nconts; i++)
		for (int l = 0; l < VTH_NLOCKS; l++) {
			const struct vth_lock *lk = &s->conts[i].lock[l];

			for (unsigned k = 0; k < lk->nwaiters && k < VTH_MAX_WAITERS; k++) {
				double b;

				if (!lk->w[k].pid || (w && vth_wait_of(w, n, lk->w[k].pid) >= 0))
					continue;	/* a torn read can show a task twice */
				out->waiters[l]++;
				b = vth_blocked_s(vth_task(s, lk->w[k].pid));
				if (b > out->longest_s[l])
					out->longest_s[l] = b;
				if (w)
					w[n++] = (struct vth_wait){ lk->w[k].pid, lk->owner_pid, (int)(i * VTH_NLOCKS + l) };
			}
		}
	out->cycles = w && cycle ? vth_find_cycles(w, n, cycle) : 0;
	if (out->cycles < 0)
		out->cycles = 0;
	free(w);
	free(cycle);
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
