/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The latency histogram's slot function, one definition for the BPF side (which fills the
 * slots) and user space (which reads percentiles from them). See VT_HIST_* in vt_shared.h:
 * values below VT_HIST_SUB get a slot each; above, each power of two is split into
 * VT_HIST_SUB linear sub-buckets.
 */
#ifndef VT_HIST_H
#define VT_HIST_H

#include "vt_shared.h"

#ifdef __bpf__
#define VT_INLINE static __always_inline
#else
#define VT_INLINE static inline
#endif

VT_INLINE __u32 vt_log2_32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

VT_INLINE __u32 vt_log2(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? vt_log2_32(hi) + 32 : vt_log2_32((__u32)v);
}

VT_INLINE __u32 vt_hist_slot(__u64 v)
{
	__u32 o, sub;

	if (v < VT_HIST_SUB)
		return (__u32)v;
	if (v >= (1ULL << VT_HIST_OCTAVES))
		return VT_HIST_SLOTS - 1;
	o = vt_log2(v);
	sub = (v >> (o - VT_HIST_SUB_BITS)) & (VT_HIST_SUB - 1);
	return (o - VT_HIST_SUB_BITS + 1) * VT_HIST_SUB + sub;
}

#endif
