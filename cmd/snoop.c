// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace snoop: one line per event (unmap, map, vfio_dma removal, notify, retry, callback,
 * pin, unpin, register, unregister) from the per-event ring buffer, with an exact count of
 * the events the ring dropped. Where the phases of vfio_unmap_unpin are traced, each unmap
 * and teardown line also says where its vfio_unmap_unpin time went.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "report.h"
#include "cli.h"
#include "cmd.h"

static const char snoop_usage[] =
	"usage: vfio-trace snoop [-j] [-p PID[,PID...]] [--vm NAME] [-d DEVICE] [--locks]\n"
	"                        [--ringbuf-pages N] [--kprobe]\n"
	"  One line per event until Ctrl-C/SIGTERM, then the number of events shown and dropped.\n"
	"  -j, --json            JSON lines: {\"type\":\"event\"} per event, a final {\"type\":\"summary\"}\n"
	"  -p, --pid PID,...     only events caused by these processes (one PID: filtered in the\n"
	"                        kernel; -p may repeat)\n"
	"  --vm NAME             only events caused by the QEMU whose -name is NAME\n"
	"  -d, --device NAME     only this device's events and its container's\n"
	"  --locks               also lock_hold, lock_wait and lock_drop events of iommu->lock\n"
	"                        and device_list_lock (traces mutex_lock/mutex_unlock)\n"
	"  --ringbuf-pages N     ring buffer size in pages (power of two, default 64)\n"
	"  --kprobe              use kprobes even where fentry works\n"
	"  --backend B           bpf (default), ftrace or auto (vfio-trace(8) BACKENDS)\n"
	"  --btf FILE            kernel types from FILE (vfio-trace(8) BACKENDS)\n"
	"  --no-hold             never stop a driver module's loader (man vfio-trace)\n" VT_CLI_ALERT_USAGE;

static int container_id(struct vt_snoop *s, uint64_t c)
{
	for (int i = 0; i < s->ncontainers; i++)
		if (s->containers[i] == c)
			return i + 1;
	if (!c)
		return 0;
	if (s->ncontainers == s->capcontainers) {
		int cap = s->capcontainers ? s->capcontainers * 2 : 64;
		uint64_t *a = realloc(s->containers, cap * sizeof(*a));

		if (!a)
			return 0;
		s->containers = a;
		s->capcontainers = cap;
	}
	s->containers[s->ncontainers++] = c;
	if (!s->cli.json)
		printf("# c%d = container %#" PRIx64 "\n", s->ncontainers, c);
	return s->ncontainers;
}

/* tid's slot; with create, a new one (the least recently used) when it has none */
static struct vt_snoop_thread *phase_thread(struct vt_snoop *s, uint32_t tid, bool create)
{
	struct vt_snoop_thread *oldest = &s->threads[0];

	for (int i = 0; i < VT_SNOOP_THREADS; i++) {
		struct vt_snoop_thread *th = &s->threads[i];

		if (th->used && th->tid == tid)
			return th;
		if (th->used < oldest->used)
			oldest = th;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->tid = tid;
	return oldest;
}

/* Add a phase event to its thread's sums: every one, shown or not, so that a filter on a
 * device keeps its container's unmap lines whole. */
static void phase_add(struct vt_snoop *s, const struct vtr_event *e)
{
	int i = vt_phase_index(e->op);
	struct vt_snoop_thread *th;

	if (i < 0 || !(th = phase_thread(s, e->pid, true)))
		return;
	th->used = ++s->seq;
	th->ns[i] += vt_event_own_ns(e); /* an IOMMU unmap's net of its inner flushes */
	th->unmap_unpins += e->op == VT_OP_UNMAP_UNPIN;
}

/* The sums of the thread whose unmap or teardown e ends (then forgotten), or NULL when that
 * unmap went through no vfio_unmap_unpin (or its phases are not traced). */
static struct vt_snoop_thread *phase_take(struct vt_snoop *s, const struct vtr_event *e,
					  struct vt_snoop_thread *out)
{
	struct vt_snoop_thread *th;

	if (e->op != VT_OP_UNMAP && e->op != VT_OP_TEARDOWN)
		return NULL;
	th = phase_thread(s, e->pid, false);
	if (!th)
		return NULL;
	*out = *th;
	memset(th, 0, sizeof(*th));
	return out->unmap_unpins ? out : NULL;
}

static uint64_t phase_rest(const struct vt_snoop_thread *p)
{
	uint64_t in = 0;

	for (int i = 1; i < VT_PHASE_OPS; i++)
		in += p->ns[i];
	return p->ns[0] > in ? p->ns[0] - in : 0;
}

static void phase_json(json_object *o, const struct vt_snoop_thread *p)
{
	json_object *ph = json_object_new_object();

	for (int i = 0; i < VT_PHASE_OPS; i++)
		json_object_object_add(ph, vt_op_name(vt_phase_ops[i]),
				       json_object_new_uint64(p->ns[i]));
	json_object_object_add(ph, "rest", json_object_new_uint64(phase_rest(p)));
	json_object_object_add(o, "phases_ns", ph);
}

static void phase_text(const struct vt_snoop_thread *p)
{
	static const char *const label[VT_PHASE_OPS] = { "unmap_unpin", "iommu", "flush", "walk",
							 "unpin" };
	char v[16];

	printf("  <- %s %s:", label[0], vt_fmt_ns(v, sizeof(v), p->ns[0]));
	for (int i = 1; i < VT_PHASE_OPS; i++)
		printf(" %s %s", label[i], vt_fmt_ns(v, sizeof(v), p->ns[i]));
	printf(" rest %s", vt_fmt_ns(v, sizeof(v), phase_rest(p)));
}

static bool lock_op(int op)
{
	return vt_op_flags(op) & VT_OPF_LOCK;
}

/* Lock events carry the lock's name in dev, which is not a device name. */
static const char *event_device(const struct vtr_event *e)
{
	return e->dev[0] && !lock_op(e->op) ? e->dev : NULL;
}

void vt_snoop_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct vt_snoop *s = ctx;
	double t = (e->ts - s->start_ns) / 1e9;
	struct vt_snoop_thread taken, *phases;
	int cid;

	if (!lifecycle)
		phase_add(s, e);
	phases = lifecycle ? NULL : phase_take(s, e, &taken);
	if (!vt_filter_event(&s->cli.filter, e, lifecycle))
		return;
	s->shown++;
	cid = container_id(s, e->container);
	if (s->cli.json) {
		json_object *o = json_object_new_object();
		char hex[32];

		json_object_object_add(o, "type", json_object_new_string("event"));
		json_object_object_add(o, "time_s", json_object_new_double(t));
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
		json_object_object_add(o, "tgid", json_object_new_int64(e->tgid));
		json_object_object_add(
			o, "comm",
			json_object_new_string_len(e->comm, strnlen(e->comm, sizeof(e->comm))));
		json_object_object_add(o, "op", json_object_new_string(vt_op_name(e->op)));
		snprintf(hex, sizeof(hex), "%#" PRIx64, (uint64_t)e->container);
		json_object_object_add(o, "container",
				       e->container ? json_object_new_string(hex) : NULL);
		json_object_object_add(o, "device",
				       event_device(e) ?
					       json_object_new_string_len(
						       e->dev, strnlen(e->dev, sizeof(e->dev))) :
					       NULL);
		if (lock_op(e->op) && e->dev[0])
			json_object_object_add(o, "lock",
					       json_object_new_string_len(
						       e->dev, strnlen(e->dev, sizeof(e->dev))));
		snprintf(hex, sizeof(hex), "%#" PRIx64, (uint64_t)e->iova);
		json_object_object_add(o, "iova", json_object_new_string(hex));
		json_object_object_add(o, vt_op_flags(e->op) & VT_OPF_PAGES ? "pages" : "size",
				       json_object_new_uint64(e->size));
		json_object_object_add(o, "latency_ns", json_object_new_uint64(e->lat));
		json_object_object_add(o, "ret", json_object_new_int64(e->ret));
		if (e->op == VT_OP_NOTIFY || e->op == VT_OP_RETRY || e->op == VT_OP_UNMAP)
			json_object_object_add(o, e->op == VT_OP_UNMAP ? "notifies" : "retries",
					       json_object_new_int(e->retries));
		if (e->op == VT_OP_UNMAP)
			json_object_object_add(o, "requested", json_object_new_uint64(e->aux));
		if (e->op == VT_OP_TEARDOWN)
			json_object_object_add(o, "mappings", json_object_new_uint64(e->aux));
		if (e->op == VT_OP_IOMMU_UNMAP) /* of latency_ns: the iotlb_sync events inside */
			json_object_object_add(o, "nested_flush_ns",
					       json_object_new_uint64(e->nested_ns));
		if (phases)
			phase_json(o, phases);
		vt_json_print(stdout, o, false);
		json_object_put(o);
		return;
	}
	char lat[16], c[8] = "-", comm[VT_ESC_SIZE(16)], dev[VT_ESC_SIZE(20)];

	if (cid)
		snprintf(c, sizeof(c), "c%d", cid);
	/* comm and device name are someone else's choice: escaped (vt_esc) */
	printf("%-12.6f %7u %s %-11s %-4s %s %#14" PRIx64 " %10" PRIu64 " %9s %5" PRId64 "%s", t,
	       e->pid, vt_esc_cols(comm, sizeof(comm), e->comm, sizeof(e->comm), 15),
	       vt_op_name(e->op), c,
	       vt_esc_cols(dev, sizeof(dev), e->dev[0] ? e->dev : "-", sizeof(e->dev), 20),
	       (uint64_t)e->iova, (uint64_t)e->size, vt_fmt_ns(lat, sizeof(lat), e->lat),
	       (int64_t)e->ret,
	       e->op == VT_OP_RETRY && e->retries >= VT_RETRY_WARN ?
		       "  <- retry storm: the kernel BUG()s after 10" :
		       "");
	if (e->op == VT_OP_TEARDOWN)
		printf("  <- %" PRIu64 " vfio_dma removed at teardown", (uint64_t)e->aux);
	if (e->op == VT_OP_IOMMU_UNMAP && e->nested_ns)
		printf("  <- flush %s inside", vt_fmt_ns(lat, sizeof(lat), e->nested_ns));
	if (phases)
		phase_text(phases);
	putchar('\n');
	if (ferror(stdout)) /* the reader left (EPIPE) or the disk is full: stop */
		vt_out_check();
}

void vt_snoop_header(const struct vt_snoop *s)
{
	if (!s->cli.json)
		printf("%-12s %7s %-15s %-11s %-4s %-20s %14s %10s %9s %5s\n", "TIME(s)", "PID",
		       "COMM", "OP", "CONT", "DEVICE", "IOVA", "SIZE/PAGES", "LAT", "RET");
}

void vt_snoop_summary(const struct vt_snoop *s, const uint64_t lost[VT_LOSS_MAX])
{
	if (s->cli.json) {
		json_object *o = json_object_new_object(), *l = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("summary"));
		json_object_object_add(o, "events", json_object_new_uint64(s->shown));
		json_object_object_add(o, "dropped", json_object_new_uint64(lost[VT_LOSS_RINGBUF]));
		for (int i = 0; i < VT_LOSS_MAX; i++)
			json_object_object_add(l, vt_loss_name(i), json_object_new_uint64(lost[i]));
		json_object_object_add(o, "lost", l);
		vt_json_print(stdout, o, false);
		json_object_put(o);
	} else {
		printf("# %" PRIu64 " events shown, %" PRIu64 " dropped (ring buffer full)\n",
		       s->shown, lost[VT_LOSS_RINGBUF]);
	}
}

int cmd_snoop(int argc, char **argv)
{
	struct vt_snoop s = {};
	struct vt_tracer_opts topts = {};
	struct vt_tracer *t;
	uint64_t lost[VT_LOSS_MAX];
	uint64_t dropped_seen = 0;
	int rc;

	rc = vt_cli_parse(argc, argv,
			  VT_CLI_PID | VT_CLI_DEVICE | VT_CLI_RINGBUF | VT_CLI_LOCKS |
				  VT_CLI_STORM | VT_CLI_SYSLOG,
			  snoop_usage, &s.cli);
	if (rc >= 0)
		return rc;
	vt_install_signals();
	cmd_events_opts(&s.cli, &topts, vt_snoop_event, &s);
	s.start_ns = vt_now_ns();
	if (cmd_tracer_open(&s.cli, &topts, &t))
		return VT_EXIT_FAIL;
	vt_snoop_header(&s);
	while (vt_out_check() && vt_tracer_wait(t, vt_now_ns() + 1000000000ull)) {
		/* Say so as soon as the ring drops anything: never a silent gap. */
		if (!vt_tracer_losses(t, lost)) {
			if (lost[VT_LOSS_RINGBUF] > dropped_seen && !s.cli.json)
				vt_warn("%" PRIu64 " events dropped so far (ring buffer full; "
					"--ringbuf-pages raises it)",
					lost[VT_LOSS_RINGBUF]);
			dropped_seen = lost[VT_LOSS_RINGBUF];
		}
	}
	/* at most VT_DRAIN_MS after the signal: a steady stream never empties the ring */
	vt_dbg("stopping: %.3f s after the stop", (vt_now_ns() - vt_stop_ns) / 1e9);
	vt_tracer_drain(t);
	vt_dbg("drained: %.3f s after the stop", (vt_now_ns() - vt_stop_ns) / 1e9);
	if (vt_tracer_losses(t, lost))
		memset(lost, 0, sizeof(lost));
	if (vt_stop != VT_STOP_OUTPUT) /* else the reader left: nothing to print */
		vt_snoop_summary(&s, lost);
	vt_dbg("summary printed: %.3f s after the stop", (vt_now_ns() - vt_stop_ns) / 1e9);
	vt_tracer_close(t);
	free(s.containers);
	vt_dbg("detached: %.3f s after the stop", (vt_now_ns() - vt_stop_ns) / 1e9);
	return vt_exit_code(VT_EXIT_OK);
}
