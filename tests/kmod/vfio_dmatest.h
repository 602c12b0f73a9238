/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ABI of the vfio_dmatest test module, shared by the module (tests/kmod) and
 * the workload (tests/workload). Device-fd ioctls on an opened vfio device.
 *
 * Counters are per device, cumulative since load or the last DMATEST_RESET,
 * kept in atomics so reading them never takes a lock (a stats read must not
 * hang on a wedged device).
 */
#ifndef VFIO_DMATEST_H
#define VFIO_DMATEST_H
#include <linux/types.h>
#include <linux/ioctl.h>

struct dmatest_pin {
	__u64 iova;  /* start IOVA (page aligned) */
	__u32 npage; /* number of pages, 1..512 */
	__u32 flags; /* bit0: write a marker into each pinned page */
};

struct dmatest_stats {
	__u64 pin_calls;	  /* DMATEST_PIN ioctls that called vfio_pin_pages */
	__u64 pin_errors;	  /* ... of which vfio_pin_pages returned < 0 */
	__u64 pin_einval;	  /* ... of which returned -EINVAL */
	__u64 pages_pinned_now;	  /* pinned right now */
	__u64 pages_pinned_total; /* pinned successfully, ever */
	__u64 unpin_calls;	  /* vfio_unpin_pages calls (ioctl, callback, close) */
	__u64 pages_unpinned;	  /* pages given back by those calls */
	__u64 dma_unmap_calls;	  /* ->dma_unmap callbacks received */
	__u64 dma_unmap_bytes;	  /* sum of their length argument */
	__u64 unpinned_in_cb;	  /* pages unpinned from ->dma_unmap */
	__u64 faults_injected;	  /* callbacks that kept pins on purpose (fault_k) */
	__u64 delay_us;		  /* current knob values (read back) */
	__u64 fault_k;
};

struct dmatest_knobs {
	__u32 delay_us; /* udelay/usleep inside ->dma_unmap, per callback, <= 5000000 */
	__u32 fault_k;	/* the next fault_k callbacks keep their pins; must be < 10 */
};

#define DMATEST_PIN	  _IOW(';', 0xe0, struct dmatest_pin)
#define DMATEST_UNPIN	  _IOW(';', 0xe1, struct dmatest_pin)
#define DMATEST_STATS	  _IOR(';', 0xe2, struct dmatest_stats)
#define DMATEST_RESET	  _IO(';', 0xe3)
#define DMATEST_SET_KNOBS _IOW(';', 0xe4, struct dmatest_knobs)
#define DMATEST_MARKER	  0x444d4154455354ULL /* "DMATEST" */
#define DMATEST_FAULT_MAX 9 /* the kernel BUG()s when one dma re-loops > 10 times */

#endif
