/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by the BPF programs (bpf/) and user space (lib/, cmd/).
 *
 * The aggregation model: every observation is an (op, key) pair where the key names the
 * object it belongs to (a container = the type1 `iommu_data` pointer, or a device = the
 * `struct vfio_device` pointer) and the process that caused it. The kernel side keeps
 * cumulative 64-bit counters and a latency histogram per pair in a per-CPU hash that is
 * never deleted from; user space sums the CPUs and diffs snapshots. Nothing here depends
 * on BPF: an ftrace backend or a record file can fill the same model.
 */
#ifndef VT_SHARED_H
#define VT_SHARED_H

#ifndef __bpf__
#include <linux/types.h>
#endif
#include "vt_ops.h"

/* What was observed: one row each in include/vt_ops.h. Names follow VFIO's own words. */
enum vtr_op {
	/* the table's expansion is a list of its own, not a term of VT_OP_MAX */
	/* clang-format off */
	VT_OPS(VT_OP_ENUM_)
	VT_OP_MAX,
	/* clang-format on */
};

/* Histogram: log2 octaves of nanoseconds, each split in VT_HIST_SUB linear sub-buckets, so a
 * percentile read from it is within 1/VT_HIST_SUB (25 %) of the truth. */
#define VT_HIST_SUB_BITS 2
#define VT_HIST_SUB	 (1 << VT_HIST_SUB_BITS)
#define VT_HIST_OCTAVES	 40 /* up to 2^40 ns, ~18 minutes */
#define VT_HIST_SLOTS	 (VT_HIST_OCTAVES * VT_HIST_SUB)

struct vtr_key {
	__u64 obj;  /* container (iommu_data) or device (struct vfio_device *) */
	__u32 tgid; /* process that caused it (0 when not attributable) */
	__u16 op;   /* enum vtr_op */
	__u16 kind; /* what obj is: VT_KIND_* */
};

struct vtr_stat {
	__u64 count;   /* completed operations */
	__u64 errors;  /* ... of which returned < 0 */
	__u64 einval;  /* ... of which returned -EINVAL (pins: no dma_unmap device registered) */
	__u64 bytes;   /* bytes (unmap, remove, notify, callback) or pages (pin, unpin) */
	__u64 items;   /* teardown: the vfio_dma it removed */
	__u64 lat_sum; /* ns */
	__u64 lat_max; /* ns */
	__u64 hist[VT_HIST_SLOTS];
};

/* A hot row (bpf/vt_core.bpf.h's vt_rowc): the key that owns the slot on this CPU, and its
 * statistics. key.obj 0: free; VT_ROWC_CLAIMING: being taken. */
struct vtr_rowc {
	struct vtr_key key;
	struct vtr_stat st;
};

#define VT_ROWC_CLAIMING 1ULL

/* Ways of losing data, each counted (a user can always tell zero from missed). */
enum vtr_loss {
	VT_LOSS_STATS_FULL = 0, /* stats hash full: an observation was not aggregated */
	VT_LOSS_TASK_FULL,	/* per-task in-flight state full: an entry without its exit */
	VT_LOSS_RINGBUF,	/* snoop ring buffer full: an event was dropped */
	VT_LOSS_LIFECYCLE,	/* lifecycle ring buffer full: a device event was dropped */
	VT_LOSS_NO_ENTRY,	/* an exit without its entry (started mid-call, or its in-flight
				 * slot was evicted) */
	VT_LOSS_DEVICES_FULL,	/* vt_devices full: a device could not be learned */
	VT_LOSS_LOCKS_FULL,	/* lock tracking maps full: a container's locks not tracked, or
				 * a longest hold not recorded */
	VT_LOSS_STACK,		/* a longest hold's stack not captured (stack map full or a
				 * hash collision) */
	VT_LOSS_HOLD_FULL,	/* a module's loader could not be held while its callbacks
				 * were attached (vt_held full) */
	VT_LOSS_MAX,
};

/* Devices seen by the tracer, keyed by struct vfio_device *. */
struct vtr_device {
	__u64 container;  /* iommu_data it registered with (0: not on a device_list) */
	__u64 dma_unmap;  /* address of ops->dma_unmap (0: the driver has none) */
	__u32 tgid;	  /* process that registered it */
	__u32 registered; /* currently on its container's device_list */
	char name[48];	  /* dev_name(vdev->dev): PCI BDF, mdev UUID (36), platform name;
				 * longer names are cut to 47 bytes */
	char driver[32];  /* vdev->ops->name (vfio-pci, hisi-acc-vfio-pci: 17 bytes) */
};

/* One event, for snoop (per-event ring buffer) and for device lifecycle. */
struct vtr_event {
	__u64 ts;  /* CLOCK_MONOTONIC ns, at completion: the clock reading lat ends at, so
		    * ts - lat is the start (untimed ones: when accounted) */
	__u64 lat; /* ns */
	__u64 obj; /* container or device, as in vt_key */
	__u64 container;
	__u64 iova;
	__u64 size; /* bytes, or pages for pin/unpin */
	__s64 ret;
	__u64 aux; /* REGISTER: ops->dma_unmap address; UNMAP: bytes requested;
			 * TEARDOWN: vfio_dma removed */
	__u32 pid;
	__u32 tgid;
	__u16 op;
	__u16 retries; /* NOTIFY: re-loops of this vfio_dma so far */
	char comm[16];
	char dev[48]; /* as vtr_device.name; lock events: the lock; DEADLOCK: owner's comm */
	/* IOMMU_UNMAP: the ns of the IOTLB flushes made inside it (each also an IOTLB_SYNC event
	 * of its own), saturated at 2^32 - 1. lat is the whole call (gross, so a timeline nests
	 * the flushes in it); lat - nested_ns, the unmap's own time, is what its row counts (net:
	 * the phases never overlap). Recordings of format version 1 have net lat and no such
	 * field (the reader zeroes it). In what was the struct's tail padding: same size. */
	__u32 nested_ns;
};

/* Lifecycle-ring records that are not operations (vtr_event.op): a module that uses vfio.ko
 * was loaded (dev = its name, pid/tgid = the loader, ret = 1 when the loader was stopped until
 * user space attaches the module's dma_unmap callbacks and sends it SIGCONT). */
#define VT_EV_MODULE_LOAD 0x100
/* With VT_FEAT_RELOAD: a module that uses vfio.ko, or vfio.ko itself, is being unloaded (dev =
 * its name); VT_EV_MODULE_LOAD then also reports vfio.ko. */
#define VT_EV_MODULE_FREE 0x101
/* After a process's first REGISTER: who it is, read in its own context (struct vtr_proc), so
 * that a VM gone before user space could read /proc is named all the same. */
#define VT_EV_PROC	  0x102
/* An IOMMU_IOAS_UNMAP that ended in iommufd's retry limit (-EDEADLOCK after 100 notifies without
 * a gap between areas, with a WARN): obj/container = the IOAS, iova/size = the last notified
 * area, aux = the length asked, retries = the notifies it made (bpf/vt_iommufd.bpf.h). */
#define VT_EV_RETRY_LIMIT 0x103

#define VT_CMDLINE_MAX 1024
struct vtr_proc {
	struct vtr_event e; /* op VT_EV_PROC, tgid, ts; comm: the process's (its leader's) */
	__u64 start;	    /* its start, clock ticks after boot (/proc/<pid>/stat field 22) */
	__u32 len;	    /* bytes of cmdline read: its first VT_CMDLINE_MAX (0: unreadable) */
	__u32 pad;
	char cmdline[VT_CMDLINE_MAX]; /* NUL-separated arguments, as /proc/<pid>/cmdline */
};

/* One thread's kernel stack, as bpf/stacks.bpf.c's iterator writes it (the STORM alert). */
#define VT_TASK_STACK_DEPTH 24
#define VT_LOCK_STACK_DEPTH 32
struct vtr_task_stack {
	__u32 tid;
	__s32 nstack; /* frames in stack (< 0: bpf_get_task_stack's error) */
	char comm[16];
	__u64 stack[VT_TASK_STACK_DEPTH];
};

/* vtr_key.kind: what obj is. */
#define VT_KIND_CONTAINER  0
#define VT_KIND_DEVICE	   1
#define VT_KIND_IOMMU_LOCK 2 /* obj = container, the row is about iommu->lock */
#define VT_KIND_DLIST_LOCK 3 /* obj = container, ... about iommu->device_list_lock */

/* The longest hold of one tracked lock so far, with who held it and where it was taken. */
struct vtr_lock_max {
	__u64 ns;
	__u32 pid;
	__u32 tgid;
	__s32 stack_id; /* 0: vt_lock_max_rec.stack holds where it was released; < 0: not captured
			 * (bpf_get_stack's error). Named for the old stack-map id, kept
			 * so recordings keep their layout. */
	__u32 pad;
	char comm[16];
};

/* vt_lock_max's value: the record and the release's stack in place (a stack map's id could
 * collide in its hash and lose the stack, -EEXIST). */
struct vt_lock_max_rec {
	struct vtr_lock_max m;
	__u64 stack[VT_LOCK_STACK_DEPTH]; /* ends at the first 0 */
};

struct vtr_lock_key {
	__u64 container;
	__u32 kind; /* VT_KIND_IOMMU_LOCK or VT_KIND_DLIST_LOCK */
	__u32 pad;
};

/* The rodata knobs user space sets before load. */
#define VT_FEAT_SNOOP (1u << 0) /* per-event ring buffer */
#define VT_FEAT_LOCKS (1u << 1) /* track iommu->lock and device_list_lock */
#define VT_FEAT_ALERT (1u << 2) /* watch contention on them for the ABBA deadlock */
#define VT_FEAT_DETAIL \
	(1u << 3) /* pin/unpin latency, per-vfio_dma removal (stat, hist,
					 * snoop); without it pins are counted at fexit alone and
					 * vfio_remove_dma/vfio_unmap_unpin are not attached (top) */
#define VT_FEAT_RELOAD \
	(1u << 4) /* the modules may be unloaded and loaded again under a long-running command \
		   * (export): their functions are probed by kprobe, which holds no module   \
		   * reference, and their loads and unloads are reported */

/* vt_account()'s latency for an operation counted but not timed. */
#define VT_LAT_NONE (~0ULL)

/* Commands the unmap ioctl is filtered on (uapi/linux/vfio.h: VFIO_BASE 100, type ';'). */
#define VT_VFIO_IOMMU_MAP_DMA	0x3b71
#define VT_VFIO_IOMMU_UNMAP_DMA 0x3b72

/* Retries at which a warning is raised; the kernel BUG()s after 10 on one vfio_dma. */
#define VT_RETRY_WARN 5

/* kprobe_multi (lib/loader.c): the dispatchers' program array, vt_kprobe_handlers. A fixed
 * point's function has its kp_/kr_ program's slot (< VT_KM_HANDLERS) as its attach cookie; a
 * dma_unmap callback's cookie is its kernel address (>= 0xffff800000000000, which the callback
 * program reads back), and its kp_callback/kr_callback wait in the two slots after those. */
#define VT_KM_HANDLERS	    96
#define VT_KM_SLOT_CB_ENTRY VT_KM_HANDLERS
#define VT_KM_SLOT_CB_EXIT  (VT_KM_HANDLERS + 1)
#define VT_KM_SLOTS	    (VT_KM_HANDLERS + 2)

/* The dma_unmap callbacks found at the start that the main object's fentry/fexit slots hold
 * (bpf/vfio_trace.bpf.c, lib/callbacks.c): each in its own object would cost a parse of the
 * kernel's BTF and a load more. A host has one to a few; more get an object each. */
#define VT_CB_SLOTS 4

#endif
