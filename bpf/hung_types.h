/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO container types `vfio-trace hung` reads (drivers/vfio/container.c on 6.1 and 6.12;
 * both live in vfio.ko), declared with only the fields used. As in vfio_types.h, every access
 * is a CO-RE relocation resolved against the running kernel's module BTF: no offsets here.
 * struct vfio_iommu (iommu->lock, iommu->device_list_lock) comes from vfio_types.h; struct
 * mutex and struct mutex_waiter from vmlinux.h (both kernels: owner, wait_list / list, task).
 */
#ifndef VT_HUNG_TYPES_H
#define VT_HUNG_TYPES_H

/* struct vfio_container and its driver moved to vfio_types.h, shared with the tracer. */

#endif
