// SPDX-License-Identifier: GPL-2.0
/*
 * The BTF ids of the fentry/fexit programs' targets, found by vfio-trace in one walk instead
 * of by libbpf at each program's load.
 *
 * libbpf 1.1 resolves a fentry/fexit program's target when it loads the program: a walk of
 * every type of the kernel's BTF for the name (btf__find_by_name_kind) and, for a module's
 * function, the same walk again with each loaded module's BTF in the kernel's order (a split
 * BTF's search starts at its base's first type) until the module that has it. In the TCG lab
 * that was 15-26 ms of each program's load on a VFIO module function beyond the verifier's
 * time (2-3 walks: -v -v -v, issue #20), ~0.2-0.3 s of top's start; on a host with a hundred
 * modules loaded before vfio_iommu_type1 it is a hundred walks per program.
 *
 * Here: one walk over the kernel's functions for every name wanted (the attach points', and
 * the dma_unmap callbacks found before the load), with the kernel's BTF the callbacks' search
 * parses anyway, then each wanted module's own types. The same answer as libbpf's: the
 * kernel's function if it has one of that name, else the one in the point's own module (which
 * libbpf would find first unless another loaded module had a function of that name: then this
 * is the right one). A handler registered for fentry and fexit sections
 * (libbpf_register_prog_handler: a custom handler comes before libbpf's own) gives each load
 * its ids; a name this walk did not find is looked up as libbpf does. The handler stays
 * registered: libbpf keeps a pointer to it in every program it opened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "tracer.h"

#define VT_FT_MAX 96

struct fentry_target {
	char name[128];
	char module[VT_MODNAME_LEN];	/* "" : the kernel */
	const struct bpf_program *prog; /* set for a program told its target by name */
	int btf_id;			/* 0: not found */
	int obj_fd;			/* the module's BTF object (0: the kernel's; -1: none) */
	bool done;			/* looked for */
};

static struct {
	struct fentry_target t[VT_FT_MAX];
	int n;
	bool registered;
} ft;

void vt_fentry_targets_want(const char *name, const char *module)
{
	const char *mod = module ? module : "";

	for (int i = 0; i < ft.n; i++)
		if (!ft.t[i].prog && !strcmp(ft.t[i].name, name) && !strcmp(ft.t[i].module, mod))
			return;
	if (ft.n == VT_FT_MAX || strlen(name) >= sizeof(ft.t[0].name))
		return; /* looked up at its load instead (lookup_like_libbpf) */
	snprintf(ft.t[ft.n].name, sizeof(ft.t[0].name), "%s", name);
	snprintf(ft.t[ft.n].module, sizeof(ft.t[0].module), "%s", mod);
	ft.n++;
}

static struct fentry_target *find(const char *name, const char *module)
{
	for (int i = 0; i < ft.n; i++)
		if (!ft.t[i].prog && !strcmp(ft.t[i].name, name) &&
		    (!module || !strcmp(ft.t[i].module, module)))
			return &ft.t[i];
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(ft.t[*(const int *)a].name, ft.t[*(const int *)b].name);
}

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ft.t[*(const int *)elem].name);
}

/* Each wanted name's id among btf's own types from start on, where not found yet (of module
 * only, if given). The names sorted once: each of the kernel's ~60k functions then costs a
 * binary search, not a compare with every name. */
static void walk(const struct btf *btf, __u32 start, const char *module)
{
	__u32 n = btf__type_cnt(btf);
	int order[VT_FT_MAX], norder = 0;

	for (int i = 0; i < ft.n; i++)
		if (!ft.t[i].prog && !ft.t[i].btf_id &&
		    (!module || !strcmp(ft.t[i].module, module)))
			order[norder++] = i;
	if (!norder)
		return;
	qsort(order, norder, sizeof(order[0]), by_name);
	for (__u32 id = start; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name;
		const int *hit;

		if (!btf_is_func(t))
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		hit = name ? bsearch(name, order, norder, sizeof(order[0]), name_cmp) : NULL;
		if (!hit)
			continue;
		while (hit > order && !strcmp(ft.t[hit[-1]].name, name))
			hit--;
		for (; hit < order + norder && !strcmp(ft.t[*hit].name, name); hit++)
			if (!ft.t[*hit].btf_id) /* the first function of that name, as libbpf's */
				ft.t[*hit].btf_id = id;
	}
}

static int prepare_load(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie);

static int attach(const struct bpf_program *prog, long cookie, struct bpf_link **link)
{
	(void)cookie;
	*link = bpf_program__attach_trace(prog);
	return *link ? 0 : -errno;
}

static void register_handlers(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o, .prog_prepare_load_fn = prepare_load,
		    .prog_attach_fn = attach);
	int fentry;

	if (ft.registered)
		return;
	/* both or neither: a program without its target must not meet libbpf's own handler */
	fentry = libbpf_register_prog_handler("fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY,
					      &o);
	if (fentry >= 0 && libbpf_register_prog_handler("fexit+", BPF_PROG_TYPE_TRACING,
							BPF_TRACE_FEXIT, &o) < 0) {
		libbpf_unregister_prog_handler(fentry);
		fentry = -1;
	}
	if (fentry < 0)
		vt_dbg("fentry targets: libbpf's own lookup (no handler: %s)", strerror(errno));
	ft.registered = fentry >= 0;
}

/* The wanted functions of one module that the kernel's BTF did not have: its own types. */
static void find_in_module(struct btf *base, const char *module)
{
	struct btf *mbtf = btf__load_module_btf(module, base);
	int fd = mbtf ? vt_module_btf_fd(module) : -1, used = 0;

	if (fd >= 0)
		walk(mbtf, btf__type_cnt(base), module);
	for (int i = 0; i < ft.n; i++)
		if (!strcmp(ft.t[i].module, module) && ft.t[i].obj_fd == 0 && !ft.t[i].done) {
			ft.t[i].done = true;
			ft.t[i].obj_fd = ft.t[i].btf_id ? fd : -1;
			used += ft.t[i].btf_id > 0;
		}
	if (fd >= 0 && !used)
		close(fd);
	btf__free(mbtf);
}

void vt_fentry_targets_find(struct btf *base)
{
	uint64_t t0 = vt_now_ns();
	int found = 0;

	if (!base || !ft.n)
		return;
	walk(base, 1, NULL);
	for (int i = 0; i < ft.n; i++) {
		/* found: the kernel's (obj_fd 0), whatever module the point named */
		ft.t[i].done = ft.t[i].btf_id || !ft.t[i].module[0];
		if (!ft.t[i].btf_id && !ft.t[i].module[0]) /* a kernel function it does not have */
			ft.t[i].obj_fd = -1;
	}
	for (int i = 0; i < ft.n; i++)
		if (!ft.t[i].done)
			find_in_module(base, ft.t[i].module);
	for (int i = 0; i < ft.n; i++)
		found += ft.t[i].btf_id > 0 && ft.t[i].obj_fd >= 0;
	vt_dbg("fentry targets: %d of %d found in %.3f s", found, ft.n, (vt_now_ns() - t0) / 1e9);
	register_handlers();
}

int vt_fentry_target_set(struct bpf_program *prog, const char *name, const char *module)
{
	struct fentry_target *f = find(name, module ? module : "");

	if (!f || !f->btf_id || !ft.registered || ft.n == VT_FT_MAX)
		return bpf_program__set_attach_target(prog, 0, name);
	ft.t[ft.n] = *f;
	ft.t[ft.n++].prog = prog;
	return 0;
}

/* What libbpf's own handler does for a name not found above: the kernel's BTF, then each
 * module's in the kernel's order. */
static int lookup_like_libbpf(const char *name, enum bpf_attach_type type, int *obj_fd)
{
	struct btf *base;
	char mod[64];
	__u32 id = 0;
	int r = libbpf_find_vmlinux_btf_id(name, type), fd;

	*obj_fd = 0;
	if (r > 0)
		return r;
	base = btf__load_vmlinux_btf();
	if (!base)
		return -ESRCH;
	r = -ESRCH;
	while (r < 0 && (fd = vt_kernel_btf_next(&id, mod, sizeof(mod))) >= 0) {
		struct btf *m =
			strcmp(mod, "vmlinux") ? btf__load_from_kernel_by_id_split(id, base) : NULL;

		if (m && (r = btf__find_by_name_kind(m, name, BTF_KIND_FUNC)) > 0)
			*obj_fd = fd;
		else
			close(fd);
		btf__free(m);
	}
	btf__free(base);
	return r;
}

static int prepare_load(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	const char *sec = bpf_program__section_name(prog), *name = strchr(sec, '/');
	const struct fentry_target *f = NULL;
	int id, fd;

	(void)cookie;
	if (opts->attach_btf_id) /* bpf_program__set_attach_target() said it */
		return 0;
	for (int i = 0; i < ft.n && !f; i++)
		if (ft.t[i].prog == prog)
			f = &ft.t[i];
	if (!f && name)
		f = find(name + 1, NULL);
	if (f && f->btf_id > 0 && f->obj_fd >= 0) {
		opts->attach_btf_id = f->btf_id;
		opts->attach_btf_obj_fd = f->obj_fd;
		return 0;
	}
	if (!name) {
		vt_warn("internal: BPF program %s has no fentry target", bpf_program__name(prog));
		return -EINVAL;
	}
	id = lookup_like_libbpf(name + 1, bpf_program__expected_attach_type(prog), &fd);
	if (id < 0)
		return id;
	opts->attach_btf_id = id;
	opts->attach_btf_obj_fd = fd; /* kept open, as libbpf keeps its module BTF fds */
	return 0;
}

void vt_fentry_targets_free(void)
{
	for (int i = 0; i < ft.n; i++) {
		int fd = ft.t[i].obj_fd;

		if (fd <= 0)
			continue;
		close(fd);
		for (int k = i; k < ft.n; k++) /* the module's other functions, and their copies */
			if (ft.t[k].obj_fd == fd)
				ft.t[k].obj_fd = 0;
	}
	memset(ft.t, 0, sizeof(ft.t));
	ft.n = 0;
}
