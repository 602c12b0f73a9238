// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a stats map (vt_stats, per-CPU, or vt_stats_spill) into a snapshot's rows.
 *
 * With bpf_map_lookup_batch: a few syscalls for the whole map instead of two per key
 * (get_next_key + lookup). At 256 containers (2,000-odd keys) the per-key walk made top's
 * read cost 4,000-odd syscalls per interval. Kernels or maps that refuse batch lookups get the
 * walk. Kept apart from lib/snapshot.c (the skeleton's user) so that the unit tests read a
 * real map with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "trace.h"
#include "report.h"

uint64_t vt_stats_map_syscalls;

int vt_snapshot_add_row(struct vt_snapshot *s, struct vt_rowidx *idx, const struct vtr_key *key,
			const struct vtr_stat *v)
{
	struct vt_row *row = vt_rowidx_find(idx, s->rows, key);

	if (!row) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct vt_row *r = realloc(s->rows, cap * sizeof(*r));

			if (!r)
				return -ENOMEM;
			s->rows = r;
			s->cap = cap;
		}
		row = &s->rows[s->n];
		memset(row, 0, sizeof(*row));
		row->key = *key;
		if (vt_rowidx_add(idx, s->rows, s->n))
			return -ENOMEM;
		s->n++;
	}
	vt_stat_add(&row->st, v);
	return 0;
}

int vt_stats_map_lookup(int fd, const struct vtr_key *key, bool percpu, int ncpus,
			struct vtr_stat *vals)
{
	vt_stats_map_syscalls++;
	if (bpf_map_lookup_elem(fd, key, vals))
		return -errno;
	for (int c = 1; c < (percpu ? ncpus : 1); c++)
		vt_stat_add(&vals[0], &vals[c]);
	return 0;
}

/* The walk: get_next_key and a lookup per key. Never deleted from by the kernel side, so
 * walking the keys cannot lose an update: counters only grow. */
static int read_walk(int fd, bool percpu, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx)
{
	struct vtr_stat *vals = calloc(percpu ? ncpus : 1, sizeof(*vals));
	struct vtr_key key, next, *prev = NULL;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	while (!err && (vt_stats_map_syscalls++, !bpf_map_get_next_key(fd, prev, &next))) {
		key = next;
		prev = &key;
		if (vt_stats_map_lookup(fd, &key, percpu, ncpus, vals))
			continue;
		/* The spill map's and the hot rows' keys may repeat the per-CPU map's. */
		err = vt_snapshot_add_row(s, idx, &key, &vals[0]);
	}
	free(vals);
	return err;
}

/* Batch lookups of about 1 MiB of values each, whatever the number of CPUs. 1: the kernel
 * refused the first batch (read_walk then), 0, or -errno. */
static int read_batch(int fd, bool percpu, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx)
{
	size_t per = percpu ? (size_t)ncpus : 1; /* vtr_stat's size is a multiple of 8 */
	uint32_t chunk = (1u << 20) / (per * sizeof(struct vtr_stat));
	struct vtr_key *keys = NULL;
	struct vtr_stat *vals = NULL;
	uint64_t in = 0, out = 0; /* the hash maps' batch token: a bucket (u32) */
	bool first = true, done = false;
	int err = 0;

	if (chunk < 16)
		chunk = 16;
	while (!done && !err) {
		uint32_t count = chunk;
		int rc;

		if (!keys) {
			keys = calloc(chunk, sizeof(*keys));
			vals = calloc(chunk * per, sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		vt_stats_map_syscalls++;
		rc = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, NULL);
		if (rc && errno != ENOENT) {
			if (errno == ENOSPC && chunk < (1u << 16)) {
				/* one bucket holds more keys than a batch: larger batches */
				free(keys);
				free(vals);
				keys = NULL;
				vals = NULL;
				chunk *= 2;
				continue;
			}
			/* 524: the kernel's own ENOTSUPP, which bpf() lets out */
			err = first && (errno == EINVAL || errno == EOPNOTSUPP || errno == 524) ?
				      1 :
				      -errno;
			break;
		}
		done = rc != 0; /* ENOENT: this was the last batch */
		for (uint32_t i = 0; !err && i < count; i++) {
			struct vtr_stat *v = &vals[i * per];

			for (size_t c = 1; c < per; c++)
				vt_stat_add(v, &v[c]);
			err = vt_snapshot_add_row(s, idx, &keys[i], v);
		}
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

int vt_stats_map_read(int fd, bool percpu, int ncpus, struct vt_snapshot *s, struct vt_rowidx *idx)
{
	int err = getenv("VFIO_TRACE_NO_BATCH") ? 1 : read_batch(fd, percpu, ncpus, s, idx);

	return err == 1 ? read_walk(fd, percpu, ncpus, s, idx) : err;
}
