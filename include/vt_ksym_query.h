/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One kernel symbol lookup, as lib/ksym_lookup.c hands it to bpf/ksym_lookup.bpf.c (the
 * context of a BPF_PROG_TYPE_SYSCALL program run by BPF_PROG_TEST_RUN, copied back after).
 */
#ifndef VT_KSYM_QUERY_H
#define VT_KSYM_QUERY_H

/* "module:name" or "name", NUL-terminated: module names are at most 55 characters and the
 * names vfio-trace asks for are far below the rest */
#define VT_KSYM_QUERY_NAME 192

struct vt_ksym_query {
	char name[VT_KSYM_QUERY_NAME];
	unsigned long long addr; /* out: the symbol's address */
	long long err;		 /* out: 0, -ENOENT (no such symbol), -EPERM (addresses hidden) */
};

#endif
