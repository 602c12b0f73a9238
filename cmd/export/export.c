// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace export: top's programs and model, served to Prometheus (GET /metrics, plain
 * HTTP by libmicrohttpd in its own thread) and/or written for node_exporter's textfile
 * collector (DIR/vfio_trace.prom, replaced atomically). Every interval the snapshot's increase
 * is added to the series (lib/prom.c); a scrape renders them under the same lock, so a slow
 * or hostile client costs its own thread only: connections are limited and time out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <microhttpd.h>
#include "trace.h"
#include "report.h"
#include "hung.h"
#include "cmd.h"
#include "export.h"

#define EXPORT_DEFAULT_LISTEN "127.0.0.1:9826"

static const char export_usage[] =
	"usage: vfio-trace export [--listen ADDR:PORT] [--textfile DIR] [--interval S]\n"
	"                         [--forget S] [--max-series N] [--health S] [--detail]\n"
	"                         [--locks] [--kprobe] [--pin-modules] [--no-hold]\n"
	"  Metrics for Prometheus: GET http://ADDR:PORT/metrics (default " EXPORT_DEFAULT_LISTEN
	",\n"
	"  this host only; --listen 0.0.0.0:9826 for every interface), or DIR/vfio_trace.prom\n"
	"  for node_exporter's textfile collector (--textfile alone: no HTTP).\n"
	"  --interval S      seconds between updates (default 1)\n"
	"  --forget S        a VM's series go S seconds after it exits (default 300)\n"
	"  --max-series N    at most N series; operations beyond them are counted in\n"
	"                    vfio_trace_dropped_operations_total (default 10000)\n"
	"  --health S        every S seconds (default 10; 0: never) vfio-trace hung's picture:\n"
	"                    tasks waiting for container locks, the longest wait, deadlocks\n"
	"  --detail          stat's programs: per-vfio_dma removals, pin/unpin latency\n"
	"  --locks           container lock hold and wait times (costlier, as vfio-trace locks)\n"
	"  --kprobe          use kprobes even where fentry works\n"
	"  --backend B       bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE        kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --pin-modules     fentry on the VFIO modules' functions (cheaper per event, but\n"
	"                    they cannot be unloaded while export runs; by default they are\n"
	"                    probed by kprobe, and attached again when they are reloaded)\n"
	"  --no-hold         never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

/* ---- the interval ----------------------------------------------------------------------- */

/* The series key of a row; false when the row adds nothing (an exited process's). */
static bool row_key(struct export *x, const struct vt_snapshot *cur, const struct vt_row *r,
		    uint64_t now, struct vt_prom_key *k, bool *alive)
{
	const struct export_proc *p = NULL;

	memset(k, 0, sizeof(*k));
	k->op = r->key.op;
	*alive = true; /* work no process can be blamed for lives with the tracer */
	if (r->key.tgid) {
		p = export_proc_get(x, r->key.tgid, now);
		*alive = p && !p->gone_ns;
		if (!*alive && !r->st.count)
			return false;
	}
	if (p) {
		memcpy(k->vm, p->vm, sizeof(k->vm));
		memcpy(k->uuid, p->uuid, sizeof(k->uuid));
	}
	if (r->key.kind == VT_KIND_DEVICE) {
		const struct vt_dev *d = vt_snapshot_dev(cur, r->key.obj);

		if (d) {
			memcpy(k->device, d->d.name, sizeof(k->device));
			memcpy(k->driver, d->d.driver, sizeof(k->driver));
		}
	} else if (r->key.kind == VT_KIND_IOMMU_LOCK || r->key.kind == VT_KIND_DLIST_LOCK) {
		k->lock = r->key.kind;
	}
	return true;
}

static void add_prog(void *ctx, const char *name, const char *method, uint64_t run_ns,
		     uint64_t runs)
{
	struct vt_prom *p = ctx;
	struct vt_prom_prog *g;

	if (p->nprogs == p->progcap) {
		size_t cap = p->progcap ? 2 * p->progcap : 32;
		void *n = realloc(p->progs, cap * sizeof(*p->progs));

		if (!n)
			return;
		p->progs = n;
		p->progcap = cap;
	}
	g = &p->progs[p->nprogs++];
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->method, sizeof(g->method), "%s", method);
	g->run_ns = run_ns;
	g->runs = runs;
}

/* kernel.bpf_stats_enabled: the kernel counts programs' run time only while it is 1. */
static bool bpf_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 1;
}

static void update(struct export *x, struct vt_tracer *t, const struct vt_snapshot *cur,
		   const struct vt_snapshot *d)
{
	uint64_t now = vt_now_ns();

	x->tick++;
	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < d->n; i++) {
		struct vt_prom_key k;
		bool alive;

		if (row_key(x, cur, &d->rows[i], now, &k, &alive) &&
		    vt_prom_add(&x->prom, &k, &d->rows[i].st, alive, now) < 0)
			x->prom.dropped_ops += d->rows[i].st.count; /* out of memory */
	}
	vt_prom_forget(&x->prom, now);
	memcpy(x->prom.losses, cur->losses, sizeof(x->prom.losses));
	x->prom.untraced_ops = cur->untraced_ops;
	x->prom.untimed_ops = cur->untimed_ops;
	x->prom.nprogs = 0;
	x->prom.bpf_stats = bpf_stats_on();
	vt_tracer_programs(t, add_prog, &x->prom);
	x->ready = true;
	pthread_mutex_unlock(&x->lock);
}

static void on_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct export *x = ctx;

	/* A process registering a device is a VM starting: read its names now, while it surely
	 * runs, not at the next interval (a short one may be gone by then). Same thread as
	 * update(), which alone touches the process table. */
	if (lifecycle && e->op == VT_OP_REGISTER && e->tgid)
		export_proc_get(x, e->tgid, vt_now_ns());
	if (lifecycle && vt_event_proc(e)) /* it may be gone already: named all the same */
		export_proc_learn(x, vt_event_proc(e), vt_now_ns());
	if (lifecycle && e->op == VT_OP_RETRY) {
		pthread_mutex_lock(&x->lock);
		x->prom.retry_storms++;
		pthread_mutex_unlock(&x->lock);
	}
}

/* ---- the command ------------------------------------------------------------------------ */

int cmd_export(int argc, char **argv)
{
	struct export x = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct vt_tracer_opts topts = {};
	struct vt_cli o = { .interval = 1, .forget = 300, .health = 10, .max_series = 10000 };
	const char *listen_spec;
	char shown[VT_ESC_SIZE(64)];
	struct MHD_Daemon *httpd = NULL;
	struct vt_tracer *t;
	struct vt_snapshot prev = {}, cur, d;
	struct utsname u;
	int fd = -1, rc;

	rc = vt_cli_parse(argc, argv, VT_CLI_EXPORT | VT_CLI_LOCKS | VT_CLI_STORM | VT_CLI_SYSLOG,
			  export_usage, &o);
	if (rc >= 0)
		return rc;
	rc = VT_EXIT_OK;
	topts.locks = o.locks;
	topts.no_detail = !o.detail;
	topts.force_kprobe = o.kprobe;
	topts.no_hold = o.no_hold;
	topts.backend = (enum vt_backend_kind)o.backend;
	topts.btf_path = o.btf_path;
	/* A fleet's exporter runs for months: modules get updated under it. */
	topts.module_reload = !o.pin_modules;
	/* a kprobe per function: a kprobe_multi link would hold the modules (lib/loader.c) */
	topts.no_kprobe_multi = true;
	listen_spec = o.listen;
	x.textfile_dir = o.textfile;
	if (!listen_spec && !x.textfile_dir)
		listen_spec = EXPORT_DEFAULT_LISTEN;
	/* What can fail for a simple reason fails before anything is loaded. */
	if (x.textfile_dir && access(x.textfile_dir, W_OK | X_OK)) {
		vt_err("--textfile %s: %s", vt_esc(shown, sizeof(shown), x.textfile_dir, 64),
		       strerror(errno));
		return VT_EXIT_FAIL;
	}
	if (listen_spec) {
		fd = export_listen(listen_spec);
		if (fd < 0)
			return fd == -2 ? VT_EXIT_USAGE : VT_EXIT_FAIL;
	}
	vt_prom_init(&x.prom, (size_t)o.max_series, (uint64_t)(o.forget * 1e9));
	x.prom.health = o.health > 0;
	snprintf(x.prom.version, sizeof(x.prom.version), "%s", VT_VERSION);
	if (!uname(&u))
		snprintf(x.prom.kernel, sizeof(x.prom.kernel), "%s", u.release);
	if (fd >= 0) {
		httpd = export_serve(&x, fd, listen_spec);
		if (!httpd) {
			close(fd);
			return VT_EXIT_FAIL;
		}
	}
	vt_install_signals();
	topts.on_event = on_event;
	topts.ctx = &x;
	/* its kallsyms read now, while addresses show (the capabilities go at attach) */
	if (o.health > 0 && export_health_init(&x, o.health)) {
		rc = VT_EXIT_FAIL;
		goto out;
	}
	cmd_alert_opts(&o, &topts);
	if (vt_tracer_open(&t, &topts)) {
		rc = VT_EXIT_FAIL;
		goto out;
	}
	if (o.health > 0)
		export_health_start(&x, t);
	if (httpd)
		fprintf(stderr, "%s: serving http://%s/metrics%s\n", vt_prog, listen_spec,
			!strncmp(listen_spec, "127.", 4) || !strncmp(listen_spec, "[::1]", 5) ?
				" (this host only)" :
				"");
	vt_tracer_snapshot(t, &prev);
	update(&x, t, &prev, &prev); /* since attach, all of it is the increase */
	if (x.textfile_dir && export_write_textfile(&x))
		rc = VT_EXIT_FAIL;
	while (rc == VT_EXIT_OK && vt_tracer_wait(t, vt_now_ns() + (uint64_t)(o.interval * 1e9))) {
		vt_tracer_snapshot(t, &cur);
		vt_snapshot_diff(&cur, &prev, &d);
		update(&x, t, &cur, &d);
		vt_snapshot_free(&d);
		vt_snapshot_free(&prev);
		prev = cur;
		if (x.textfile_dir)
			export_write_textfile(&x); /* a full disk passes: said once, tried again */
	}
	vt_snapshot_free(&prev);
	export_health_stop(&x); /* before the tracer it asks about reloads goes */
	vt_tracer_close(t);
out:
	export_health_stop(&x);
	if (httpd)
		MHD_stop_daemon(httpd);
	if (fd >= 0)
		close(fd);
	vt_prom_free(&x.prom);
	free(x.procs);
	return rc;
}
