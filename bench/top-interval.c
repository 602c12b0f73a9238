// SPDX-License-Identifier: GPL-2.0
/*
 * bench/top-interval [CONTAINERS [INTERVALS]]: the user-space CPU one `vfio-trace top -b`
 * interval costs at CONTAINERS containers (default 256; each its own live process with one
 * device and top's 8 rows), on this host, not in the lab: the lab's TCG emulates every
 * instruction (top's 19-23 % of a core at 256 containers there says nothing of a host's).
 * Per interval, as cmd/top/top.c's tick and print do: the stats rows read from a real per-CPU
 * BPF hash map (lib/stats_map.c: bpf() works here, only attaching does not), diffed against the
 * previous and the baseline snapshot, top's view built, sorted, its processes named
 * (lib/report.c's cache: one /proc/PID/stat per process and interval) and every line formatted
 * and written to /dev/null. Prints "containers=N rows=N view_rows=N intervals=N
 * cpu_ms_per_interval=X share_at_1s=Y% maxrss_kb=Z" (user + system CPU, getrusage).
 * Needs root (bpf()); make bench-top-interval.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "top/view.h"

static const int row_ops[] = { VT_OP_UNMAP,    VT_OP_MAP, VT_OP_NOTIFY, VT_OP_REMOVE_DMA,
			       VT_OP_CALLBACK, VT_OP_PIN, VT_OP_UNPIN,	VT_OP_REGISTER };
#define NROW_OPS (sizeof(row_ops) / sizeof(row_ops[0]))

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static uint64_t container_of_index(int c)
{
	return 0xffff888000000000ULL + (uint64_t)c * 0x100000ULL;
}

static uint64_t device_of_index(int c)
{
	return 0xffff889000000000ULL + (uint64_t)c * 0x100000ULL;
}

/* One interval's worth of activity into the map: every row counts 10 more operations. */
static int bump_rows(int fd, const pid_t *pids, int n, int ncpus, struct vtr_stat *vals,
		     uint64_t round)
{
	for (int c = 0; c < n; c++)
		for (size_t o = 0; o < NROW_OPS; o++) {
			struct vtr_key k = { .tgid = (uint32_t)pids[c], .op = row_ops[o] };

			k.kind = vt_op_flags(row_ops[o]) & VT_OPF_DEVICE ? 1 : 0;
			k.obj = k.kind ? device_of_index(c) : container_of_index(c);
			memset(vals, 0, (size_t)ncpus * sizeof(*vals));
			vals[0].count = 10 * round;
			vals[0].bytes = 10 * round * 65536;
			vals[0].lat_sum = 10 * round * 20000;
			vals[0].lat_max = 20000 + o;
			vals[0].hist[vt_hist_slot(20000 + o)] = 10 * round;
			if (bpf_map_update_elem(fd, &k, vals, BPF_ANY))
				return -errno;
		}
	return 0;
}

static void devices(struct vt_snapshot *s, const pid_t *pids, int n)
{
	s->devs = calloc((size_t)n, sizeof(*s->devs));
	s->ndevs = (size_t)n;
	for (int c = 0; c < n; c++) {
		struct vt_dev *d = &s->devs[c];

		d->vdev = device_of_index(c);
		d->d.container = container_of_index(c);
		d->d.dma_unmap = 0xffffffffc0001000ULL;
		d->d.tgid = (uint32_t)pids[c];
		d->d.registered = 1;
		snprintf(d->d.name, sizeof(d->d.name), "vfio_dmatest.%d", c);
		snprintf(d->d.driver, sizeof(d->d.driver), "vfio_dmatest");
	}
}

static int snapshot(int fd, int ncpus, const pid_t *pids, int n, uint64_t ts, struct vt_snapshot *s)
{
	struct vt_rowidx idx = {};
	int err;

	memset(s, 0, sizeof(*s));
	s->ts = ts;
	err = vt_stats_map_read(fd, true, ncpus, s, &idx);
	vt_rowidx_free(&idx);
	devices(s, pids, n);
	return err;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 256, intervals = argc > 2 ? atoi(argv[2]) : 100;
	int ncpus = libbpf_num_possible_cpus(), fd, rc = 1;
	struct vt_snapshot base, prev;
	static struct vt_ident_cache ids;
	struct vtr_stat *vals;
	char line[VT_VIEW_LINE];
	pid_t *pids;
	FILE *out = fopen("/dev/null", "w");
	size_t view_rows = 0;
	double t0, t1;

	vt_malloc_tune(); /* as vfio-trace's main() */
	if (n < 1 || n > 4096 || intervals < 1 || !out || ncpus < 1) {
		fprintf(stderr, "usage: top-interval [CONTAINERS 1..4096 [INTERVALS]]\n");
		return 2;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "vt_stats", sizeof(struct vtr_key),
			    sizeof(struct vtr_stat), (uint32_t)(n * NROW_OPS + 64), NULL);
	if (fd < 0) {
		fprintf(stderr, "top-interval: cannot create a BPF map: %s (root?)\n",
			strerror(errno));
		return 1;
	}
	vals = calloc((size_t)ncpus, sizeof(*vals));
	pids = calloc((size_t)n, sizeof(*pids));
	/* the processes top names: live ones, so every interval checks their start time */
	for (int c = 0; c < n; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			pause();
			_exit(0);
		}
		if (pids[c] < 0) {
			fprintf(stderr, "top-interval: fork: %s\n", strerror(errno));
			n = c;
			goto out;
		}
	}
	if (bump_rows(fd, pids, n, ncpus, vals, 1) ||
	    snapshot(fd, ncpus, pids, n, 1000000000, &base))
		goto out;
	if (vt_snapshot_copy(&base, &prev))
		goto out;
	t0 = cpu_ms();
	for (int i = 0; i < intervals; i++) {
		struct vt_snapshot cur, iv, tot;
		struct vt_view v = {};
		struct vt_view_widths w;

		/* the kernel's side of an interval, not top's: not timed */
		t1 = cpu_ms();
		if (bump_rows(fd, pids, n, ncpus, vals, (uint64_t)i + 2))
			goto out;
		t0 += cpu_ms() - t1;
		if (snapshot(fd, ncpus, pids, n, 1000000000ULL * (uint64_t)(i + 2), &cur) ||
		    vt_snapshot_diff(&cur, &prev, &iv) || vt_snapshot_diff(&cur, &base, &tot) ||
		    vt_view_build(&v, &iv, 1.0, &tot, (double)(i + 1), &cur))
			goto out;
		for (size_t p = 0; p < v.nprocs; p++)
			vt_ident_get(&ids, v.procs[p].tgid, v.procs[p].comm,
				     sizeof(v.procs[p].comm), v.procs[p].vm, sizeof(v.procs[p].vm));
		vt_view_sort(&v, 0, false);
		vt_view_widths(&v, &w);
		for (size_t p = 0; p < v.nprocs; p++) {
			vt_view_proc_line(line, sizeof(line), &v.procs[p], &v.procs[p].iv, 1.0, &w);
			fprintf(out, "%s\n", line);
		}
		for (size_t d = 0; d < v.ndevs; d++) {
			vt_view_dev_line(line, sizeof(line), &v.devs[d], &v.devs[d].iv, 1.0, &w);
			fprintf(out, "%s\n", line);
		}
		fflush(out);
		view_rows = v.nprocs + v.ndevs;
		vt_view_free(&v);
		vt_snapshot_free(&iv);
		vt_snapshot_free(&tot);
		vt_snapshot_free(&prev);
		prev = cur;
	}
	t1 = cpu_ms();
	{
		struct rusage ru;
		double per = (t1 - t0) / intervals;

		getrusage(RUSAGE_SELF, &ru);
		printf("containers=%d rows=%zu view_rows=%zu intervals=%d cpu_ms_per_interval=%.3f "
		       "share_at_1s=%.3f%% maxrss_kb=%ld\n",
		       n, prev.n, view_rows, intervals, per, per / 10.0, ru.ru_maxrss);
	}
	rc = 0;
out:
	for (int c = 0; c < n; c++)
		if (pids[c] > 0)
			kill(pids[c], SIGKILL);
	while (wait(NULL) > 0)
		;
	return rc;
}
