/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `vfio-trace export` serves: the snapshot's rows turned into Prometheus series, and
 * their text in the Prometheus exposition format (0.0.4) or OpenMetrics 1.0 (lib/prom.c).
 *
 * A series is one operation of one VM (QEMU -name and -uuid) — and of one device (name and
 * driver) for the device operations, of one lock for the lock ones; never a pid, an address
 * or an iova, so their number follows the VMs and devices of the host. Each counts from the
 * moment it appears (the increases of the rows behind it are added every interval), so a
 * counter never goes down while it lives. A series whose processes have all exited goes away
 * forget_ns later; at most max_series exist, and what could not get one is counted.
 */
#ifndef VT_PROM_H
#define VT_PROM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "trace.h"

/* What a series is about; also the key of the table. */
struct vt_prom_key {
	uint16_t op;	 /* enum vtr_op */
	uint16_t lock;	 /* lock ops: VT_KIND_IOMMU_LOCK or VT_KIND_DLIST_LOCK, else 0 */
	char vm[128];	 /* QEMU -name (guest=), "" for other processes */
	char uuid[40];	 /* QEMU -uuid, "" when not given */
	char device[48]; /* device ops: dev_name */
	char driver[32]; /* device ops: the vfio_device_ops name */
};

struct vt_prom_series {
	struct vt_prom_key key;
	struct vtr_stat st; /* summed increases since the series appeared */
	char *labels;	    /* its labels as exposed, escaped, without the braces */
	uint64_t alive_ns;  /* the last time a process behind it was running */
};

struct vt_prom {
	struct vt_prom_series *s;
	size_t n, cap;
	size_t *slot; /* index: open addressing, series index + 1, 0 free */
	size_t mask;
	size_t max_series;
	uint64_t forget_ns;
	uint64_t dropped_ops;  /* operations whose series could not be created (max_series) */
	uint64_t forgotten;    /* series removed forget_ns after their processes exited */
	uint64_t retry_storms; /* RETRY STORM alerts (a vfio_dma notified 5 times in a row) */
	uint64_t losses[VT_LOSS_MAX];
	uint32_t untraced_ops, untimed_ops; /* as in struct vt_snapshot */
	char version[64];
	char kernel[128];
	/* The programs attached (vt_tracer_programs), as of the last update; run time and runs
	 * only when kernel.bpf_stats_enabled is 1 (bpf_stats). */
	struct vt_prom_prog {
		char name[200];
		char method[16];
		uint64_t run_ns, runs;
	} * progs;
	size_t nprogs, progcap;
	bool bpf_stats;
	/* --health: vfio-trace hung's picture every few seconds (lib/hung.h vth_summarize) */
	bool health;
	uint64_t health_checks, health_errors;
	unsigned lock_waiters[2]; /* iommu->lock, device_list_lock (VTH_LOCK_*) */
	double lock_longest_s[2];
	int lock_cycles;
};

void vt_prom_init(struct vt_prom *p, size_t max_series, uint64_t forget_ns);
void vt_prom_free(struct vt_prom *p);
/* Add an increase to the series of key (created when new). alive: a process behind it still
 * runs (at now). 0; 1 when the series cap refused a new series (its operations counted in
 * dropped_ops); -ENOMEM. */
int vt_prom_add(struct vt_prom *p, const struct vt_prom_key *key, const struct vtr_stat *inc,
		bool alive, uint64_t now);
/* Remove the series whose processes exited forget_ns or more before now. */
void vt_prom_forget(struct vt_prom *p, uint64_t now);
/* The whole exposition, to f. openmetrics: OpenMetrics 1.0 text, else Prometheus 0.0.4. */
void vt_prom_write(const struct vt_prom *p, FILE *f, bool openmetrics);
/* The metric family of an op's count ("unmaps": vfio_trace_unmaps_total), NULL if none. */
const char *vt_prom_op_family(int op);

#define VT_PROM_CT_TEXT	       "text/plain; version=0.0.4; charset=utf-8"
#define VT_PROM_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

#endif
