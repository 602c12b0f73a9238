// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_dmatest2 - a second test driver: the vfio_dmatest devices under other names
 * (vfio_dmatest2.N, vfio_dmatest2_nocb.N, ops "vfio-dmatest2"), with their own dma_unmap
 * function (dt2_dma_unmap). The lab loads it after vfio-trace has started, to check that a
 * driver module loaded later is traced from its first callback.
 */
#define DT_DRV_NAME  "vfio_dmatest2"
#define DT_NOCB_NAME "vfio_dmatest2_nocb"
#define DT_OPS_NAME  "vfio-dmatest2"
#define dt_dma_unmap dt2_dma_unmap
#include "vfio_dmatest.c"
