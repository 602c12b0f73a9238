// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend's maps read into a snapshot (struct vt_snapshot, lib/trace.h): the stats
 * rows (per-CPU map, spill map, hot rows) summed per key, the rows of processes that have gone
 * (moved out of the maps into user space), the loss counters, the devices and the longest lock
 * holds.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "tracer.h"

/* Add the hot rows (vt_rowc: per CPU, each slot owned by one key or free) into s. */
static int read_rowc(int fd, unsigned slots, int ncpus, struct vt_snapshot *s,
		     struct vt_rowidx *idx)
{
	struct vtr_rowc *vals = calloc(ncpus, sizeof(*vals));
	int err = 0;

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; !err && i < slots; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; !err && c < ncpus; c++)
			if (vals[c].key.obj > VT_ROWC_CLAIMING)
				err = vt_snapshot_add_row(s, idx, &vals[c].key, &vals[c].st);
	}
	free(vals);
	return err;
}

/* ---- rows of processes that have gone ---------------------------------------------------
 * The kernel side never deletes a stats row: while its process lives a key can change at any
 * moment. Once the process has gone (reaped: its teardown ran in its exit, before that) its
 * keys cannot change any more, so user space moves them out of vt_stats and the spill map into
 * its own table, and a host that runs VMs for months does not fill the maps. The hot rows stay
 * (per-CPU slots that a write from user space would race with on the other CPUs; 64 a CPU).
 * Every 5 s (VFIO_TRACE_RETIRE_S sets it, 0: every snapshot, for the lab). */
static bool process_gone(uint32_t tgid)
{
	return tgid && kill(tgid, 0) < 0 && errno == ESRCH;
}

static int retire_map(struct vt_bpf *t, int fd, bool percpu)
{
	struct vtr_key key, next, *prev = NULL, *gone = NULL;
	struct vtr_stat *vals = calloc(percpu ? t->ncpus : 1, sizeof(*vals));
	size_t n = 0, cap = 0;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!process_gone(key.tgid))
			continue;
		if (n == cap) {
			struct vtr_key *g = realloc(gone, (cap = cap ? cap * 2 : 64) * sizeof(*g));

			if (!g) {
				err = -ENOMEM;
				break;
			}
			gone = g;
		}
		gone[n++] = key;
	}
	/* deleted after the walk: get_next_key from a deleted key starts over */
	for (size_t i = 0; !err && i < n; i++) {
		if (vt_stats_map_lookup(fd, &gone[i], percpu, t->ncpus, vals))
			continue;
		err = vt_snapshot_add_row(&t->retired, &t->retired_idx, &gone[i], &vals[0]);
		if (!err)
			bpf_map_delete_elem(fd, &gone[i]);
	}
	free(gone);
	free(vals);
	return err;
}

static void retire_gone(struct vt_bpf *t)
{
	const char *e = getenv("VFIO_TRACE_RETIRE_S");
	uint64_t every = (e ? strtoull(e, NULL, 10) : 5) * 1000000000ULL, now = vt_now_ns();

	if (now - t->retired_at < every)
		return;
	t->retired_at = now;
	if (retire_map(t, bpf_map__fd(t->skel->maps.vt_stats), true) ||
	    retire_map(t, bpf_map__fd(t->skel->maps.vt_stats_spill), false))
		vt_warn("cannot move the rows of processes that have gone out of the maps: %s",
			strerror(ENOMEM));
}

static int read_lockmax(struct vt_bpf *t, struct vt_snapshot *s)
{
	int fd = bpf_map__fd(t->skel->maps.vt_lock_max);
	struct vtr_lock_key k, cur, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		struct vt_lockmax *lm, *arr;
		struct vt_lock_max_rec rec;

		cur = k;
		prev = &cur;
		arr = realloc(s->lockmax, (s->nlockmax + 1) * sizeof(*arr));
		if (!arr)
			return -1;
		s->lockmax = arr;
		lm = &arr[s->nlockmax];
		memset(lm, 0, sizeof(*lm));
		lm->key = cur;
		if (bpf_map_lookup_elem(fd, &cur, &rec))
			continue;
		lm->m = rec.m;
		memcpy(lm->stack, rec.stack, sizeof(lm->stack));
		if (lm->m.stack_id >= 0) {
			while (lm->nstack < VT_LOCK_STACK_DEPTH && lm->stack[lm->nstack])
				lm->nstack++;
			vt_lockmax_from_mutex(t->ks, lm);
		}
		s->nlockmax++;
	}
	return 0;
}

int vt_bpf_losses(struct vt_bpf *t, uint64_t losses[VT_LOSS_MAX])
{
	int fd = bpf_map__fd(t->skel->maps.vt_losses);
	uint64_t *lv = calloc(t->ncpus, sizeof(*lv));

	if (!lv)
		return -ENOMEM;
	for (__u32 i = 0; i < VT_LOSS_MAX; i++) {
		losses[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, lv))
			continue;
		for (int c = 0; c < t->ncpus; c++)
			losses[i] += lv[c];
	}
	free(lv);
	return 0;
}

int vt_bpf_snapshot(struct vt_bpf *t, struct vt_snapshot *s)
{
	int fd;
	struct vtr_device dev;
	uint64_t vdev, cur, *pv = NULL;
	struct vt_rowidx idx = {};
	int err;

	memset(s, 0, sizeof(*s));
	s->ts = vt_now_ns();
	vt_bpf_op_masks(t, &s->untraced_ops, &s->untimed_ops);
	err = vt_stats_map_read(bpf_map__fd(t->skel->maps.vt_stats), true, t->ncpus, s, &idx);
	if (!err)
		err = vt_stats_map_read(bpf_map__fd(t->skel->maps.vt_stats_spill), false, 1, s,
					&idx);
	if (!err)
		err = read_rowc(bpf_map__fd(t->skel->maps.vt_rowc),
				t->skel->rodata->vt_rowc_mask + 1, t->ncpus, s, &idx);
	for (size_t i = 0; !err && i < t->retired.n; i++)
		err = vt_snapshot_add_row(s, &idx, &t->retired.rows[i].key, &t->retired.rows[i].st);
	vt_rowidx_free(&idx);
	/* after the read: what was just read stays in the maps or moves, never both */
	if (!err)
		retire_gone(t);
	if (err)
		goto oom;
	if (vt_bpf_losses(t, s->losses))
		goto oom;
	/* Devices the kernel side knows now, into the table of every device seen. */
	vt_bpf_poll(t, 0);
	fd = bpf_map__fd(t->skel->maps.vt_devices);
	while (!bpf_map_get_next_key(fd, pv, &vdev)) {
		struct vt_dev *d;

		cur = vdev;
		pv = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &dev))
			continue;
		d = vt_devtab_get(t, cur, true);
		if (!d)
			goto oom;
		d->d = dev;
		/* A device whose lifecycle record was lost still gets its callback. */
		if (dev.dma_unmap) {
			char name[VT_ESC_SIZE(sizeof(dev.name))];

			vt_cb_attach_device(t, dev.dma_unmap,
					    dev.name[0] ? vt_esc(name, sizeof(name), dev.name,
								 sizeof(dev.name)) :
							  "a device");
		}
	}
	s->devs = malloc((t->ndevtab ? t->ndevtab : 1) * sizeof(*s->devs));
	if (!s->devs)
		goto oom;
	memcpy(s->devs, t->devtab, t->ndevtab * sizeof(*s->devs));
	s->ndevs = t->ndevtab;
	if (t->opts.locks && read_lockmax(t, s))
		goto oom;
	return 0;
oom:
	return -ENOMEM;
}
