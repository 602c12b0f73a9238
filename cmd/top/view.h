/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vfio-trace top`'s own: the tables it shows, built from snapshot differences (view.c: pure
 * functions, unit-tested), their sort (sort.c), their text form shared by the batch output and
 * the ncurses screen (view.c), the JSON rates (rates.c), and the interactive screen with its
 * keys (screen.c). The loop that drives them is top.c.
 *
 * Where a number comes from: every column is a sum over the rows of one op (include/vt_ops.h,
 * enum vtr_op) in the interval's diff; the op names the BPF program and attach point
 * (bpf/vfio_trace.bpf.c and its parts, bpf/callback.bpf.c).
 */
#ifndef VT_TOP_VIEW_H
#define VT_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>
#include "trace.h"

enum vt_sort {
	VT_SORT_UNMAPS = 0,
	VT_SORT_BYTES,
	VT_SORT_NOTIFIES,
	VT_SORT_CALLBACKS,
	VT_SORT_P99,
	VT_SORT_PINS,
	VT_SORT_ERRORS,
	VT_SORT_MAX,
};

/* -1 for an unknown name. */
int vt_sort_parse(const char *name);
const char *vt_sort_name(int key);
/* "unmaps, bytes, ..." for error messages and help. */
const char *vt_sort_names(void);

/* The counts of one row over one stretch of time (an interval, or since the baseline). */
struct vt_proc_counts {
	uint64_t unmaps, unmap_bytes; /* VT_OP_UNMAP: UNMAP_DMA ioctls, bytes the kernel unmapped */
	uint64_t notifies;	      /* VT_OP_NOTIFY */
	uint64_t retries;	      /* VT_OP_RETRY */
	uint64_t callbacks;	/* VT_OP_CALLBACK of the container's devices, by this process */
	uint64_t pins, pages;	/* VT_OP_PIN (count, pages) by this process in the container */
	uint64_t errors;	/* failed MAP_DMA + UNMAP_DMA ioctls */
	uint64_t unmap_p99;	/* ns, from the VT_OP_UNMAP histogram; 0: no unmap */
	uint64_t lock_waits;	/* VT_OP_LOCK_WAIT: this process waited for the container's
					 * iommu->lock or device_list_lock (lock:contention_*) */
	uint64_t lock_wait_max; /* ns */
	uint64_t teardown_dmas; /* VT_OP_TEARDOWN: vfio_dma removed when the process let
					 * the container go (no UNMAP_DMA) */
	uint64_t teardown_max;	/* ns, the longest such teardown */
	/* top --phases: VT_OP_UNMAP_UNPIN calls, bytes and time, then the time of each phase
	 * inside it (vt_phase_ops: iommu_unmap, iotlb_sync, iova_walk, unpin_remote) */
	uint64_t uu_count, uu_bytes;
	uint64_t phase_ns[VT_PHASE_OPS];
	uint64_t iommu_bytes, iommu_4k; /* VT_OP_IOMMU_UNMAP bytes, of which in 4 KiB pages */
};

/* One row of the process table: a (container, process) pair. */
struct vt_view_proc {
	uint64_t container; /* iommu_data */
	uint32_t tgid;
	char comm[32];		   /* filled by the caller (vt_proc_ident) */
	char vm[64];		   /* QEMU -name, "" when not QEMU */
	struct vt_proc_counts iv;  /* this interval */
	struct vt_proc_counts tot; /* since the baseline */
};

struct vt_dev_counts {
	uint64_t callbacks, cb_bytes;	 /* VT_OP_CALLBACK (ops->dma_unmap calls, bytes asked) */
	uint64_t cb_p50, cb_p99, cb_max; /* ns */
	uint64_t pins, pages;		 /* VT_OP_PIN: calls, pages pinned (failed pins: 0) */
	uint64_t unpins, unpin_pages;	 /* VT_OP_UNPIN */
	uint64_t pin_errors, einval;	 /* failed pins, of which -EINVAL */
};

enum vt_reg_state {
	VT_REG_UNKNOWN = 0, /* registered before vfio-trace started, no activity seen */
	VT_REG_YES,	    /* on its container's device_list */
	VT_REG_NO,	    /* left it (unregister seen) */
	VT_REG_NOCB,	    /* the driver has no dma_unmap: it never joins a device_list */
};

struct vt_view_dev {
	uint64_t vdev, container;
	char name[48], driver[32];
	enum vt_reg_state reg;
	struct vt_dev_counts iv, tot;
};

struct vt_view_totals {
	uint64_t unmaps, unmap_bytes, notifies, retries, callbacks, pins, pages, unpins, errors,
		einval, teardown_dmas;
};

struct vt_view {
	double secs;	 /* length of the interval */
	double tot_secs; /* since the baseline */
	struct vt_view_proc *procs;
	size_t nprocs;
	struct vt_view_dev *devs;
	size_t ndevs;
	struct vt_view_totals iv, tot;
	uint64_t losses[VT_LOSS_MAX]; /* since vfio-trace started (never reset) */
};

/*
 * iv = now - prev, tot = now - baseline, all = now (since the tracer started: only used for
 * the device_list state). Rows are every (container, process) and every device of tot, so a
 * quiet row stays visible (with zero rates) until the baseline is reset.
 */
int vt_view_build(struct vt_view *v, const struct vt_snapshot *iv, double secs,
		  const struct vt_snapshot *tot, double tot_secs, const struct vt_snapshot *all);
void vt_view_free(struct vt_view *v);
/* Rows vt_view_build() has visited so far (with vt_rowidx_probes: the unit tests check that
 * building costs O(rows), by counting). */
extern uint64_t vt_view_row_visits;
/* Sort both tables on key (descending; ascending with reverse). Ties: pid, device name. */
void vt_view_sort(struct vt_view *v, int key, bool reverse);
bool vt_view_proc_idle(const struct vt_view_proc *p);
bool vt_view_dev_idle(const struct vt_view_dev *d);

/* ---- text (batch output and the screen share it) --------------------------------------- */
#define VT_VIEW_LINE 512

/* Column widths that fit the names in v (COMM/VM 8..24, device NAME 12..36). */
struct vt_view_widths {
	int ident, name;
};
void vt_view_widths(const struct vt_view *v, struct vt_view_widths *w);
/* secs > 0: rates over secs (UNMAP/s ...); secs <= 0: absolute counts (UNMAPS ...). */
void vt_view_proc_header(char *buf, size_t len, bool counts, const struct vt_view_widths *w);
void vt_view_proc_line(char *buf, size_t len, const struct vt_view_proc *p,
		       const struct vt_proc_counts *c, double secs, const struct vt_view_widths *w);
void vt_view_dev_header(char *buf, size_t len, bool counts, const struct vt_view_widths *w);
void vt_view_dev_line(char *buf, size_t len, const struct vt_view_dev *d,
		      const struct vt_dev_counts *c, double secs, const struct vt_view_widths *w);
/* A small table: column names, the counts since the baseline, the counts of the last
 * interval; then the losses (only when one is non-zero) and what this kernel does not let
 * vfio-trace see (only when non-empty). Returns the number of lines written (at most max,
 * 5 suffice). */
int vt_view_summary(const struct vt_view *v, const char *not_traced, char lines[][VT_VIEW_LINE],
		    int max);
const char *vt_reg_name(enum vt_reg_state r);

/* The rates of interval document iv, added to vt_report_json()'s containers and devices
 * (same order: vt_containers() and iv->devs) and as a top-level "rates" object. */
void vt_view_json_rates(json_object *doc, const struct vt_snapshot *iv, double secs);

/* top -b's block (cmd/top/top.c), live and from a recording (cmd/report_views.c): the
 * summary and both tables of v at wall time when (final: the totals); and a JSON document
 * (type "interval" or "total", its "time" when), printed and put. */
void vt_top_print_block(const struct vt_view *v, const char *not_traced, const char *filter,
			int sort, bool reverse, bool final, time_t when);
void vt_top_print_json(json_object *o, const char *type, time_t when);

/* ---- top --phases (phases.c): where unmap_unpin's time went, per process ----------------- */
/* Some process of v ran vfio_unmap_unpin (since the baseline): the phases table is shown. */
bool vt_view_has_phases(const struct vt_view *v);
bool vt_view_proc_has_phases(const struct vt_proc_counts *c);
void vt_view_phase_header(char *buf, size_t len, const struct vt_view_widths *w);
void vt_view_phase_line(char *buf, size_t len, const struct vt_view_proc *p,
			const struct vt_proc_counts *c, const struct vt_view_widths *w);
/* Each container of doc (vt_report_json() of s) that ran vfio_unmap_unpin gets "phases":
 * {unmap_unpin_ns, bytes, gib_per_s, and per phase its ns and share, rest}. */
void vt_view_json_phases(json_object *doc, const struct vt_snapshot *s);

/* ---- the interactive screen ------------------------------------------------------------- */
struct vt_view_ui {
	int sort;
	bool reverse;
	bool hide_zero;
	bool paused;
	bool help;
	double interval; /* seconds */
	char msg[128];	 /* one-off status message */
};

enum {
	VT_UI_REDRAW = 1 << 0, /* state changed: draw again */
	VT_UI_QUIT = 1 << 1,
	VT_UI_RESET = 1 << 2,  /* new baseline */
	VT_UI_RETIME = 1 << 3, /* interval changed */
	VT_UI_RESUME = 1 << 4, /* unpaused: start a fresh interval */
};

/* Apply one key (ncurses key code) to ui; returns VT_UI_* flags. */
int vt_view_key(struct vt_view_ui *ui, int key);
/* Draw the whole screen into stdscr of the current ncurses screen (LINES x COLS). */
void vt_view_draw(const struct vt_view *v, const struct vt_view_ui *ui, const char *not_traced,
		  const char *filter);

#endif
