/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One operation added to this CPU's stats row: vt_account()'s update (bpf/vt_core.bpf.h),
 * shared with bench/opcost.bpf.c so the benchmark prices exactly this code.
 */
#ifndef VT_STAT_BPF_H
#define VT_STAT_BPF_H

#include "vt_shared.h"
#include "vt_hist.h"

#define VT_EINVAL 22

static __always_inline void vt_stat_record(struct vtr_stat *s, __u64 lat, __u64 bytes, __s64 ret)
{
	__u32 slot;

	s->count++;
	if (ret < 0)
		s->errors++;
	if (ret == -VT_EINVAL)
		s->einval++;
	s->bytes += bytes;
	if (lat == VT_LAT_NONE)
		return;
	s->lat_sum += lat;
	if (lat > s->lat_max)
		s->lat_max = lat;
	slot = vt_hist_slot(lat);
	/* The compiler knows slot < VT_HIST_SLOTS and would drop the check the verifier
	 * needs: hide the value from it. */
	asm volatile("" : "+r"(slot));
	if (slot < VT_HIST_SLOTS)
		s->hist[slot]++;
}

#endif
