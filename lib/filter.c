// SPDX-License-Identifier: GPL-2.0
/*
 * The one process match (-p PID,... / --vm NAME) and the one device match (-d NAME) of every
 * command, and their application to a snapshot (top, stat, hist, locks; snoop applies them
 * per event, hung per task).
 */
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "report.h"
#include "filter.h"

bool vt_filter_procs(const struct vt_filter *f)
{
	return f && (f->npids || f->vm);
}

bool vt_filter_proc(struct vt_filter *f, uint32_t tgid)
{
	char comm[32], vm[128];
	unsigned i;

	if (!vt_filter_procs(f))
		return true;
	if (f->npids) {
		for (i = 0; i < f->npids && f->pids[i] != tgid; i++)
			;
		if (i == f->npids)
			return false;
	}
	if (!f->vm)
		return true;
	if (!tgid)
		return false;
	if (f->names) { /* a recording's: all there is to know of its processes */
		for (size_t j = 0; j < f->nnames; j++)
			if (f->names[j].tgid == tgid)
				return !strcmp(f->names[j].vm, f->vm);
		return false;
	}
	for (i = 0; i < f->nseen && i < sizeof(f->seen) / sizeof(f->seen[0]); i++)
		if (f->seen[i].tgid == tgid)
			return f->seen[i].match;
	vt_proc_ident(tgid, comm, sizeof(comm), vm, sizeof(vm));
	if (!strcmp(comm, "?"))
		return false; /* gone before it was seen: unknown, not remembered */
	i = f->nseen++ % (sizeof(f->seen) / sizeof(f->seen[0]));
	f->seen[i].tgid = tgid;
	f->seen[i].match = !strcmp(vm, f->vm);
	return f->seen[i].match;
}

bool vt_filter_dev(const struct vt_filter *f, const char *name, size_t cap)
{
	size_t l, want;

	if (!f || !f->device)
		return true;
	l = strnlen(name, cap);
	want = strlen(f->device);
	if (l == want)
		return !memcmp(name, f->device, l);
	/* the kernel's copy keeps cap - 1 bytes of a longer name */
	return l == cap - 1 && want > l && !memcmp(name, f->device, l);
}

/* Lock events carry the lock's name in dev, which is not a device name. */
static bool device_event(const struct vtr_event *e)
{
	unsigned fl = vt_op_flags(e->op);

	return (fl & VT_OPF_DEVICE) && !(fl & VT_OPF_LOCK) && e->dev[0];
}

bool vt_filter_event(struct vt_filter *f, const struct vtr_event *e, bool lifecycle)
{
	bool mine;

	if (lifecycle) {
		/* a register record names the device and its container */
		if (f->device && !(vt_op_flags(e->op) & VT_OPF_LOCK) && e->container &&
		    vt_filter_dev(f, e->dev, sizeof(e->dev)))
			f->dev_container = e->container;
		return false;
	}
	if (!vt_filter_proc(f, e->tgid))
		return false;
	if (!f->device)
		return true;
	if (vt_op_flags(e->op) & VT_OPF_DEVICE) {
		mine = device_event(e) && vt_filter_dev(f, e->dev, sizeof(e->dev));
		if (mine && e->container)
			f->dev_container = e->container;
		return mine;
	}
	return f->dev_container && e->container == f->dev_container;
}

char *vt_filter_desc(const struct vt_filter *f, char *buf, size_t len)
{
	size_t o = 0;
	char e[VT_ESC_SIZE(48)];

	buf[0] = 0;
	for (unsigned i = 0; i < f->npids && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%u", i ? "," : "pid ", f->pids[i]);
	if (f->vm && o < len)
		o += snprintf(buf + o, len - o, "%svm %s", o ? "  " : "",
			      vt_esc(e, sizeof(e), f->vm, 48));
	if (f->device && o < len)
		snprintf(buf + o, len - o, "%sdevice %s", o ? "  " : "",
			 vt_esc(e, sizeof(e), f->device, 48));
	return buf;
}

static bool in_list(const uint64_t *a, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

void vt_snapshot_filter(struct vt_snapshot *s, struct vt_filter *f)
{
	uint64_t *vdevs, *ctrs;
	size_t nv = 0, nc = 0, n = 0, nd = 0, nl = 0;
	bool procs = vt_filter_procs(f), device = f && f->device;

	if (!procs && !device)
		return;
	vdevs = calloc(s->ndevs + 1, sizeof(*vdevs));
	ctrs = calloc(s->ndevs + 1, sizeof(*ctrs));
	if (!vdevs || !ctrs) { /* cannot filter: show nothing rather than everything */
		s->n = s->ndevs = s->nlockmax = 0;
		goto out;
	}
	if (device) {
		for (size_t i = 0; i < s->ndevs; i++) {
			if (!vt_filter_dev(f, s->devs[i].d.name, sizeof(s->devs[i].d.name)))
				continue;
			vdevs[nv++] = s->devs[i].vdev;
			if (s->devs[i].d.container)
				ctrs[nc++] = s->devs[i].d.container;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct vtr_key *k = &s->rows[i].key;

		if (procs && !vt_filter_proc(f, k->tgid))
			continue;
		if (device && !in_list(k->kind == VT_KIND_DEVICE ? vdevs : ctrs,
				       k->kind == VT_KIND_DEVICE ? nv : nc, k->obj))
			continue;
		s->rows[n++] = s->rows[i];
	}
	s->n = n;
	for (size_t i = 0; i < s->ndevs; i++) {
		const struct vt_dev *d = &s->devs[i];
		bool keep = true;

		if (device && !in_list(vdevs, nv, d->vdev))
			keep = false;
		if (keep && procs && !vt_filter_proc(f, d->d.tgid)) {
			keep = false;
			for (size_t j = 0; j < s->n && !keep; j++)
				keep = s->rows[j].key.kind == VT_KIND_DEVICE &&
				       s->rows[j].key.obj == d->vdev;
		}
		if (keep)
			s->devs[nd++] = *d;
	}
	s->ndevs = nd;
	/* The longest lock holds: of the containers still shown, by a process still shown. */
	for (size_t i = 0; i < s->nlockmax; i++) {
		const struct vt_lockmax *m = &s->lockmax[i];
		bool keep = !procs || vt_filter_proc(f, m->m.tgid);

		if (keep && device)
			keep = in_list(ctrs, nc, m->key.container);
		if (keep)
			s->lockmax[nl++] = *m;
	}
	s->nlockmax = nl;
out:
	free(vdevs);
	free(ctrs);
}
