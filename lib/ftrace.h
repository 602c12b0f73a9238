/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ftrace backend's state, shared by lib/ftrace.c (the tracefs instance, the kprobe events,
 * their fetch arguments from BTF), lib/ftrace_cleanup.c (what killed runs left, whether this
 * host can be traced) and lib/ftrace_read.c (the raw buffer read through
 * libtraceevent, per-thread state, the model's rows). No BPF: kprobe/kretprobe dynamic events
 * in an event group and a tracefs instance named vfio_trace_<pid>, created with libtracefs.
 */
#ifndef VT_FTRACE_H
#define VT_FTRACE_H

#include "backend.h"

#define VT_FT_PREFIX	 "vfio_trace_" /* + pid: the instance and the event group */
#define VT_FT_MAX_EVENTS 128
#define VT_FT_MAX_CB	 32 /* dma_unmap callback candidates probed */
#define VT_FT_NFIELDS	 7

/* What an event is (each kprobe and its kretprobe). */
enum ft_kind {
	FT_IOCTL,
	FT_IOCTL_RET,
	FT_REMOVE,
	FT_REMOVE_RET,
	FT_UNMAP_UNPIN,
	FT_UNMAP_UNPIN_RET,
	FT_DETACH,
	FT_DETACH_RET,
	FT_RELEASE,
	FT_RELEASE_RET,
	FT_REGISTER,
	FT_UNREGISTER,
	FT_PIN,
	FT_PIN_RET,
	FT_UNPIN,
	FT_UNPIN_RET,
	FT_CB,
	FT_CB_RET,
	FT_NOTIFY, /* vfio_notify_dma_unmap, where it is a function (not inlined) */
	FT_NOTIFY_RET,
	/* the iommufd path (module iommufd): an IOAS is the container */
	FT_IOAS_UNMAP, /* iommufd_ioas_unmap: IOMMU_IOAS_UNMAP */
	FT_IOAS_UNMAP_RET,
	FT_IOAS_MAP, /* iommufd_ioas_map: IOMMU_IOAS_MAP */
	FT_IOAS_MAP_RET,
	FT_IOAS_NOTIFY, /* iommufd_access_notify_unmap */
	FT_IOAS_NOTIFY_RET,
	FT_IOAS_DESTROY, /* iommufd_ioas_destroy: a teardown */
	FT_IOAS_DESTROY_RET,
	FT_IOPT_UNMAP,	/* iopt_unmap_iova, iopt_unmap_all: the IOAS an unmap unmaps */
	FT_IOPT_MAP,	/* iopt_map_user_pages: the IOAS a map maps into */
	FT_AREA_UNFILL, /* iopt_area_unfill_domains: an area removed (its bytes) */
	/* the phases of vfio_unmap_unpin (bpf/vt_phases.bpf.h), counted only inside one */
	FT_IOMMU_UNMAP, /* iommu_unmap_fast, iommu_unmap */
	FT_IOMMU_UNMAP_RET,
	FT_IOTLB_SYNC, /* the IOMMU driver's iotlb_sync (intel_iommu_tlb_sync, amd_...) */
	FT_IOTLB_SYNC_RET,
	FT_UNPIN_REMOTE, /* vfio_unpin_pages_remote */
	FT_UNPIN_REMOTE_RET,
	FT_IOVA_WALK, /* iommu_iova_to_phys: one lookup of the walk */
	FT_IOVA_WALK_RET,
	FT_UNMAP_PAGES, /* the driver's unmap_pages: 4 KiB pages unmapped (entry only) */
	/* lock tracking (locks, --locks): mutex_lock and mutex_unlock called from
	 * vfio_iommu_type1's text (filtered in the kernel on the return address), waits in
	 * __mutex_lock_slowpath (every contended mutex_lock: the reader keeps the tracked
	 * locks'), and the stack of each such mutex_unlock (a stacktrace trigger) */
	FT_MUTEX_LOCK,
	FT_MUTEX_UNLOCK,
	FT_MUTEX_WAIT,
	FT_MUTEX_WAIT_RET,
	FT_KERNEL_STACK, /* ftrace:kernel_stack, the trigger's record */
	FT_MODULE_LOAD,	 /* module:module_load, module:module_free (tracepoints): a VFIO */
	FT_MODULE_FREE,	 /* module or a driver's unloaded and loaded again under us */
	FT_NKINDS,
};

struct tep_handle;
struct tep_event;
struct tep_format_field;
struct tracefs_cpu;
struct kbuffer;
struct tracefs_instance;
struct tracefs_dynevent;

struct ft_event {
	char name[24]; /* in the group: "ioctl", "cb3_ret" */
	enum ft_kind kind;
	int cb;			      /* FT_CB*: index in cbs */
	bool retprobe;		      /* a kretprobe */
	struct tracefs_dynevent *dyn; /* created (NULL: not, or a tracepoint) */
	const char *system;	      /* a tracepoint's (NULL: our own group) */
	int id;			      /* libtraceevent's id, once loaded */
	struct tep_event *te;	      /* its format, once loaded */
	struct tep_format_field *f[VT_FT_NFIELDS], *name_f, *drv_f, *comm_f;
};

/* One record of the ring buffer: the fields of its event, in their order. */
struct ft_rec {
	uint64_t ts;
	uint32_t tid, tgid;
	uint16_t ev;
	uint64_t v[VT_FT_NFIELDS];
	char name[48], drv[32], comm[16]; /* comm: the thread's, where the event fetches it */
};

struct ft_cb {
	char sym[VT_MODNAME_LEN + 64]; /* "module:function" */
	uint64_t addr;		       /* 0: its module is not loaded (yet) */
	/* CLOCK_MONOTONIC when its events were created after its module's load (0: before it,
	 * at the start): a callback before then was not recorded (lib/ftrace_read.c counts the
	 * unmaps that may have called it) */
	uint64_t armed_late;
};

/* The offsets the fetch arguments need, from vmlinux, vfio and vfio_iommu_type1 BTF. */
struct ft_offsets {
	long dma_iova, dma_size;	     /* struct vfio_dma */
	long iommu_devlist;		     /* struct vfio_iommu.device_list */
	long iommu_lock, iommu_dlist_lock;   /* struct vfio_iommu.lock, .device_list_lock */
	long vdev_ops, vdev_dev, vdev_entry; /* struct vfio_device */
	long ops_unmap, ops_name;	     /* struct vfio_device_ops */
	long dev_name;			     /* struct device: kobj.name */
	long list_prev;			     /* struct list_head */
	/* the phases' (-1: not in the BTF, no phases): struct iommu_domain.type, struct
	 * iommu_iotlb_gather.start and .end */
	long domain_type, gather_start, gather_end;
};

struct ft_thread; /* lib/ftrace_read.c */
struct ft_lock;	  /* lib/ftrace_read.c */

/* One CPU's buffer (lib/ftrace_read.c): its trace_pipe_raw, and the last sub-buffer read from
 * it, parsed by kbuf up to the first record not handled yet (loaded: one is left). */
struct ft_cpu {
	struct tracefs_cpu *tcpu; /* NULL: not readable */
	struct kbuffer *kbuf;
	void *subbuf; /* tracefs_cpu_read_size() bytes */
	bool loaded;
	void *next; /* during a read: its next record, stamped next_ts */
	unsigned long long next_ts;
	uint64_t missed; /* events the kernel said it overwrote before a sub-buffer we read */
	/* the last gap seen before a sub-buffer: pending until its first record is returned
	 * (gap_end: that record's time), how many its header says were overwritten (-1:
	 * some), the merge's position when it was seen, and (-v -v) what kbuffer said */
	bool gap;
	long long gap_missed;
	unsigned long long gap_end, gap_seen_at;
	int gap_kbuf;
	uint64_t dbg_flag_unseen; /* -v -v: gaps kbuffer_missed_events() said 0 for */
};

/* -v -v: the last records handled, printed around an operation begun before a gap ended
 * (lib/ftrace_read.c) */
#define VT_FT_DBG_RING 256
struct ft_dbg_rec {
	unsigned long long ts;
	uint32_t tid;
	int16_t cpu, ev;
	uint64_t v0, v1, v2;
};

struct vt_ftrace {
	struct vt_tracer base; /* first: the backend table */
	struct vt_tracer_opts opts;
	char name[32]; /* vfio_trace_<pid>: the instance and the event group */
	struct tracefs_instance *inst;
	struct tep_handle *tep;
	struct vt_ksyms *ks;
	struct ft_event ev[VT_FT_MAX_EVENTS];
	int nev;
	struct ft_cb cbs[VT_FT_MAX_CB];
	int ncbs;
	int ncpus;
	char missing[512];
	/* the model: every row so far (acc.rows, acc.n) indexed by key; the devices seen */
	struct vt_snapshot acc;
	struct vt_rowidx idx;
	struct vt_dev *devs;
	size_t ndevs, devcap;
	/* devices at an address another device had before: their ids (lib/ftrace_read.c) */
	struct {
		uint64_t addr, id;
	} * devmap;
	size_t ndevmap;
	uint64_t ndevids;
	uint64_t losses[VT_LOSS_MAX];
	struct vt_retry_alerts alerts;
	struct vt_storm_live storm; /* unmap-storm alerts (lib/storm_live.c) */
	struct ft_cpu *cpus;	    /* ncpus of them (lib/ftrace_read.c) */
	int *active;		    /* during a read: the CPUs with a record in its window */
	struct ft_thread *threads;
	size_t nthreads, capthreads;
	unsigned long long pos; /* the time of the last record handled (the merge's position) */
	/* the end of the last gap seen: records up to it keep nothing in flight, nor any while
	 * a gap's end is not known yet (gaps_open: CPUs whose sub-buffer after a gap had no
	 * record yet) */
	unsigned long long fog_end;
	int gaps_open;
	struct ft_dbg_rec *dbg; /* -v -v: a ring of VT_FT_DBG_RING, dbg_n written in all */
	uint64_t dbg_n;
	long devlist_off;	 /* of struct vfio_iommu.device_list (BTF) */
	struct ft_offsets off;	 /* the fetch arguments': for callbacks probed later too */
	uint64_t armed_late_max; /* the latest ft_cb.armed_late */
	/* the processes named (VT_EV_PROC handed to on_event) at their first register */
	struct {
		uint32_t tgid;
		uint64_t start;
	} * named;
	size_t nnamed, capnamed;
	/* struct iommufd_ioas: its iopt and obj members (an IOAS from the io_pagetable or the
	 * object a function receives); iommufd: its events were created */
	long ioas_iopt_off, ioas_obj_off;
	bool iommufd;
	bool type1;  /* vfio_iommu_type1 was loaded at the start: its events were created */
	bool phases; /* the phases of vfio_unmap_unpin are traced (their events were created) */
	/* vfio_notify_dma_unmap is a function with events of its own: a notify is measured there
	 * (as bpf/vt_direct.bpf.h does), not rebuilt from the callbacks */
	bool notify_direct;
	/* lock tracking (opts.locks; lib/ftrace_read.c): its events were created (locks), with
	 * the release stacks (lock_stacks); the containers' locks by address (an open-addressing
	 * table, lockgone: slots of removed ones), the longest hold of each (container, lock) as
	 * the BPF side's vt_lock_max keeps it */
	bool locks, lock_stacks;
	struct ft_lock *locktab;
	size_t nlocks, caplocks, lockgone;
	struct vt_lockmax *lockmax;
	size_t nlockmax;
	/* the last VFIO module load before its filter followed it: [from, until) (CLOCK_MONOTONIC) */
	uint64_t lock_blind_from, lock_blind_until;
	/* the filter's module ranges [lo, hi) (lib/ftrace.c) */
	struct ft_range {
		uint64_t lo, hi;
	} lock_ranges[VT_FT_MAX_CB + 2];
	size_t nlock_ranges;
	/* records read per kind of event (the phases' cost, said at close with -v) */
	uint64_t nread[FT_NKINDS];
	bool stdout_closed;
};

/* The offsets the iommufd events need, from iommufd's module BTF (vmlinux's for the area's
 * interval tree node). */
struct ft_iommufd_offsets {
	long ucmd_cmd;		       /* struct iommufd_ucmd.cmd: the kernel copy */
	long unmap_iova, unmap_length; /* struct iommu_ioas_unmap (uapi) */
	long map_iova, map_length;     /* struct iommu_ioas_map (uapi) */
	long ioas_iopt, ioas_obj;      /* struct iommufd_ioas */
	long area_start, area_last;    /* struct iopt_area: node.start, node.last */
};

/* lib/ftrace_btf.c. base: the kernel's vmlinux BTF, parsed once at the start (the modules'
 * BTF is loaded on it), or --btf's one file (from_file), which holds every struct. */
struct btf;
/* o from base (0), or -1 said on stderr */
int vt_ft_btf_offsets(struct ft_offsets *o, struct btf *base, bool from_file, bool type1_loaded);
/* o from iommufd's module BTF (or the file) (0); -1 when a struct or field is not there (why
 * in why, nothing said) */
int vt_ft_btf_iommufd_offsets(struct ft_iommufd_offsets *o, struct btf *base, bool from_file,
			      char *why, size_t whylen);
/* f->cbs[] filled with the dma_unmap callbacks of these modules */
void vt_ft_find_callbacks(struct vt_ftrace *f, struct btf *base, const char *const *modules,
			  int nmod);
/* f->cbs[] given the dma_unmap callbacks (addr 0) of the modules installed for this kernel
 * (modules.dep) that use vfio.ko and are not loaded: their events are created at the start and
 * the kernel arms them when the module loads, before its init runs. How many modules had
 * some (none with --btf's file: a kernel without BTF has none in its modules either). */
int vt_ft_find_installed_callbacks(struct vt_ftrace *f, struct btf *base);
/* lib/ftrace.c: the events of a module loaded after the start that were not created at it
 * (its .ko not installed, or compressed): its callbacks found in its module BTF now, their
 * events created and enabled; how many callbacks (-1: none could be probed) */
int vt_ft_add_late_callbacks(struct vt_ftrace *f, const char *module);
/* lib/ftrace.c: the mutex events' filter (and the stack trigger's condition) set to
 * vfio_iommu_type1's address range, read from /proc/modules now (again: after its reload);
 * -1 when it cannot be read or written */
int vt_ft_lock_filter(struct vt_ftrace *f, bool again);
/* Whether module's code (/proc/modules) lies in the filter's ranges already (loaded where an
 * unloaded one was): its calls were never filtered out. */
bool vt_ft_lock_filter_covers(struct vt_ftrace *f, const char *module);

/* lib/ftrace_read.c */
int vt_ft_read_open(struct vt_ftrace *f);      /* every CPU's trace_pipe_raw opened (0) */
void vt_ft_read_close(struct vt_ftrace *f);    /* closed: before the instance is removed */
int vt_ft_read(struct vt_ftrace *f, bool all); /* read the buffers, handle (all: up to now) */
int vt_ft_snapshot(struct vt_ftrace *f, struct vt_snapshot *s);
int vt_ft_losses(struct vt_ftrace *f, uint64_t losses[VT_LOSS_MAX]);
void vt_ft_read_free(struct vt_ftrace *f);
/* lib/ftrace.c: the fields of every event looked up (after the tep handle is loaded) */
int vt_ft_bind_fields(struct vt_ftrace *f);

#endif
