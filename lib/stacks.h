/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel stacks of a process's threads (lib/stacks.c; it_task_stacks in
 * bpf/vfio_trace.bpf.c). */
#ifndef VT_STACKS_H
#define VT_STACKS_H

#include "trace.h"

struct vt_bpf;

/* One thread: its tid, comm, and its frames as the kernel names them ("function+0xoff/0xsize
 * [module]" a line, as /proc/<tid>/stack; NULL with the helper's error in err). */
typedef void (*vt_task_stack_fn)(void *ctx, uint32_t tid, const char *comm, const char *stack,
				 int err);
/* Every thread of process tgid (the first max to fn). How many threads it has, or -errno (the
 * iterator is not loaded, or could not run). */
int vt_task_stacks(struct vt_bpf *t, uint32_t tgid, unsigned max, vt_task_stack_fn fn, void *ctx);

#endif
