// SPDX-License-Identifier: GPL-2.0
/*
 * bench/opcost: what one BPF building block costs on the running kernel. Every program is an
 * fentry on the same function (__task_pid_nr_ns, which getppid() calls), each doing one operation; bpf_stats'
 * run_time_ns/run_cnt minus the empty program's is that operation's price. Guides which
 * blocks vfio-trace's hot path may use (docs/BENCHMARKS.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "vt_shared.h"
#include "vt_hist.h"
#include "vt_stat.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct k16 {
	__u64 a;
	__u32 b;
	__u16 c, d;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64[5]);
} m_hash SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64[5]);
} m_lru SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct k16);
	__type(value, struct vtr_stat);
} m_pch SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct vtr_stat);
} m_pca SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64[5]);
} m_arr SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64[5]);
} m_task SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} m_rb SEC(".maps");

__u64 g_bss[64];

static __always_inline void zero_insert(struct k16 *k)
{
	__u32 z = 63; /* row 63 of m_pca stays zero */
	struct vtr_stat *v = bpf_map_lookup_elem(&m_pca, &z);

	if (v)
		bpf_map_update_elem(&m_pch, k, v, 0);
}

#define P(name) SEC("fentry/__task_pid_nr_ns") int BPF_PROG(name)

P(o00_empty)
{
	return 0;
}
P(o01_pid_tgid)
{
	g_bss[1] = bpf_get_current_pid_tgid();
	return 0;
}
P(o02_ktime)
{
	g_bss[2] = bpf_ktime_get_ns();
	return 0;
}
P(o03_task_btf)
{
	g_bss[3] = (__u64)bpf_get_current_task_btf();
	return 0;
}
P(o04_bss_write)
{
	g_bss[4]++;
	return 0;
}
P(o05_array)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&m_arr, &k);
	if (v)
		v[0]++;
	return 0;
}
P(o06_pcpu_array)
{
	__u32 k = 3;
	struct vtr_stat *v = bpf_map_lookup_elem(&m_pca, &k);
	if (v)
		v->count++;
	return 0;
}
P(o07_hash4)
{
	__u32 k = (__u32)bpf_get_current_pid_tgid();
	__u64 *v = bpf_map_lookup_elem(&m_hash, &k);
	if (v)
		v[0]++;
	else {
		__u64 z[5] = {};
		bpf_map_update_elem(&m_hash, &k, z, 0);
	}
	return 0;
}
P(o08_lru4)
{
	__u32 k = (__u32)bpf_get_current_pid_tgid();
	__u64 *v = bpf_map_lookup_elem(&m_lru, &k);
	if (v)
		v[0]++;
	else {
		__u64 z[5] = {};
		bpf_map_update_elem(&m_lru, &k, z, 0);
	}
	return 0;
}
P(o09_pcpu_hash16)
{
	struct k16 k = { .a = 0xffff888012345678ULL, .b = 7, .c = 3 };
	struct vtr_stat *v = bpf_map_lookup_elem(&m_pch, &k);
	if (v)
		v->count++;
	else
		zero_insert(&k);
	return 0;
}
P(o10_task_storage)
{
	__u64 *v = bpf_task_storage_get(&m_task, bpf_get_current_task_btf(), 0,
					BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (v)
		v[0]++;
	return 0;
}
P(o11_hist_slot)
{
	g_bss[11] += vt_hist_slot(bpf_get_current_pid_tgid() & 0xfffff);
	return 0;
}
P(o12_account) /* vfio-trace's vt_account core: percpu hash + the whole stat update */
{
	struct k16 k = { .a = 0xffff888012345679ULL,
			 .b = bpf_get_current_pid_tgid() >> 32,
			 .c = 3 };
	struct vtr_stat *s = bpf_map_lookup_elem(&m_pch, &k);
	__u64 lat = bpf_ktime_get_ns() & 0xffff;
	if (!s) {
		zero_insert(&k);
		return 0;
	}
	vt_stat_record(s, lat, 4096, 0);
	return 0;
}
P(o13_pca_account) /* the same update into a per-CPU array row */
{
	__u32 k = 5;
	struct vtr_stat *s = bpf_map_lookup_elem(&m_pca, &k);
	__u64 lat = bpf_ktime_get_ns() & 0xffff;
	if (!s)
		return 0;
	vt_stat_record(s, lat, 4096, 0);
	return 0;
}
P(o14_atomic_add)
{
	__sync_fetch_and_add(&g_bss[14], 1);
	return 0;
}
P(o15_comm)
{
	char c[16];
	bpf_get_current_comm(c, sizeof(c));
	g_bss[15] += c[0];
	return 0;
}
P(o16_rb_wakeup)
{
	__u64 *e = bpf_ringbuf_reserve(&m_rb, 64, 0);
	if (e) {
		e[0] = 1;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}
P(o17_rb_nowakeup)
{
	__u64 *e = bpf_ringbuf_reserve(&m_rb, 64, 0);
	if (e) {
		e[0] = 1;
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	}
	return 0;
}
P(o18_func_arg)
{
	__u64 v = 0;
	bpf_get_func_arg(ctx, 0, &v);
	g_bss[18] += v;
	return 0;
}
P(o19_probe_read)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, 8, &g_bss[0]);
	g_bss[19] += v;
	return 0;
}
