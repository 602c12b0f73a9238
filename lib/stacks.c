// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel stacks of one process's threads at one moment (the STORM alert): the task
 * iterator it_task_stacks (bpf/vfio_trace.bpf.c), loaded with the tracer and attached for the
 * call only, which names the frames itself ("%pS"). bpf_get_task_stack() wants CAP_SYS_ADMIN,
 * which the tracers keep; /proc/<tid>/stack would want ptrace access too (CAP_SYS_PTRACE over
 * a root QEMU: EPERM in the lab).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "stacks.h"
#include "tracer.h"

/* The iterator's whole output (malloc'd, *len bytes), or NULL with errno. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb)
				break; /* enough: the threads read so far */
			buf = nb;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

int vt_task_stacks(struct vt_bpf *t, uint32_t tgid, unsigned max, vt_task_stack_fn fn, void *ctx)
{
	struct bpf_program *prog = t->skel->progs.it_task_stacks;
	struct bpf_link *link;
	unsigned n = 0;
	size_t len = 0, o = 0;
	char *out = NULL;
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
	else if (!(out = read_all(fd, &len)))
		err = -ENOMEM;
	/* each thread: the record, its frames a line each, an empty line */
	while (!err && len - o >= sizeof(struct vtr_task_stack)) {
		struct vtr_task_stack r;
		char *frames = out + o + sizeof(r), *end;

		memcpy(&r, out + o, sizeof(r));
		end = memmem(frames, len - o - sizeof(r), "\n\n", 2);
		if (frames < out + len && *frames == '\n')
			end = frames - 1; /* no frame: the empty line at once */
		if (!end)
			break; /* cut short */
		end[1] = 0;
		o = end + 2 - out;
		if (n++ >= max)
			continue;
		r.comm[sizeof(r.comm) - 1] = 0;
		fn(ctx, r.tid, r.comm, r.nstack < 0 ? NULL : frames, r.nstack < 0 ? r.nstack : 0);
	}
	free(out);
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	t->skel->bss->vt_stack_tgid = 0;
	return err ? err : (int)n;
}
