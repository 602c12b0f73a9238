// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_dmatest - emulated-IOMMU VFIO test devices for the type1 DMA-unmap path.
 *
 * The module registers a platform driver "vfio_dmatest" and creates
 *   ndev      (default 1, 0..256) platform devices vfio_dmatest.0 .. : their vfio ops have
 *             .dma_unmap, so opening one joins the container's device_list;
 *   ndev_nocb (default 0, 0..256) platform devices vfio_dmatest_nocb.0 .. : their ops have NO
 *             .dma_unmap, they never join the device_list and must never hold pins.
 * Each device is probed into its own vfio_device (vfio_alloc_device +
 * vfio_register_emulated_iommu_dev): each gets its own fake IOMMU group /dev/vfio/N, usable from
 * a VFIO_TYPE1v2_IOMMU container. The platform device is bound to this driver, which the vfio
 * core needs (it takes a reference on dev->driver->owner at open; a driver-less parent oopses
 * 6.12 in vfio_df_open).
 *
 * Device-fd ioctls (ABI in vfio_dmatest.h):
 *   DMATEST_PIN       vfio_pin_pages(iova, npage, IOMMU_READ | IOMMU_WRITE) and record the range;
 *                     returns npage. flags bit0 writes DMATEST_MARKER and the page's iova into the
 *                     first 16 bytes of each pinned page. -EINVAL before pinning (not counted)
 *                     for npage outside 1..512, an unaligned or wrapping iova, unknown flags.
 *                     Otherwise the error of vfio_pin_pages is returned as is; a nocb device
 *                     that the kernel lets pin (6.1, with a dma_unmap device open in the same
 *                     container) gives the pages back at once and gets -EOPNOTSUPP (see dt_pin).
 *   DMATEST_UNPIN     vfio_unpin_pages every recorded range overlapping [iova, iova + npage
 *                     pages): whole recorded ranges, never parts of one. Returns 0.
 *   DMATEST_STATS     copy the counters (read without any lock: never blocks on a wedged device).
 *   DMATEST_RESET     zero the counters; pins, pages_pinned_now and the knobs are kept.
 *   DMATEST_SET_KNOBS delay_us <= 5000000 and fault_k <= DMATEST_FAULT_MAX, else -EINVAL
 *                     (nothing is changed then).
 *
 * ->dma_unmap(iova, length), called by type1 with the container's device_list_lock held and
 * iommu->lock dropped (process context, may sleep): counts the call and length, sleeps delay_us,
 * then if fault_k > 0 decrements it, counts faults_injected and returns keeping the pins (type1
 * then calls every device's dma_unmap again for the same dma: fault_k = k gives k + 1 callbacks
 * on a device holding pins in that dma; every callback consumes one, even on a device that holds
 * no pins in that dma). Otherwise it unpins every recorded range overlapping [iova, iova+length)
 * and counts those pages in unpinned_in_cb. vfio_unpin_pages there takes iommu->lock while
 * device_list_lock is held: that is the kernel's design (and why two concurrent UNMAP_DMA on one
 * container with pins deadlock, see DEVELOPERS.md).
 *
 * ->close_device (last close of the device fd) unpins the leftovers (counted in unpin_calls and
 * pages_unpinned, not in unpinned_in_cb).
 *
 * sysfs, on each platform device (/sys/bus/platform/devices/vfio_dmatest.N/):
 *   dmatest_stats  (0444) one "name value" line per field of struct dmatest_stats, ABI order;
 *   delay_us       (0644) knob, as in DMATEST_SET_KNOBS;
 *   fault_k        (0644) knob, as in DMATEST_SET_KNOBS;
 *   reset          (0200) write 1: same as DMATEST_RESET.
 *
 * Counters are atomic64, lock-free to read. The pin list is protected by a per-device mutex, held
 * across vfio_pin_pages so that a dma_unmap callback never misses a pin being recorded. Lock
 * order: [device_list_lock ->] dev->lock -> iommu->lock.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vfio.h>

#include "vfio_dmatest.h"

/* vfio_dmatest2.c and vfio_dtnotrace.c build the same device as other driver modules
 * under other names (the latter with a dma_unmap that ftrace cannot hook). */
#ifndef DT_DRV_NAME
#define DT_DRV_NAME  "vfio_dmatest"
#define DT_NOCB_NAME "vfio_dmatest_nocb"
#define DT_OPS_NAME  "vfio-dmatest"
#endif
#ifndef DT_CB_NOTRACE
#define DT_CB_NOTRACE
#endif
#define DT_MAX_DEV	256
#define DT_DELAY_MAX_US 5000000U
#define DT_PIN_MAX	512 /* VFIO_PIN_PAGES_MAX_ENTRIES on 4K pages */
#define DT_PIN_F_MARKER 0x1U

static unsigned int ndev = 1;
module_param(ndev, uint, 0444);
MODULE_PARM_DESC(ndev, "devices with a dma_unmap callback, vfio_dmatest.0.. (default 1, max 256)");

static unsigned int ndev_nocb;
module_param(ndev_nocb, uint, 0444);
MODULE_PARM_DESC(ndev_nocb,
		 "devices without dma_unmap, vfio_dmatest_nocb.0.. (default 0, max 256)");

/* The counters of struct dmatest_stats, in ABI order (delay_us and fault_k are knobs). */
#define DT_COUNTERS(X)        \
	X(pin_calls)          \
	X(pin_errors)         \
	X(pin_einval)         \
	X(pages_pinned_now)   \
	X(pages_pinned_total) \
	X(unpin_calls)        \
	X(pages_unpinned)     \
	X(dma_unmap_calls)    \
	X(dma_unmap_bytes)    \
	X(unpinned_in_cb)     \
	X(faults_injected)

#define DT_ENUM(n) DT_C_##n,
enum dt_counter { DT_COUNTERS(DT_ENUM) DT_NR_COUNTERS };
#undef DT_ENUM

#define DT_STR(n) #n,
static const char *const dt_counter_names[DT_NR_COUNTERS] = { DT_COUNTERS(DT_STR) };
#undef DT_STR

struct dt_pin {
	struct list_head node;
	u64 iova;
	u32 npage;
};

struct dt_dev {
	struct vfio_device vdev; /* must stay first: vfio_alloc_device() */
	bool nocb;		 /* ops without .dma_unmap */
	struct mutex lock;	 /* protects pins */
	struct list_head pins;	 /* struct dt_pin, ranges pinned through this device */
	atomic_t delay_us;
	atomic_t fault_k;
	atomic64_t ctr[DT_NR_COUNTERS];
};

static struct platform_device *dt_pdevs[2 * DT_MAX_DEV];
static unsigned int dt_npdevs;

static inline struct dt_dev *to_dt(struct vfio_device *vdev)
{
	return container_of(vdev, struct dt_dev, vdev);
}

static inline void dt_add(struct dt_dev *d, enum dt_counter c, s64 v)
{
	atomic64_add(v, &d->ctr[c]);
}

static void dt_fill_stats(struct dt_dev *d, struct dmatest_stats *s)
{
	BUILD_BUG_ON(sizeof(*s) != (DT_NR_COUNTERS + 2) * sizeof(__u64));
	memset(s, 0, sizeof(*s));
#define DT_FILL(n) s->n = atomic64_read(&d->ctr[DT_C_##n]);
	DT_COUNTERS(DT_FILL)
#undef DT_FILL
	s->delay_us = atomic_read(&d->delay_us);
	s->fault_k = atomic_read(&d->fault_k);
}

static void dt_reset(struct dt_dev *d)
{
	int i;

	for (i = 0; i < DT_NR_COUNTERS; i++)
		if (i != DT_C_pages_pinned_now) /* a gauge of the pins, which are kept */
			atomic64_set(&d->ctr[i], 0);
}

static int dt_set_knobs(struct dt_dev *d, u32 delay_us, u32 fault_k)
{
	if (delay_us > DT_DELAY_MAX_US || fault_k > DMATEST_FAULT_MAX)
		return -EINVAL;
	atomic_set(&d->delay_us, delay_us);
	atomic_set(&d->fault_k, fault_k);
	return 0;
}

/* Give back @npage pages at @iova pinned through @d and account them. d->lock held. */
static void dt_unpin_pages(struct dt_dev *d, u64 iova, u32 npage, bool in_cb)
{
	vfio_unpin_pages(&d->vdev, iova, npage);
	dt_add(d, DT_C_unpin_calls, 1);
	dt_add(d, DT_C_pages_unpinned, npage);
	dt_add(d, DT_C_pages_pinned_now, -(s64)npage);
	if (in_cb)
		dt_add(d, DT_C_unpinned_in_cb, npage);
}

/* Unpin every recorded range overlapping [iova, last]. d->lock held. */
static void dt_unpin_overlap(struct dt_dev *d, u64 iova, u64 last, bool in_cb)
{
	struct dt_pin *p, *tmp;

	lockdep_assert_held(&d->lock);
	list_for_each_entry_safe(p, tmp, &d->pins, node)
	{
		u64 plast = p->iova + ((u64)p->npage << PAGE_SHIFT) - 1;

		if (plast < iova || p->iova > last)
			continue;
		dt_unpin_pages(d, p->iova, p->npage, in_cb);
		list_del(&p->node);
		kfree(p);
	}
}

/* Last byte of [iova, iova + len), saturated: type1 never passes len 0. */
static u64 dt_last(u64 iova, u64 len)
{
	if (!len)
		return iova;
	return len - 1 > U64_MAX - iova ? U64_MAX : iova + len - 1;
}

static int dt_check_range(const struct dmatest_pin *arg)
{
	u64 len = (u64)arg->npage << PAGE_SHIFT;

	if (!arg->npage || arg->npage > DT_PIN_MAX || !PAGE_ALIGNED(arg->iova) ||
	    len - 1 > U64_MAX - arg->iova)
		return -EINVAL;
	return 0;
}

static long dt_pin(struct dt_dev *d, const struct dmatest_pin *arg)
{
	struct page **pages;
	struct dt_pin *p;
	u32 i;
	int ret;

	if (dt_check_range(arg) || (arg->flags & ~DT_PIN_F_MARKER))
		return -EINVAL;

	pages = kcalloc(arg->npage, sizeof(*pages), GFP_KERNEL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!pages || !p) {
		ret = -ENOMEM;
		goto out;
	}

	mutex_lock(&d->lock);
	dt_add(d, DT_C_pin_calls, 1);
	/*
	 * A device without .dma_unmap gets -EINVAL from here, from different places:
	 *  - 6.1: vfio_pin_pages() (container.c) passes the call on to type1 and
	 *    vfio_iommu_type1_pin_pages() fails with -EINVAL when the container's device_list is
	 *    empty, i.e. no device with .dma_unmap is open in the container. With one open there,
	 *    6.1 lets the pin succeed (handled below).
	 *  - 6.12: vfio_pin_pages() (vfio_main.c) returns -EINVAL itself for any device whose ops
	 *    lack .dma_unmap, before vfio_device_container_pin_pages() and type1 are reached,
	 *    whatever else is in the container. (type1's empty-device_list -EINVAL still exists but
	 *    is unreachable for such a device.)
	 */
	ret = vfio_pin_pages(&d->vdev, arg->iova, arg->npage, IOMMU_READ | IOMMU_WRITE, pages);
	if (ret < 0) {
		dt_add(d, DT_C_pin_errors, 1);
		if (ret == -EINVAL)
			dt_add(d, DT_C_pin_einval, 1);
		goto unlock;
	}
	dt_add(d, DT_C_pages_pinned_total, ret);
	dt_add(d, DT_C_pages_pinned_now, ret);
	if ((u32)ret != arg->npage || d->nocb) {
		/*
		 * type1 pins all or nothing, so a short pin does not happen. A nocb device pins only
		 * on 6.1 in a container that also holds an open dma_unmap device: it could never give
		 * the pages back on UNMAP_DMA (type1 would re-notify until BUG()), so return them now.
		 */
		if (ret > 0)
			dt_unpin_pages(d, arg->iova, ret, false);
		ret = d->nocb ? -EOPNOTSUPP : -EFAULT;
		goto unlock;
	}

	if (arg->flags & DT_PIN_F_MARKER) {
		for (i = 0; i < arg->npage; i++) {
			u64 *va = kmap_local_page(pages[i]);

			va[0] = DMATEST_MARKER;
			va[1] = arg->iova + ((u64)i << PAGE_SHIFT);
			kunmap_local(va);
		}
	}
	p->iova = arg->iova;
	p->npage = arg->npage;
	list_add_tail(&p->node, &d->pins);
	p = NULL;
unlock:
	mutex_unlock(&d->lock);
out:
	kfree(p);
	kfree(pages);
	return ret;
}

static long dt_unpin(struct dt_dev *d, const struct dmatest_pin *arg)
{
	if (dt_check_range(arg))
		return -EINVAL;
	mutex_lock(&d->lock);
	dt_unpin_overlap(d, arg->iova, dt_last(arg->iova, (u64)arg->npage << PAGE_SHIFT), false);
	mutex_unlock(&d->lock);
	return 0;
}

static long dt_ioctl(struct vfio_device *vdev, unsigned int cmd, unsigned long arg)
{
	struct dt_dev *d = to_dt(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMATEST_PIN:
	case DMATEST_UNPIN: {
		struct dmatest_pin pin;

		if (copy_from_user(&pin, uarg, sizeof(pin)))
			return -EFAULT;
		return cmd == DMATEST_PIN ? dt_pin(d, &pin) : dt_unpin(d, &pin);
	}
	case DMATEST_STATS: {
		struct dmatest_stats st;

		dt_fill_stats(d, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	case DMATEST_RESET: dt_reset(d); return 0;
	case DMATEST_SET_KNOBS: {
		struct dmatest_knobs k;

		if (copy_from_user(&k, uarg, sizeof(k)))
			return -EFAULT;
		return dt_set_knobs(d, k.delay_us, k.fault_k);
	}
	}
	return -ENOTTY;
}

static void dt_sleep_us(u32 us)
{
	if (us >= 20000) { /* long: msleep, remainder below */
		msleep(us / 1000);
		us %= 1000;
	}
	if (us > 10)
		usleep_range(us, us + us / 16 + 5);
	else if (us)
		udelay(us);
}

/* ops->dma_unmap: device_list_lock held, iommu->lock dropped, process context. */
static DT_CB_NOTRACE void dt_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct dt_dev *d = to_dt(vdev);

	dt_add(d, DT_C_dma_unmap_calls, 1);
	dt_add(d, DT_C_dma_unmap_bytes, length);
	dt_sleep_us(atomic_read(&d->delay_us));
	if (atomic_dec_if_positive(&d->fault_k) >= 0) {
		/* keep the pins: type1 re-loops and calls us again for this dma */
		dt_add(d, DT_C_faults_injected, 1);
		return;
	}
	mutex_lock(&d->lock);
	dt_unpin_overlap(d, iova, dt_last(iova, length), true);
	mutex_unlock(&d->lock);
}

static void dt_close_device(struct vfio_device *vdev)
{
	struct dt_dev *d = to_dt(vdev);

	mutex_lock(&d->lock);
	dt_unpin_overlap(d, 0, U64_MAX, false);
	mutex_unlock(&d->lock);
}

static int dt_init_dev(struct vfio_device *vdev)
{
	struct dt_dev *d = to_dt(vdev);
	int i;

	mutex_init(&d->lock);
	INIT_LIST_HEAD(&d->pins);
	atomic_set(&d->delay_us, 0);
	atomic_set(&d->fault_k, 0);
	for (i = 0; i < DT_NR_COUNTERS; i++)
		atomic64_set(&d->ctr[i], 0);
	return 0;
}

static void dt_release_dev(struct vfio_device *vdev)
{
	struct dt_dev *d = to_dt(vdev);
	struct dt_pin *p, *tmp;

	/* close_device emptied the list; free anything left without touching the container */
	list_for_each_entry_safe(p, tmp, &d->pins, node)
	{
		list_del(&p->node);
		kfree(p);
	}
	mutex_destroy(&d->lock);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	/* up to 6.1 the driver's release frees the vfio_device; 6.2+ frees it in vfio core */
	vfio_free_device(vdev);
#endif
}

/*
 * CONFIG_IOMMUFD is off in Debian's 6.1 and 6.12: only the legacy container/group path is used.
 * Where it is on, emulated devices need the vfio_iommufd_emulated_* helpers (6.2+, detach 6.6+);
 * they are set where the header declares them (and are NULL stubs when IOMMUFD is off).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define DT_IOMMUFD_OPS                                  \
	.bind_iommufd = vfio_iommufd_emulated_bind,     \
	.unbind_iommufd = vfio_iommufd_emulated_unbind, \
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
#else
#define DT_IOMMUFD_OPS
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define DT_IOMMUFD_DETACH .detach_ioas = vfio_iommufd_emulated_detach_ioas,
#else
#define DT_IOMMUFD_DETACH
#endif

static const struct vfio_device_ops dt_ops = { .name = DT_OPS_NAME,
					       .init = dt_init_dev,
					       .release = dt_release_dev,
					       .close_device = dt_close_device,
					       .ioctl = dt_ioctl,
					       .dma_unmap = dt_dma_unmap,
					       DT_IOMMUFD_OPS DT_IOMMUFD_DETACH };

/* Same device, but no .dma_unmap: type1 does not put it on the container's device_list. */
static const struct vfio_device_ops dt_nocb_ops = { .name = DT_OPS_NAME "-nocb",
						    .init = dt_init_dev,
						    .release = dt_release_dev,
						    .close_device = dt_close_device,
						    .ioctl = dt_ioctl,
						    DT_IOMMUFD_OPS DT_IOMMUFD_DETACH };

#include "vfio_dmatest_sysfs.h"

enum { DT_KIND_CB, DT_KIND_NOCB };

static const struct platform_device_id dt_id_table[] = { { DT_DRV_NAME, DT_KIND_CB },
							 { DT_NOCB_NAME, DT_KIND_NOCB },
							 {} };
MODULE_DEVICE_TABLE(platform, dt_id_table);

static int dt_probe(struct platform_device *pdev)
{
	bool nocb = platform_get_device_id(pdev)->driver_data == DT_KIND_NOCB;
	struct dt_dev *d;
	int ret;

	d = vfio_alloc_device(dt_dev, vdev, &pdev->dev, nocb ? &dt_nocb_ops : &dt_ops);
	if (IS_ERR(d))
		return PTR_ERR(d);
	d->nocb = nocb;
	ret = vfio_register_emulated_iommu_dev(&d->vdev);
	if (ret) {
		vfio_put_device(&d->vdev);
		return ret;
	}
	platform_set_drvdata(pdev, d);
	return 0;
}

/* platform_driver.remove returns void from 6.11 (int before; 6.1 also has .remove_new) */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void dt_remove(struct platform_device *pdev)
#else
static int dt_remove(struct platform_device *pdev)
#endif
{
	struct dt_dev *d = platform_get_drvdata(pdev);

	/* waits until every fd of the device is closed (they also hold a module reference) */
	vfio_unregister_group_dev(&d->vdev);
	vfio_put_device(&d->vdev);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
	return 0;
#endif
}

static struct platform_driver dt_driver = {
	.probe		= dt_probe,
	.remove		= dt_remove,
	.id_table	= dt_id_table,
	.driver		= {
		.name		= DT_DRV_NAME,
		.dev_groups	= dt_groups,
		/* probe in platform_device_register(), so init can check the binding */
		.probe_type	= PROBE_FORCE_SYNCHRONOUS,
	},
};

static void dt_destroy_devices(void)
{
	while (dt_npdevs)
		platform_device_unregister(dt_pdevs[--dt_npdevs]);
}

static int dt_create_devices(const char *name, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct platform_device *pdev = platform_device_register_simple(name, i, NULL, 0);

		if (IS_ERR(pdev)) {
			pr_err(DT_DRV_NAME ": cannot create %s.%u: %ld\n", name, i, PTR_ERR(pdev));
			return PTR_ERR(pdev);
		}
		dt_pdevs[dt_npdevs++] = pdev;
		if (!platform_get_drvdata(pdev)) { /* probe failed: the device is unbound */
			pr_err(DT_DRV_NAME ": %s did not bind to the driver\n",
			       dev_name(&pdev->dev));
			return -ENODEV;
		}
	}
	return 0;
}

static int __init dt_init(void)
{
	int ret;

	if (ndev > DT_MAX_DEV || ndev_nocb > DT_MAX_DEV || !(ndev + ndev_nocb)) {
		pr_err(DT_DRV_NAME ": need ndev and ndev_nocb in 0..%d, not both 0\n", DT_MAX_DEV);
		return -EINVAL;
	}
	ret = platform_driver_register(&dt_driver);
	if (ret)
		return ret;
	ret = dt_create_devices(DT_DRV_NAME, ndev);
	if (!ret)
		ret = dt_create_devices(DT_NOCB_NAME, ndev_nocb);
	if (ret) {
		dt_destroy_devices();
		platform_driver_unregister(&dt_driver);
		return ret;
	}
	pr_info(DT_DRV_NAME ": %u device(s) with dma_unmap, %u without\n", ndev, ndev_nocb);
	return 0;
}

static void __exit dt_exit(void)
{
	dt_destroy_devices();
	platform_driver_unregister(&dt_driver);
}

module_init(dt_init);
module_exit(dt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION(
	"emulated-IOMMU VFIO test devices for the type1 DMA-unmap path (vfio-trace lab)");
