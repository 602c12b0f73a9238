// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload engine: one container (one process): the four operations and the cycles;
 * its setup and teardown are setup.c.
 *
 * Besides issuing the ioctls, the engine keeps a model of what the kernel and the test module
 * must do in response, from drivers/vfio/vfio_iommu_type1.c (vfio_dma_do_unmap,
 * vfio_notify_dma_unmap) and tests/kmod/vfio_dmatest.c:
 *  - a device joins the container's device_list on the first open of its fd and leaves it on
 *    the last close (only devices whose ops have .dma_unmap: "cb" devices);
 *  - UNMAP_DMA walks the vfio_dma of the range in iova order; for a vfio_dma with pinned pages it
 *    runs one notify round (->dma_unmap(dma->iova, dma->size) on EVERY device on device_list)
 *    and restarts; a device whose fault_k knob is > 0 consumes one per callback and keeps its
 *    pins, so the same vfio_dma is notified again (a retry); a vfio_dma without pins is removed
 *    (one vfio_remove_dma) and counted in the returned size;
 *  - the module unpins each recorded pin range with one vfio_unpin_pages call, whether from
 *    DMATEST_UNPIN, the callback or close_device (last close).
 * UNMAP_DMA is serialized per container (unmap_lock): two concurrent UNMAP_DMA on one container
 * with pinned pages deadlock the kernel. Registration changes take the same lock.
 * --iommufd runs the same operations through a device cdev and an IOAS (iommufd.c): the same
 * model holds there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "../kmod/vfio_dmatest.h"
#include "wl.h"

volatile sig_atomic_t wl_stop;

static long page_size(void)
{
	static long ps;

	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void wc_fail(struct wcontainer *c, const char *fmt, ...)
{
	char msg[sizeof(c->err)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vfio-workload: container %u: error: %s\n", c->index, msg);
	pthread_mutex_lock(&c->err_lock);
	if (!atomic_load(&c->failed)) {
		snprintf(c->err, sizeof(c->err), "%s", msg);
		atomic_store(&c->failed, true);
	}
	pthread_mutex_unlock(&c->err_lock);
}

/* ---- sysfs -------------------------------------------------------------------------------- */

int sysfs_read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*v = strtoull(buf, NULL, 0);
	return 0;
}

int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* ---- devices ------------------------------------------------------------------------------ */

static bool any_registered(struct wcontainer *c)
{
	for (unsigned k = 0; k < c->ndev; k++)
		if (c->dev[k].cb && c->dev[k].nfds)
			return true;
	return false;
}

/* Open one more fd of device k. The first open registers the device with type1. */
int dev_open(struct wcontainer *c, unsigned k)
{
	struct wdev *d = &c->dev[k];
	int fd, ret = 0;

	if (d->nfds >= WL_MAX_FDS) {
		wc_fail(c, "internal: too many fds on %s", d->name);
		return -1;
	}
	pthread_mutex_lock(&c->unmap_lock);
	if (c->opt->iommufd)
		fd = d->nfds ? -1 : iommufd_dev_open(c, k); /* a cdev opens once at a time */
	else
		fd = ioctl(d->group_fd, VFIO_GROUP_GET_DEVICE_FD, d->name);
	if (fd < 0) {
		if (!c->opt->iommufd)
			wc_fail(c, "VFIO_GROUP_GET_DEVICE_FD(%s): %s", d->name, strerror(errno));
		else if (d->nfds)
			wc_fail(c, "internal: a second fd of cdev %s", d->name);
		ret = -1;
	} else {
		if (d->nfds == 0) {
			DADD(d, register_calls_expected, 1);
			if (d->cb)
				DADD(d, register_expected, 1);
		}
		d->fds[d->nfds++] = fd;
		DADD(d, device_fd_opens, 1);
	}
	pthread_mutex_unlock(&c->unmap_lock);
	return ret;
}

/* Close the most recent fd of device k. The last close runs the module's close_device, which
 * unpins whatever the device still holds, then unregisters the device. */
void dev_close_one(struct wcontainer *c, unsigned k)
{
	struct wdev *d = &c->dev[k];

	pthread_mutex_lock(&c->unmap_lock);
	if (d->nfds) {
		close(d->fds[--d->nfds]);
		d->fds[d->nfds] = -1;
		DADD(d, device_fd_closes, 1);
		if (d->nfds == 0) {
			for (unsigned i = 0; i < c->nrecs; i++) {
				struct dmarec *r = &c->recs[i];

				if (r->pinner != (int)k || !r->chunks)
					continue;
				DADD(d, pages_unpinned_close, r->pages);
				DADD(d, unpin_calls_expected, r->chunks);
				DADD(d, pages_unpinned_expected, r->pages);
				r->chunks = 0;
				r->pages = 0;
				r->pinner = -1;
			}
			DADD(d, unregister_calls_expected, 1);
			if (d->cb)
				DADD(d, unregister_expected, 1);
			/* iommufd: unbind destroys the device's access, which first calls its
			 * unmap(0, ULONG_MAX) (iommufd_access_change_ioas), after close_device
			 * gave every pin back */
			if (c->opt->iommufd && d->cb) {
				DADD(d, detach_unmaps_expected, 1);
				DADD(d, dma_unmap_calls_expected, 1);
				DADD(d, dma_unmap_bytes_expected, UINT64_MAX);
				if (d->fault_left) {
					d->fault_left--;
					DADD(d, faults_expected, 1);
				}
			}
		}
	}
	pthread_mutex_unlock(&c->unmap_lock);
}

int set_knobs(struct wcontainer *c, unsigned k, unsigned delay_us, unsigned fault_k)
{
	struct wdev *d = &c->dev[k];
	struct dmatest_knobs kn = { .delay_us = delay_us, .fault_k = fault_k };

	if (!d->nfds) {
		wc_fail(c, "internal: knobs on closed device %s", d->name);
		return -1;
	}
	if (ioctl(d->fds[0], DMATEST_SET_KNOBS, &kn)) {
		wc_fail(c, "DMATEST_SET_KNOBS(%s, delay_us=%u, fault_k=%u): %s", d->name, delay_us,
			fault_k, strerror(errno));
		return -1;
	}
	DADD(d, knob_sets, 1);
	d->knobs_dirty = delay_us || fault_k;
	d->fault_left = fault_k;
	return 0;
}

/* ---- the four operations ------------------------------------------------------------------ */

int do_map(struct wcontainer *c, struct dmarec *r)
{
	const struct options *o = c->opt;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)c->buf,
		.iova = r->iova,
		.size = o->map_size,
	};

	if (o->iommufd ? iommufd_map(c, r->iova, o->map_size) :
			 ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m)) {
		CADD(c, map_dma_err, 1);
		int err = errno;

		wc_fail(c, "%s(iova=0x%llx, size=0x%llx): %s%s",
			o->iommufd ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA",
			(unsigned long long)r->iova, (unsigned long long)o->map_size, strerror(err),
			!o->iommufd && err == ENOSPC ?
				" (type1's dma_entry_limit: /sys/module/vfio_iommu_type1/"
				"parameters/dma_entry_limit)" :
				"");
		return -1;
	}
	r->mapped = true;
	CADD(c, map_dma_ok, 1);
	CADD(c, bytes_mapped, o->map_size);
	return 0;
}

/* Pin o->pin_pages pages at the start of the dma through device k, in ranges of <= 512 pages.
 * -EINVAL from a device without dma_unmap is the expected outcome (counted, not an error). */
static int do_pin(struct wcontainer *c, struct dmarec *r, unsigned k)
{
	const struct options *o = c->opt;
	struct wdev *d = &c->dev[k];
	uint64_t left = o->pin_pages, off = 0;
	long ps = page_size();

	while (left) {
		uint32_t n = left > WL_PIN_CHUNK ? WL_PIN_CHUNK : (uint32_t)left;
		struct dmatest_pin p = { .iova = r->iova + off * ps,
					 .npage = n,
					 .flags = o->verify ? 1 : 0 };
		int ret = ioctl(d->fds[0], DMATEST_PIN, &p);

		DADD(d, pin_ioctls, 1);
		if (ret < 0) {
			int e = errno;

			DADD(d, pin_err, 1);
			if (e == EINVAL)
				DADD(d, pin_einval, 1);
			if (e == EINVAL && !d->cb && !any_registered(c))
				return 0; /* expected: stop pinning this dma */
			wc_fail(c, "DMATEST_PIN(%s, iova=0x%llx, npage=%u): %s", d->name,
				(unsigned long long)p.iova, n, strerror(e));
			return -1;
		}
		if ((uint32_t)ret != n) {
			DADD(d, pin_err, 1);
			wc_fail(c, "DMATEST_PIN(%s, iova=0x%llx, npage=%u) returned %d", d->name,
				(unsigned long long)p.iova, n, ret);
			return -1;
		}
		if (r->pinner >= 0 && r->pinner != (int)k) {
			wc_fail(c, "internal: two pinners on one dma");
			return -1;
		}
		r->pinner = k;
		r->chunks++;
		r->pages += n;
		DADD(d, pin_ok, 1);
		DADD(d, pages_pinned, n);
		if (o->verify) {
			for (uint32_t i = 0; i < n; i++) {
				volatile uint64_t *m =
					(volatile uint64_t *)(c->buf + (off + i) * ps);

				if (m[0] != DMATEST_MARKER || m[1] != p.iova + (uint64_t)i * ps) {
					wc_fail(c,
						"pinned page iova=0x%llx: marker 0x%llx/0x%llx, want 0x%llx/0x%llx",
						(unsigned long long)(p.iova + (uint64_t)i * ps),
						(unsigned long long)m[0], (unsigned long long)m[1],
						(unsigned long long)DMATEST_MARKER,
						(unsigned long long)(p.iova + (uint64_t)i * ps));
					return -1;
				}
			}
		}
		left -= n;
		off += n;
	}
	return 0;
}

/* Give the pins of a dma back through DMATEST_UNPIN, one ioctl per recorded range. */
static int do_unpin(struct wcontainer *c, struct dmarec *r)
{
	long ps = page_size();
	uint64_t left = r->pages, off = 0;
	struct wdev *d;

	if (r->pinner < 0 || !r->chunks)
		return 0;
	d = &c->dev[r->pinner];
	while (left) {
		uint32_t n = left > WL_PIN_CHUNK ? WL_PIN_CHUNK : (uint32_t)left;
		struct dmatest_pin p = { .iova = r->iova + off * ps, .npage = n };

		DADD(d, unpin_ioctls, 1);
		if (ioctl(d->fds[0], DMATEST_UNPIN, &p)) {
			wc_fail(c, "DMATEST_UNPIN(%s, iova=0x%llx, npage=%u): %s", d->name,
				(unsigned long long)p.iova, n, strerror(errno));
			return -1;
		}
		DADD(d, pages_unpinned_ioctl, n);
		DADD(d, unpin_calls_expected, 1);
		DADD(d, pages_unpinned_expected, n);
		r->chunks--;
		left -= n;
		off += n;
	}
	r->chunks = 0;
	r->pages = 0;
	r->pinner = -1;
	return 0;
}

/*
 * The model of one successful UNMAP_DMA over recs[0..n) (iova order): see the file comment.
 * Returns the number of bytes the kernel must report as unmapped. unmap_lock held.
 */
static uint64_t model_unmap(struct wcontainer *c, struct dmarec *recs, unsigned n)
{
	const struct options *o = c->opt;
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		struct dmarec *r = &recs[i];

		if (!r->mapped)
			continue;
		if (r->chunks) {
			unsigned rounds = 0;
			bool kept;

			do {
				rounds++;
				CADD(c, notifies_expected, 1);
				CADD(c, notify_bytes_expected, o->map_size);
				if (rounds > 1)
					CADD(c, retries_expected, 1);
				kept = false;
				for (unsigned k = 0; k < c->ndev; k++) {
					struct wdev *d = &c->dev[k];

					if (!d->cb || !d->nfds)
						continue;
					DADD(d, dma_unmap_calls_expected, 1);
					DADD(d, dma_unmap_bytes_expected, o->map_size);
					if (d->fault_left) {
						d->fault_left--;
						DADD(d, faults_expected, 1);
						if (r->pinner == (int)k)
							kept = true;
					} else if (r->pinner == (int)k) {
						DADD(d, unpinned_in_cb_expected, r->pages);
						DADD(d, unpin_calls_expected, r->chunks);
						DADD(d, pages_unpinned_expected, r->pages);
					}
				}
			} while (kept && rounds <= 10);
			CADD(c, vfio_dma_pinned_unmapped, 1);
			r->chunks = 0;
			r->pages = 0;
			r->pinner = -1;
		}
		r->mapped = false;
		CADD(c, vfio_dma_removed, 1);
		bytes += o->map_size;
	}
	return bytes;
}

/* --bad-unmaps: two UNMAP_DMA over (iova, size) that type1 refuses with EINVAL, one inside
 * vfio_dma_do_unmap (an iova off the IOMMU page size) and one in the ioctl's own check before
 * it (an unknown flag), so a tracer that measures the unmap at vfio_dma_do_unmap must still
 * count the second at the ioctl. Each counted in unmap_dma_err; anything else is a failure. */
static int refused_unmaps(struct wcontainer *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap bad[2] = {
		{ .argsz = sizeof(bad[0]), .iova = iova + 1, .size = size },
		{ .argsz = sizeof(bad[0]), .flags = 1u << 31, .iova = iova, .size = size },
	};

	for (int i = 0; i < 2; i++) {
		int r = ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &bad[i]);

		if (r == 0 || errno != EINVAL) {
			wc_fail(c,
				"VFIO_IOMMU_UNMAP_DMA(iova=0x%llx, flags=0x%x): %s, expected EINVAL",
				(unsigned long long)bad[i].iova, bad[i].flags,
				r == 0 ? "succeeded" : strerror(errno));
			return -1;
		}
		CADD(c, unmap_dma_err, 1);
	}
	return 0;
}

/* One VFIO_IOMMU_UNMAP_DMA covering recs[0..n) (contiguous iova). unmap_lock held. */
int unmap_locked(struct wcontainer *c, struct dmarec *recs, unsigned n, bool arm)
{
	const struct options *o = c->opt;
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = recs[0].iova,
		.size = (uint64_t)n * o->map_size,
	};
	uint64_t want;

	if (arm && o->fault_k && c->dev[0].nfds && c->dev[0].cb &&
	    set_knobs(c, 0, o->delay_us, o->fault_k))
		return -1;
	CADD(c, unmap_bytes_requested, u.size);
	if (o->bad_unmaps && refused_unmaps(c, u.iova, u.size))
		return -1;
	/* --past-limit: iommufd gave up after 100 contiguous pinned areas (unmapped, the 101st
	 * notified but left mapped): count the failure, unmap the rest with a second call */
	if (o->past_limit && iommufd_unmap(c, u.iova, &u.size) == 0) {
		wc_fail(c, "IOMMU_IOAS_UNMAP over %u pinned areas succeeded: expected EDEADLOCK",
			n);
		return -1;
	}
	if (o->past_limit && errno != EDEADLOCK) {
		CADD(c, unmap_dma_err, 1);
		wc_fail(c, "IOMMU_IOAS_UNMAP over %u pinned areas: %s, expected EDEADLOCK", n,
			strerror(errno));
		return -1;
	}
	if (o->past_limit) {
		CADD(c, unmap_dma_err, 1);
		CADD(c, unmap_edeadlock, 1);
		u.size = (uint64_t)n * o->map_size;
	}
	if (o->iommufd ? iommufd_unmap(c, u.iova, &u.size) :
			 ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u)) {
		CADD(c, unmap_dma_err, 1);
		wc_fail(c, "%s(iova=0x%llx, size=0x%llx): %s",
			o->iommufd ? "IOMMU_IOAS_UNMAP" : "VFIO_IOMMU_UNMAP_DMA",
			(unsigned long long)recs[0].iova, (unsigned long long)n * o->map_size,
			strerror(errno));
		return -1;
	}
	CADD(c, unmap_dma_ok, 1);
	CADD(c, unmap_bytes_unmapped, u.size);
	want = model_unmap(c, recs, n);
	if (o->past_limit) /* the first call unmapped the first 100 areas */
		want -= 100 * o->map_size;
	if (u.size != want) {
		wc_fail(c, "%s(iova=0x%llx) unmapped 0x%llx bytes, expected 0x%llx",
			o->iommufd ? "IOMMU_IOAS_UNMAP" : "VFIO_IOMMU_UNMAP_DMA",
			(unsigned long long)recs[0].iova, (unsigned long long)u.size,
			(unsigned long long)want);
		return -1;
	}
	return 0;
}

/* Unmap the mapped dmas of recs[0..n) per the unmap mode (ranges skip nothing: all mapped). */
static int do_unmap(struct wcontainer *c, struct dmarec *recs, unsigned n)
{
	int ret = 0;

	pthread_mutex_lock(&c->unmap_lock);
	if (c->opt->unmap_mode == UNMAP_RANGE) {
		ret = unmap_locked(c, recs, n, true);
	} else {
		for (unsigned j = 0; j < n && !ret; j++)
			if (recs[j].mapped)
				ret = unmap_locked(c, &recs[j], 1, true);
	}
	pthread_mutex_unlock(&c->unmap_lock);
	return ret;
}

/* ---- cycles ------------------------------------------------------------------------------- */

static unsigned pinner_of(const struct wcontainer *c, unsigned t, unsigned j)
{
	/* with fault_k the faulting device (0) holds every pin: each fault then is a retry */
	if (c->opt->fault_k)
		return 0;
	return (t * c->opt->maps + j) % c->ndev;
}

static int map_pin(struct wcontainer *c, unsigned t, struct dmarec *recs)
{
	const struct options *o = c->opt;

	for (unsigned j = 0; j < o->maps; j++)
		if (do_map(c, &recs[j]))
			return -1;
	if (o->pin_pages)
		for (unsigned j = 0; j < o->maps; j++)
			if (do_pin(c, &recs[j], pinner_of(c, t, j)))
				return -1;
	return 0;
}

static int cycle(struct wcontainer *c, unsigned t, struct dmarec *recs)
{
	const struct options *o = c->opt;

	if (map_pin(c, t, recs))
		return -1;
	if (o->unpin)
		for (unsigned j = 0; j < o->maps; j++)
			if (do_unpin(c, &recs[j]))
				return -1;
	if (do_unmap(c, recs, o->maps))
		return -1;
	CADD(c, cycles, 1);
	return 0;
}

/* lifecycle: open every device (--fds fds each), map + pin, close everything (close_device
 * unpins, the device leaves device_list), then unmap: no notify. */
static int lifecycle_cycle(struct wcontainer *c, struct dmarec *recs)
{
	const struct options *o = c->opt;
	int ret = 0;

	for (unsigned k = 0; k < c->ndev && !ret; k++)
		for (unsigned f = 0; f < o->fds && !ret; f++)
			ret = dev_open(c, k);
	if (!ret && o->maps)
		ret = map_pin(c, 0, recs);
	for (unsigned k = 0; k < c->ndev; k++)
		while (c->dev[k].nfds)
			dev_close_one(c, k);
	if (!ret && o->maps)
		ret = do_unmap(c, recs, o->maps);
	if (!ret)
		CADD(c, cycles, 1);
	return ret;
}

struct wthread {
	struct wcontainer *c;
	unsigned t;
	pthread_t th;
	uint64_t late;
};

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !wl_stop)
		;
}

static void *thread_main(void *arg)
{
	struct wthread *w = arg;
	struct wcontainer *c = w->c;
	const struct options *o = c->opt;
	struct dmarec *recs = c->recs + (size_t)w->t * o->maps;
	double t0 = now_s();

	for (uint64_t n = 0;; n++) {
		if (wl_stop || atomic_load(&c->failed))
			break;
		if (o->iterations && n >= o->iterations)
			break;
		if (o->duration > 0 && now_s() - t0 >= o->duration)
			break;
		if (o->rate > 0) {
			double slot = t0 + n / o->rate;

			if (now_s() > slot + 1.0 / o->rate)
				w->late++;
			else
				sleep_until(slot);
		}
		if (o->scenario == SC_LIFECYCLE ? lifecycle_cycle(c, recs) : cycle(c, w->t, recs))
			break;
	}
	return NULL;
}

int wc_run(struct wcontainer *c)
{
	const struct options *o = c->opt;
	struct wthread w[WL_MAX_THREADS];
	double t0 = now_s();
	unsigned started = 0;

	for (unsigned t = 0; t < o->threads; t++) {
		w[t] = (struct wthread){ .c = c, .t = t };
		if (o->threads == 1) {
			thread_main(&w[t]);
			started = 1;
			break;
		}
		if (pthread_create(&w[t].th, NULL, thread_main, &w[t])) {
			wc_fail(c, "pthread_create: %s", strerror(errno));
			break;
		}
		started++;
	}
	if (o->threads > 1)
		for (unsigned t = 0; t < started; t++)
			pthread_join(w[t].th, NULL);
	for (unsigned t = 0; t < started; t++)
		c->late_cycles += w[t].late;
	c->elapsed = now_s() - t0;
	return atomic_load(&c->failed) ? -1 : 0;
}
