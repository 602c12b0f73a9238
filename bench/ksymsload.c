// SPDX-License-Identifier: GPL-2.0
/*
 * bench/ksymsload: profile of vfio-trace's start-up: how long lib/ksyms.c's vt_ksyms_load()
 * (the one /proc/kallsyms pass vfio-trace does before attaching; it keeps only the VFIO modules'
 * symbols and a few vmlinux names) takes and what it adds to the peak RSS; then, for scale, the
 * table of every text symbol that `locks` reads for its stacks (vt_ksyms_by_addr()). Built from
 * lib/ksyms.c itself. Prints "ksyms_load_s=X syms_rss_kb=N maxrss_kb=N kept=N full_load_s=X
 * full_rss_kb=N full_syms=N".
 */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include "vt.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long maxrss(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(void)
{
	long r0 = maxrss();
	double t0 = now();
	struct vt_ksyms *ks = vt_ksyms_load();
	double t1 = now();

	if (!ks) {
		fprintf(stderr, "ksymsload: cannot read /proc/kallsyms\n");
		return 1;
	}
	long r1 = maxrss();
	size_t kept = vt_ksyms_count(ks);
	double t2 = now();

	vt_ksyms_by_addr(ks, 0);
	printf("ksyms_load_s=%.3f syms_rss_kb=%ld maxrss_kb=%ld kept=%zu full_load_s=%.3f "
	       "full_rss_kb=%ld full_syms=%zu\n",
	       t1 - t0, r1 - r0, r1, kept, now() - t2, maxrss() - r1, vt_ksyms_count(ks));
	vt_ksyms_free(ks);
	return 0;
}
