// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload --iommufd: the same cycles through the VFIO device cdev and iommufd instead of
 * a type1 container (kernels with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV, 6.6+; the lab's
 * own 6.12.*-vt-iommufd kernel): one /dev/iommu per container process with one IOAS
 * (IOMMU_IOAS_ALLOC); each device is /dev/vfio/devices/vfioN, bound to that iommufd
 * (VFIO_DEVICE_BIND_IOMMUFD) and attached to the IOAS (VFIO_DEVICE_ATTACH_IOMMUFD_PT: the
 * emulated device's iommufd_access joins the IOAS's access list). MAP_DMA becomes
 * IOMMU_IOAS_MAP (one iopt_area per map, fixed IOVA), UNMAP_DMA IOMMU_IOAS_UNMAP. DMATEST_PIN is
 * unchanged: vfio_pin_pages goes to iommufd_access_pin_pages.
 *
 * The model of engine.c holds as it is (drivers/iommu/iommufd/io_pagetable.c,
 * iopt_unmap_iova_range): an area with pinned pages (area->num_accesses) gets
 * iommufd_access_notify_unmap(area iova, area length), which calls every access of the IOAS,
 * i.e. ->dma_unmap of every attached device that has one (vfio_emulated_unmap skips the
 * others), then the walk restarts; an area the callbacks left pinned is notified again (a
 * retry; iommufd gives up after 100 with -EDEADLOCK, the module's fault_k stays below 10).
 * The returned length is the bytes of the areas removed. A cdev can be opened once at a time
 * (vfio_df_open), so --fds stays 1; the device's bind + attach stands where type1's register
 * was (register_* counters), its close (close_device unpins, then unbind) for unregister.
 *
 * Bookworm's linux-libc-dev (6.1) has neither linux/iommufd.h nor the cdev ioctls: the few
 * definitions used are those of the 6.12 UAPI (include/uapi/linux/iommufd.h, vfio.h), a stable ABI.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "wl.h"

#ifndef IOMMU_IOAS_ALLOC
#define IOMMUFD_TYPE (';')
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FIXED_IOVA (1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE  (1 << 1)
#define IOMMU_IOAS_MAP_READABLE	  (1 << 2)
#define IOMMU_IOAS_MAP		  _IO(IOMMUFD_TYPE, 0x85)
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#endif
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/* /sys/bus/platform/devices/<name>/vfio-dev/vfioN -> N, or -1 */
static int cdev_number(const char *name)
{
	char path[512];
	struct dirent *e;
	int n = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/vfio-dev", name);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, "vfio", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			n = atoi(e->d_name + 4);
	closedir(dir);
	return n;
}

int iommufd_setup(struct wcontainer *c)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	for (unsigned k = 0; k < c->ndev; k++) {
		struct wdev *d = &c->dev[k];

		d->cdev_no = cdev_number(d->name);
		if (d->cdev_no < 0) {
			wc_fail(c,
				"%s has no VFIO device cdev (/sys/bus/platform/devices/%s/vfio-dev/vfioN): "
				"--iommufd needs CONFIG_VFIO_DEVICE_CDEV",
				d->name, d->name);
			return -1;
		}
	}
	c->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		wc_fail(c, "open /dev/iommu: %s (--iommufd needs CONFIG_IOMMUFD, iommufd loaded)",
			strerror(errno));
		return -1;
	}
	if (ioctl(c->fd, IOMMU_IOAS_ALLOC, &a)) {
		wc_fail(c, "IOMMU_IOAS_ALLOC: %s", strerror(errno));
		return -1;
	}
	c->ioas_id = a.out_ioas_id;
	return 0;
}

/* Open device k's cdev, bind it to the container's iommufd, attach it to the IOAS. */
int iommufd_dev_open(struct wcontainer *c, unsigned k)
{
	struct wdev *d = &c->dev[k];
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = c->fd };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = c->ioas_id };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", d->cdev_no);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		wc_fail(c, "open %s (%s): %s", path, d->name, strerror(errno));
		return -1;
	}
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		wc_fail(c, "VFIO_DEVICE_BIND_IOMMUFD(%s): %s", d->name, strerror(errno));
		close(fd);
		return -1;
	}
	if (ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		wc_fail(c, "VFIO_DEVICE_ATTACH_IOMMUFD_PT(%s, ioas %u): %s", d->name, c->ioas_id,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int iommufd_map(struct wcontainer *c, uint64_t iova, uint64_t size)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = c->ioas_id,
		.user_va = (uintptr_t)c->buf,
		.length = size,
		.iova = iova,
	};

	return ioctl(c->fd, IOMMU_IOAS_MAP, &m);
}

int iommufd_unmap(struct wcontainer *c, uint64_t iova, __u64 *size)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = c->ioas_id,
		.iova = iova,
		.length = *size,
	};

	if (ioctl(c->fd, IOMMU_IOAS_UNMAP, &u))
		return -1;
	*size = u.length;
	return 0;
}
