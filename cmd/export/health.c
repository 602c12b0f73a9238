// SPDX-License-Identifier: GPL-2.0
/*
 * export --health S: vfio-trace hung's picture (read-only BPF iterators, lib/hung.c) every S
 * seconds, in three gauges per lock: tasks waiting for a container's locks, the longest wait,
 * deadlock cycles. A check loads the iterators (up to seconds under emulation), so it runs in
 * a thread of its own: the main thread keeps reading the rings, whose device records are when
 * a short-lived VM's name can still be read. The thread has its own kallsyms (read at start,
 * while addresses show), refreshed when the tracer reports a module loaded or unloaded.
 */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "vt.h"
#include "hung.h"
#include "export.h"

struct export_health {
	struct export *x;
	struct vt_tracer *t;
	struct vt_ksyms *ks;
	uint64_t every_ns;
	unsigned gen; /* the tracer's module generation ks was read at */
	bool failing; /* said once, until a check works again */
	pthread_t thread;
	bool running, stop;
	pthread_mutex_t lock; /* stop, and the wait for it */
	pthread_cond_t wake;
};

/* What the iterators look for, at the modules' present addresses. */
static void refresh_syms(struct export_health *h)
{
	unsigned gen = vt_tracer_module_generation(h->t);
	static const char *const modules[] = { "vfio", "vfio_iommu_type1" };

	if (gen == h->gen)
		return;
	h->gen = gen;
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		vt_ksyms_reload_module(h->ks, modules[i]);
}

/* Is module loaded and done with its init? While it is loading or going, its BTF and
 * symbols come and go: the iterators relocated against them cannot load. */
static bool module_live(const char *module)
{
	char path[96], state[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", module);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(state, sizeof(state), f))
		state[0] = 0;
	fclose(f);
	return !strncmp(state, "live", 4);
}

static bool vfio_live(void)
{
	return module_live("vfio") && module_live("vfio_iommu_type1");
}

static void check(struct export_health *h)
{
	struct export *x = h->x;
	struct vth_snapshot s;
	struct vth_summary sum = {};
	unsigned gen = vt_tracer_module_generation(h->t);
	char err[256];
	int rc = 0;

	/* Not loaded (export goes on across a module reload): no container exists, nothing
	 * waits: zeros. */
	if (vfio_live()) {
		refresh_syms(h);
		rc = vth_collect_with(&s, h->ks, err, sizeof(err));
		if (!rc && vth_summarize(&s, &sum)) {
			snprintf(err, sizeof(err), "out of memory");
			rc = -1;
		}
		vth_snapshot_free(&s);
		/* A module went or came meanwhile: not a failure of the check; the next one sees
		 * what is there then. */
		if (rc && (!vfio_live() || vt_tracer_module_generation(h->t) != gen))
			return;
	}
	if (rc && !h->failing)
		vt_warn("health check: %s (counted in vfio_trace_health_check_errors_total; said once)",
			err);
	h->failing = rc != 0;
	pthread_mutex_lock(&x->lock);
	x->prom.health_checks++;
	if (rc) {
		x->prom.health_errors++; /* the last good numbers stay */
	} else {
		for (int l = 0; l < VTH_NLOCKS && l < 2; l++) {
			x->prom.lock_waiters[l] = sum.waiters[l];
			x->prom.lock_longest_s[l] = sum.longest_s[l];
		}
		x->prom.lock_cycles = sum.cycles;
	}
	pthread_mutex_unlock(&x->lock);
}

static void *health_main(void *arg)
{
	struct export_health *h = arg;
	struct timespec until;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		pthread_mutex_unlock(&h->lock);
		check(h);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += h->every_ns / 1000000000ull;
		until.tv_nsec += h->every_ns % 1000000000ull;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&h->lock);
		while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int export_health_init(struct export *x, double every_s)
{
	struct export_health *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (!h || !(h->ks = vt_ksyms_load())) {
		vt_err("health checks: cannot read /proc/kallsyms: %s (--health 0 goes without)",
		       strerror(errno ? errno : ENOMEM));
		free(h);
		return -1;
	}
	h->x = x;
	h->every_ns = (uint64_t)(every_s * 1e9);
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	x->health = h;
	return 0;
}

void export_health_start(struct export *x, struct vt_tracer *t)
{
	struct export_health *h = x->health;

	if (!h)
		return;
	h->t = t;
	h->gen = vt_tracer_module_generation(t);
	sigset_t all, old;

	/* born with every signal blocked: SIGINT/SIGTERM are the main thread's to see */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->running = !pthread_create(&h->thread, NULL, health_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->running)
		vt_warn("health checks: cannot start their thread: none will run");
}

void export_health_stop(struct export *x)
{
	struct export_health *h = x->health;

	if (!h)
		return;
	if (h->running) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL); /* a check under way ends first */
	}
	vt_ksyms_free(h->ks);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
	x->health = NULL;
}
