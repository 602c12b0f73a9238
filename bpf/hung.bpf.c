// SPDX-License-Identifier: GPL-2.0
/*
 * `vfio-trace hung`: two BPF iterators that take a read-only picture of the VFIO type1 locks
 * and of the tasks around them (records: include/vt_hung.h).
 *
 * Nothing here takes a lock or calls into VFIO: the iterators run under RCU, every VFIO/mutex
 * field is a CO-RE probe read, lists are walked a bounded number of steps. A wait_list read
 * without wait_lock may be torn while it changes; for tasks stuck on the lock it is stable,
 * and user space only reports waits that last.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vfio_types.h"
#include "vt_map.bpf.h"
#include "vt_hung.h"
#include "vt_task_stack.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space from /proc/kallsyms before load. */
const volatile __u64 vth_vfio_fops = 0;	  /* vfio.ko: vfio_fops (container) */
const volatile __u64 vth_type1_ops = 0;	  /* vfio_iommu_type1.ko: vfio_iommu_driver_ops_type1 */
const volatile __u32 vth_all_blocked = 1; /* iter/task: every D-state task too */

#define VTH_TASK_UNINTERRUPTIBLE 0x2
#define VTH_TASK_NOLOAD		 0x400 /* TASK_IDLE = UNINTERRUPTIBLE|NOLOAD: idle kthreads */

/* Threads user space wants a record for, whatever their state (lock owners and waiters). */
VT_MAP(BPF_MAP_TYPE_HASH, 4096, __u32, __u8) vth_tids SEC(".maps");

/* Records are larger than the BPF stack: build them in per-CPU scratch space. */
VT_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct vth_container_rec) vth_crec SEC(".maps");

VT_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct vth_task_rec) vth_trec SEC(".maps");

static __always_inline void read_lock(struct mutex *m, struct vth_lock *l)
{
	struct list_head *head, *pos;
	struct task_struct *owner;
	__u64 word;

	l->addr = (__u64)m;
	word = (__u64)BPF_CORE_READ(m, owner.counter);
	l->owner_word = word;
	owner = (struct task_struct *)(word & ~VTH_MUTEX_FLAGS);
	l->owner = (__u64)owner;
	l->owner_pid = 0;
	l->owner_tgid = 0;
	l->owner_comm[0] = 0;
	if (owner) {
		l->owner_pid = BPF_CORE_READ(owner, pid);
		l->owner_tgid = BPF_CORE_READ(owner, tgid);
		BPF_CORE_READ_STR_INTO(&l->owner_comm, owner, comm);
	}
	l->nwaiters = 0;
	l->more = 0;
	head = &m->wait_list;
	pos = BPF_CORE_READ(head, next);
	for (int i = 0; i < VTH_MAX_WAITERS; i++) {
		struct mutex_waiter *w;
		struct task_struct *t;

		if (!pos || pos == head)
			return;
		w = (struct mutex_waiter *)((char *)pos -
					    bpf_core_field_offset(struct mutex_waiter, list));
		t = BPF_CORE_READ(w, task);
		l->w[i].task = (__u64)t;
		l->w[i].pid = t ? BPF_CORE_READ(t, pid) : 0;
		l->w[i].tgid = t ? BPF_CORE_READ(t, tgid) : 0;
		l->nwaiters = i + 1;
		pos = BPF_CORE_READ(pos, next);
	}
	if (pos && pos != head)
		l->more = 1;
}

SEC("iter/task_file")
int vth_containers(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct vfio_container *c;
	struct vfio_iommu *iommu;
	struct vth_container_rec *r;
	__u32 zero = 0;

	if (!task || !file || !vth_vfio_fops)
		return 0;
	if ((__u64)BPF_CORE_READ(file, f_op) != vth_vfio_fops)
		return 0;
	r = bpf_map_lookup_elem(&vth_crec, &zero);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->type = VTH_REC_CONTAINER;
	r->tgid = BPF_CORE_READ(task, tgid);
	r->pid = BPF_CORE_READ(task, pid);
	r->fd = ctx->fd;
	r->file = (__u64)file;
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	c = (struct vfio_container *)BPF_CORE_READ(file, private_data);
	r->container = (__u64)c;
	if (c) {
		iommu = (struct vfio_iommu *)BPF_CORE_READ(c, iommu_data);
		r->iommu = (__u64)iommu;
		r->ops = (__u64)BPF_CORE_READ(c, iommu_driver, ops);
		r->type1 = vth_type1_ops && r->ops == vth_type1_ops;
		if (iommu && r->type1) {
			read_lock(&iommu->lock, &r->lock[VTH_LOCK_IOMMU]);
			read_lock(&iommu->device_list_lock, &r->lock[VTH_LOCK_DEVLIST]);
		}
	}
	bpf_seq_write(seq, r, sizeof(*r));
	return 0;
}

static __always_inline struct vth_task_rec *task_rec(struct task_struct *task)
{
	struct vth_task_rec *r;
	struct task_struct *self;
	__u32 zero = 0, tid, state;

	tid = BPF_CORE_READ(task, pid);
	state = BPF_CORE_READ(task, __state);
	if (!(vth_all_blocked && (state & VTH_TASK_UNINTERRUPTIBLE) &&
	      !(state & VTH_TASK_NOLOAD)) &&
	    !bpf_map_lookup_elem(&vth_tids, &tid))
		return NULL;
	r = bpf_map_lookup_elem(&vth_trec, &zero);
	if (!r)
		return NULL;
	r->type = VTH_REC_TASK;
	r->pid = tid;
	r->tgid = BPF_CORE_READ(task, tgid);
	r->state = state;
	r->task = (__u64)task;
	r->now_ns = bpf_ktime_get_ns();
	r->exec_start = BPF_CORE_READ(task, se.exec_start);
	r->nvcsw = BPF_CORE_READ(task, nvcsw);
	r->nivcsw = BPF_CORE_READ(task, nivcsw);
	r->has_sched_info = bpf_core_field_exists(task->sched_info);
	r->last_arrival = 0;
	r->self_last_arrival = 0;
	if (bpf_core_field_exists(task->sched_info)) {
		self = (struct task_struct *)bpf_get_current_task();
		r->last_arrival = BPF_CORE_READ(task, sched_info.last_arrival);
		r->self_last_arrival = BPF_CORE_READ(self, sched_info.last_arrival);
	}
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	r->nstack = 0;
	return r;
}

/* With the task's kernel stack (bpf_get_task_stack; allowed in iterators on 6.1 and 6.12). */
SEC("iter/task")
int vth_tasks_stack(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vth_task_rec *r;
	long n;

	if (!task)
		return 0;
	r = task_rec(task);
	if (!r)
		return 0;
	n = vt_get_task_stack(task, r->stack, sizeof(r->stack));
	r->nstack = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64));
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}

/* The same without the stack helper: user space reads /proc/<pid>/task/<tid>/stack instead. */
SEC("iter/task")
int vth_tasks_nostack(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vth_task_rec *r;

	if (!task)
		return 0;
	r = task_rec(task);
	if (!r)
		return 0;
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}
