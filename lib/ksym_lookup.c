// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel symbols by name without reading /proc/kallsyms: bpf/ksym_lookup.bpf.c asks
 * kallsyms_lookup_name(), run once per name by BPF_PROG_TEST_RUN. A tracer's start needs a few
 * dozen names (its attach points, vfio_device_fops, the callbacks' functions) where a pass over
 * /proc/kallsyms costs what the kernel takes to format every symbol (0.2-0.3 s under TCG on
 * 6.12, the largest part of `top`'s start beyond the empty-program loader's). lib/ksyms.c's
 * lookup mode uses it; every other pass stays as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vt.h"
#include "vt_ksym_query.h"
#include "ksym_lookup.skel.h"

struct vt_ksym_lookup {
	struct ksym_lookup_bpf *skel;
	int prog_fd;
};

/* Without its sorted name index kallsyms_lookup_name() expands every vmlinux symbol in turn
 * before it looks in the modules: each lookup costs most of a pass, and a start asks for
 * dozens. 6.2 added the index (kallsyms_seqs_of_names, binary-searched by
 * kallsyms_lookup_names()); stable kernels before it may have it backported (Debian's
 * 6.1.0-57, 6.1.192, does: 23 lookups in 0.01 s in the lab).
 * Before 6.2 the one question tells: the index's search function is there or not (one linear
 * lookup where it is not, then the pass). */
static bool kernel_indexes_names(const char *release)
{
	unsigned major = 0, minor = 0;

	if (sscanf(release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 2);
}

struct vt_ksym_lookup *vt_ksym_lookup_open(void)
{
	const char *mode = getenv("VFIO_TRACE_KSYMS");
	struct vt_ksym_lookup *l;
	struct utsname u;

	/* VFIO_TRACE_KSYMS=pass: the passes only (the lab checks both ways on one kernel) */
	if (mode && !strcmp(mode, "pass"))
		return NULL;
	if (uname(&u))
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->skel = ksym_lookup_bpf__open_and_load();
	if (!l->skel) {
		vt_dbg("kernel symbol lookups unavailable (%s): reading /proc/kallsyms",
		       strerror(errno));
		free(l);
		return NULL;
	}
	l->prog_fd = bpf_program__fd(l->skel->progs.ksym_lookup);
	if (!(mode && !strcmp(mode, "lookup")) && !kernel_indexes_names(u.release)) {
		uint64_t addr;

		if (vt_ksym_lookup(l, "kallsyms_lookup_names", NULL, &addr)) {
			vt_dbg("kernel %s has no sorted kallsyms name index: reading /proc/kallsyms",
			       u.release);
			vt_ksym_lookup_close(l);
			return NULL;
		}
	}
	return l;
}

int vt_ksym_lookup(void *ctx, const char *name, const char *module, uint64_t *addr)
{
	struct vt_ksym_lookup *l = ctx;
	struct vt_ksym_query q;
	int len;
	/* a syscall program's context is copied back into ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &q, .ctx_size_in = sizeof(q));

	memset(&q, 0, sizeof(q));
	len = module ? snprintf(q.name, sizeof(q.name), "%s:%s", module, name) :
		       snprintf(q.name, sizeof(q.name), "%s", name);
	if (len < 0 || (size_t)len >= sizeof(q.name))
		return -ENAMETOOLONG;
	/* A failed run is not the kernel's "no" (-ENOENT) nor "hidden" (-EPERM): -EIO */
	if (bpf_prog_test_run_opts(l->prog_fd, &o)) {
		vt_dbg("kernel symbol lookup of %s: %s", q.name, strerror(errno));
		return -EIO;
	}
	if (q.err)
		return q.err == -ENOENT || q.err == -EPERM ? (int)q.err : -EIO;
	*addr = q.addr;
	return 0;
}

void vt_ksym_lookup_close(struct vt_ksym_lookup *l)
{
	if (!l)
		return;
	ksym_lookup_bpf__destroy(l->skel);
	free(l);
}
