/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf_get_task_stack() for task iterators, never on a task that is running on another CPU:
 * its saved frame is stale, and when it is inside a kretprobed function (vfio-trace's own
 * kprobe mode, export's, or any other tool's) the unwinder meets the return trampoline and
 * rethook_find_ret_addr() WARNs on 6.1 ("tsk != current && task_is_running(tsk)": lab
 * export test, hung's iterator under export --health). Included by hung.bpf.c and
 * vfio_trace.bpf.c.
 */
#ifndef VT_TASK_STACK_BPF_H
#define VT_TASK_STACK_BPF_H

#define VT_STACK_RUNNING (-16) /* -EBUSY: the task runs, its stack is not walked */

/* Bytes written to buf, or a negative error (VT_STACK_RUNNING for a running task). */
static __always_inline long vt_get_task_stack(struct task_struct *task, __u64 *buf, __u32 size)
{
	if (BPF_CORE_READ(task, __state) == 0 /* TASK_RUNNING */ &&
	    task != (struct task_struct *)bpf_get_current_task())
		return VT_STACK_RUNNING;
	return bpf_get_task_stack(task, buf, size, 0);
}

#endif
