// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend's ring buffers: the lifecycle ring's records (devices learned and gone, kept
 * in the device table; module loads, whose callbacks lib/callbacks.c attaches; the RETRY STORM
 * alerts, printed by lib/retry_alert.c, and DEADLOCK's, printed here) and snoop's per-event ring, handed to the command's
 * on_event callback; and the waits between snapshots that poll them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "storm.h"
#include "tracer.h"

/* A ring callback's return: < 0 ends this poll after the record just handled. */
static int ring_stop(struct vt_bpf *t)
{
	if (vt_stop == VT_STOP_OUTPUT || (vt_stop && !t->draining) || vt_now_ns() >= t->poll_end) {
		t->cut = true;
		return -EINTR;
	}
	return 0;
}

/* ---- the devices seen, kept in user space -------------------------------------------------
 * The kernel side forgets a device at unregister (its address may return as another device),
 * and a device can come and go between two snapshots; rows keyed by it still need its name.
 * So user space keeps every device it has learned (from vt_devices and the lifecycle ring),
 * bounded: past VT_DEVTAB_MAX the oldest unregistered ones are forgotten first. */
#define VT_DEVTAB_MAX 16384

struct vt_dev *vt_devtab_get(struct vt_bpf *t, uint64_t vdev, bool create)
{
	for (size_t i = 0; i < t->ndevtab; i++)
		if (t->devtab[i].vdev == vdev)
			return &t->devtab[i];
	if (!create)
		return NULL;
	if (t->ndevtab == VT_DEVTAB_MAX) {
		size_t i = 0;

		while (i < t->ndevtab && t->devtab[i].d.registered)
			i++;
		if (i == t->ndevtab)
			i = 0;
		memmove(&t->devtab[i], &t->devtab[i + 1],
			(t->ndevtab - i - 1) * sizeof(*t->devtab));
		t->ndevtab--;
	}
	if (t->ndevtab == t->devcap) {
		size_t cap = t->devcap ? t->devcap * 2 : 64;
		struct vt_dev *d = realloc(t->devtab, cap * sizeof(*d));

		if (!d)
			return NULL;
		t->devtab = d;
		t->devcap = cap;
	}
	memset(&t->devtab[t->ndevtab], 0, sizeof(*t->devtab));
	t->devtab[t->ndevtab].vdev = vdev;
	return &t->devtab[t->ndevtab++];
}

/* A device learned or unregistered, as the lifecycle ring tells it. */
static void devtab_event(struct vt_bpf *t, const struct vtr_event *e)
{
	struct vt_dev *d;

	if (e->op != VT_OP_REGISTER && e->op != VT_OP_UNREGISTER && e->op != VT_OP_PIN &&
	    e->op != VT_OP_UNPIN && e->op != VT_OP_CALLBACK)
		return;
	d = vt_devtab_get(t, e->obj, e->op != VT_OP_UNREGISTER);
	if (!d)
		return;
	if (e->op == VT_OP_UNREGISTER) {
		d->d.registered = 0;
		return;
	}
	/* a register may be another device at a gone one's address */
	if (!d->d.name[0] ||
	    (e->op == VT_OP_REGISTER && strncmp(d->d.name, e->dev, sizeof(e->dev)))) {
		memset(d->d.driver, 0, sizeof(d->d.driver));
		memcpy(d->d.name, e->dev,
		       sizeof(d->d.name) < sizeof(e->dev) ? sizeof(d->d.name) : sizeof(e->dev));
	}
	d->d.name[sizeof(d->d.name) - 1] = 0;
	if (e->container)
		d->d.container = e->container;
	d->d.dma_unmap = e->aux;
	d->d.tgid = e->tgid;
}

static int lifecycle_cb(void *ctx, void *data, size_t len)
{
	struct vt_bpf *t = ctx;
	const struct vtr_event *e = data;

	if (len < sizeof(*e))
		return 0;
	if (e->op == VT_OP_RETRY) {
		vt_retry_alert(&t->retry_alerts, e);
		if (t->opts.on_event)
			t->opts.on_event(t->opts.ctx, e, true);
		return ring_stop(t);
	}
	if (e->op == VT_EV_RETRY_LIMIT) {
		vt_retry_limit_alert(&t->retry_alerts, e);
		return ring_stop(t);
	}
	if (e->op == VT_OP_DEADLOCK) {
		vt_deadlock_alert(&t->opts, e);
		if (t->opts.on_event)
			t->opts.on_event(t->opts.ctx, e, true);
		return ring_stop(t);
	}
	if (e->op == VT_EV_MODULE_LOAD || e->op == VT_EV_MODULE_FREE) {
		vt_module_event(t, e);
		return ring_stop(t);
	}
	if (e->op == VT_EV_PROC) { /* who a VM is: the commands name it (vt_event_proc) */
		if (len >= sizeof(struct vtr_proc) && t->opts.on_event)
			t->opts.on_event(t->opts.ctx, e, true);
		return ring_stop(t);
	}
	devtab_event(t, e);
	if (e->aux && e->op != VT_OP_UNREGISTER) {
		char dev[VT_ESC_SIZE(sizeof(e->dev))], comm[VT_ESC_SIZE(sizeof(e->comm))];
		char who[sizeof(dev) + sizeof(comm) + 48];

		snprintf(who, sizeof(who), "%s (seen at a %s by %s)",
			 e->dev[0] ? vt_esc(dev, sizeof(dev), e->dev, sizeof(e->dev)) : "a device",
			 vt_op_name(e->op), vt_esc(comm, sizeof(comm), e->comm, sizeof(e->comm)));
		vt_cb_attach_device(t, e->aux, who);
	}
	if (t->opts.on_event)
		t->opts.on_event(t->opts.ctx, e, true);
	return ring_stop(t);
}

static int event_cb(void *ctx, void *data, size_t len)
{
	struct vt_bpf *t = ctx;

	if (len >= sizeof(struct vtr_event) && t->opts.on_event)
		t->opts.on_event(t->opts.ctx, data, false);
	return ring_stop(t);
}

int vt_rings_open(struct vt_bpf *t)
{
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.vt_lifecycle), lifecycle_cb, t, NULL);
	if (!t->rb)
		return -1;
	if (t->opts.snoop &&
	    ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.vt_events), event_cb, t))
		return -1;
	return 0;
}

void vt_alerts_flush(struct vt_bpf *t)
{
	vt_retry_alerts_flush(&t->retry_alerts, true);
}

int vt_bpf_poll(struct vt_bpf *t, int timeout_ms)
{
	/* The rings, and stdout: a reader that leaves (a pipe's POLLERR, a tty's POLLHUP) ends
	 * the wait at once, not at its timeout (stat 1 | head -1). */
	struct pollfd p[2] = { { .fd = ring_buffer__epoll_fd(t->rb), .events = POLLIN },
			       { .fd = t->stdout_closed ? -1 : STDOUT_FILENO } };
	int n, c;

	if (vt_stop == VT_STOP_OUTPUT)
		return 0;
	if (poll(p, 2, timeout_ms) > 0) {
		t->stdout_closed |= !!(p[1].revents & POLLNVAL); /* would wake every poll */
		if ((p[1].revents & (POLLERR | POLLHUP)) && vt_out_gone())
			return 0;
	}
	/* The records of at most 100 ms, then the caller gets control back. */
	t->poll_end = vt_now_ns() + 100 * 1000000ull;
	t->cut = false;
	n = ring_buffer__poll(t->rb, 0);
	if (n == -EINTR)
		n = 0;
	if (n < 0 || t->cut)
		return n;
	/* snoop's events come without a wake-up until a quarter of the ring fills (vt_account):
	 * epoll does not see them, so read every ring once the wait is over. */
	c = ring_buffer__consume(t->rb);
	if (!t->opts.no_hold)
		vt_hold_release_stale(t);
	vt_retry_alerts_flush(&t->retry_alerts, false);
	vt_storm_live_tick(&t->storm);
	return c > 0 ? n + c : n;
}

bool vt_bpf_wait(struct vt_bpf *t, uint64_t until)
{
	while (!vt_stop && !vt_out_gone()) {
		uint64_t now = vt_now_ns(), left;

		if (now >= until)
			return true;
		left = (until - now) / 1000000;
		vt_bpf_poll(t, left > 100 ? 100 : (int)left + 1);
	}
	return false;
}

void vt_bpf_drain(struct vt_bpf *t)
{
	uint64_t end = (vt_stop_ns ? vt_stop_ns : vt_now_ns()) + VT_DRAIN_MS * 1000000ull;

	if (vt_stop == VT_STOP_OUTPUT)
		return;
	if (vt_now_ns() < end) {
		/* The kprobes detach meanwhile (lib/detach.c): the command ends at the later of
		 * the drain and their detach, not after both. */
		vt_detach_begin(t);
		t->draining = true;
		t->poll_end = end;
		t->cut = false;
		ring_buffer__consume(t->rb);
		/* Cut short: a storm, or the kernel's text patching kept the drain from a
		 * finished workload's last events (the events lab test lost some on 6.1). Once
		 * the kprobes are gone nothing new arrives, nor does the patching slow us: a
		 * short while more for what is left, the summary still within ~0.7 s. */
		if (t->cut && vt_detach_wait_kprobes(t, end + VT_DRAIN_MS * 1000000ull)) {
			t->poll_end = vt_now_ns() + VT_DRAIN_MS / 3 * 1000000ull;
			t->cut = false;
			ring_buffer__consume(t->rb);
		}
		t->draining = false;
	}
	/* the retry storms held back, before the command's last document (-j: the total stays
	 * the stream's last line) */
	vt_retry_alerts_flush(&t->retry_alerts, true);
}
