// SPDX-License-Identifier: GPL-2.0
/*
 * bench/detach-cost: what taking probes off costs the kernel, by attach method (issue #12).
 *
 *   detach-cost perf SYM...          a kprobe and a kretprobe per function (perf links)
 *   detach-cost multi SYM...         one kprobe_multi link for the entries, one for the returns
 *   detach-cost hybrid N SYM...      the first N functions by kprobe_multi, the rest by perf
 *   detach-cost tail plain|multi SYM a kprobe_multi dispatcher tail-calling by attach cookie
 *                                    into a kprobe and a kretprobe handler loaded as plain
 *                                    kprobe programs or with expected_attach_type KPROBE_MULTI
 *
 * Attaches, waits DETACH_COST_WAIT seconds (3) or for SIGINT, then closes every link from a
 * pool of threads (one per link, up to 32, like lib/detach.c) and prints the times. The guest
 * script is bench/detach-cost-guest.sh; numbers in docs/BENCHMARKS.md "Exit".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "detach_cost.skel.h"

#define MAX_LINKS   512
#define MAX_THREADS 32

static struct bpf_link *links[MAX_LINKS];
static int nlinks, next_link;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *closer(void *arg)
{
	int i;

	(void)arg;
	while ((i = __atomic_fetch_add(&next_link, 1, __ATOMIC_RELAXED)) < nlinks)
		bpf_link__destroy(links[i]);
	return NULL;
}

static int add(struct bpf_link *l, const char *what)
{
	if (!l || nlinks == MAX_LINKS) {
		fprintf(stderr, "detach-cost: cannot attach %s: %s\n", what, strerror(errno));
		return -1;
	}
	links[nlinks++] = l;
	return 0;
}

static void wait_stop(void)
{
	const char *e = getenv("DETACH_COST_WAIT");
	struct timespec to = { e ? atoi(e) : 3, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigtimedwait(&set, NULL, &to);
}

static int tail(struct detach_cost_bpf *s, bool as_multi, const char *sym)
{
	__u64 entry_cookie = 0, exit_cookie = 1;
	__u32 k[2] = { 0, 1 };
	int fd[2], map;

	if (as_multi) {
		bpf_program__set_expected_attach_type(s->progs.handler_entry,
						      BPF_TRACE_KPROBE_MULTI);
		bpf_program__set_expected_attach_type(s->progs.handler_exit,
						      BPF_TRACE_KPROBE_MULTI);
	}
	if (detach_cost_bpf__load(s)) {
		fprintf(stderr, "detach-cost: cannot load: %s\n", strerror(errno));
		return 1;
	}
	fd[0] = bpf_program__fd(s->progs.handler_entry);
	fd[1] = bpf_program__fd(s->progs.handler_exit);
	map = bpf_map__fd(s->maps.handlers);
	for (int i = 0; i < 2; i++)
		if (bpf_map_update_elem(map, &k[i], &fd[i], 0)) {
			printf("tail %s: handler %d refused by the program array: %s\n",
			       as_multi ? "multi" : "plain", i, strerror(errno));
			return 1;
		}
	LIBBPF_OPTS(bpf_kprobe_multi_opts, eo, .syms = &sym, .cnt = 1, .cookies = &entry_cookie);
	LIBBPF_OPTS(bpf_kprobe_multi_opts, xo, .syms = &sym, .cnt = 1, .cookies = &exit_cookie,
		    .retprobe = true);
	if (add(bpf_program__attach_kprobe_multi_opts(s->progs.dispatch_entry, NULL, &eo), sym) ||
	    add(bpf_program__attach_kprobe_multi_opts(s->progs.dispatch_exit, NULL, &xo), sym))
		return 1;
	wait_stop();
	printf("tail %s: %s dispatched %llu, handlers ran %llu, returns of 0 %llu\n",
	       as_multi ? "multi" : "plain", sym, (unsigned long long)s->bss->dispatched,
	       (unsigned long long)s->bss->hits, (unsigned long long)s->bss->zero_returns);
	return 0;
}

int main(int argc, char **argv)
{
	struct detach_cost_bpf *s;
	pthread_t tid[MAX_THREADS];
	const char **syms;
	int nsyms, nmulti, nthreads;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: detach-cost perf|multi SYM... | hybrid N SYM... | "
				"tail plain|multi SYM\n");
		return 2;
	}
	s = detach_cost_bpf__open();
	if (!s) {
		fprintf(stderr, "detach-cost: cannot open the BPF object\n");
		return 1;
	}
	if (!strcmp(argv[1], "tail") && argc == 4) {
		int rc = tail(s, !strcmp(argv[2], "multi"), argv[3]);

		while (nlinks)
			bpf_link__destroy(links[--nlinks]);
		detach_cost_bpf__destroy(s);
		return rc;
	}
	syms = (const char **)argv + 2;
	nsyms = argc - 2;
	nmulti = !strcmp(argv[1], "multi") ? nsyms : 0;
	if (!strcmp(argv[1], "hybrid")) {
		nmulti = atoi(argv[2]);
		syms++;
		nsyms--;
	}
	if (nmulti < 0 || nmulti > nsyms) {
		fprintf(stderr, "detach-cost: bad count %d\n", nmulti);
		return 2;
	}
	bpf_program__set_autoload(s->progs.multi_count, nmulti > 0);
	bpf_program__set_autoload(s->progs.kprobe_count, nmulti < nsyms);
	bpf_program__set_autoload(s->progs.dispatch_entry, false);
	bpf_program__set_autoload(s->progs.dispatch_exit, false);
	bpf_program__set_autoload(s->progs.handler_entry, false);
	bpf_program__set_autoload(s->progs.handler_exit, false);
	bpf_map__set_autocreate(s->maps.handlers, false);
	if (detach_cost_bpf__load(s)) {
		fprintf(stderr, "detach-cost: cannot load: %s\n", strerror(errno));
		return 1;
	}
	t0 = now();
	for (int ret = 0; nmulti && ret < 2; ret++) {
		LIBBPF_OPTS(bpf_kprobe_multi_opts, o, .syms = syms, .cnt = nmulti, .retprobe = ret);

		if (add(bpf_program__attach_kprobe_multi_opts(s->progs.multi_count, NULL, &o),
			"kprobe_multi"))
			return 1;
	}
	for (int i = nmulti; i < nsyms; i++)
		for (int ret = 0; ret < 2; ret++)
			if (add(bpf_program__attach_kprobe(s->progs.kprobe_count, ret, syms[i]),
				syms[i]))
				return 1;
	printf("%s: %d links on %d functions (%d by kprobe_multi) attached in %.3f s\n", argv[1],
	       nlinks, nsyms, nmulti, now() - t0);
	fflush(stdout);
	wait_stop();
	t0 = now();
	nthreads = nlinks < MAX_THREADS ? nlinks : MAX_THREADS;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, closer, NULL))
			nthreads = i;
	closer(NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	printf("%s: %d links closed in %.3f s (%d threads; %llu hits)\n", argv[1], nlinks,
	       now() - t0, nthreads + 1, (unsigned long long)s->bss->hits);
	detach_cost_bpf__destroy(s);
	return 0;
}
