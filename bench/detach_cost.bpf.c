// SPDX-License-Identifier: GPL-2.0
/* bench/detach-cost (this object: detach_cost): empty-ish programs for timing how long the kernel takes to take probes
 * off (perf kprobes one per function against one kprobe_multi link for all), and a check that
 * a kprobe_multi dispatcher can tail-call handlers by attach cookie (issue #12). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hits, dispatched, zero_returns;

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} handlers SEC(".maps");

SEC("kprobe.multi")
int multi_count(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("kprobe")
int kprobe_count(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

/* the dispatchers: the attach cookie is the handler's slot */
SEC("kprobe.multi")
int dispatch_entry(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&dispatched, 1);
	bpf_tail_call(ctx, &handlers, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kretprobe.multi")
int dispatch_exit(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&dispatched, 1);
	bpf_tail_call(ctx, &handlers, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kprobe")
int handler_entry(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("kretprobe")
int handler_exit(struct pt_regs *ctx)
{
	if (PT_REGS_RC(ctx) == 0)
		__sync_fetch_and_add(&zero_returns, 1);
	__sync_fetch_and_add(&hits, 1);
	return 0;
}
