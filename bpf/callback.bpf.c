// SPDX-License-Identifier: GPL-2.0
/*
 * A device driver's ops->dma_unmap(vdev, iova, length) callback. User space attaches it before
 * tracing starts to every function of a module using vfio.ko whose BTF prototype is that of
 * dma_unmap, again when such a module is loaded, and to any callback a device shows that was
 * not among them (a module without BTF). fentry needs the target at load time: the callbacks found at the start are
 * fentry slots of the main object (bpf/vfio_trace.bpf.c, VT_CB_SLOTS of them), and any other
 * gets one instance of this object (vt_cb_func: its address); the kprobe twin is loaded once
 * and attached to each, with the function's address as the attach cookie.
 * A call counts only when the device's ops->dma_unmap is that very function: a helper with
 * the same prototype (or a callback called through another device) is not a callback.
 *
 * Notify reconstruction (vfio_notify_dma_unmap is inlined on Debian's kernels): a notify calls
 * the callback of every device on iommu->device_list, in list order, with the vfio_dma's
 * iova/size, from inside the UNMAP_DMA ioctl. So a callback to the list's first device opens
 * a notify and the exit of the callback to its last device closes it; a notify on the same
 * vfio_dma as the one before it in the same ioctl is a retry (the kernel's `goto again`).
 * The window lacks the device_list_lock acquire and iommu->lock re-acquire around the loop.
 * Where vfio_notify_dma_unmap is a symbol that attaches, it is measured there instead
 * (vt_notify_direct, vt_direct.bpf.h) unless VFIO_TRACE_RECONSTRUCT_NOTIFY=1; the callback
 * loop is still marked (notify_ts): lock tracking tells the lock drop from the callbacks' own
 * iommu->lock holds by it (vt_locks.bpf.h).
 */
#include "vt_callback.bpf.h"

/* fentry instances: the address of the function this instance is attached to. */
const volatile __u64 vt_cb_func = 0;

/* fentry: vdev is a BTF pointer, ops->dma_unmap two direct loads (no probe-read helper). */
VT_CB_FENTRY_PROGS(fe_callback, fx_callback, vt_cb_func)

VT_CB_KPROBE_PROGS
