// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload engine: one container's setup (its devices found, opened and registered, the
 * module's knobs, the container and group) and teardown (what is left mapped or pinned undone,
 * the devices closed), with engine.c's operations.
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

/* The type1 container: /dev/vfio/vfio, every device's group set to it, TYPE1v2. */
static int type1_setup(struct wcontainer *c)
{
	char path[512];

	c->fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		wc_fail(c, "open /dev/vfio/vfio: %s", strerror(errno));
		return -1;
	}
	if (ioctl(c->fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		wc_fail(c, "VFIO_GET_API_VERSION: not %d", VFIO_API_VERSION);
		return -1;
	}
	if (ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		wc_fail(c,
			"VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU): not supported (vfio_iommu_type1 loaded?)");
		return -1;
	}
	for (unsigned k = 0; k < c->ndev; k++) {
		struct wdev *d = &c->dev[k];
		struct vfio_group_status gs = { .argsz = sizeof(gs) };

		snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_no);
		d->group_fd = open(path, O_RDWR | O_CLOEXEC);
		if (d->group_fd < 0) {
			wc_fail(c, "open %s (group of %s): %s", path, d->name, strerror(errno));
			return -1;
		}
		if (ioctl(d->group_fd, VFIO_GROUP_GET_STATUS, &gs)) {
			wc_fail(c, "VFIO_GROUP_GET_STATUS(%s): %s", path, strerror(errno));
			return -1;
		}
		if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
			wc_fail(c, "group %s of %s is not viable", path, d->name);
			return -1;
		}
		if (ioctl(d->group_fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
			wc_fail(c, "VFIO_GROUP_SET_CONTAINER(%s): %s", path, strerror(errno));
			return -1;
		}
		if (k == 0 && ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
			wc_fail(c, "VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU): %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

int wc_setup(struct wcontainer *c, const struct options *o, unsigned index)
{
	const char *base = o->nocb ? "vfio_dmatest_nocb" : o->driver;
	char path[512], link[512];

	memset(c, 0, sizeof(*c));
	c->opt = o;
	c->index = index;
	c->pid = getpid();
	c->fd = -1;
	c->ndev = o->devices;
	pthread_mutex_init(&c->unmap_lock, NULL);
	pthread_mutex_init(&c->err_lock, NULL);
	for (unsigned k = 0; k < c->ndev; k++) {
		struct wdev *d = &c->dev[k];
		uint64_t fk;
		ssize_t n;

		d->group_fd = -1;
		d->group_no = -1;
		d->cdev_no = -1;
		for (unsigned f = 0; f < WL_MAX_FDS; f++)
			d->fds[f] = -1;
		d->cb = !o->nocb;
		snprintf(d->name, sizeof(d->name), "%s.%u", base,
			 o->first_dev + index * o->devices + k);
		snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/iommu_group", d->name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0) {
			wc_fail(c, "%s: %s (is vfio_dmatest loaded with %s >= %u?)", path,
				strerror(errno), o->nocb ? "ndev_nocb" : "ndev",
				o->first_dev + o->containers * o->devices);
			return -1;
		}
		link[n] = 0;
		d->group_no = atoi(basename(link));
		/* the model starts from fault_k = 0: clear a knob left armed by an earlier run */
		snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/fault_k", d->name);
		if (!sysfs_read_u64(path, &fk) && fk) {
			fprintf(stderr, "vfio-workload: note: %s had fault_k=%llu, clearing it\n",
				d->name, (unsigned long long)fk);
			if (sysfs_write(path, "0")) {
				wc_fail(c, "cannot clear %s: %s", path, strerror(errno));
				return -1;
			}
		}
	}

	if (o->iommufd) {
		if (iommufd_setup(c))
			return -1;
	} else if (type1_setup(c)) {
		return -1;
	}

	/* one pre-faulted buffer backs every vfio_dma of the container (vaddr may repeat) */
	c->buflen = o->map_size;
	c->buf = mmap(NULL, c->buflen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->buf == MAP_FAILED) {
		c->buf = NULL;
		wc_fail(c, "mmap %llu bytes: %s", (unsigned long long)c->buflen, strerror(errno));
		return -1;
	}
	memset(c->buf, 0, c->buflen); /* pre-fault once; cycles never touch it again */

	c->nrecs = o->threads * o->maps;
	c->recs = calloc(c->nrecs ? c->nrecs : 1, sizeof(*c->recs));
	if (!c->recs) {
		wc_fail(c, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < c->nrecs; i++) {
		c->recs[i].iova = WL_IOVA_BASE + (uint64_t)i * o->map_size;
		c->recs[i].pinner = -1;
	}

	if (o->scenario != SC_LIFECYCLE) {
		for (unsigned k = 0; k < c->ndev; k++)
			if (dev_open(c, k))
				return -1;
		if (o->delay_us || o->fault_k)
			for (unsigned k = 0; k < c->ndev; k++)
				if (set_knobs(c, k, o->delay_us, 0))
					return -1;
	}
	return 0;
}

/* --leave-mapped: map N more vfio_dma (no pins) after the cycles' range and never unmap them,
 * as QEMU never does at exit: the kernel removes them when the last group leaves the
 * container (vfio_iommu_type1_detach_group), with no UNMAP_DMA. */
static void leave_mapped(struct wcontainer *c)
{
	const struct options *o = c->opt;
	unsigned done = 0;

	for (unsigned i = 0; i < o->leave_mapped && c->fd >= 0; i++) {
		struct dmarec r = { .iova = WL_IOVA_BASE + (uint64_t)(c->nrecs + i) * o->map_size,
				    .pinner = -1 };

		if (do_map(c, &r))
			break;
		done++;
	}
	if (done) {
		CADD(c, teardowns_expected, 1);
		CADD(c, teardown_dma_expected, done);
		CADD(c, teardown_bytes_expected, (uint64_t)done * o->map_size);
	}
}

int wc_teardown(struct wcontainer *c)
{
	bool failed_before = atomic_load(&c->failed);
	double t0;

	if (!failed_before)
		leave_mapped(c);
	pthread_mutex_lock(&c->unmap_lock);
	for (unsigned k = 0; k < c->ndev; k++)
		if (c->dev[k].knobs_dirty && c->dev[k].nfds)
			set_knobs(c, k, 0, 0);
	/* anything of the cycles still mapped (an error stopped one): unmap it, the model
	 * follows; the --leave-mapped ones stay for the kernel */
	for (unsigned i = 0; i < c->nrecs && c->fd >= 0; i++)
		if (c->recs[i].mapped)
			unmap_locked(c, &c->recs[i], 1, false);
	pthread_mutex_unlock(&c->unmap_lock);
	/* Timed from the first close to the last: the kernel removes the vfio_dma left mapped
	 * inside one of them (type1: the last group's detach; iommufd: /dev/iommu's release), in
	 * this thread (fput's task work runs before close returns), so this is the teardown's
	 * duration as the process sees it (bench/scale's teardown point). */
	t0 = now_s();
	for (unsigned k = 0; k < c->ndev; k++)
		while (c->dev[k].nfds)
			dev_close_one(c, k);
	for (unsigned k = 0; k < c->ndev; k++)
		if (c->dev[k].group_fd >= 0) {
			close(c->dev[k].group_fd);
			c->dev[k].group_fd = -1;
		}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->teardown_s = now_s() - t0;
	if (c->buf) {
		munmap(c->buf, c->buflen);
		c->buf = NULL;
	}
	free(c->recs);
	c->recs = NULL;
	c->nrecs = 0;
	return !failed_before && atomic_load(&c->failed) ? -1 : 0;
}
