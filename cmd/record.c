// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace record -o FILE: the tracer of stat and snoop, written to one file for later
 * (vfio-trace report, cmd/report.c): every event snoop would print and, every interval, the
 * cumulative totals stat reads, in blocks flushed at each interval (lib/record.c). With
 * --max-size, a flight recorder: only the newest data, in segment files; SIGUSR1 copies what
 * it keeps into a new complete file.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "trace.h"
#include "record.h"
#include "report.h"
#include "storm.h"
#include "cli.h"
#include "cmd.h"

static const char record_usage[] =
	"usage: vfio-trace record -o FILE [--duration S] [--interval S] [--max-size N] [--locks]\n"
	"                         [-p PID[,PID...]] [--vm NAME] [--ringbuf-pages N] [--kprobe]\n"
	"  Record events (what snoop shows) and totals (what stat shows) into FILE until\n"
	"  Ctrl-C/SIGTERM or --duration; vfio-trace report FILE shows them, on any machine.\n"
	"  SIGUSR1 copies what is recorded so far into FILE.<UTC time>, a complete recording.\n"
	"  -o, --output FILE     the recording (created or truncated)\n"
	"  --duration S          stop after S seconds of tracing\n"
	"  --max-size N          a flight recorder: keep only the newest data, FILE and its\n"
	"                        older segments FILE.1 to FILE.3 at most N bytes together\n"
	"                        (K, M, G suffixes; at least 64K)\n"
	"  --interval S          seconds between snapshots of the totals, each flushed to\n"
	"                        FILE (default 1)\n"
	"  --locks               also lock_hold, lock_wait and lock_drop events and the\n"
	"                        locks table (report FILE locks)\n"
	"  -p, --pid PID,...     only what these processes cause (-p may repeat)\n"
	"  --vm NAME             only what the QEMU whose -name is NAME causes\n"
	"  --ringbuf-pages N     event ring buffer size in pages (power of two, default 1024)\n"
	"  --kprobe              use kprobes even where fentry works\n"
	"  --backend B           bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE            kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold             never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

struct rec {
	struct vt_cli cli;
	struct vt_rec_writer *w;
	int err; /* the first write error (-errno) */
};

/* comm and VM name from /proc; ctx: the process's event being handled, if any. Its events
 * reach user space after it ran: a process that has exited since is named by the comm of the
 * thread of that event, and no VM name. Without an event (a snapshot's row, read before the
 * ring gave the process's first event) a process that has exited is left unnamed: its event,
 * still in the ring, names it. */
static bool name_proc(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	const struct vtr_event *e = ctx;

	char cmdline[4096];
	size_t n;

	vt_proc_ident(tgid, p->comm, sizeof(p->comm), p->vm, sizeof(p->vm));
	if (!strcmp(p->comm, "?")) {
		if (!e)
			return false;
		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)sizeof(e->comm), e->comm);
	}
	n = vt_proc_cmdline(tgid, cmdline, sizeof(cmdline));
	vt_qemu_vm_uuid(cmdline, n, p->uuid, sizeof(p->uuid));
	return true;
}

/* A process named from the command line the kernel side read at its first device
 * (VT_EV_PROC): what it was then, even if it has exited since. */
static bool name_from_cmdline(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	const struct vtr_proc *pr = ctx;

	vt_event_proc_ident(pr, p->comm, sizeof(p->comm), p->vm, sizeof(p->vm));
	vt_qemu_vm_uuid(pr->cmdline, pr->len, p->uuid, sizeof(p->uuid));
	return true;
}

/* Every event, and the name of its process at its first (a VM may be gone by the next
 * snapshot). */
static void on_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct rec *r = ctx;
	int rc;

	if (r->err || (!lifecycle && !vt_filter_proc(&r->cli.filter, e->tgid)))
		return;
	if (lifecycle && vt_event_proc(e)) { /* a name, not an event */
		rc = vt_rec_name(r->w, e->tgid, name_from_cmdline, (void *)vt_event_proc(e));
		if (rc)
			r->err = rc;
		return;
	}
	rc = vt_rec_event(r->w, e, lifecycle);
	if (!rc && !lifecycle)
		rc = vt_rec_name(r->w, e->tgid, name_proc, (void *)e);
	if (rc)
		r->err = rc;
}

/* Every alert into the file, as its JSON record (an ALERTS block, written at once). */
static void on_alert(void *ctx, json_object *a)
{
	struct rec *r = ctx;
	int rc;

	if (r->err)
		return;
	rc = vt_rec_alert(r->w,
			  json_object_to_json_string_ext(
				  a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (rc)
		r->err = rc;
}

struct method_count {
	char m[16]; /* the callback's string lives only for the call: copied */
	int n;
};

static void count_method(void *ctx, const char *name, const char *method, uint64_t run_ns,
			 uint64_t runs)
{
	struct method_count *c = ctx;
	int i = 0;

	while (c[i].m[0] && strncmp(c[i].m, method, sizeof(c[i].m) - 1))
		i++;
	if (i < 15) {
		snprintf(c[i].m, sizeof(c[i].m), "%s", method);
		c[i].n++;
	}
}

/* The recording's header block: what was recorded, where, how. */
static void fill_info(struct vt_rec_info *in, struct vt_tracer *t, const struct vt_cli *cli,
		      uint64_t start)
{
	struct method_count methods[16] = {};
	struct utsname u;
	struct timespec rt;
	char desc[256];
	size_t o = 0;

	snprintf(in->vt_version, sizeof(in->vt_version), "%s", VT_VERSION);
	if (!uname(&u)) {
		snprintf(in->kernel, sizeof(in->kernel), "%s", u.release);
		snprintf(in->host, sizeof(in->host), "%s", u.nodename);
	}
	vt_tracer_programs(t, count_method, methods);
	for (int i = 0; methods[i].m[0]; i++)
		o += snprintf(in->attach + o, o < sizeof(in->attach) ? sizeof(in->attach) - o : 0,
			      "%s%s %d", i ? ", " : "", methods[i].m, methods[i].n);
	snprintf(in->not_traced, sizeof(in->not_traced), "%s", vt_tracer_missing(t));
	snprintf(in->options, sizeof(in->options), "%s%s", cli->locks ? "locks " : "",
		 vt_filter_desc(&cli->filter, desc, sizeof(desc)));
	clock_gettime(CLOCK_REALTIME, &rt);
	/* the realtime clock at start: now, less the time since the monotonic start */
	in->start_real = (uint64_t)rt.tv_sec * 1000000000ull + rt.tv_nsec - (vt_now_ns() - start);
	in->start_mono = start;
	in->interval = cli->interval;
	vt_storm_desc(&cli->storm, in->storm, sizeof(in->storm));
}

static int snapshot(struct rec *r, struct vt_tracer *t)
{
	struct vt_snapshot s;
	int rc;

	if (vt_tracer_snapshot(t, &s))
		return -EIO;
	vt_snapshot_filter(&s, &r->cli.filter);
	rc = vt_rec_snapshot(r->w, &s, name_proc, NULL);
	vt_snapshot_free(&s);
	return rc;
}

static volatile sig_atomic_t dump_asked;

static void on_usr1(int sig)
{
	dump_asked = 1;
}

static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static const char *ksym(void *t, uint64_t addr, char *buf, size_t len)
{
	return vt_tracer_ksym(t, addr, buf, len);
}

/* SIGUSR1: the totals now, then everything kept into FILE.<UTC time> (FILE.<time>-2 ... when
 * one exists already). */
static int dump(struct rec *r, struct vt_tracer *t)
{
	char when[32], path[4200];
	time_t now = time(NULL);
	int rc = snapshot(r, t);

	if (rc)
		return rc; /* the recording's own write error */
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", gmtime(&now));
	for (int i = 1; i < 100; i++) { /* a second SIGUSR1 within the second: FILE.<time>-2 */
		if (i == 1)
			snprintf(path, sizeof(path), "%s.%s", r->cli.output, when);
		else
			snprintf(path, sizeof(path), "%s.%s-%d", r->cli.output, when, i);
		rc = vt_rec_dump(r->w, path, vt_now_ns());
		if (rc != -EEXIST)
			break;
	}
	if (!rc)
		fprintf(stderr, "%s: snapshot of the recording in %s\n", vt_prog, path);
	else /* the recording goes on: a dump that fails is not a write error of it */
		vt_warn("no snapshot of the recording (%s): %s", path, strerror(-rc));
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct rec r = {};
	struct vt_tracer_opts topts = {};
	struct vt_rec_info info = {};
	struct vt_tracer *t;
	uint64_t start, end = 0, nsnap = 0;
	const char *why = "stopped";
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_RINGBUF | VT_CLI_LOCKS | VT_CLI_RECORD |
				  VT_CLI_STORM | VT_CLI_SYSLOG,
			  record_usage, &r.cli);
	if (rc >= 0)
		return rc;
	if (!r.cli.output) {
		vt_err("which file? -o FILE is needed (see vfio-trace record --help)");
		return VT_EXIT_USAGE;
	}
	vt_install_signals();
	catch_usr1();
	/* A recorder is there to keep the events: a ring 16 times snoop's (4 MiB) */
	if (!r.cli.ringbuf_pages)
		r.cli.ringbuf_pages = 1024;
	cmd_events_opts(&r.cli, &topts, on_event, &r);
	topts.on_alert = on_alert;
	/* a long recording follows module reloads: a kprobe per function, not a kprobe_multi
	 * link, which would hold the modules (lib/loader.c) */
	topts.no_kprobe_multi = true;
	/* Events that arrive while attaching wait in the writer's buffer: the file is created
	 * (header block first) once the tracer says how it attached. */
	start = vt_now_ns();
	r.w = vt_rec_create(r.cli.output, r.cli.max_size);
	if (!r.w) {
		vt_err("cannot create %s: %s", r.cli.output, strerror(errno));
		return VT_EXIT_FAIL;
	}
	if (cmd_tracer_open(&r.cli, &topts, &t)) {
		vt_rec_close(r.w, vt_now_ns(), "failed");
		unlink(r.cli.output);
		return VT_EXIT_FAIL;
	}
	vt_rec_set_symbolizer(r.w, ksym, t);
	fill_info(&info, t, &r.cli, start);
	rc = vt_rec_start(r.w, &info);
	if (r.cli.duration) /* of tracing: attaching can take seconds on a slow machine */
		end = vt_now_ns() + (uint64_t)(r.cli.duration * 1e9);
	fprintf(stderr, "%s: recording to %s\n", vt_prog, r.cli.output);
	while (!rc && !r.err) {
		uint64_t next = vt_now_ns() + (uint64_t)(r.cli.interval * 1e9);
		bool stopped = false;

		if (end && next > end)
			next = end;
		/* in slices, to answer SIGUSR1 within 0.1 s */
		while (!rc && !stopped && vt_now_ns() < next) {
			uint64_t slice = vt_now_ns() + 100000000ull;

			stopped = !vt_tracer_wait(t, slice < next ? slice : next);
			if (dump_asked && !stopped) {
				dump_asked = 0;
				rc = dump(&r, t);
				nsnap += !rc;
			}
		}
		if (stopped)
			break;
		rc = snapshot(&r, t);
		nsnap++;
		if (end && vt_now_ns() >= end) {
			why = "duration";
			break;
		}
	}
	if (vt_stop)
		why = "signal";
	/* the events the rings still hold, then the final totals and the end marker */
	vt_tracer_drain(t);
	if (!rc && !r.err) {
		rc = snapshot(&r, t);
		nsnap++;
	}
	if (!rc)
		rc = r.err;
	fprintf(stderr, "%s: %llu events, %llu snapshots, %llu bytes in %s\n", vt_prog,
		(unsigned long long)vt_rec_events(r.w), (unsigned long long)nsnap,
		(unsigned long long)vt_rec_bytes(r.w), r.cli.output);
	if (r.cli.max_size)
		fprintf(stderr, "%s: %llu bytes kept (--max-size %llu)\n", vt_prog,
			(unsigned long long)vt_rec_kept_bytes(r.w),
			(unsigned long long)r.cli.max_size);
	if (vt_rec_close(r.w, vt_now_ns(), rc ? "write error" : why) && !rc)
		rc = -EIO;
	vt_tracer_close(t);
	if (rc == -EFBIG) {
		vt_err("--max-size %llu is too small: a segment (a quarter of it) cannot hold the "
		       "names and totals of this recording",
		       (unsigned long long)r.cli.max_size);
		return VT_EXIT_FAIL;
	}
	if (rc) {
		vt_err("writing %s: %s", r.cli.output, strerror(-rc));
		return VT_EXIT_FAIL;
	}
	return VT_EXIT_OK;
}
