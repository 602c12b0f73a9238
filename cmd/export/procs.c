// SPDX-License-Identifier: GPL-2.0
/*
 * Who each process behind a row is, for export's labels: QEMU's -name and -uuid, read once per
 * process (PID and start time, so a reused PID is read anew), kept after it exits so its last
 * rows keep their labels, dropped --forget seconds after it was found gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "trace.h"
#include "report.h"
#include "export.h"

static struct export_proc *proc_slot(struct export_proc *tab, size_t mask, uint32_t tgid)
{
	for (size_t i = (tgid * 2654435761u) & mask;; i = (i + 1) & mask)
		if (!tab[i].tgid || tab[i].tgid == tgid)
			return &tab[i];
}

/* Keeps the table at most half full: grown, or rebuilt without the processes gone for more
 * than forget_ns (their rows add nothing any more, see row_key). */
static int procs_room(struct export *x, uint64_t now)
{
	size_t size = x->pmask + 1, live = 0;
	struct export_proc *tab;

	if (x->procs && 2 * (x->nprocs + 1) <= size)
		return 0;
	for (size_t i = 0; x->procs && i <= x->pmask; i++)
		live += x->procs[i].tgid &&
			!(x->procs[i].gone_ns && now - x->procs[i].gone_ns >= x->prom.forget_ns);
	if (!x->procs)
		size = 256;
	while (2 * (live + 1) > size / 2)
		size *= 2;
	tab = calloc(size, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; x->procs && i <= x->pmask; i++) {
		const struct export_proc *p = &x->procs[i];

		if (p->tgid && !(p->gone_ns && now - p->gone_ns >= x->prom.forget_ns))
			*proc_slot(tab, size - 1, p->tgid) = *p;
	}
	free(x->procs);
	x->procs = tab;
	x->pmask = size - 1;
	x->nprocs = live;
	return 0;
}

/* The labels from a QEMU command line (NUL-separated arguments). */
static void names_from(struct export_proc *p, const char *cmdline, size_t n)
{
	vt_qemu_vm_name(cmdline, n, p->vm, sizeof(p->vm));
	vt_qemu_vm_uuid(cmdline, n, p->uuid, sizeof(p->uuid));
}

static void read_names(struct export_proc *p)
{
	char buf[8192];

	names_from(p, buf, vt_proc_cmdline(p->tgid, buf, sizeof(buf)));
}

/* The process tgid as of this interval: its names, and whether it still runs. NULL for a
 * process never seen running (it came and went within one interval: no names). */
struct export_proc *export_proc_get(struct export *x, uint32_t tgid, uint64_t now)
{
	struct export_proc *p;
	uint64_t start;

	if (procs_room(x, now))
		return NULL;
	p = proc_slot(x->procs, x->pmask, tgid);
	if (p->tgid && (p->tick == x->tick || p->gone_ns))
		return p;
	start = vt_proc_start(tgid);
	if (!p->tgid) {
		if (!start)
			return NULL;
		p->tgid = tgid;
		x->nprocs++;
	} else if (!start) {
		p->gone_ns = now;
		return p;
	}
	if (p->start != start) { /* new, or the PID is another process's now */
		p->start = start;
		read_names(p);
		vt_dbg("process %u: vm '%s' uuid '%s'", tgid, p->vm, p->uuid);
	}
	p->tick = x->tick;
	return p;
}

void export_proc_learn(struct export *x, const struct vtr_proc *pr, uint64_t now)
{
	struct export_proc *p;

	if (procs_room(x, now))
		return;
	p = proc_slot(x->procs, x->pmask, pr->e.tgid);
	if (p->tgid && p->start == pr->start)
		return; /* read from /proc already (the same process) */
	if (!p->tgid)
		x->nprocs++;
	p->tgid = pr->e.tgid;
	p->start = pr->start;
	p->gone_ns = 0; /* export_proc_get finds out at the next interval */
	p->tick = x->tick;
	names_from(p, pr->cmdline, pr->len);
	vt_dbg("process %u: vm '%s' uuid '%s' (its command line at its first device)", p->tgid,
	       p->vm, p->uuid);
}
