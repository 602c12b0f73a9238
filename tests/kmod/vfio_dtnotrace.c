// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_dtnotrace - the vfio_dmatest devices under other names (vfio_dtnotrace.N,
 * ops "vfio-dtnotrace") whose dma_unmap function, dtn_dma_unmap, is notrace: ftrace
 * cannot hook it, so neither fentry nor a kprobe_multi link can take it, while a perf kprobe
 * (an int3) can. A driver like that makes vfio-trace fall back at its start: the lab's exact
 * test loads it to check that the fallback still counts every callback.
 */
#define DT_DRV_NAME   "vfio_dtnotrace"
#define DT_NOCB_NAME  "vfio_dtnotrace_nocb"
#define DT_OPS_NAME   "vfio-dtnotrace"
#define DT_CB_NOTRACE notrace
#define dt_dma_unmap  dtn_dma_unmap
#include "vfio_dmatest.c"
