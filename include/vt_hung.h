/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vfio-trace hung`: the records the BPF iterators (bpf/hung.bpf.c) write into their seq_file
 * and user space (lib/hung.c) reads. Fixed layout, shared by BPF and user space.
 *
 *  - iter/task_file writes one VTH_REC_CONTAINER per (process, fd) whose file is a VFIO
 *    container (f_op == vfio_fops) using the type1 backend: the container, its struct
 *    vfio_iommu, and for iommu->lock and iommu->device_list_lock the owner task (owner word
 *    with the MUTEX_FLAGS masked) and the tasks on the wait_list (struct mutex_waiter).
 *  - iter/task writes one VTH_REC_TASK per task that is in TASK_UNINTERRUPTIBLE or that user
 *    space asked about (a lock owner or waiter): state, scheduler timestamps, kernel stack.
 * Everything is read with probe reads: no lock is taken, no VFIO code runs.
 */
#ifndef VT_HUNG_H
#define VT_HUNG_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define VTH_REC_CONTAINER 1
#define VTH_REC_TASK	  2

#define VTH_MAX_WAITERS 16 /* waiters read per lock (more: nwaiters_more set) */
#define VTH_STACK_DEPTH 32
#define VTH_COMM_LEN	16
#define VTH_MUTEX_FLAGS 0x07ULL /* kernel/locking/mutex.c MUTEX_FLAGS */

#define VTH_LOCK_IOMMU	 0 /* iommu->lock */
#define VTH_LOCK_DEVLIST 1 /* iommu->device_list_lock */
#define VTH_NLOCKS	 2

struct vth_waiter {
	__u64 task; /* struct task_struct * */
	__u32 pid;  /* thread id */
	__u32 tgid;
};

struct vth_lock {
	__u64 addr;	  /* struct mutex * */
	__u64 owner_word; /* mutex.owner as read (flags in the low 3 bits) */
	__u64 owner;	  /* owner task (owner_word & ~MUTEX_FLAGS), 0 = unlocked */
	__u32 owner_pid;
	__u32 owner_tgid;
	char owner_comm[VTH_COMM_LEN];
	__u32 nwaiters; /* entries read from wait_list (<= VTH_MAX_WAITERS) */
	__u32 more;	/* 1: the list was longer than VTH_MAX_WAITERS */
	struct vth_waiter w[VTH_MAX_WAITERS];
};

struct vth_container_rec {
	__u32 type; /* VTH_REC_CONTAINER */
	__u32 tgid; /* process holding the fd */
	__u32 pid;  /* the thread the iterator saw it through */
	__u32 fd;
	__u64 file;
	__u64 container; /* struct vfio_container * (file->private_data) */
	__u64 iommu;	 /* struct vfio_iommu * (container->iommu_data) */
	__u64 ops;	 /* container->iommu_driver->ops */
	__u32 type1;	 /* ops == vfio_iommu_driver_ops_type1 */
	__u32 pad;
	char comm[VTH_COMM_LEN];
	struct vth_lock lock[VTH_NLOCKS];
};

struct vth_task_rec {
	__u32 type; /* VTH_REC_TASK */
	__u32 pid;  /* thread id */
	__u32 tgid;
	__u32 state;		 /* task->__state */
	__u64 task;		 /* struct task_struct * */
	__u64 now_ns;		 /* bpf_ktime_get_ns() when read */
	__u64 last_arrival;	 /* sched_info.last_arrival: last time it was put on a CPU (ns) */
	__u64 exec_start;	 /* se.exec_start (rq task clock) */
	__u64 nvcsw, nivcsw;	 /* context switches */
	__u64 self_last_arrival; /* the same clock for the reading task: a sanity check */
	__s32 nstack;		 /* frames in stack (<0: bpf_get_task_stack error, 0: none) */
	__u32 has_sched_info;
	char comm[VTH_COMM_LEN];
	__u64 stack[VTH_STACK_DEPTH];
};

#endif
