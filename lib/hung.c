// SPDX-License-Identifier: GPL-2.0
/*
 * `vfio-trace hung`: collection (two BPF iterators, kallsyms through lib/ksyms.c); the wait-for
 * graph and the snapshot's accessors are lib/hung_graph.c. Read-only by construction: the
 * iterators only probe-read, and nothing here opens a VFIO file, issues an ioctl or reads the
 * test module's stats.
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
		snprintf(err, errlen,
			 "vfio_fops of module vfio is not in /proc/kallsyms (vfio not "
			 "loaded, or a kernel without CONFIG_KALLSYMS_ALL): cannot recognize VFIO "
			 "container files");
		return -1;
	}
	s->stack_source = "bpf_get_task_stack";
	/* VFIO_TRACE_HUNG_PROC_STACKS=1: the fallback on purpose (tests) */
	skel = vt_env_is_1("VFIO_TRACE_HUNG_PROC_STACKS") ? NULL : open_load(s, true, &e);
	if (!skel) {
		vt_dbg("iter/task with bpf_get_task_stack refused (%s): /proc stacks",
		       strerror(-e));
		s->stack_source = "/proc/<pid>/task/<tid>/stack";
		skel = open_load(s, false, &e);
	}
	if (!skel) {
		snprintf(err, errlen, "BPF iterators unavailable: cannot load them: %s",
			 strerror(-e));
		return -1;
	}

	e = run_iter(skel->progs.vth_containers, &buf, &len);
	if (e) {
		snprintf(err, errlen, "BPF iterators unavailable: iter/task_file: %s",
			 strerror(-e));
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
				bpf_map__update_elem(skel->maps.vth_tids, &lk->owner_pid, 4, &one,
						     1, 0);
			for (unsigned k = 0; k < lk->nwaiters && k < VTH_MAX_WAITERS; k++)
				if (lk->w[k].pid)
					bpf_map__update_elem(skel->maps.vth_tids, &lk->w[k].pid, 4,
							     &one, 1, 0);
		}

	e = run_iter(!strcmp(s->stack_source, "bpf_get_task_stack") ? skel->progs.vth_tasks_stack :
								      skel->progs.vth_tasks_nostack,
		     &buf, &len);
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
