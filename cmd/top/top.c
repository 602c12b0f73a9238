// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace top [interval [count]]: a live view per container+process and per device,
 * like kvm_stat. The kernel aggregates everything; every interval this reads the maps once
 * (vt_tracer_snapshot) and diffs, so its cost does not grow with the event rate. The tables
 * are view.c (sorted by sort.c), the screen and its keys screen.c, the JSON rates rates.c;
 * this file is the loop: terminal (ncurses), batch text, or JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curses.h>
#include "trace.h"
#include "report.h"
#include "view.h"
#include "cli.h"
#include "cmd.h"

static const char top_usage[] =
	"usage: vfio-trace top [-b] [-j] [-p PID[,PID...]] [--vm NAME] [-d DEVICE] [-s KEY] [--kprobe]\n"
	"                      [--phases] [interval [count]]\n"
	"  Live view of the VFIO DMA-unmap path per container+process and per device, refreshed\n"
	"  every interval (default 1 s); after count refreshes it exits.\n"
	"  -b, --batch        plain text, one block per interval (the default when stdout is not\n"
	"                     a terminal), and the totals at exit\n"
	"  -j, --json         one JSON document per interval ({\"type\":\"interval\"}), then one\n"
	"                     {\"type\":\"total\"} document at exit\n"
	"  -p, --pid PID,...  only operations caused by these processes (-p may repeat)\n"
	"  --vm NAME          only operations caused by the QEMU whose -name is NAME\n"
	"  -d, --device NAME  only this device (dev_name: PCI address, mdev UUID) and its container\n"
	"  -s, --sort KEY     unmaps (default), bytes, notifies, callbacks, p99, pins, errors\n"
	"  --phases           also where vfio_unmap_unpin's time goes per process: GiB/s, %% in\n"
	"                     IOMMU unmap, IOTLB flush, IOVA walk, unpinning, rest (stat's probes)\n"
	"  --kprobe           use kprobes even where fentry works\n"
	"  --backend B        bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE         kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold          never stop a driver module's loader (man vfio-trace)\n"
	"  keys: q quit, p pause, r reset, s/S sort key/reverse, z hide idle rows,\n"
	"        1-9 or +/- interval, h help\n" VT_CLI_ALERT_USAGE;

struct top {
	struct vt_cli cli;
	struct vt_tracer *t;
	struct vt_snapshot base, prev; /* the baseline (r resets it) and the last interval's end */
	uint64_t start;		       /* when tracing started */
	struct vt_view view;
	struct vt_view_ui ui;
	struct vt_ident_cache *ids; /* names of processes seen, kept after they exit (bounded) */
	char filter[VT_ESC_SIZE(128)];
	/* terminal mode: stderr goes into a pipe while ncurses owns the screen */
	int err_rd, saved_stderr;
	char errlog[4096];
	size_t errlen;
	bool errlost;
	uint64_t ticks, msg_tick; /* a status message stays for two refreshes */
};

/* A device event comes from a process that is in open()/close() of a device fd, so alive:
 * name it now, as it may be gone by the next interval (a short-lived process). */
static void on_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct top *tp = ctx;
	const struct vtr_proc *pr = lifecycle ? vt_event_proc(e) : NULL;
	struct vt_ident *id;
	char comm[32], vm[64];

	if (pr) { /* its command line, read by the kernel side: it may be gone already */
		id = vt_ident_find(tp->ids, pr->e.tgid);
		if (id && id->start == pr->start)
			return;
		vt_event_proc_ident(pr, comm, sizeof(comm), vm, sizeof(vm));
		vt_ident_put(tp->ids, pr->e.tgid, pr->start, comm, vm);
	} else if (lifecycle && e->tgid) {
		vt_ident_get(tp->ids, e->tgid, comm, sizeof(comm), vm, sizeof(vm));
	}
}

/* comm and VM name: read once per process (lib/report.c's cache checks its start time every
 * interval); a process that exited keeps the name it had while it ran. */
static void name_procs(struct top *tp, struct vt_view *v)
{
	for (size_t i = 0; i < v->nprocs; i++) {
		struct vt_view_proc *p = &v->procs[i];

		vt_ident_get(tp->ids, p->tgid, p->comm, sizeof(p->comm), p->vm, sizeof(p->vm));
	}
}

static int snap(struct top *tp, struct vt_snapshot *s)
{
	if (vt_tracer_snapshot(tp->t, s)) {
		vt_err("cannot read the BPF maps: %s", strerror(ENOMEM));
		return -1;
	}
	vt_snapshot_filter(s, &tp->cli.filter);
	return 0;
}

/*
 * One interval: snapshot, diff against the previous one and the baseline, build the view.
 * iv_out (may be NULL) receives the interval's diff for the JSON document.
 */
static int tick(struct top *tp, struct vt_snapshot *iv_out, double *secs_out)
{
	struct vt_snapshot cur, iv, tot;
	double secs, tot_secs;
	int rc = -1;

	if (snap(tp, &cur))
		return -1;
	secs = (cur.ts - tp->prev.ts) / 1e9;
	tot_secs = (cur.ts - tp->base.ts) / 1e9;
	if (vt_snapshot_diff(&cur, &tp->prev, &iv) || vt_snapshot_diff(&cur, &tp->base, &tot)) {
		vt_err("out of memory");
		goto out;
	}
	vt_view_free(&tp->view);
	if (vt_view_build(&tp->view, &iv, secs, &tot, tot_secs, &cur)) {
		vt_err("out of memory");
		goto out;
	}
	name_procs(tp, &tp->view);
	vt_view_sort(&tp->view, tp->ui.sort, tp->ui.reverse);
	rc = 0;
out:
	vt_snapshot_free(&tot);
	if (!rc && iv_out) {
		*iv_out = iv;
		*secs_out = secs;
	} else {
		vt_snapshot_free(&iv);
	}
	vt_snapshot_free(&tp->prev);
	tp->prev = cur;
	return rc;
}

/* Wait until deadline (monotonic ns), handling ring-buffer events in <= 100 ms slices so a
 * new device's dma_unmap callback is attached within 100 ms of its registration. */
static void wait_until(struct top *tp, uint64_t deadline)
{
	while (!vt_stop && !vt_out_gone()) {
		uint64_t now = vt_now_ns(), left;

		if (now >= deadline)
			break;
		left = (deadline - now) / 1000000;
		vt_tracer_poll(tp->t, left > 100 ? 100 : (int)left + 1);
	}
}

/* ---- batch text --------------------------------------------------------------------------- */

static void print_tables(const struct vt_view *v, bool counts, double secs)
{
	char line[VT_VIEW_LINE];
	struct vt_view_widths w;

	vt_view_widths(v, &w);
	vt_view_proc_header(line, sizeof(line), counts, &w);
	printf("\n%s\n", line);
	for (size_t i = 0; i < v->nprocs; i++) {
		const struct vt_view_proc *p = &v->procs[i];

		vt_view_proc_line(line, sizeof(line), p, counts ? &p->tot : &p->iv, secs, &w);
		printf("%s\n", line);
	}
	if (!v->nprocs)
		printf("  (no VFIO container activity)\n");
	vt_view_dev_header(line, sizeof(line), counts, &w);
	printf("\n%s\n", line);
	for (size_t i = 0; i < v->ndevs; i++) {
		const struct vt_view_dev *d = &v->devs[i];

		vt_view_dev_line(line, sizeof(line), d, counts ? &d->tot : &d->iv, secs, &w);
		printf("%s\n", line);
	}
	if (!v->ndevs)
		printf("  (no device seen)\n");
	if (!vt_view_has_phases(v))
		return; /* no --phases, or no vfio_unmap_unpin yet */
	vt_view_phase_header(line, sizeof(line), &w);
	printf("\n%s\n", line);
	for (size_t i = 0; i < v->nprocs; i++) {
		const struct vt_view_proc *p = &v->procs[i];

		if (!vt_view_proc_has_phases(&p->tot))
			continue;
		vt_view_phase_line(line, sizeof(line), p, counts ? &p->tot : &p->iv, &w);
		printf("%s\n", line);
	}
}

void vt_top_print_block(const struct vt_view *v, const char *not_traced, const char *filter,
			int sort, bool reverse, bool final, time_t when)
{
	char sum[5][VT_VIEW_LINE], tbuf[64];
	int n;

	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S %z", localtime(&when));
	if (final)
		printf("\n=== %s  totals over %.1f s%s%s ===\n", tbuf, v->tot_secs,
		       filter[0] ? "  " : "", filter);
	else
		printf("\n=== %s  interval %.2f s  sort %s%s%s%s ===\n", tbuf, v->secs,
		       vt_sort_name(sort), reverse ? " (ascending)" : "", filter[0] ? "  " : "",
		       filter);
	n = vt_view_summary(v, not_traced, sum, 5);
	for (int i = 0; i < n; i++)
		if (!final || i != 2) /* the final block: no "last interval" row */
			printf("%s\n", sum[i]);
	print_tables(v, final, final ? 0 : v->secs);
	vt_out_check();
}

static void print_block(struct top *tp, bool final)
{
	vt_top_print_block(&tp->view, vt_tracer_missing(tp->t), tp->filter, tp->ui.sort,
			   tp->ui.reverse, final, time(NULL));
}

/* vt_report_json() names processes from /proc: one that already exited is "?" there, but
 * top may have seen it alive (a device event, an earlier interval). */
static void name_json(struct top *tp, json_object *doc)
{
	json_object *a, *c, *pid, *comm;

	if (!json_object_object_get_ex(doc, "containers", &a))
		return;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct vt_ident *id;

		c = json_object_array_get_idx(a, i);
		if (!json_object_object_get_ex(c, "pid", &pid) ||
		    !json_object_object_get_ex(c, "comm", &comm) ||
		    strcmp(json_object_get_string(comm), "?"))
			continue;
		id = vt_ident_find(tp->ids, json_object_get_int64(pid));
		if (!id || !id->comm[0])
			continue;
		json_object_object_add(c, "comm", json_object_new_string(id->comm));
		json_object_object_add(c, "vm", id->vm[0] ? json_object_new_string(id->vm) : NULL);
	}
}

void vt_top_print_json(json_object *o, const char *type, time_t when)
{
	char tbuf[64];

	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S%z", localtime(&when));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "time", json_object_new_string(tbuf));
	vt_json_print(stdout, o, false);
	json_object_put(o);
}

static void print_json(json_object *o, const char *type)
{
	vt_top_print_json(o, type, time(NULL));
}

static int run_plain(struct top *tp)
{
	uint64_t n = 0, deadline = vt_now_ns();
	struct vt_snapshot cur, tot;

	while (!vt_stop) {
		struct vt_snapshot iv;
		double secs;

		deadline += (uint64_t)(tp->ui.interval * 1e9);
		if (deadline < vt_now_ns()) /* a slow interval: no burst of catch-up ones */
			deadline = vt_now_ns() + (uint64_t)(tp->ui.interval * 1e9);
		wait_until(tp, deadline);
		if (vt_stop)
			break;
		if (tick(tp, tp->cli.json ? &iv : NULL, &secs))
			return VT_EXIT_FAIL;
		if (tp->cli.json) {
			json_object *o = vt_report_json(&iv, secs, vt_tracer_missing(tp->t));

			vt_view_json_rates(o, &iv, secs);
			vt_view_json_phases(o, &iv);
			name_json(tp, o);
			print_json(o, "interval");
			vt_snapshot_free(&iv);
		} else {
			print_block(tp, false);
		}
		if (tp->cli.count && ++n >= tp->cli.count)
			break;
	}
	if (vt_stop == VT_STOP_OUTPUT)
		return VT_EXIT_OK; /* the reader left */
	/* The totals since start: drain the lifecycle ring, read the maps once more. */
	vt_tracer_drain(tp->t);
	if (snap(tp, &cur))
		return VT_EXIT_FAIL;
	if (vt_snapshot_diff(&cur, &tp->base, &tot)) {
		vt_snapshot_free(&cur);
		return VT_EXIT_FAIL;
	}
	if (tp->cli.json) {
		json_object *o = vt_report_json(&tot, (cur.ts - tp->base.ts) / 1e9,
						vt_tracer_missing(tp->t));

		vt_view_json_phases(o, &tot);
		name_json(tp, o);
		print_json(o, "total");
	} else {
		vt_view_free(&tp->view);
		if (!vt_view_build(&tp->view, &tot, (cur.ts - tp->prev.ts) / 1e9, &tot,
				   (cur.ts - tp->base.ts) / 1e9, &cur)) {
			name_procs(tp, &tp->view);
			vt_view_sort(&tp->view, tp->ui.sort, tp->ui.reverse);
			print_block(tp, true);
		}
	}
	vt_snapshot_free(&tot);
	vt_snapshot_free(&cur);
	return VT_EXIT_OK;
}

/* ---- terminal ------------------------------------------------------------------------------ */

/* The loader reports callbacks it attaches on stderr; on the screen that would tear the
 * tables, so while ncurses runs stderr is a pipe shown in the status line and replayed on
 * the real stderr afterwards. */
static int capture_stderr(struct top *tp)
{
	int p[2];

	tp->err_rd = tp->saved_stderr = -1;
	if (pipe(p))
		return -1;
	fflush(stderr);
	tp->saved_stderr = dup(STDERR_FILENO);
	if (tp->saved_stderr < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		if (tp->saved_stderr >= 0)
			close(tp->saved_stderr);
		tp->saved_stderr = -1;
		return -1;
	}
	close(p[1]);
	/* A full pipe drops a message rather than blocking the tracer. */
	fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	tp->err_rd = p[0];
	return 0;
}

static void drain_stderr(struct top *tp)
{
	char buf[1024];
	ssize_t n;

	while (tp->err_rd >= 0 && (n = read(tp->err_rd, buf, sizeof(buf) - 1)) > 0) {
		char *last, *end;

		buf[n] = 0;
		if (tp->errlen + n <= sizeof(tp->errlog)) {
			memcpy(tp->errlog + tp->errlen, buf, n);
			tp->errlen += n;
		} else {
			tp->errlost = true;
		}
		/* the last complete line goes to the status line */
		end = buf + n;
		while (end > buf && end[-1] == '\n')
			*--end = 0;
		last = strrchr(buf, '\n');
		last = last ? last + 1 : buf;
		if (!strncmp(last, vt_prog, strlen(vt_prog)) && last[strlen(vt_prog)] == ':')
			last += strlen(vt_prog) + 2;
		if (*last) {
			char *m = vt_esc_lines(last, strlen(last));

			snprintf(tp->ui.msg, sizeof(tp->ui.msg), "%s", m ? m : "");
			free(m);
			tp->msg_tick = tp->ticks;
		}
	}
}

static void restore_stderr(struct top *tp)
{
	if (tp->saved_stderr < 0)
		return;
	drain_stderr(tp);
	fflush(stderr);
	dup2(tp->saved_stderr, STDERR_FILENO);
	close(tp->saved_stderr);
	close(tp->err_rd);
	tp->saved_stderr = tp->err_rd = -1;
	/* What was said while the screen ran, every line escaped (libbpf's text included) */
	if (tp->errlen) {
		char *esc = vt_esc_lines(tp->errlog, tp->errlen);

		if (esc)
			fputs(esc, stderr);
		free(esc);
	}
	if (tp->errlost)
		fprintf(stderr, "%s: (more messages were dropped)\n", vt_prog);
}

static void new_baseline(struct top *tp)
{
	struct vt_snapshot s, copy, iv;

	if (snap(tp, &s))
		return;
	if (vt_snapshot_copy(&s, &copy)) {
		vt_snapshot_free(&s);
		snprintf(tp->ui.msg, sizeof(tp->ui.msg), "reset failed: out of memory");
		return;
	}
	vt_snapshot_free(&tp->base);
	vt_snapshot_free(&tp->prev);
	tp->base = s;
	tp->prev = copy;
	/* Until the next interval: the tables with every row at zero. */
	if (!vt_snapshot_diff(&s, &s, &iv)) {
		vt_view_free(&tp->view);
		vt_view_build(&tp->view, &iv, 0, &iv, 0, &s);
		name_procs(tp, &tp->view);
		vt_snapshot_free(&iv);
	}
}

static int run_tty(struct top *tp)
{
	uint64_t n = 0, deadline;
	SCREEN *scr;
	int rc = VT_EXIT_OK;
	bool redraw = true;

	if (capture_stderr(tp))
		return run_plain(tp);
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		restore_stderr(tp);
		vt_warn("cannot drive this terminal (TERM=%s): plain text instead",
			getenv("TERM") ? getenv("TERM") : "");
		return run_plain(tp);
	}
	set_escdelay(25);
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	snprintf(tp->ui.msg, sizeof(tp->ui.msg), "first refresh in %gs", tp->ui.interval);
	deadline = vt_now_ns() + (uint64_t)(tp->ui.interval * 1e9);
	while (!vt_stop) {
		uint64_t now = vt_now_ns(), left;
		int ch;

		left = now < deadline ? (deadline - now) / 1000000 : 0;
		vt_tracer_poll(tp->t, left > 100 ? 100 : (int)left);
		drain_stderr(tp);
		while ((ch = getch()) != ERR) {
			int f = vt_view_key(&tp->ui, ch);

			if (f & VT_UI_QUIT)
				goto out;
			if (f & VT_UI_RESET)
				new_baseline(tp);
			if (f & VT_UI_RESUME) {
				struct vt_snapshot s;

				if (!snap(tp, &s)) { /* the paused stretch is not an interval */
					vt_snapshot_free(&tp->prev);
					tp->prev = s;
				}
				deadline = vt_now_ns() + (uint64_t)(tp->ui.interval * 1e9);
			}
			if (f & VT_UI_RETIME)
				deadline = tp->prev.ts + (uint64_t)(tp->ui.interval * 1e9);
			redraw |= f & VT_UI_REDRAW;
			tp->msg_tick = tp->ticks;
		}
		if (vt_now_ns() >= deadline) {
			if (!tp->ui.paused) {
				if (tick(tp, NULL, NULL)) {
					rc = VT_EXIT_FAIL;
					break;
				}
				if (++tp->ticks - tp->msg_tick > 2 ||
				    !strncmp(tp->ui.msg, "first", 5))
					tp->ui.msg[0] = 0;
				redraw = true;
				n++;
			}
			deadline += (uint64_t)(tp->ui.interval * 1e9);
			if (deadline < vt_now_ns())
				deadline = vt_now_ns() + (uint64_t)(tp->ui.interval * 1e9);
		}
		if (redraw) {
			vt_view_sort(&tp->view, tp->ui.sort, tp->ui.reverse);
			vt_view_draw(&tp->view, &tp->ui, vt_tracer_missing(tp->t), tp->filter);
			refresh();
			redraw = false;
		}
		if (tp->cli.count && n >= tp->cli.count)
			break;
	}
out:
	endwin();
	delscreen(scr);
	restore_stderr(tp);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	struct top tp = { .saved_stderr = -1, .err_rd = -1 };
	struct vt_tracer_opts topts = {};
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_DEVICE | VT_CLI_INTERVAL | VT_CLI_BATCH |
				  VT_CLI_SORT | VT_CLI_STORM | VT_CLI_SYSLOG | VT_CLI_PHASES,
			  top_usage, &tp.cli);
	if (rc >= 0)
		return rc;
	if (tp.cli.sort) {
		tp.ui.sort = vt_sort_parse(tp.cli.sort);
		if (tp.ui.sort < 0) {
			vt_err("unknown sort key '%s' (one of: %s)", tp.cli.sort, vt_sort_names());
			return VT_EXIT_USAGE;
		}
	}
	tp.ui.interval = tp.cli.interval;
	vt_filter_desc(&tp.cli.filter, tp.filter, sizeof(tp.filter));

	tp.ids = calloc(1, sizeof(*tp.ids));
	if (!tp.ids) {
		vt_err("out of memory");
		return VT_EXIT_FAIL;
	}
	vt_install_signals();
	/* what the view shows: pins counted, not timed; no per-vfio_dma probes unless the phases
	 * are asked for (stat's programs: vfio_unmap_unpin and its phases) */
	topts.no_detail = !tp.cli.phases;
	topts.on_event = on_event; /* device events only: snoop stays off */
	topts.ctx = &tp;
	if (cmd_tracer_open(&tp.cli, &topts, &tp.t)) {
		free(tp.ids);
		return VT_EXIT_FAIL;
	}
	tp.start = vt_now_ns();
	if (snap(&tp, &tp.prev) || vt_snapshot_copy(&tp.prev, &tp.base)) {
		rc = VT_EXIT_FAIL;
		goto out;
	}
	if (!tp.cli.json && !tp.cli.batch && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		rc = run_tty(&tp);
	else
		rc = run_plain(&tp);
out:
	vt_view_free(&tp.view);
	vt_snapshot_free(&tp.prev);
	vt_snapshot_free(&tp.base);
	free(tp.ids);
	vt_tracer_close(tp.t);
	return vt_exit_code(rc);
}
