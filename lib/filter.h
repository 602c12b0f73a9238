/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The filters of every command (lib/filter.c): -p PID,... / --vm NAME and -d NAME, tested
 * per process, per device name, and applied to a snapshot. The commands fill struct vt_filter
 * from their options (cmd/cli.c).
 */
#ifndef VT_FILTER_H
#define VT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_MAX_PIDS 64
#define VT_MAX_NAME 255 /* longest -d / --vm value */

/*
 * The one process match and the one device match every command uses (lib/filter.c).
 * Processes: one of pids (when any) and, with vm, a QEMU whose -name is vm (both when both
 * are given). Device: its dev_name equals device; the kernel copy of a name keeps 47 bytes,
 * so a longer name matches when the copy is its first 47 bytes.
 */
struct vt_filter {
	uint32_t pids[VT_MAX_PIDS];
	unsigned npids;
	const char *vm;
	const char *device;
	/* -d in an event stream: the device's container, learned from its events */
	uint64_t dev_container;
	/* A recording's names (report): --vm matches them, never this host's /proc */
	const struct vt_procname *names;
	size_t nnames;
	/* --vm: the verdict per process seen (a process's -name does not change) */
	struct vt_filter_seen {
		uint32_t tgid;
		bool match;
	} seen[256];
	unsigned nseen;
};

bool vt_filter_procs(const struct vt_filter *f); /* -p or --vm given */
bool vt_filter_proc(struct vt_filter *f, uint32_t tgid);
/* name: a fixed-size array of cap bytes (need not end in NUL). */
bool vt_filter_dev(const struct vt_filter *f, const char *name, size_t cap);
/* One event of a stream (snoop, report): its process, and with -d a device event of that
 * device or an event of its container (lifecycle records teach the container, never shown:
 * false). */
struct vtr_event;
bool vt_filter_event(struct vt_filter *f, const struct vtr_event *e, bool lifecycle);
/* "pid 1,2  vm web  device x" for a title line (escaped), "" without a filter. */
char *vt_filter_desc(const struct vt_filter *f, char *buf, size_t len);

/*
 * Keep only what the filter asks for, in place. Processes: rows caused by them, and devices
 * they registered or acted on. device: rows of the devices of that name and container (and
 * lock) rows of their containers. Losses are global and kept.
 */
struct vt_snapshot;
void vt_snapshot_filter(struct vt_snapshot *s, struct vt_filter *f);

#endif
