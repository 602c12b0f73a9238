/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF backend's state, shared by its four files: lib/loader.c (load, attach, close),
 * lib/rings.c (the ring buffers' records, alerts, the device table), lib/snapshot.c (the maps
 * read into a snapshot) and lib/callbacks.c (the drivers' dma_unmap callbacks: where they are,
 * attaching them, holding a module's loader meanwhile). Private to lib/: the commands see
 * it through lib/trace.h's vt_tracer_*, which lib/backend_bpf.c hands to the vt_bpf_* below.
 */
#ifndef VT_TRACER_H
#define VT_TRACER_H

#include <sys/types.h>
#include "backend.h"
#include "vfio_trace.skel.h"

#define VT_MAX_CB	   64
#define VT_MAX_UNTRACED_CB 8
#define VT_MAX_EXTRA	   8
/* kp_ and kr_ programs dispatched by kprobe_multi (at most two per point; their slots in the
 * BPF program array, vt_kprobe_handlers: include/vt_shared.h) */
#define VT_MAX_KMULTI	   VT_KM_HANDLERS

struct vt_cb_target {
	uint64_t addr;
	char sym[160]; /* "module:function" for kprobes */
	enum vt_method method;
	struct callback_bpf *obj; /* fentry outside the main object's slots: an object each */
	int slot; /* fentry in the main object: its slot (vt_cb_slot_func), else -1 */
	struct bpf_link *links[2];
	bool multi; /* on the dispatchers' kprobe_multi links (vt_cb_multi_prepare), none here */
};

/* Where a callback was found: said on the "attached" line. */
enum cb_origin { CB_FROM_BTF, CB_FROM_DEVICE };

struct vt_bpf {
	struct vt_tracer base; /* first: the backend table (lib/backend.h) */
	struct vt_tracer_opts opts;
	struct vt_env env;
	struct vt_ksyms *ks;
	struct vt_ksym_lookup *ksym_lookup; /* ks's kernel lookups (NULL: passes only) */
	struct vfio_trace_bpf *skel;
	struct ring_buffer *rb;
	struct callback_bpf *kp_cb; /* the kprobe instance, attached to every target */
	/* kprobe_multi: the callbacks found at the start, one more instance whose programs the
	 * dispatchers tail-call (vt_cb_multi_prepare) */
	bool cb_multi_collect; /* vt_cb_attach_modules collects them for vt_cb_multi_prepare */
	struct callback_bpf *km_cb;
	/* The callbacks found before the main object's load (vt_cb_find_early): the first
	 * VT_CB_SLOTS that fentry can take get its slots (vt_cb_slots_set), every one is attached
	 * by vt_cb_attach_early, and the main object's kprobe pair serves those on kprobes. */
	struct vt_cb_early *early;
	int cb_slots;	  /* the slots this load uses */
	bool cb_no_slots; /* a load with slots failed: every callback in an object of its own */
	/* CO-RE's target cut down to the main and callback objects' types (lib/core_btf.c): a
	 * memfd, open while the tracer is (a callback object loads when its driver does), its
	 * path for libbpf ("" when not built: the kernel's whole BTF) */
	int core_btf_fd;
	char core_btf_path[32];
	struct vt_cb_target cbs[VT_MAX_CB];
	int ncbs;
	/* callbacks no probe takes (a notrace function: ftrace, kprobe events and fentry all
	 * refuse it): said once, named in missing from then on, never tried again */
	struct {
		uint64_t addr;
		char sym[160];
	} cb_untraced[VT_MAX_UNTRACED_CB];
	int ncb_untraced;
	char missing[1024];
	int ncpus;
	struct bpf_link *extra[VT_MAX_EXTRA]; /* kprobes attached by hand (retargeted) */
	int nextra;
	struct { /* ... which are these */
		struct bpf_program *prog;
		const struct vt_point *p;
		bool retprobe;
	} retarget[VT_MAX_EXTRA];
	int nretarget;
	/* kprobe_multi (a command that runs until stopped, lib/loader.c): the kprobe programs,
	 * each in its slot of vt_kprobe_handlers (the index here), and the two dispatchers' links */
	bool kmulti_on;
	struct {
		struct bpf_program *prog;
		const char *symbol;
		const char *module; /* where symbol is looked up (NULL: vmlinux) */
		bool retprobe;
	} kmulti[VT_MAX_KMULTI];
	int nkmulti;
	struct bpf_link *kmulti_links[2]; /* the entries', the returns' */
	pid_t guardian;			  /* continues held module loaders if we die (0: none) */
	int guardian_pipe;		  /* its end: closing it (dying) is the signal */
	struct vt_dev *devtab;		  /* every device seen (vt_devices forgets unregistered) */
	size_t ndevtab, devcap;
	struct vt_retry_alerts retry_alerts; /* RETRY STORM lines (lib/retry_alert.c) */
	struct vt_snapshot retired;	     /* rows of processes that have gone, out of the maps */
	struct vt_rowidx retired_idx;
	uint64_t retired_at; /* when they were last looked for */
	/* Under a steady stream libbpf's consume loop never runs dry: the ring callbacks end it
	 * (ring_stop()) at poll_end, or at once on a stop unless draining. */
	uint64_t poll_end;
	bool draining, cut;
	unsigned module_gen; /* module loads and unloads handled (atomic: other threads read) */
	bool stdout_closed;  /* fd 1 not open: not polled (vt_bpf_poll) */
	struct vt_storm_live storm; /* the unmap-storm detector */
	struct vt_detach *detach;   /* the links being detached since the stop (lib/detach.c) */
};

/* Which skeleton programs implement each attach point (lib/points.c's vt_points): the
 * fentry/fexit pair, its kprobe/kretprobe twin, or a raw tracepoint. Bound through the
 * skeleton's members, so a renamed program is a compile error, never a program that silently
 * stays unloaded. */
struct point_progs {
	const char *point;
	struct bpf_program *fe, *fx, *kp, *kr, *rt;
};

#define VT_MAX_POINT_PROGS 40
/* lib/loader.c: every point's programs (out holds VT_MAX_POINT_PROGS); how many. */
int vt_point_progs(const struct vfio_trace_bpf *s, struct point_progs *out);

/* The BPF backend's implementation of lib/trace.h's vt_tracer_* (same meaning, lib/trace.h),
 * entered through the backend table (lib/backend_bpf.c). */
int vt_bpf_open(struct vt_bpf **t, const struct vt_tracer_opts *opts);
int vt_bpf_poll(struct vt_bpf *t, int timeout_ms);
bool vt_bpf_wait(struct vt_bpf *t, uint64_t until);
void vt_bpf_drain(struct vt_bpf *t);
int vt_bpf_snapshot(struct vt_bpf *t, struct vt_snapshot *s);
int vt_bpf_losses(struct vt_bpf *t, uint64_t losses[VT_LOSS_MAX]);
const char *vt_bpf_missing(struct vt_bpf *t);
const char *vt_bpf_ksym(struct vt_bpf *t, uint64_t addr, char *buf, size_t len);
struct vt_ksyms *vt_bpf_ksyms(struct vt_bpf *t);
void vt_bpf_programs(struct vt_bpf *t, vt_prog_fn fn, void *ctx);
unsigned vt_bpf_module_generation(struct vt_bpf *t);
void vt_bpf_close(struct vt_bpf *t);

/* lib/loader.c: what a snapshot of this tracer cannot contain (struct vt_snapshot). */
void vt_bpf_op_masks(const struct vt_bpf *t, uint32_t *untraced, uint32_t *untimed);
/* t->missing written again: the points not traced, then the callbacks no probe takes. */
void vt_bpf_note_missing(struct vt_bpf *t);

/* lib/rings.c */
/* The lifecycle ring, and snoop's event ring when asked for, in t->rb; 0, or -1 (errno). */
int vt_rings_open(struct vt_bpf *t);
/* The device table's entry of vdev (created when create); NULL when out of memory. */
struct vt_dev *vt_devtab_get(struct vt_bpf *t, uint64_t vdev, bool create);
/* The RETRY STORM counts still held back, printed (at the end). */
void vt_alerts_flush(struct vt_bpf *t);

/* lib/callbacks.c */
/* A device's callback at addr (one not found in BTF): attached unless it is already. */
int vt_cb_attach_device(struct vt_bpf *t, uint64_t addr, const char *devname);
/* Every function of these modules whose BTF prototype is dma_unmap's; how many were
 * attached, -1 without the kernel's BTF. */
int vt_cb_attach_modules(struct vt_bpf *t, const char *const *modules, int nmod);
/* Before the main object is opened: find the start's callbacks in these modules' BTF, with
 * base the kernel's BTF (NULL: parsed here and freed before the load), their symbols too;
 * each is wanted as a fentry target (vt_fentry_targets_want). */
void vt_cb_find_early(struct vt_bpf *t, const char *const *modules, int nmod, struct btf *base);
/* After the open, before the load: the main object's callback programs the early callbacks
 * need (fentry slots with their targets, the kprobe pair); how many slots it used. */
int vt_cb_slots_set(struct vt_bpf *t);
/* After the load: attach the early callbacks (with cb_multi_collect, collect them); as
 * vt_cb_attach_modules, how many were attached. */
int vt_cb_attach_early(struct vt_bpf *t);
/* Is the main object's program p one of its callback programs (not a fixed point's)? */
bool vt_cb_main_prog(const struct vt_bpf *t, const struct bpf_program *p);
void vt_cb_detach_all(struct vt_bpf *t);
/* With t->cb_multi_collect set, vt_cb_attach_modules only collects the callbacks. Then this
 * puts the kprobe_multi instance's programs in the dispatchers' program array (map_fd, slots
 * VT_KM_SLOT_CB_*) and the collected callbacks' addresses in addrs (at most VT_MAX_CB), each
 * its own cookie: how many, or -errno. */
int vt_cb_multi_prepare(struct vt_bpf *t, int map_fd, unsigned long *addrs, __u64 *cookies);
/* The dispatchers' links are attached: the "attached dma_unmap callback" lines. */
void vt_cb_multi_attached(struct vt_bpf *t);
/* The links refused the collected callbacks (one ftrace cannot hook fails a whole link):
 * each on a perf kprobe of its own instead, one no probe takes said and left out. */
void vt_cb_multi_unwind(struct vt_bpf *t);
/* The callbacks in module (it is gone, or back at other addresses) detached and forgotten;
 * how many links that removed. */
int vt_cb_detach_module(struct vt_bpf *t, const char *module);
/* Is c a function of module (its sym is "module:function")? */
bool vt_cb_in_module(const struct vt_cb_target *c, const char *module);
/* The callback programs attached now, to fn (vt_bpf_programs). */
void vt_cb_programs(struct vt_bpf *t, vt_prog_fn fn, void *ctx);

/* lib/reload.c: a module load or unload record (VT_EV_MODULE_LOAD/FREE): its probes removed,
 * attached again, its loader let go. */
void vt_module_event(struct vt_bpf *t, const struct vtr_event *e);
/* lib/detach.c: every link taken from its owner, the module-load hold removed and its loaders
 * let go, the kprobes' detach started on a pool of threads (once: at the stop, vt_bpf_drain) */
void vt_detach_begin(struct vt_bpf *t);
/* Wait until the pool's kprobes are all detached or until (vt_now_ns); false when no pool
 * was running. */
bool vt_detach_wait_kprobes(struct vt_bpf *t, uint64_t until);
/* Every link detached, each one timed (vt_bpf_close). */
void vt_detach_links(struct vt_bpf *t);

/* lib/loader.c: one loaded program to fn, the kind of attach its section's first word. */
void vt_prog_report(struct bpf_program *p, const char *name, vt_prog_fn fn, void *ctx);
/* Held module loaders (bpf/vfio_trace.bpf.c rt_module_load): let one go, those held too long
 * (their record was lost), or all; the guard process continues them if we die. */
int vt_hold_release(struct vt_bpf *t, uint32_t tgid); /* 0, or our hold not removed */
void vt_hold_release_stale(struct vt_bpf *t);
void vt_hold_release_all(struct vt_bpf *t);
void vt_guard_start(struct vt_bpf *t);
void vt_guard_stop(struct vt_bpf *t);

/* lib/fentry_targets.c: the BTF ids of fentry/fexit targets found in one walk of the kernel's
 * BTF, not by libbpf at each program's load. Want the names (module NULL: the kernel), find
 * them with the kernel's BTF, then each program loads with its id: by its section's name, or
 * the name vt_fentry_target_set() gave it (bpf_program__set_attach_target() for one not
 * found). Free after the load. */
void vt_fentry_targets_want(const char *name, const char *module);
void vt_fentry_targets_find(struct btf *base);
int vt_fentry_target_set(struct bpf_program *prog, const char *name, const char *module);
void vt_fentry_targets_free(void);
/* CO-RE's target for the BPF objects of t: --btf's file, the kernel types they name
 * (lib/core_btf.c), or NULL (the kernel's own BTF, libbpf's search). */
const char *vt_bpf_core_target(const struct vt_bpf *t);

#endif
