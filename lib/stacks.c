// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel stacks of one process's threads at one moment (the STORM alert): the task
 * iterator it_task_stacks (bpf/vfio_trace.bpf.c), loaded with the tracer and attached for the
 * call only, its frames named by the tracer's kallsyms. bpf_get_task_stack() wants
 * CAP_SYS_ADMIN, which the tracers keep; /proc/<tid>/stack would want ptrace access too
 * (CAP_SYS_PTRACE over a root QEMU: EPERM in the lab).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "stacks.h"
#include "tracer.h"

/* One frame per line: "function+0xoff [module]", or the address when no symbol has it. */
static void name_frames(const struct vtr_task_stack *r, struct vt_ksyms *ks, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < r->nstack && i < VT_TASK_STACK_DEPTH && o < len; i++) {
		const struct vt_ksym *k = ks ? vt_ksyms_by_addr(ks, r->stack[i]) : NULL;

		if (k)
			o += snprintf(buf + o, len - o, "%s+%#llx%s%s%s\n", k->name,
				      (unsigned long long)(r->stack[i] - k->addr),
				      k->module ? " [" : "", k->module ? k->module : "",
				      k->module ? "]" : "");
		else
			o += snprintf(buf + o, len - o, "%#llx\n", (unsigned long long)r->stack[i]);
	}
}

int vt_task_stacks(struct vt_tracer *t, uint32_t tgid, unsigned max, vt_task_stack_fn fn, void *ctx)
{
	struct bpf_program *prog = t->skel->progs.it_task_stacks;
	struct vtr_task_stack r;
	struct bpf_link *link;
	char text[VT_TASK_STACK_DEPTH * 96];
	unsigned n = 0;
	int fd, err = 0;

	if (bpf_program__fd(prog) < 0 || !t->skel->bss)
		return -ENOENT; /* not loaded (--no-storm) */
	t->skel->bss->vt_stack_tgid = tgid;
	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		err = -errno;
	while (!err && read(fd, &r, sizeof(r)) == sizeof(r)) {
		if (n++ >= max)
			continue;
		r.comm[sizeof(r.comm) - 1] = 0;
		name_frames(&r, t->ks, text, sizeof(text));
		fn(ctx, r.tid, r.comm, r.nstack < 0 ? NULL : text, r.nstack < 0 ? r.nstack : 0);
	}
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	t->skel->bss->vt_stack_tgid = 0;
	return err ? err : (int)n;
}
