// SPDX-License-Identifier: GPL-2.0
/* Empty programs the doctor attaches for real to find out what this kernel allows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("kprobe")
int vt_probe_kprobe(void *ctx)
{
	return 0;
}

SEC("raw_tp")
int vt_probe_raw_tp(void *ctx)
{
	return 0;
}
