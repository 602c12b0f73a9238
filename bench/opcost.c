// SPDX-License-Identifier: GPL-2.0
/*
 * bench/opcost [N]: load bench/opcost.bpf.c (every program on fentry/__task_pid_nr_ns (getppid calls it)), turn
 * on bpf_stats, call getppid() N times (default 200000), print per program
 * "name ns/run, minus the empty program's, runs". The ring buffer is drained every 256 calls
 * (nobody waits on it: a wake-up is only the irq_work a waiting reader would need).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "opcost.skel.h"

static int drain(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct opcost_bpf *s = opcost_bpf__open_and_load();
	struct bpf_program *p;
	struct ring_buffer *rb;
	int sfd;
	double base = 0;

	if (!s) {
		fprintf(stderr, "opcost: load: %s\n", strerror(errno));
		return 1;
	}
	if (opcost_bpf__attach(s)) {
		fprintf(stderr, "opcost: attach: %s\n", strerror(errno));
		return 1;
	}
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0) {
		fprintf(stderr, "opcost: bpf_enable_stats: %s\n", strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(s->maps.m_rb), drain, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "opcost: ring_buffer__new: %s\n", strerror(errno));
		return 1;
	}
	for (long i = 0; i < n; i++) {
		syscall(SYS_getppid);
		if (!(i & 255))
			ring_buffer__consume(rb);
	}
	bpf_object__for_each_program(p, s->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		double ns;

		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		ns = info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0;
		if (!strcmp(bpf_program__name(p), "o00_empty"))
			base = ns;
		printf("opcost %-18s %8.1f ns/run %+8.1f  runs %llu\n", bpf_program__name(p), ns,
		       ns - base, (unsigned long long)info.run_cnt);
	}
	close(sfd);
	ring_buffer__free(rb);
	opcost_bpf__destroy(s);
	return 0;
}
