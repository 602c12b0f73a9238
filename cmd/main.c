// SPDX-License-Identifier: GPL-2.0
/* vfio-trace: git-style dispatch to the subcommands in cmd/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vt.h"
#include "cmd.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "doctor", cmd_doctor, "what this host lets vfio-trace trace, and how" },
	{ "stat", cmd_stat, "one line of counters per interval, totals at the end" },
	{ "top", cmd_top, "live view per device and per container" },
	{ "snoop", cmd_snoop, "one line per event, with an exact drop count" },
	{ "hist", cmd_hist,
	  "latency histograms: unmap, removal, notify, callback per device, pin" },
	{ "hung", cmd_hung,
	  "what is stuck on a VFIO container lock, owned by whom, deadlock or not" },
	{ "locks", cmd_locks,
	  "iommu->lock and device_list_lock hold and wait times per container" },
	{ "export", cmd_export,
	  "metrics for Prometheus (HTTP /metrics) or node_exporter's textfile" },
	{ "record", cmd_record, "events and totals into a file, for report (an incident)" },
	{ "report", cmd_report, "a recording as stat or snoop showed it: offline, no root" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vfio-trace [-v] [--version] <command> [options]\n\n"
		"Observe the VFIO DMA-unmap path: unmaps, notifies, dma_unmap callbacks, pins.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'vfio-trace <command> --help' for a command's options; man vfio-trace(8).\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	vt_malloc_tune();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			vt_verbose++;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("vfio-trace %s\n", VT_VERSION);
			return VT_EXIT_OK;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return VT_EXIT_OK;
		} else {
			vt_err("unknown option '%s' (see vfio-trace --help)", argv[i]);
			return VT_EXIT_USAGE;
		}
	}
	if (vt_caps_test_drop())
		return VT_EXIT_FAIL;
	if (i >= argc) {
		usage(stderr);
		return VT_EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (!strcmp(argv[i], commands[c].name)) {
			static char prog[64];
			int rc;

			snprintf(prog, sizeof(prog), "vfio-trace %s", commands[c].name);
			vt_prog = prog;
			rc = commands[c].fn(argc - i, argv + i);
			/* what is left after the command's own end: exit(3)'s flushes, then the
			 * kernel's release of every fd the process still holds */
			if (vt_stop_ns)
				vt_dbg("exiting: %.3f s after the stop",
				       (vt_now_ns() - vt_stop_ns) / 1e9);
			return rc;
		}
	}
	vt_err("unknown command '%s' (see vfio-trace --help)", argv[i]);
	return VT_EXIT_USAGE;
}
