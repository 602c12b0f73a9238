// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel stacks of one process's threads at one moment (the STORM alert): the task
 * iterator of bpf/stacks.bpf.c, loaded for the call and closed after, its frames named by the
 * tracer's kallsyms. bpf_get_task_stack() wants CAP_SYS_ADMIN, which the tracers keep;
 * /proc/<tid>/stack would want ptrace access too (CAP_SYS_PTRACE over a root QEMU).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "stacks.h"
#include "stacks.skel.h"

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

int vt_task_stacks(uint32_t tgid, struct vt_ksyms *ks, unsigned max, vt_task_stack_fn fn, void *ctx)
{
	struct stacks_bpf *skel = stacks_bpf__open();
	struct vtr_task_stack r;
	struct bpf_link *link = NULL;
	char text[VT_TASK_STACK_DEPTH * 96];
	unsigned n = 0;
	int fd = -1, err;

	if (!skel)
		return -errno;
	skel->rodata->vt_stack_tgid = tgid;
	err = stacks_bpf__load(skel);
	if (!err) {
		link = bpf_program__attach_iter(skel->progs.it_task_stacks, NULL);
		err = link ? 0 : -errno;
	}
	if (!err) {
		fd = bpf_iter_create(bpf_link__fd(link));
		err = fd < 0 ? -errno : 0;
	}
	while (!err && read(fd, &r, sizeof(r)) == sizeof(r)) {
		if (n++ >= max)
			continue;
		r.comm[sizeof(r.comm) - 1] = 0;
		name_frames(&r, ks, text, sizeof(text));
		fn(ctx, r.tid, r.comm, r.nstack < 0 ? NULL : text, r.nstack < 0 ? r.nstack : 0);
	}
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	stacks_bpf__destroy(skel);
	return err ? err : (int)n;
}
