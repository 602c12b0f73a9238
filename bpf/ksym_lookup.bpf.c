// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel symbol lookups without reading /proc/kallsyms (lib/ksym_lookup.c): the kernel's
 * kallsyms_lookup_name() behind bpf_kallsyms_lookup_name(), a helper of syscall programs
 * (5.16+). Since 6.2 it binary-searches a sorted index of vmlinux names, and with
 * "module:name" looks in that module's symbols only; /proc/kallsyms formats every symbol
 * (107k lines on 6.12, ~0.2 s under TCG). No CO-RE, no attach target: libbpf loads this object
 * without parsing the kernel's BTF.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "vt_ksym_query.h"

char LICENSE[] SEC("license") = "GPL";

SEC("syscall")
int ksym_lookup(struct vt_ksym_query *q)
{
	__u64 name[VT_KSYM_QUERY_NAME / 8];
	__u64 addr = 0;

	/* the helper reads a buffer the verifier can size: a copy on the stack, terminated */
#pragma unroll
	for (int i = 0; i < VT_KSYM_QUERY_NAME / 8; i++)
		name[i] = ((const __u64 *)q->name)[i];
	((char *)name)[sizeof(name) - 1] = 0;
	q->err = bpf_kallsyms_lookup_name((const char *)name, sizeof(name), 0, &addr);
	q->addr = addr;
	return 0;
}
