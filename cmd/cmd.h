/* SPDX-License-Identifier: GPL-2.0 */
/* One entry point per subcommand; main.c dispatches. */
#ifndef VT_CMD_H
#define VT_CMD_H

#include <time.h>
#include "trace.h"
#include "cli.h"

int cmd_doctor(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_snoop(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_hung(int argc, char **argv);
int cmd_locks(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* The tracer of snoop and record: the event ring on (and the lock events with --locks), each
 * event to on_event(ctx). One PID: the kernel drops the others' events before the ring; the
 * command's own match decides in every case. */
static inline void
cmd_events_opts(const struct vt_cli *cli, struct vt_tracer_opts *o,
		void (*on_event)(void *ctx, const struct vtr_event *e, bool lifecycle), void *ctx)
{
	o->snoop = true;
	o->locks = cli->locks;
	o->tgid = cli->filter.npids == 1 ? cli->filter.pids[0] : 0;
	o->ringbuf_pages = cli->ringbuf_pages;
	o->on_event = on_event;
	o->ctx = ctx;
}

/* stat's output (cmd/stat.c), live and from a recording (cmd/report.c): the column header;
 * one interval (d, secs long, ended at wall time when; the n-th: a header every 20 lines), as
 * a line or a {"type":"interval"} document; the totals since the start, as a table or the
 * {"type":"total"} document. */
void vt_stat_header(void);
void vt_stat_interval(const struct vt_snapshot *d, double secs, time_t when, bool json, uint64_t n);
void vt_stat_total(const struct vt_snapshot *s, double secs, const char *not_traced, bool json);

/* snoop's output (cmd/snoop.c), live and from a recording: vt_snoop_event() is the tracer's
 * on_event (ctx: struct vt_snoop); the summary says how many were shown and dropped. */
/* The vfio_unmap_unpin time of one thread since its last unmap or teardown line, and its
 * phases (vt_phase_ops): what snoop appends to that line. */
#define VT_SNOOP_THREADS 64
struct vt_snoop_thread {
	uint32_t tid;
	uint64_t used; /* when last added to (a sequence number): the oldest is reused */
	uint64_t ns[VT_PHASE_OPS];
	uint64_t unmap_unpins;
};

struct vt_snoop {
	struct vt_cli cli;
	uint64_t start_ns; /* event times are relative to it */
	uint64_t shown;
	uint64_t *containers; /* display ids c1, c2, ... in first-seen order */
	int ncontainers, capcontainers;
	struct vt_snoop_thread threads[VT_SNOOP_THREADS];
	uint64_t seq;
};
void vt_snoop_header(const struct vt_snoop *s);
void vt_snoop_event(void *ctx, const struct vtr_event *e, bool lifecycle);
void vt_snoop_summary(const struct vt_snoop *s, const uint64_t lost[VT_LOSS_MAX]);

/* locks' output (cmd/locks.c), live and from a recording: the table of s (secs long), or its
 * {"type":type} document; sym(ctx, ...) names a stack frame (vt_tracer_ksym, vt_rec_ksym). */
typedef const char *(*vt_sym_fn)(void *ctx, uint64_t addr, char *buf, size_t len);
void vt_locks_print(const struct vt_snapshot *s, double secs, const char *type, bool json,
		    vt_sym_fn sym, void *ctx);

/* hist's output (cmd/hist.c), live and from a recording: the histograms of s (filtered
 * already), secs long, as text or one {"type":"hist"} document (cli->json). */
void vt_hist_print(const struct vt_snapshot *s, const struct vt_cli *cli, double secs);

/* report's views beyond stat, snoop and info (cmd/report_views.c): top, hist, locks of the
 * recording r between from and to (CLOCK_MONOTONIC ns; have_from: from counts). An exit
 * code, or -1 for a view it does not know. */
struct vt_recording;
int cmd_report_view(const char *view, const struct vt_recording *r, const struct vt_cli *cli,
		    uint64_t from, uint64_t to);

/* The alerts of a tracing command (lib/storm.h): the storm settings and filter of its
 * options, the JSON records in its -j stream, syslog with --syslog. */
static inline void cmd_alert_opts(struct vt_cli *cli, struct vt_tracer_opts *o)
{
	o->storm = cli->storm;
	o->storm_filter = &cli->filter;
	o->alert_out.json_stdout = cli->json;
	o->alert_out.syslog = cli->syslog;
}

/* The tracer of a tracing command: o with what every command line may ask (--kprobe,
 * --no-hold, --backend, the alerts'; no count and no --duration: until_stopped);
 * vt_tracer_open()'s result. */
static inline int cmd_tracer_open(struct vt_cli *cli, struct vt_tracer_opts *o,
				  struct vt_tracer **t)
{
	o->force_kprobe = cli->kprobe;
	o->until_stopped = !cli->count && !cli->duration;
	o->no_hold = cli->no_hold;
	o->backend = (enum vt_backend_kind)cli->backend;
	o->btf_path = cli->btf_path;
	cmd_alert_opts(cli, o);
	return vt_tracer_open(t, o);
}

#endif
