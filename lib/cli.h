/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The option convention every tracing command shares:
 *   -j/--json  -p/--pid PID[,PID...]  --vm NAME  -d/--device NAME  --kprobe  --no-hold
 *   -v/--verbose  -h/--help  [interval [count]]
 * plus a few per-command flags declared in the spec. Fields not given keep what the caller
 * set before the call (its defaults).
 */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define VT_MAX_PIDS 64
#define VT_MAX_NAME 255		/* longest -d / --vm value */

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
	/* --vm: the verdict per process seen (a process's -name does not change) */
	struct vt_filter_seen {
		uint32_t tgid;
		bool match;
	} seen[256];
	unsigned nseen;
};

bool vt_filter_procs(const struct vt_filter *f);	/* -p or --vm given */
bool vt_filter_proc(struct vt_filter *f, uint32_t tgid);
/* name: a fixed-size array of cap bytes (need not end in NUL). */
bool vt_filter_dev(const struct vt_filter *f, const char *name, size_t cap);
/* "pid 1,2  vm web  device x" for a title line (escaped), "" without a filter. */
char *vt_filter_desc(const struct vt_filter *f, char *buf, size_t len);

enum {
	VT_CLI_PID = 1 << 0,		/* -p/--pid and --vm */
	VT_CLI_DEVICE = 1 << 1,
	VT_CLI_INTERVAL = 1 << 2,	/* positional interval [count] */
	VT_CLI_BATCH = 1 << 3,		/* -b/--batch */
	VT_CLI_SORT = 1 << 4,		/* -s/--sort KEY */
	VT_CLI_RINGBUF = 1 << 5,	/* --ringbuf-pages N (snoop) */
	VT_CLI_LOCKS = 1 << 6,		/* --locks: lock events / columns too */
	VT_CLI_HUNG = 1 << 7,		/* --threshold SECS, --timeout SECS (hung) */
};

struct vt_cli {
	bool json;
	bool kprobe;
	bool no_hold;		/* --no-hold: never stop a module's loader (lib/trace.h) */
	bool batch;
	struct vt_filter filter;	/* -p, --vm, -d */
	const char *sort;
	double interval;	/* seconds */
	uint64_t count;		/* 0: until interrupted */
	bool have_interval;
	uint64_t ringbuf_pages;
	bool locks;
	double threshold;	/* hung: seconds a waiter may wait before it counts as stuck */
	double timeout;		/* hung: seconds the whole inspection may take */
};

/* -1 to go on, or an exit code (help printed: 0; bad arguments: 2, one line on stderr). */
int vt_cli_parse(int argc, char **argv, unsigned accept, const char *usage, struct vt_cli *out);

#endif
