// SPDX-License-Identifier: GPL-2.0
/* Unit tests of lib/stats_map.c against real BPF maps of this host's kernel (maps only, no
 * program: the dev machine's kernel has bpf() but no VFIO): batch lookups and the key walk read
 * the same rows, and the batch takes a few calls where the walk takes two per key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"

#define NKEYS 3000 /* 256 containers' worth of rows (top's 1,024 process and device rows) */

static struct vtr_key key_of(int i)
{
	struct vtr_key k = { .obj = 0xffff888000000000ULL + (uint64_t)(i / 8) * 4096,
			     .tgid = 1000 + (uint32_t)(i / 8),
			     .op = i % 8,
			     .kind = 0 };

	return k;
}

/* A map of NKEYS rows: row i counts i + 1 on CPU c times (c + 1) (summed: (i + 1) * ncpus *
 * (ncpus + 1) / 2), bytes 7 * i on CPU 0 only. -1 (and the test skipped) without bpf(). */
static int make_map(bool percpu, int ncpus)
{
	struct vtr_stat *vals = calloc(percpu ? ncpus : 1, sizeof(*vals));
	int fd = bpf_map_create(percpu ? BPF_MAP_TYPE_PERCPU_HASH : BPF_MAP_TYPE_HASH, "vt_test",
				sizeof(struct vtr_key), sizeof(struct vtr_stat), 4096, NULL);

	assert_non_null(vals);
	if (fd < 0) {
		free(vals);
		return -1;
	}
	for (int i = 0; i < NKEYS; i++) {
		struct vtr_key k = key_of(i);

		for (int c = 0; c < (percpu ? ncpus : 1); c++) {
			memset(&vals[c], 0, sizeof(vals[c]));
			vals[c].count = (uint64_t)(i + 1) * (c + 1);
			vals[c].bytes = c ? 0 : 7ULL * i;
			vals[c].hist[i % VT_HIST_SLOTS] = 1;
		}
		assert_int_equal(bpf_map_update_elem(fd, &k, vals, BPF_NOEXIST), 0);
	}
	free(vals);
	return fd;
}

static void check_rows(const struct vt_snapshot *s, bool percpu, int ncpus)
{
	uint64_t mult = percpu ? (uint64_t)ncpus * (ncpus + 1) / 2 : 1;
	struct vt_rowidx idx = {};

	assert_int_equal(s->n, NKEYS);
	for (size_t r = 0; r < s->n; r++)
		assert_int_equal(vt_rowidx_add(&idx, s->rows, r), 0);
	for (int i = 0; i < NKEYS; i++) {
		struct vtr_key k = key_of(i);
		const struct vt_row *row = vt_rowidx_find(&idx, s->rows, &k);

		assert_non_null(row);
		assert_int_equal(row->st.count, (uint64_t)(i + 1) * mult);
		assert_int_equal(row->st.bytes, 7ULL * i);
		assert_int_equal(row->st.hist[i % VT_HIST_SLOTS], percpu ? ncpus : 1);
	}
	vt_rowidx_free(&idx);
}

static void read_both_ways(bool percpu)
{
	int ncpus = libbpf_num_possible_cpus(), fd = make_map(percpu, ncpus);
	struct vt_snapshot batch = {}, walk = {};
	struct vt_rowidx bi = {}, wi = {};
	uint64_t calls_batch, calls_walk;

	if (fd < 0)
		skip(); /* no bpf() here (not root, or a kernel without it) */
	vt_stats_map_syscalls = 0;
	assert_int_equal(vt_stats_map_read(fd, percpu, ncpus, &batch, &bi), 0);
	calls_batch = vt_stats_map_syscalls;
	setenv("VFIO_TRACE_NO_BATCH", "1", 1);
	vt_stats_map_syscalls = 0;
	assert_int_equal(vt_stats_map_read(fd, percpu, ncpus, &walk, &wi), 0);
	calls_walk = vt_stats_map_syscalls;
	unsetenv("VFIO_TRACE_NO_BATCH");
	check_rows(&batch, percpu, ncpus);
	check_rows(&walk, percpu, ncpus);
	/* the walk: get_next_key and lookup per key, and the last get_next_key */
	assert_int_equal(calls_walk, 2 * NKEYS + 1);
	/* the batch: ~1 MiB of values per call */
	assert_true(calls_batch <=
		    2 + NKEYS * (percpu ? ncpus : 1) * sizeof(struct vtr_stat) / (1u << 20) * 2);
	vt_snapshot_free(&batch);
	vt_snapshot_free(&walk);
	vt_rowidx_free(&bi);
	vt_rowidx_free(&wi);
	close(fd);
}

static void test_percpu_map(void **state)
{
	(void)state;
	read_both_ways(true);
}

static void test_hash_map(void **state)
{
	(void)state;
	read_both_ways(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percpu_map),
		cmocka_unit_test(test_hash_map),
	};

	return cmocka_run_group_tests_name("stats_map", tests, NULL, NULL);
}
