/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO types vfio-trace reads, declared with only the fields it uses.
 *
 * These structs live in modules (vfio.ko, vfio_iommu_type1.ko), so the reference vmlinux.h
 * does not have them, and their layouts differ between kernels (e.g. vfio_device.iommu_entry
 * sits at offset 896 on Debian's 6.1 and 56 on 6.12). preserve_access_index makes every
 * access a CO-RE relocation that libbpf resolves at load time against the running kernel's
 * module BTF (/sys/kernel/btf/vfio, /sys/kernel/btf/vfio_iommu_type1). No offsets here.
 */
#ifndef VT_VFIO_TYPES_H
#define VT_VFIO_TYPES_H

struct vfio_device;

struct vfio_device_ops {
	char *name;
	void (*dma_unmap)(struct vfio_device *vdev, u64 iova, u64 length);
} __attribute__((preserve_access_index));

/* drivers/vfio/container.c (vfio.ko): a container's driver and its private data. */
struct vfio_iommu_driver_ops {
	char *name;
} __attribute__((preserve_access_index));

struct vfio_iommu_driver {
	const struct vfio_iommu_driver_ops *ops;
} __attribute__((preserve_access_index));

struct vfio_container {
	struct vfio_iommu_driver *iommu_driver;
	void *iommu_data;
} __attribute__((preserve_access_index));

/* drivers/vfio/vfio.h */
struct vfio_group {
	struct vfio_container *container;
} __attribute__((preserve_access_index));

struct vfio_device {
	struct device *dev;
	const struct vfio_device_ops *ops;
	struct vfio_group *group;
	struct list_head iommu_entry;
} __attribute__((preserve_access_index));

/* A device fd's private_data from 6.5 on (6.1: the struct vfio_device itself). */
struct vfio_device_file {
	struct vfio_device *device;
} __attribute__((preserve_access_index));

/* drivers/vfio/vfio_iommu_type1.c: the container's private data (iommu_data). */
struct vfio_iommu {
	struct mutex lock;
	struct list_head device_list;
	struct mutex device_list_lock;
} __attribute__((preserve_access_index));

/* include/uapi/linux/vfio.h, as vfio_dma_do_unmap sees it: the ioctl's kernel copy, into which
 * it writes the bytes it unmapped (resolved against vfio_iommu_type1's BTF, like the rest). */
struct vfio_iommu_type1_dma_unmap {
	__u64 size;
} __attribute__((preserve_access_index));

struct vfio_dma {
	dma_addr_t iova;
	size_t size;
	struct rb_root pfn_list;
} __attribute__((preserve_access_index));

/* uapi/linux/vfio.h: a fixed ABI, read from user memory. */
struct vt_uapi_dma_unmap {
	__u32 argsz;
	__u32 flags;
	__u64 iova;
	__u64 size;
};

struct vt_uapi_dma_map {
	__u32 argsz;
	__u32 flags;
	__u64 vaddr;
	__u64 iova;
	__u64 size;
};

#endif
