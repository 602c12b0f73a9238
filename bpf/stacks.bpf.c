// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel stacks of one process's threads, for the STORM alert (lib/stacks.c): a task
 * iterator run once per alert, loaded then and closed after. bpf_get_task_stack() needs no
 * ptrace access to the threads, which /proc/<tid>/stack does (the tracers keep CAP_SYS_ADMIN,
 * not CAP_SYS_PTRACE: lib/caps.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "vt_shared.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 vt_stack_tgid = 0;

SEC("iter/task")
int it_task_stacks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vtr_task_stack r = {};
	long n;

	if (!task || BPF_CORE_READ(task, tgid) != vt_stack_tgid)
		return 0;
	r.tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
	n = bpf_get_task_stack(task, r.stack, sizeof(r.stack), 0);
	r.nstack = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
