/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracer (a backend: lib/backend.h) and the aggregation model (model.c).
 *
 * The model is plain data: a snapshot is the list of (key, summed stat) rows plus the loss
 * counters and the known devices. The BPF backend (loader.c) and the ftrace backend
 * (ftrace.c) fill it, a recording (record_read.c) too, and every command is a view over it.
 */
#ifndef VT_TRACE_H
#define VT_TRACE_H

#include "vt.h"
#include "vt_hist.h"

struct json_object;
struct vt_filter;

struct vt_row {
	struct vtr_key key;
	struct vtr_stat st; /* summed over CPUs */
};

struct vt_dev {
	uint64_t vdev;
	struct vtr_device d;
};

/* The longest hold of one tracked lock, with the stack where it was taken. */
struct vt_lockmax {
	struct vtr_lock_key key;
	struct vtr_lock_max m;
	uint64_t stack[VT_LOCK_STACK_DEPTH]; /* 32: a recording's layout */
	int nstack;
};

/* A process as a recording names it: comm, and the VM's name and UUID (QEMU -name, -uuid)
 * when it is QEMU. */
struct vt_procname {
	uint32_t tgid;
	char comm[32];
	char vm[128];
	char uuid[40]; /* recordings made before it have no uuid (name_size 164) */
};
/* The layout of a recording's names before uuid was added: read all the same. */
#define VT_PROCNAME_V1_SIZE offsetof(struct vt_procname, uuid)

struct vt_snapshot {
	uint64_t ts; /* vt_now_ns() when taken */
	struct vt_row *rows;
	size_t n, cap;
	uint64_t losses[VT_LOSS_MAX];
	struct vt_dev *devs;
	size_t ndevs;
	struct vt_lockmax *lockmax; /* lock tracking only */
	size_t nlockmax;
	/* Ops (1u << VT_OP_*) the source did not observe at all, and ops it counted without
	 * timing them (e.g. top counts pins at their fexit alone): reports leave them out, or
	 * leave out their latency, instead of showing zeros. */
	uint32_t untraced_ops, untimed_ops;
	/* procs_known (a recording): the processes are named by procs (borrowed, not freed),
	 * never by this host's /proc; a process not there is "?". */
	const struct vt_procname *procs;
	size_t nprocs;
	bool procs_known;
};

/* An index of a row array by key: open addressing, linear probing, at most half full (slot =
 * row index + 1, 0 free). Rows may move (realloc): the index keeps positions, not pointers,
 * so every call takes the array. Finding or adding a key costs O(1) on average, so reading
 * n rows into a snapshot, or diffing two, is O(n) (16k rows: was O(n^2), 1.1 s). */
struct vt_rowidx {
	size_t *slot;
	size_t mask; /* slots - 1 (a power of two); 0 before the first add */
	size_t n;
};
/* The row of key in rows (indexed by x), or NULL. */
struct vt_row *vt_rowidx_find(const struct vt_rowidx *x, const struct vt_row *rows,
			      const struct vtr_key *key);
/* Index rows[i] (its key must not be indexed yet). 0, or -ENOMEM. */
int vt_rowidx_add(struct vt_rowidx *x, const struct vt_row *rows, size_t i);
void vt_rowidx_free(struct vt_rowidx *x);
/* Slots examined by every find/add so far: the unit tests count operations, not time. */
extern uint64_t vt_rowidx_probes;

/* lib/stats_map.c: add v into s's row of key (a new row when there is none), found through idx;
 * 0 or -ENOMEM. */
int vt_snapshot_add_row(struct vt_snapshot *s, struct vt_rowidx *idx, const struct vtr_key *key,
			const struct vtr_stat *v);
/* One key of a stats map, summed over the CPUs (percpu) into vals[0] (room for ncpus); 0 or
 * -errno. */
int vt_stats_map_lookup(int fd, const struct vtr_key *key, bool percpu, int ncpus,
			struct vtr_stat *vals);
/* Every row of a stats map (per-CPU values summed when percpu) added into s: batch lookups
 * where the kernel takes them, else key by key (also with VFIO_TRACE_NO_BATCH set). 0 or
 * -errno. */
int vt_stats_map_read(int fd, bool percpu, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx);
/* bpf() calls those made so far (the unit tests count calls, not time). */
extern uint64_t vt_stats_map_syscalls;
void vt_snapshot_free(struct vt_snapshot *s);
/* A longest hold's stack started at the mutex_unlock (or mutex_lock) being traced: the frames
 * above it are the tracer's own (a BPF program, its subprogram and trampoline; ftrace's and
 * the kprobe's), how many depending on the kernel. Kept whole when none is found. */
void vt_lockmax_from_mutex(struct vt_ksyms *ks, struct vt_lockmax *m);
/* A deep copy of rows and devices (a baseline that outlives the snapshot it came from);
 * the lock maxima are not copied. */
int vt_snapshot_copy(const struct vt_snapshot *in, struct vt_snapshot *out);
/* out = now - prev (rows of now; counters and histograms subtracted; max kept from now). */
int vt_snapshot_diff(const struct vt_snapshot *now, const struct vt_snapshot *prev,
		     struct vt_snapshot *out);
/* Add one row's stat into acc. */
void vt_stat_add(struct vtr_stat *acc, const struct vtr_stat *s);
/* Sum of every row with this op (and obj/tgid when non-zero). */
void vt_snapshot_sum(const struct vt_snapshot *s, int op, uint64_t obj, uint32_t tgid,
		     struct vtr_stat *out);
const struct vt_dev *vt_snapshot_dev(const struct vt_snapshot *s, uint64_t vdev);

/* Histogram helpers: the lower bound of a slot, and a percentile (p in 0..100) read as the
 * middle of the slot holding it (within 1/VT_HIST_SUB of the truth). 0 when empty. */
uint64_t vt_hist_slot_low(unsigned slot);
uint64_t vt_hist_percentile(const __u64 *hist, double p);
/* The operation table (include/vt_ops.h): an op's name, its VT_OPF_* flags, and the ops that
 * have every flag of flags, in table order (how many). */
const char *vt_op_name(int op);
unsigned vt_op_flags(int op);
int vt_ops_with(unsigned flags, int out[VT_OP_MAX]);
/* vfio_unmap_unpin, then its four phases (never overlapping: bpf/vt_phases.bpf.h), in the
 * order snoop and top show them; an op's place in it (-1: none); 1u << op of the four
 * phases, vfio_unmap_unpin not included. */
#define VT_PHASE_OPS 5
extern const int vt_phase_ops[VT_PHASE_OPS];
int vt_phase_index(int op);
uint32_t vt_phase_mask(void);
/* A timed event's own time: its latency less what nested phases took of it (an IOMMU unmap's
 * inner flushes, vtr_event.nested_ns), what its row counts; untimed: VT_LAT_NONE. */
uint64_t vt_event_own_ns(const struct vtr_event *e);

/* Unmap-storm detection's settings (lib/storm.h: the detector, its defaults). */
struct vt_storm_cfg {
	bool off;	 /* --no-storm */
	double rate;	 /* UNMAP_DMA/s; 0: not a criterion */
	uint64_t bytes;	 /* bytes/s; 0: not a criterion */
	uint64_t p99_ns; /* 0: not a criterion */
	double window;	 /* seconds of one decision */
	double quiet;	 /* seconds below half of every threshold before another alert */
};

/* Where an alert goes besides the caller's own handling. */
struct vt_alert_out {
	bool json_stdout; /* one JSON line on stdout (the -j streams) */
	bool text_stderr; /* the text line on stderr, as "vfio-trace CMD: warning: ..." */
	bool syslog;	  /* --syslog: one line to syslog(3), LOG_WARNING, ident vfio-trace */
};

/* RETRY STORM alerts (lib/retry_alert.c), the same for every backend: one a second per
 * container, the others counted in a "more" alert; each goes out by vt_tracer_alert(opts). */
struct vt_tracer_opts;
struct vt_retry_alerts {
	const struct vt_tracer_opts *opts; /* set by the backend at open */
	struct vt_retry_alert {
		uint64_t container;
		uint64_t last_ns; /* when its last line was printed */
		uint64_t more;	  /* alerts since, not printed */
	} a[32];
};
/* e: a VT_OP_RETRY record (container, pid, comm, iova, size, retries) */
void vt_retry_alert(struct vt_retry_alerts *r, const struct vtr_event *e);
/* e: a VT_EV_RETRY_LIMIT record (an IOMMU_IOAS_UNMAP's -EDEADLOCK): one RETRY_LIMIT alert */
void vt_retry_limit_alert(struct vt_retry_alerts *r, const struct vtr_event *e);
/* The counts held back, once their second is over (all: now, at the end). */
void vt_retry_alerts_flush(struct vt_retry_alerts *r, bool all);

/* ---- the tracer: a backend (lib/backend.h) that fills the model -------------------------- */
struct vt_tracer;

/* Which backend traces (--backend): BPF programs, or kprobe events in a tracefs instance of
 * the tracer's own (ftrace: for hosts where bpf() is not allowed); auto: BPF, else ftrace. */
enum vt_backend_kind { VT_BACKEND_BPF, VT_BACKEND_FTRACE, VT_BACKEND_AUTO };

/* Each switch is named for its BPF feature (include/vt_shared.h VT_FEAT_*): snoop, locks on
 * when set; alert and detail on unless no_alert, no_detail. */
struct vt_tracer_opts {
	enum vt_backend_kind backend; /* 0: BPF */
	bool snoop;		      /* VT_FEAT_SNOOP: per-event ring buffer */
	bool locks;	    /* VT_FEAT_LOCKS: iommu->lock / device_list_lock hold and wait times */
	bool no_alert;	    /* no VT_FEAT_ALERT: do not watch for the ABBA deadlock */
	uint32_t tgid;	    /* snoop: only this process */
	bool force_kprobe;  /* never fentry */
	bool until_stopped; /* runs until a signal or a closed reader stops it (no count, no
			     * --duration): never fentry either, whose detach takes ~0.2 s per
			     * function, one at a time; kprobes close in parallel (lib/detach.c) */
	const char *btf_path;	/* --btf FILE: kernel types from it (lib/btf_file.c), not from
			       * /sys/kernel/btf; NULL: the kernel's own */
	bool no_detail;		/* no VT_FEAT_DETAIL: pins counted, not timed; no per-vfio_dma
				 * remove_dma/unmap_unpin (fewer and cheaper probes; top) */
	uint32_t ringbuf_pages; /* snoop ring buffer size (power of two; 0: default 64) */
	bool no_hold;		/* do not stop the loader of a module using vfio until its
				 * dma_unmap callbacks are attached (bpf/vfio_trace.bpf.c) */
	bool no_kprobe_multi;	/* export, record: until stopped too, a kprobe per function, not
				 * one kprobe_multi link, which holds the modules it probes */
	bool module_reload;	/* VT_FEAT_RELOAD: the VFIO modules stay unloadable (their
				 * functions by kprobe, not fentry, whose trampoline holds a
				 * module reference); an unloaded module's probes are removed
				 * and attached again when it is loaded again (export) */
	/* Called for every snoop event and, with lifecycle=true, every device event and every
	 * VT_EV_PROC (a device's process, named from its command line: vt_event_proc()). */
	void (*on_event)(void *ctx, const struct vtr_event *e, bool lifecycle);
	void *ctx;
	/* Alerts (STORM, RETRY_STORM, DEADLOCK; lib/storm.h): their text on stderr always, and
	 * where alert_out says; each JSON object to on_alert(ctx) too (record keeps them). */
	struct vt_alert_out alert_out;
	void (*on_alert)(void *ctx, struct json_object *alert);
	/* Unmap storms: the tracer takes a snapshot every storm.window seconds, filtered by
	 * storm_filter (the command's -p/--vm/-d, or NULL), and alerts on each storm's start. */
	struct vt_storm_cfg storm;
	struct vt_filter *storm_filter;
};

/* The process record behind a lifecycle event of op VT_EV_PROC (NULL for any other). */
static inline const struct vtr_proc *vt_event_proc(const struct vtr_event *e)
{
	return e->op == VT_EV_PROC ? (const struct vtr_proc *)e : NULL;
}

/* Probe, load, attach. Prints what it attached (and what it could not) on stderr. The ftrace
 * backend takes only what it implements of opts (snoop, locks: refused with a one-line error;
 * lib/ftrace.c). */
int vt_tracer_open(struct vt_tracer **t, const struct vt_tracer_opts *opts);
/* Handle ring-buffer events (attaching new callbacks) for up to timeout_ms. */
int vt_tracer_poll(struct vt_tracer *t, int timeout_ms);
/* Handle events in slices of <= 100 ms until vt_now_ns() reaches `until` (true) or a stop
 * signal arrives (false). */
bool vt_tracer_wait(struct vt_tracer *t, uint64_t until);
/* After a stop (or at the end of a count): handle what the rings hold, until they are empty or
 * VT_DRAIN_MS after the stop signal (a steady stream never runs them dry); nothing after
 * VT_STOP_OUTPUT. */
void vt_tracer_drain(struct vt_tracer *t);
int vt_tracer_snapshot(struct vt_tracer *t, struct vt_snapshot *s);
/* Only the loss counters (summed over CPUs): what snoop checks every second. */
int vt_tracer_losses(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX]);
/* Points that could not be attached, as one line for a notice ("" when none). */
const char *vt_tracer_missing(struct vt_tracer *t);
/* "function+0xoff" for a kernel text address (buf), via the tracer's kallsyms copy. */
const char *vt_tracer_ksym(struct vt_tracer *t, uint64_t addr, char *buf, size_t len);
/* The kallsyms the tracer loaded at start (while it could read addresses): vfio-trace hung's
 * picture borrows it (export's health checks, lib/hung.h vth_collect_with). */
struct vt_ksyms *vt_tracer_ksyms(struct vt_tracer *t);
/* Every program attached now: name (a callback's with its function), how ("fentry", "fexit",
 * "kprobe", "kretprobe", "raw_tp", "iter", ...), and its run time and runs so far as the
 * kernel counts them when kernel.bpf_stats_enabled is 1 (0 otherwise). */
typedef void (*vt_prog_fn)(void *ctx, const char *name, const char *method, uint64_t run_ns,
			   uint64_t runs);
void vt_tracer_programs(struct vt_tracer *t, vt_prog_fn fn, void *ctx);
/* How many module loads and unloads the tracer has handled (lib/reload.c): a reader keeping
 * kernel addresses of its own (export's health checks) reads them again when it changes.
 * Safe from any thread. */
unsigned vt_tracer_module_generation(struct vt_tracer *t);
void vt_tracer_close(struct vt_tracer *t);
/* The ftrace backend's leftovers: tracefs instances and kprobe event groups named
 * vfio_trace_<pid> whose vfio-trace is gone (all: every one but this process's) removed, each
 * said on report (NULL: quiet); how many (lib/ftrace.c; doctor --cleanup, every start). */
int vt_ftrace_cleanup(bool all, FILE *report);
/* Why the ftrace backend cannot trace this host (one line), or NULL (doctor); btf_path:
 * --btf's file, where the offsets come from instead of the kernel's module BTF. */
const char *vt_ftrace_blocker(const char *btf_path);
/* "bpf" or "ftrace": the backend that opened t. */
const char *vt_tracer_backend(const struct vt_tracer *t);

#endif
