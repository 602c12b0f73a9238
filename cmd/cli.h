/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The option convention every tracing command shares:
 *   -j/--json  -p/--pid PID[,PID...]  --vm NAME  -d/--device NAME  --kprobe  --no-hold
 *   --backend bpf|ftrace|auto  --btf FILE
 *   -v/--verbose  -h/--help  [interval [count]]
 * plus a few per-command flags declared in the spec. Fields not given keep what the caller
 * set before the call (its defaults).
 */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "filter.h"

/* The alert options' lines of every tracing command's usage (the last lines). */
#define VT_CLI_ALERT_USAGE                                                                         \
	"  --storm-rate N        unmap-storm alert at N UNMAP_DMA/s of a process (default 2000)\n" \
	"  --storm-bytes N       ... at N bytes unmapped/s (suffix K M G default 0: off)\n"        \
	"  --storm-p99 US        ... at an unmap p99 of US microseconds (default 0: off)\n"        \
	"  --no-storm            no unmap-storm alerts (man vfio-trace, UNMAP STORM ALERT)\n"      \
	"  --syslog              alerts to syslog(3) too (man vfio-trace, ALERTS)\n"
#include "trace.h"

enum {
	VT_CLI_PID = 1 << 0, /* -p/--pid and --vm */
	VT_CLI_DEVICE = 1 << 1,
	VT_CLI_INTERVAL = 1 << 2, /* positional interval [count] */
	VT_CLI_BATCH = 1 << 3,	  /* -b/--batch */
	VT_CLI_SORT = 1 << 4,	  /* -s/--sort KEY */
	VT_CLI_RINGBUF = 1 << 5,  /* --ringbuf-pages N (snoop) */
	VT_CLI_LOCKS = 1 << 6,	  /* --locks: lock events / columns too */
	VT_CLI_HUNG = 1 << 7,	  /* --threshold SECS, --timeout SECS (hung) */
	VT_CLI_RECORD = 1 << 8,	  /* -o/--output FILE, --duration S, --interval S,
				   * --max-size N (record) */
	VT_CLI_WINDOW = 1 << 9,	  /* --from T, --to T, --chrome-trace F, --heatmap F;
				   * positional arguments in args (report) */
	VT_CLI_EXPORT = 1 << 10,  /* export's: --listen --textfile --interval --forget
				   * --max-series --health --detail --pin-modules */
	VT_CLI_STORM = 1 << 11,	  /* --storm-rate N --storm-bytes N --storm-p99 US --no-storm */
	VT_CLI_SYSLOG = 1 << 12,  /* --syslog: alerts to syslog(3) too */
	VT_CLI_PHASES = 1 << 13,  /* --phases: top's phases of vfio_unmap_unpin */
};

struct vt_cli {
	bool json;
	bool kprobe;
	int backend;	      /* --backend: enum vt_backend_kind (lib/trace.h), 0: bpf */
	const char *btf_path; /* --btf FILE (lib/btf_file.c), NULL: the kernel's BTF */
	bool no_hold;	      /* --no-hold: never stop a module's loader (lib/trace.h) */
	bool batch;
	struct vt_filter filter; /* -p, --vm, -d */
	const char *sort;
	double interval; /* seconds */
	uint64_t count;	 /* 0: until interrupted */
	bool have_interval;
	uint64_t ringbuf_pages;
	bool locks;
	double threshold;   /* hung: seconds a waiter may wait before it counts as stuck */
	double timeout;	    /* hung: seconds the whole inspection may take */
	const char *output; /* record: the file */
	double duration;    /* record: seconds (0: until stopped) */
	uint64_t max_size;  /* record: bytes the flight recorder keeps (0: everything) */
	double from, to;    /* report: seconds after the recording's start */
	bool have_from, have_to;
	char **args; /* report: the positional arguments */
	int nargs;
	const char *chrome_trace, *heatmap; /* report: the files to write */
	/* export (--interval S sets interval) */
	const char *listen, *textfile;
	double forget, health; /* seconds */
	uint64_t max_series;
	bool detail, pin_modules;
	/* unmap storms (lib/storm.h; the defaults there) */
	struct vt_storm_cfg storm;
	bool storm_given; /* a --storm-* option was given (report: detect anew) */
	bool syslog;
	bool phases; /* top --phases */
};

/* -1 to go on, or an exit code (help printed: 0; bad arguments: 2, one line on stderr). */
int vt_cli_parse(int argc, char **argv, unsigned accept, const char *usage, struct vt_cli *out);

#endif
