// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace stat [interval [count]]: one line per interval of the main counters, like
 * vmstat; at the end (count reached, Ctrl-C, SIGTERM) the totals since start.
 */
#include <string.h>
#include <time.h>
#include "trace.h"
#include "report.h"
#include "cli.h"
#include "cmd.h"

static const char stat_usage[] =
	"usage: vfio-trace stat [-j] [-p PID[,PID...]] [--vm NAME] [-d DEVICE] [--kprobe]\n"
	"                       [interval [count]]\n"
	"  One line per interval (default 1 s) of unmaps, notifies, callbacks and pins;\n"
	"  the totals since start when count is reached or on Ctrl-C/SIGTERM.\n"
	"  -j, --json          JSON lines: one {\"type\":\"interval\"} per interval, then one\n"
	"                      {\"type\":\"total\"} document\n"
	"  -p, --pid PID,...   only operations caused by these processes (-p may repeat)\n"
	"  --vm NAME           only operations caused by the QEMU whose -name is NAME\n"
	"  -d, --device NAME   only this device and its container\n"
	"  --kprobe            use kprobes even where fentry works\n"
	"  --backend B         bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE          kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold           never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

void vt_stat_header(void)
{
	printf("%-8s %8s %8s %8s %6s %8s %8s %8s %8s %8s %6s %6s %5s %5s %5s %8s\n", "TIME",
	       "UNMAP/s", "MiB/s", "NOTIFY/s", "RETRY", "CB/s", "CB_P99", "PIN/s", "PAGES/s",
	       "UNPIN/s", "ERR", "EINVAL", "REG", "UNREG", "TDOWN", "TDOWN_MB");
}

static void sum(const struct vt_snapshot *s, int op, struct vtr_stat *st)
{
	vt_snapshot_sum(s, op, 0, 0, st);
}

static void print_line(const struct vt_snapshot *d, double secs, time_t now)
{
	struct vtr_stat un, no, re, cb, pi, up, rg, ur, td;
	char tbuf[16], p99[16];

	sum(d, VT_OP_UNMAP, &un);
	sum(d, VT_OP_NOTIFY, &no);
	sum(d, VT_OP_RETRY, &re);
	sum(d, VT_OP_CALLBACK, &cb);
	sum(d, VT_OP_PIN, &pi);
	sum(d, VT_OP_UNPIN, &up);
	sum(d, VT_OP_REGISTER, &rg);
	sum(d, VT_OP_UNREGISTER, &ur);
	sum(d, VT_OP_TEARDOWN, &td);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	printf("%-8s %8.0f %8.1f %8.0f %6llu %8.0f %8s %8.0f %8.0f %8.0f %6llu %6llu %5llu %5llu "
	       "%5llu %8.1f\n",
	       tbuf, un.count / secs, un.bytes / secs / 1048576.0, no.count / secs,
	       (unsigned long long)re.count, cb.count / secs,
	       cb.count ? vt_fmt_ns(p99, sizeof(p99), vt_hist_percentile(cb.hist, 99)) : "-",
	       pi.count / secs, pi.bytes / secs, up.count / secs,
	       (unsigned long long)(un.errors + pi.errors), (unsigned long long)pi.einval,
	       (unsigned long long)rg.count, (unsigned long long)ur.count,
	       (unsigned long long)td.count, td.bytes / 1048576.0);
	vt_out_check();
}

void vt_stat_interval(const struct vt_snapshot *d, double secs, time_t when, bool json, uint64_t n)
{
	if (json) {
		json_object *o = vt_report_json(d, secs, NULL);

		json_object_object_add(o, "type", json_object_new_string("interval"));
		vt_json_print(stdout, o, false);
		json_object_put(o);
		return;
	}
	if (n && n % 20 == 0)
		vt_stat_header();
	print_line(d, secs, when);
}

static void print_total_text(const struct vt_snapshot *s, double secs)
{
	int ops[VT_OP_MAX], nops = 0;
	char a[16], b[16], c[16];

	/* the container ops, then the device ops, in the table's order */
	nops = vt_ops_with(VT_OPF_CONTAINER, ops);
	nops += vt_ops_with(VT_OPF_DEVICE, ops + nops);
	printf("\ntotals over %.1f s\n%-12s %10s %8s %14s %10s %10s %10s\n", secs, "OP", "COUNT",
	       "ERRORS", "BYTES/PAGES", "P50", "P99", "MAX");
	for (int i = 0; i < nops; i++) {
		struct vtr_stat st;

		sum(s, ops[i], &st);
		printf("%-12s %10llu %8llu %14llu %10s %10s %10s\n", vt_op_name(ops[i]),
		       (unsigned long long)st.count, (unsigned long long)st.errors,
		       (unsigned long long)st.bytes,
		       vt_fmt_ns(a, sizeof(a), vt_hist_percentile(st.hist, 50)),
		       vt_fmt_ns(b, sizeof(b), vt_hist_percentile(st.hist, 99)),
		       vt_fmt_ns(c, sizeof(c), st.lat_max));
		if (ops[i] == VT_OP_TEARDOWN && st.count)
			printf("%-12s %10llu vfio_dma removed at teardown (no UNMAP_DMA)\n", "",
			       (unsigned long long)st.items);
	}
	for (int i = 0; i < VT_LOSS_MAX; i++)
		if (s->losses[i])
			printf("lost: %s %llu\n", vt_loss_name(i),
			       (unsigned long long)s->losses[i]);
}

void vt_stat_total(const struct vt_snapshot *s, double secs, const char *not_traced, bool json)
{
	if (json) {
		json_object *o = vt_report_json(s, secs, not_traced);

		vt_json_print(stdout, o, false);
		json_object_put(o);
	} else {
		print_total_text(s, secs);
	}
}

int cmd_stat(int argc, char **argv)
{
	struct vt_cli cli = {};
	struct vt_tracer_opts topts = {};
	struct vt_tracer *t;
	struct vt_snapshot prev = {}, cur, d;
	uint64_t start, n = 0;
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_DEVICE | VT_CLI_INTERVAL | VT_CLI_STORM |
				  VT_CLI_SYSLOG,
			  stat_usage, &cli);
	if (rc >= 0)
		return rc;
	vt_install_signals();
	if (cmd_tracer_open(&cli, &topts, &t))
		return VT_EXIT_FAIL;
	start = vt_now_ns();
	vt_tracer_snapshot(t, &prev);
	if (!cli.json)
		vt_stat_header();
	while (vt_tracer_wait(t, vt_now_ns() + (uint64_t)(cli.interval * 1e9))) {
		double secs;

		secs = (vt_now_ns() - prev.ts) / 1e9;
		vt_tracer_snapshot(t, &cur);
		vt_snapshot_diff(&cur, &prev, &d);
		/* the diff, not the cumulative snapshots: a device learned later keeps its past */
		vt_snapshot_filter(&d, &cli.filter);
		vt_stat_interval(&d, secs, time(NULL), cli.json, n);
		vt_snapshot_free(&d);
		vt_snapshot_free(&prev);
		prev = cur;
		if (cli.count && ++n >= cli.count)
			break;
	}
	/* Callbacks attached late are still registered; drain what the ring holds. */
	vt_tracer_drain(t);
	if (vt_stop == VT_STOP_OUTPUT) {
		/* the reader left: nothing to print, no snapshot to read */
		goto out;
	}
	vt_tracer_snapshot(t, &cur);
	vt_snapshot_filter(&cur, &cli.filter);
	vt_stat_total(&cur, (vt_now_ns() - start) / 1e9, vt_tracer_missing(t), cli.json);
	vt_snapshot_free(&cur);
out:
	vt_snapshot_free(&prev);
	vt_tracer_close(t);
	if (vt_stop_ns)
		vt_dbg("detached: %.3f s after the stop", (vt_now_ns() - vt_stop_ns) / 1e9);
	return vt_exit_code(VT_EXIT_OK);
}
