// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace locks: per container, hold and wait times of iommu->lock and
 * iommu->device_list_lock, the longest holder with the stack that released the lock, and the
 * windows in which an unmap dropped iommu->lock for its notify.
 */
#include <inttypes.h>
#include <string.h>
#include "trace.h"
#include "report.h"
#include "cli.h"
#include "cmd.h"

static const char locks_usage[] =
	"usage: vfio-trace locks [-j] [-p PID[,PID...]] [--vm NAME] [-d DEVICE] [--kprobe]\n"
	"                        [interval [count]]\n"
	"  Per container: iommu->lock and iommu->device_list_lock acquisitions, hold and wait\n"
	"  (contention) times, the longest holder and where it took the lock, and how long\n"
	"  unmaps dropped iommu->lock for their notifies. Without interval: until Ctrl-C, then\n"
	"  print; with it: every interval, count times, then the totals.\n"
	"  -j, --json         one {\"type\":\"interval\"} document per interval, a {\"type\":\"total\"}\n"
	"                     at the end\n"
	"  -p, --pid PID,...  only holds and waits of these processes (-p may repeat)\n"
	"  --vm NAME          only holds and waits of the QEMU whose -name is NAME\n"
	"  -d, --device NAME  only the container of this device\n"
	"  --kprobe           use kprobes even where fentry works\n"
	"  --backend B        bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE         kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold          never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

static const char *lock_name(int kind)
{
	return kind == VT_KIND_IOMMU_LOCK ? "iommu->lock" : "device_list_lock";
}

/* Distinct containers that have lock rows, in first-seen order, as many as there are: *outp
 * is allocated (free() it). */
static size_t lock_containers(const struct vt_snapshot *s, uint64_t **outp)
{
	uint64_t *out = malloc((s->n ? s->n : 1) * sizeof(*out));
	size_t n = 0;

	*outp = out;
	for (size_t i = 0; out && i < s->n; i++) {
		const struct vtr_key *k = &s->rows[i].key;
		size_t j;

		if (k->kind != VT_KIND_IOMMU_LOCK && k->kind != VT_KIND_DLIST_LOCK)
			continue;
		for (j = 0; j < n && out[j] != k->obj; j++)
			;
		if (j == n)
			out[n++] = k->obj;
	}
	return n;
}

/* Sum of rows for (container, kind, op) over processes. */
static void lock_sum(const struct vt_snapshot *s, uint64_t c, int kind, int op,
		     struct vtr_stat *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->n; i++) {
		const struct vt_row *r = &s->rows[i];

		if (r->key.obj == c && r->key.kind == kind && r->key.op == op)
			vt_stat_add(out, &r->st);
	}
}

static const struct vt_lockmax *find_max(const struct vt_snapshot *s, uint64_t c, int kind)
{
	for (size_t i = 0; i < s->nlockmax; i++)
		if (s->lockmax[i].key.container == c && (int)s->lockmax[i].key.kind == kind)
			return &s->lockmax[i];
	return NULL;
}

static json_object *report(const struct vt_snapshot *s, double secs, const char *type,
			   vt_sym_fn sym, void *ctx)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array(), *l;
	uint64_t *cs;
	size_t nc = lock_containers(s, &cs);
	char hex[32], name[160];

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "seconds", json_object_new_double(secs));
	for (size_t i = 0; i < nc; i++) {
		json_object *c = json_object_new_object(), *locks = json_object_new_object(), *d;
		struct vtr_stat hold, wait, drop;

		snprintf(hex, sizeof(hex), "%#" PRIx64, cs[i]);
		json_object_object_add(c, "container", json_object_new_string(hex));
		for (int kind = VT_KIND_IOMMU_LOCK; kind <= VT_KIND_DLIST_LOCK; kind++) {
			const struct vt_lockmax *m = find_max(s, cs[i], kind);
			json_object *x = json_object_new_object();

			lock_sum(s, cs[i], kind, VT_OP_LOCK_HOLD, &hold);
			lock_sum(s, cs[i], kind, VT_OP_LOCK_WAIT, &wait);
			json_object_object_add(x, "acquisitions",
					       json_object_new_uint64(hold.count));
			json_object_object_add(x, "hold_ns", vt_json_latency(&hold, true));
			json_object_object_add(x, "waits", json_object_new_uint64(wait.count));
			json_object_object_add(x, "wait_ns", vt_json_latency(&wait, true));
			if (m) {
				json_object *lm = json_object_new_object(),
					    *st = json_object_new_array();

				json_object_object_add(lm, "ns", json_object_new_uint64(m->m.ns));
				json_object_object_add(lm, "pid", json_object_new_int64(m->m.pid));
				json_object_object_add(lm, "tgid",
						       json_object_new_int64(m->m.tgid));
				json_object_object_add(
					lm, "comm",
					json_object_new_string_len(
						m->m.comm, strnlen(m->m.comm, sizeof(m->m.comm))));
				for (int f = 0; f < m->nstack; f++)
					json_object_array_add(
						st, json_object_new_string(sym(
							    ctx, m->stack[f], name, sizeof(name))));
				json_object_object_add(lm, "stack", st);
				json_object_object_add(x, "longest_hold", lm);
			}
			json_object_object_add(
				locks,
				kind == VT_KIND_IOMMU_LOCK ? "iommu_lock" : "device_list_lock", x);
		}
		json_object_object_add(c, "locks", locks);
		lock_sum(s, cs[i], VT_KIND_IOMMU_LOCK, VT_OP_LOCK_DROP, &drop);
		d = json_object_new_object();
		json_object_object_add(d, "count", json_object_new_uint64(drop.count));
		json_object_object_add(d, "drop_ns", vt_json_latency(&drop, true));
		json_object_object_add(c, "iommu_lock_dropped", d);
		json_object_array_add(arr, c);
	}
	free(cs);
	json_object_object_add(o, "containers", arr);
	l = json_object_new_object();
	for (int i = 0; i < VT_LOSS_MAX; i++)
		json_object_object_add(l, vt_loss_name(i), json_object_new_uint64(s->losses[i]));
	json_object_object_add(o, "lost", l);
	return o;
}

/* The first max frames of a longest hold's stack, " <- " between them, without what an fentry
 * program adds (a function traced by fentry, vfio_notify_dma_unmap on kernels that do not
 * inline it, shows as "f+0x72 <- bpf_trampoline_N [bpf] <- f+0x5": the trampoline and the
 * call into it at f's entry are not the kernel's call chain). */
static void print_frames(const struct vt_lockmax *m, vt_sym_fn sym, void *ctx, int max)
{
	char name[160], prev[160] = "";
	bool after_trampoline = false;
	int shown = 0;

	for (int fr = 0; fr < m->nstack && shown < max; fr++) {
		const char *f = sym(ctx, m->stack[fr], name, sizeof(name));
		size_t fl = strcspn(f, "+ ");

		if (!strncmp(f, "bpf_trampoline_", 15) || strstr(f, " [bpf]")) {
			after_trampoline = true;
			continue;
		}
		if (after_trampoline && fl == strlen(prev) && !strncmp(f, prev, fl)) {
			after_trampoline = false;
			continue; /* the traced function's entry, where it called the trampoline */
		}
		after_trampoline = false;
		snprintf(prev, sizeof(prev), "%.*s", (int)fl, f);
		printf("%s %s", shown++ ? " <-" : "", f);
	}
}

static void print_text(const struct vt_snapshot *s, double secs, vt_sym_fn sym, void *ctx)
{
	uint64_t *cs;
	size_t nc = lock_containers(s, &cs);
	char a[16], b[16], c[16], d[16], e[16], f[16];

	printf("\n%.1f s  %-18s %-16s %8s %9s %9s %9s %7s %9s %9s %9s\n", secs, "CONTAINER", "LOCK",
	       "ACQ", "HOLD_P50", "HOLD_P99", "HOLD_MAX", "WAITS", "WAIT_P50", "WAIT_P99",
	       "WAIT_MAX");
	for (size_t i = 0; i < nc; i++) {
		struct vtr_stat hold, wait, drop;

		for (int kind = VT_KIND_IOMMU_LOCK; kind <= VT_KIND_DLIST_LOCK; kind++) {
			lock_sum(s, cs[i], kind, VT_OP_LOCK_HOLD, &hold);
			lock_sum(s, cs[i], kind, VT_OP_LOCK_WAIT, &wait);
			printf("       %-#18" PRIx64 " %-16s %8" PRIu64 " %9s %9s %9s %7" PRIu64
			       " %9s %9s %9s\n",
			       cs[i], lock_name(kind), (uint64_t)hold.count,
			       vt_fmt_ns(a, sizeof(a), vt_hist_percentile(hold.hist, 50)),
			       vt_fmt_ns(b, sizeof(b), vt_hist_percentile(hold.hist, 99)),
			       vt_fmt_ns(c, sizeof(c), hold.lat_max), (uint64_t)wait.count,
			       vt_fmt_ns(d, sizeof(d), vt_hist_percentile(wait.hist, 50)),
			       vt_fmt_ns(e, sizeof(e), vt_hist_percentile(wait.hist, 99)),
			       vt_fmt_ns(f, sizeof(f), wait.lat_max));
		}
		lock_sum(s, cs[i], VT_KIND_IOMMU_LOCK, VT_OP_LOCK_DROP, &drop);
		if (drop.count)
			printf("       %-18s iommu->lock dropped for notifies %" PRIu64
			       " times, p99 %s, max %s\n",
			       "", (uint64_t)drop.count,
			       vt_fmt_ns(a, sizeof(a), vt_hist_percentile(drop.hist, 99)),
			       vt_fmt_ns(b, sizeof(b), drop.lat_max));
		for (int kind = VT_KIND_IOMMU_LOCK; kind <= VT_KIND_DLIST_LOCK; kind++) {
			const struct vt_lockmax *m = find_max(s, cs[i], kind);
			char comm[VT_ESC_SIZE(sizeof(m->m.comm))];

			if (!m)
				continue;
			printf("       longest %s hold: %s by %u %s, taken at", lock_name(kind),
			       vt_fmt_ns(a, sizeof(a), m->m.ns), m->m.pid,
			       vt_esc(comm, sizeof(comm), m->m.comm, sizeof(m->m.comm)));
			print_frames(m, sym, ctx, 4);
			printf("\n");
		}
	}
	free(cs);
	if (!nc)
		printf("       (no VFIO container took its locks)\n");
	for (int i = 0; i < VT_LOSS_MAX; i++)
		if (s->losses[i])
			printf("lost: %s %" PRIu64 "\n", vt_loss_name(i), (uint64_t)s->losses[i]);
	vt_out_check();
}

void vt_locks_print(const struct vt_snapshot *s, double secs, const char *type, bool json,
		    vt_sym_fn sym, void *ctx)
{
	if (json) {
		json_object *o = report(s, secs, type, sym, ctx);

		vt_json_print(stdout, o, false);
		json_object_put(o);
	} else {
		print_text(s, secs, sym, ctx);
	}
}

static const char *ksym(void *t, uint64_t addr, char *buf, size_t len)
{
	return vt_tracer_ksym(t, addr, buf, len);
}

static void emit(struct vt_tracer *t, const struct vt_cli *cli, const struct vt_snapshot *s,
		 double secs, const char *type)
{
	vt_locks_print(s, secs, type, cli->json, ksym, t);
}

int cmd_locks(int argc, char **argv)
{
	struct vt_cli cli = {};
	struct vt_tracer_opts topts = {};
	struct vt_tracer *t;
	struct vt_snapshot start = {}, prev = {}, cur, d;
	uint64_t n = 0;
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_DEVICE | VT_CLI_INTERVAL | VT_CLI_STORM |
				  VT_CLI_SYSLOG,
			  locks_usage, &cli);
	if (rc >= 0)
		return rc;
	vt_install_signals();
	topts.locks = true;
	topts.no_detail = true; /* lock times only: no pin latency, no per-vfio_dma probes */
	if (cmd_tracer_open(&cli, &topts, &t))
		return VT_EXIT_FAIL;
	vt_tracer_snapshot(t, &prev);
	start.ts = prev.ts;
	while (cli.have_interval &&
	       vt_tracer_wait(t, vt_now_ns() + (uint64_t)(cli.interval * 1e9))) {
		vt_tracer_snapshot(t, &cur);
		vt_snapshot_diff(&cur, &prev, &d);
		vt_snapshot_filter(&d, &cli.filter);
		emit(t, &cli, &d, (cur.ts - prev.ts) / 1e9, "interval");
		vt_snapshot_free(&d);
		vt_snapshot_free(&prev);
		prev = cur;
		if (cli.count && ++n >= cli.count)
			break;
	}
	if (!cli.have_interval)
		vt_tracer_wait(t, UINT64_MAX);
	vt_tracer_drain(t);
	vt_tracer_snapshot(t, &cur);
	vt_snapshot_filter(&cur, &cli.filter);
	if (vt_stop != VT_STOP_OUTPUT)
		emit(t, &cli, &cur, (cur.ts - start.ts) / 1e9, "total");
	vt_snapshot_free(&cur);
	vt_snapshot_free(&prev);
	vt_tracer_close(t);
	return vt_exit_code(VT_EXIT_OK);
}
