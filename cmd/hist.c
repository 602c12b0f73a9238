// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace hist: latency histograms of unmaps, per-vfio_dma removals, notifies, each
 * device's dma_unmap callbacks and pins, read from the in-kernel log-linear histograms.
 */
#include <inttypes.h>
#include <string.h>
#include "trace.h"
#include "report.h"
#include "cli.h"
#include "cmd.h"

static const char hist_usage[] =
	"usage: vfio-trace hist [-j] [-p PID[,PID...]] [--vm NAME] [-d DEVICE] [--kprobe]\n"
	"                       [interval [count]]\n"
	"  Latency histograms: unmap, remove_dma, unmap_unpin, notify, pin, unpin, and the\n"
	"  dma_unmap callback per device. Without interval: until Ctrl-C/SIGTERM, then print.\n"
	"  With interval: print every interval (the interval's own samples), count times.\n"
	"  -j, --json         one JSON document per print\n"
	"  -p, --pid PID,...  only operations caused by these processes (-p may repeat)\n"
	"  --vm NAME          only operations caused by the QEMU whose -name is NAME\n"
	"  -d, --device NAME  only this device's callback histogram\n"
	"  --kprobe           use kprobes even where fentry works\n"
	"  --backend B        bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE         kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold          never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

/* Text: one row per power of two (the sub-buckets summed), libbpf-tools style. */
static void print_text(const char *title, const struct vtr_stat *st)
{
	uint64_t rows[VT_HIST_OCTAVES + 1] = { 0 }, top = 0;
	int first = -1, last = -1;
	char a[16], b[16], c[16];

	for (int s = 0; s < VT_HIST_SLOTS; s++) {
		int o = s < VT_HIST_SUB ? (int)vt_log2(s ? s : 1) :
					  s / VT_HIST_SUB + VT_HIST_SUB_BITS - 1;

		rows[o] += st->hist[s];
	}
	for (int o = 0; o <= VT_HIST_OCTAVES; o++) {
		if (!rows[o])
			continue;
		if (first < 0)
			first = o;
		last = o;
		if (rows[o] > top)
			top = rows[o];
	}
	printf("\n%s: %" PRIu64 " ops, p50 %s, p99 %s, max %s\n", title, (uint64_t)st->count,
	       vt_fmt_ns(a, sizeof(a), vt_hist_percentile(st->hist, 50)),
	       vt_fmt_ns(b, sizeof(b), vt_hist_percentile(st->hist, 99)),
	       vt_fmt_ns(c, sizeof(c), st->lat_max));
	if (first < 0)
		return;
	printf("%24s : %-10s distribution\n", "latency", "count");
	for (int o = first; o <= last; o++) {
		int stars = (int)(rows[o] * 40 / top);

		/* Each row is one power of two of nanoseconds, labelled in the unit that reads. */
		printf("%10s -> %-10s : %-10" PRIu64 " |%-40.*s|\n",
		       vt_fmt_ns(a, sizeof(a), o ? 1ULL << o : 0),
		       vt_fmt_ns(b, sizeof(b), 1ULL << (o + 1)), rows[o], stars,
		       "****************************************");
	}
}

static json_object *hist_json(const char *name, const char *device, const struct vtr_stat *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "device", device ? json_object_new_string(device) : NULL);
	json_object_object_add(o, "count", json_object_new_uint64(st->count));
	json_object_object_add(o, "latency_ns", vt_json_latency(st, true));
	return o;
}

void vt_hist_print(const struct vt_snapshot *s, const struct vt_cli *cli, double secs)
{
	int ops[VT_OP_MAX], nops = vt_ops_with(VT_OPF_HIST, ops);
	json_object *doc = NULL, *arr = NULL;
	struct vtr_stat st;

	if (cli->json) {
		doc = json_object_new_object();
		arr = json_object_new_array();
		json_object_object_add(doc, "type", json_object_new_string("hist"));
		json_object_object_add(doc, "seconds", json_object_new_double(secs));
	}
	for (int i = 0; i < nops; i++) {
		if (cli->filter.device)
			break;
		vt_snapshot_sum(s, ops[i], 0, 0, &st);
		if (cli->json)
			json_object_array_add(arr, hist_json(vt_op_name(ops[i]), NULL, &st));
		else
			print_text(vt_op_name(ops[i]), &st);
	}
	for (size_t i = 0; i < s->ndevs; i++) {
		const struct vt_dev *d = &s->devs[i];
		char title[VT_ESC_SIZE(sizeof(d->d.name) + sizeof(d->d.driver)) + 16];
		char name[VT_ESC_SIZE(sizeof(d->d.name))], drv[VT_ESC_SIZE(sizeof(d->d.driver))];

		vt_snapshot_sum(s, VT_OP_CALLBACK, d->vdev, 0, &st);
		if (!d->d.dma_unmap)
			continue;
		snprintf(title, sizeof(title), "callback %s (%s)",
			 vt_esc(name, sizeof(name), d->d.name, sizeof(d->d.name)),
			 vt_esc(drv, sizeof(drv), d->d.driver, sizeof(d->d.driver)));
		if (cli->json)
			json_object_array_add(arr, hist_json("callback", d->d.name, &st));
		else
			print_text(title, &st);
	}
	if (cli->json) {
		json_object_object_add(doc, "histograms", arr);
		vt_json_print(stdout, doc, false);
		json_object_put(doc);
	}
	vt_out_check();
}

int cmd_hist(int argc, char **argv)
{
	struct vt_cli cli = {};
	struct vt_tracer_opts topts = {};
	struct vt_tracer *t;
	struct vt_snapshot prev = {}, cur, d;
	uint64_t n = 0;
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_DEVICE | VT_CLI_INTERVAL | VT_CLI_STORM |
				  VT_CLI_SYSLOG,
			  hist_usage, &cli);
	if (rc >= 0)
		return rc;
	vt_install_signals();
	if (cmd_tracer_open(&cli, &topts, &t))
		return VT_EXIT_FAIL;
	vt_tracer_snapshot(t, &prev);
	/* Without an interval, wait for the stop signal. */
	while (vt_tracer_wait(t, cli.have_interval ? vt_now_ns() + (uint64_t)(cli.interval * 1e9) :
						     UINT64_MAX)) {
		vt_tracer_snapshot(t, &cur);
		vt_snapshot_diff(&cur, &prev, &d);
		vt_snapshot_filter(&d, &cli.filter);
		vt_hist_print(&d, &cli, (cur.ts - prev.ts) / 1e9);
		vt_snapshot_free(&d);
		vt_snapshot_free(&prev);
		prev = cur;
		if (cli.count && ++n >= cli.count)
			break;
	}
	/* Without an interval, one print at the end; with one, the partial last interval. */
	if ((!cli.have_interval || vt_stop) && vt_stop != VT_STOP_OUTPUT) {
		vt_tracer_drain(t);
		vt_tracer_snapshot(t, &cur);
		vt_snapshot_diff(&cur, &prev, &d);
		vt_snapshot_filter(&d, &cli.filter);
		vt_hist_print(&d, &cli, (cur.ts - prev.ts) / 1e9);
		vt_snapshot_free(&d);
		vt_snapshot_free(&cur);
	}
	vt_snapshot_free(&prev);
	vt_tracer_close(t);
	return vt_exit_code(VT_EXIT_OK);
}
