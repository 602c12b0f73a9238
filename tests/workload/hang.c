// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload: the two scenarios for `vfio-trace hung` (one container, this process, no fork).
 *
 * deadlock     two threads each MAP_DMA + DMATEST_PIN their own vfio_dma, then both issue
 *              VFIO_IOMMU_UNMAP_DMA at the same moment WITHOUT the per-container unmap mutex.
 *              With --delay-us in the module's dma_unmap (default 200000) the ABBA forms every
 *              time: thread A in the (inlined) vfio_notify_dma_unmap holds device_list_lock and
 *              its callback's vfio_unpin_pages waits for iommu->lock; thread B took iommu->lock
 *              in vfio_dma_do_unmap and waits for device_list_lock. Both stay in D state
 *              forever; the process cannot be killed. --json is written once both threads are
 *              about to unmap ({"unmap_tids": [A, B], ...}); the scenario never returns on an
 *              affected kernel (after --duration, default 60 s, it exits 4 leaving them stuck).
 * slow-notify  the finite case. Devices 0 and 2 sleep --delay-us (default 2000000) in every
 *              dma_unmap; device 0 keeps its pins once (fault_k 1), so the unmap's first notify
 *              round takes iommu->lock nowhere and lasts 2 x delay. During that round thread R
 *              opens device 1 (its first open registers it: iommu->lock, then it waits for
 *              device_list_lock, held by the notifying thread) and thread P pins a page of its
 *              own vfio_dma through device 0 (waits for iommu->lock, held by R). The chain
 *              P -> iommu->lock -> R -> device_list_lock -> the unmapping thread (asleep in the
 *              callback, waiting for nothing) clears when the round ends. --json is written when
 *              P is about to pin (tids) and again at the end ("status": "ok").
 *              (A pin alone never waits here: the notify drops iommu->lock around the callbacks
 *              and pins do not take device_list_lock.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <json-c/json.h>

#include "../kmod/vfio_dmatest.h"
#include "wl.h"

static void msleep_(unsigned ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int h_map(struct wcontainer *c, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)c->buf,
		.iova = iova,
		.size = c->opt->map_size,
	};

	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m)) {
		wc_fail(c, "VFIO_IOMMU_MAP_DMA(0x%llx): %s", (unsigned long long)iova,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int h_pin(struct wcontainer *c, unsigned k, uint64_t iova)
{
	struct dmatest_pin p = { .iova = iova, .npage = 1 };

	if (ioctl(c->dev[k].fds[0], DMATEST_PIN, &p) != 1) {
		wc_fail(c, "DMATEST_PIN(%s, 0x%llx): %s", c->dev[k].name, (unsigned long long)iova,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int h_unmap(struct wcontainer *c, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = c->opt->map_size,
	};

	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u)) {
		wc_fail(c, "VFIO_IOMMU_UNMAP_DMA(0x%llx): %s", (unsigned long long)iova,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int h_knobs(struct wcontainer *c, unsigned k, unsigned delay_us, unsigned fault_k)
{
	struct dmatest_knobs kn = { .delay_us = delay_us, .fault_k = fault_k };

	if (ioctl(c->dev[k].fds[0], DMATEST_SET_KNOBS, &kn)) {
		wc_fail(c, "DMATEST_SET_KNOBS(%s): %s", c->dev[k].name, strerror(errno));
		return -1;
	}
	c->dev[k].knobs_dirty = delay_us || fault_k;
	return 0;
}

static int write_json(const struct options *o, json_object *doc)
{
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	char tmp[4096];
	FILE *f;

	if (!o->json_path) {
		printf("%s\n", s);
		fflush(stdout);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->json_path);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) || rename(tmp, o->json_path))
		return -1;
	return 0;
}

static void touch_file(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* ---- deadlock ----------------------------------------------------------------------------- */

struct dl_thread {
	struct wcontainer *c;
	unsigned t;
	pthread_t th;
	pthread_barrier_t *bar;
	_Atomic int tid;
	_Atomic int done;
	int err;
};

static void *dl_main(void *arg)
{
	struct dl_thread *w = arg;
	uint64_t iova = w->c->recs[w->t].iova;

	w->tid = (int)syscall(SYS_gettid);
	if (h_map(w->c, iova) || h_pin(w->c, 0, iova))
		w->err = 1;
	pthread_barrier_wait(w->bar);	    /* both mapped and pinned */
	pthread_barrier_wait(w->bar);	    /* go: the main thread has written the tids */
	if (!w->err && h_unmap(w->c, iova)) /* no unmap_lock: on purpose */
		w->err = 1;
	w->done = 1;
	return NULL;
}

static int run_deadlock(struct wcontainer *c, const struct options *o)
{
	struct dl_thread w[2];
	pthread_barrier_t bar;
	json_object *doc, *a;
	double t0;
	int done = 0;

	pthread_barrier_init(&bar, NULL, 3);
	for (unsigned t = 0; t < 2; t++) {
		w[t] = (struct dl_thread){ .c = c, .t = t, .bar = &bar };
		if (pthread_create(&w[t].th, NULL, dl_main, &w[t])) {
			wc_fail(c, "pthread_create: %s", strerror(errno));
			return 1;
		}
	}
	pthread_barrier_wait(&bar);
	if (w[0].err || w[1].err)
		return 1;
	doc = json_object_new_object();
	json_object_object_add(doc, "tool", json_object_new_string("vfio-workload"));
	json_object_object_add(doc, "scenario", json_object_new_string("deadlock"));
	json_object_object_add(doc, "pid", json_object_new_int(getpid()));
	json_object_object_add(doc, "container_fd", json_object_new_int(c->fd));
	json_object_object_add(doc, "device", json_object_new_string(c->dev[0].name));
	json_object_object_add(doc, "delay_us", json_object_new_int(o->delay_us));
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_int(w[0].tid));
	json_object_array_add(a, json_object_new_int(w[1].tid));
	json_object_object_add(doc, "unmap_tids", a);
	json_object_object_add(doc, "status", json_object_new_string("unmapping"));
	if (write_json(o, doc))
		return 1;
	if (!o->quiet)
		fprintf(stderr, "vfio-workload: deadlock: threads %d and %d unmap now\n",
			(int)w[0].tid, (int)w[1].tid);
	pthread_barrier_wait(&bar); /* go */
	touch_file(o->ready_file);
	t0 = now_s();
	while (now_s() - t0 < (o->duration > 0 ? o->duration : 60) && !wl_stop) {
		done = w[0].done + w[1].done;
		if (done == 2)
			break;
		msleep_(50);
	}
	json_object_object_add(doc, "status",
			       json_object_new_string(done == 2 ? "returned" : "stuck"));
	write_json(o, doc);
	if (done == 2) {
		pthread_join(w[0].th, NULL);
		pthread_join(w[1].th, NULL);
		fprintf(stderr, "vfio-workload: deadlock: both unmaps returned (no deadlock)\n");
		return w[0].err || w[1].err ? 1 : 0;
	}
	fprintf(stderr, "vfio-workload: deadlock: %d of 2 unmaps still blocked after %.0f s\n",
		2 - done, now_s() - t0);
	_exit(4); /* the blocked threads cannot be joined or killed */
}

/* ---- slow-notify -------------------------------------------------------------------------- */

struct sn_thread {
	struct wcontainer *c;
	pthread_t th;
	_Atomic int tid;
	_Atomic int phase; /* 1 started, 2 done */
	int err;
	double t_start, t_end;
};

static void *sn_unmap(void *arg)
{
	struct sn_thread *w = arg;

	w->tid = (int)syscall(SYS_gettid);
	w->phase = 1;
	w->t_start = now_s();
	w->err = h_unmap(w->c, w->c->recs[0].iova);
	w->t_end = now_s();
	w->phase = 2;
	return NULL;
}

static void *sn_register(void *arg)
{
	struct sn_thread *w = arg;
	struct wdev *d = &w->c->dev[1];
	int fd;

	w->tid = (int)syscall(SYS_gettid);
	w->phase = 1;
	w->t_start = now_s();
	fd = ioctl(d->group_fd, VFIO_GROUP_GET_DEVICE_FD, d->name); /* first open: register */
	w->t_end = now_s();
	if (fd < 0) {
		wc_fail(w->c, "VFIO_GROUP_GET_DEVICE_FD(%s): %s", d->name, strerror(errno));
		w->err = 1;
	} else {
		d->fds[0] = fd;
		d->nfds = 1;
	}
	w->phase = 2;
	return NULL;
}

static void *sn_pin(void *arg)
{
	struct sn_thread *w = arg;

	w->tid = (int)syscall(SYS_gettid);
	w->phase = 1;
	w->t_start = now_s();
	w->err = h_pin(w->c, 0, w->c->recs[1].iova);
	w->t_end = now_s();
	w->phase = 2;
	return NULL;
}

static uint64_t cb_calls(const char *dev)
{
	char path[256], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/dmatest_stats", dev);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "dma_unmap_calls %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int run_slow_notify(struct wcontainer *c, const struct options *o)
{
	struct sn_thread u = { .c = c }, r = { .c = c }, p = { .c = c };
	json_object *doc;
	uint64_t calls0;
	double t0;
	int ret = 0;

	/* device 1 joins later (its open is the register that waits); 0 and 2 are slow */
	if (h_knobs(c, 1, 0, 0))
		return 1;
	close(c->dev[1].fds[0]);
	c->dev[1].fds[0] = -1;
	c->dev[1].nfds = 0;
	if (h_knobs(c, 0, o->delay_us, 1) || h_knobs(c, 2, o->delay_us, 0))
		return 1;
	if (h_map(c, c->recs[0].iova) || h_pin(c, 0, c->recs[0].iova) || h_map(c, c->recs[1].iova))
		return 1;
	calls0 = cb_calls(c->dev[0].name) + cb_calls(c->dev[2].name);
	t0 = now_s();
	pthread_create(&u.th, NULL, sn_unmap, &u);
	/* the round's first callback (device 0 or 2, in device_list order) has begun:
	 * device_list_lock is held, iommu->lock dropped, 2 x delay to go */
	while (cb_calls(c->dev[0].name) + cb_calls(c->dev[2].name) == calls0 && now_s() - t0 < 30)
		msleep_(20);
	msleep_(200);
	pthread_create(&r.th, NULL, sn_register, &r);
	msleep_(300);
	pthread_create(&p.th, NULL, sn_pin, &p);
	msleep_(200);
	doc = json_object_new_object();
	json_object_object_add(doc, "tool", json_object_new_string("vfio-workload"));
	json_object_object_add(doc, "scenario", json_object_new_string("slow-notify"));
	json_object_object_add(doc, "pid", json_object_new_int(getpid()));
	json_object_object_add(doc, "delay_us", json_object_new_int(o->delay_us));
	json_object_object_add(doc, "unmap_tid", json_object_new_int(u.tid));
	json_object_object_add(doc, "register_tid", json_object_new_int(r.tid));
	json_object_object_add(doc, "pin_tid", json_object_new_int(p.tid));
	json_object_object_add(doc, "status", json_object_new_string("waiting"));
	write_json(o, doc);
	touch_file(o->ready_file);
	if (!o->quiet)
		fprintf(stderr, "vfio-workload: slow-notify: unmap %d, register %d, pin %d\n",
			(int)u.tid, (int)r.tid, (int)p.tid);
	pthread_join(p.th, NULL);
	pthread_join(r.th, NULL);
	pthread_join(u.th, NULL);
	ret = u.err || r.err || p.err;
	/* clean up fast: no delay, then unmap the pinned second dma */
	if (h_knobs(c, 0, 0, 0) || h_knobs(c, 2, 0, 0) || h_unmap(c, c->recs[1].iova))
		ret = 1;
	json_object_object_add(doc, "status", json_object_new_string(ret ? "error" : "ok"));
	json_object_object_add(doc, "unmap_s", json_object_new_double(u.t_end - u.t_start));
	json_object_object_add(doc, "register_wait_s", json_object_new_double(r.t_end - r.t_start));
	json_object_object_add(doc, "pin_wait_s", json_object_new_double(p.t_end - p.t_start));
	write_json(o, doc);
	touch_file(o->done_file);
	return ret;
}

int hang_main(const struct options *o)
{
	struct wcontainer *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return 1;
	if (wc_setup(c, o, 0))
		return 1;
	ret = o->scenario == SC_DEADLOCK ? run_deadlock(c, o) : run_slow_notify(c, o);
	c->nrecs = 0; /* everything of ours is unmapped: teardown closes the devices */
	if (wc_teardown(c))
		ret = 1;
	if (ret && !o->quiet)
		fprintf(stderr, "vfio-workload: %s: failed%s%s\n", scenario_names[o->scenario],
			c->err[0] ? ": " : "", c->err);
	return ret ? 1 : 0;
}
