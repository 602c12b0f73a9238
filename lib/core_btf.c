// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE's target cut down to the types a BPF object can name, built at the start from the
 * running kernel's BTF.
 *
 * libbpf 1.1 relocates against the kernel's whole BTF: for each type its CO-RE relocations
 * name, a walk of every one of vmlinux's ~100k types, and where vmlinux has no type of that
 * name (the VFIO modules' structs) a parse of every loaded module's BTF and a walk of each
 * (bpf_core_find_cands). In the TCG lab that was ~190 ms of top's start, 8-10 ms per type
 * (-v -v -v, issue #20); on a host with a hundred modules, a hundred parses more.
 *
 * Given a BTF file (bpf_object_open_opts.btf_custom_path) libbpf searches that alone. This is
 * the file: what bpftool's min_core_btf writes ahead of time for a known kernel, built here
 * for the running one and coarser. Every kernel type whose name is one of the object's named
 * types (its essential name: without a ___flavour suffix, as libbpf compares them), of a kind
 * libbpf would take as a candidate, is copied with everything it holds by value. A pointer is
 * copied as a pointer to void: CO-RE checks that a field is a pointer, never what it points
 * to; a read through it is a relocation of its own, on the pointee's name. As libbpf does, a
 * name vmlinux has is taken from vmlinux alone; the others from the modules given (the
 * attach points' modules and those using vfio: every type vfio-trace reads outside vmlinux is
 * theirs), not from every module loaded.
 *
 * The BTF is written to a memfd: libbpf reads it by path (/proc/self/fd/N) at the load.
 * What this assumes of the objects (every relocation rooted at a named struct, union, enum or
 * typedef; no kernel type id asked for, which would be an id in this BTF) is checked on the
 * built objects by tests/host/t-core-relos.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "vt.h"

/* One name the object's types have, and kind class: what a candidate must match. */
struct wanted {
	const char *name; /* in the local BTF's strings */
	size_t len;	  /* its essential length */
	int kind;	  /* BTF_KIND_*, ENUM64 as ENUM (libbpf takes either for either) */
	bool in_vmlinux, found;
};

struct core_btf {
	struct btf *out;
	const struct btf *src; /* the BTF being copied from: vmlinux, or a module split on it */
	__u32 base_cnt;	       /* vmlinux's type count: ids below it are vmlinux's */
	__u32 *base_map;       /* vmlinux id -> id in out (0: not copied) */
	__u32 *mod_map;	       /* the current module's own ids (id - base_cnt) -> id in out */
	struct wanted *w;
	int nw;
	int err;
};

/* The length of a name without its ___flavour suffix, as libbpf's
 * bpf_core_essential_name_len(): the last X___Y in it, X and Y not underscores, ends at X. */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;) {
		const char *s = name + i;

		if (s[0] != '_' && s[1] == '_' && s[2] == '_' && s[3] == '_' && s[4] != '_')
			return i + 1;
	}
	return n;
}

static int kind_class(const struct btf_type *t)
{
	int k = btf_kind(t);

	return k == BTF_KIND_ENUM64 ? BTF_KIND_ENUM : k;
}

static bool candidate_kind(int k)
{
	return k == BTF_KIND_STRUCT || k == BTF_KIND_UNION || k == BTF_KIND_ENUM ||
	       k == BTF_KIND_TYPEDEF;
}

static int wanted_cmp(const void *a, const void *b)
{
	const struct wanted *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = strncmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->kind - y->kind;
}

static __u32 copy(struct core_btf *c, __u32 id);

/* Point the field of the copy new that sits where field sits in s (its source) at the copy of
 * what field refers to. The copy is looked up again after copy(): adding types may move out's
 * type data. */
static void point_at_copy(struct core_btf *c, __u32 new, const struct btf_type *s,
			  const __u32 *field)
{
	__u32 ref = copy(c, *field);
	char *t = (char *)btf__type_by_id(c->out, new);

	*(__u32 *)(t + ((const char *)field - (const char *)s)) = ref;
}

/* Copy what the copied type new (from id) refers to by value, and point it at the copies. */
static void copy_refs(struct core_btf *c, __u32 new, __u32 id)
{
	const struct btf_type *s = btf__type_by_id(c->src, id);

	switch (btf_kind(s)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_CONST:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG: point_at_copy(c, new, s, &s->type); break;
	case BTF_KIND_ARRAY:
		point_at_copy(c, new, s, &btf_array(s)->type);
		point_at_copy(c, new, s, &btf_array(s)->index_type);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (int i = 0; i < btf_vlen(s); i++)
			point_at_copy(c, new, s, &btf_members(s)[i].type);
		break;
	case BTF_KIND_FUNC_PROTO: /* only by value through a typedef: a pointer stops first */
		point_at_copy(c, new, s, &s->type);
		for (int i = 0; i < btf_vlen(s); i++)
			point_at_copy(c, new, s, &btf_params(s)[i].type);
		break;
	default: /* INT, FLOAT, ENUM, ENUM64, FWD: nothing referred to */ break;
	}
}

/* The id in out of src's type id, copied now if it was not. */
static __u32 copy(struct core_btf *c, __u32 id)
{
	const struct btf_type *t;
	__u32 *slot;
	int new;

	if (!id || c->err)
		return 0;
	slot = id < c->base_cnt ? &c->base_map[id] : &c->mod_map[id - c->base_cnt];
	new = (int)*slot;
	if (new)
		return new;
	t = btf__type_by_id(c->src, id);
	if (!t) {
		c->err = -EINVAL;
		return 0;
	}
	/* a pointer to void: what it points to is never part of this relocation */
	new = btf_is_ptr(t) ? btf__add_ptr(c->out, 0) : btf__add_type(c->out, c->src, t);
	if (new < 0) {
		c->err = new;
		return 0;
	}
	*slot = new; /* before its references: a type reached again maps to this copy */
	if (!btf_is_ptr(t))
		copy_refs(c, new, id);
	return new;
}

/* Copy every type of src from start on that is a candidate for a wanted name (in vmlinux:
 * every name; in a module: the names vmlinux lacks). */
static void copy_candidates(struct core_btf *c, __u32 start, bool vmlinux)
{
	__u32 n = btf__type_cnt(c->src);

	for (__u32 id = start; id < n && !c->err; id++) {
		const struct btf_type *t = btf__type_by_id(c->src, id);
		struct wanted key, *hit;

		if (!candidate_kind(kind_class(t)) || !t->name_off)
			continue;
		key.name = btf__name_by_offset(c->src, t->name_off);
		if (!key.name)
			continue;
		key.len = essential_len(key.name);
		key.kind = kind_class(t);
		hit = bsearch(&key, c->w, c->nw, sizeof(*c->w), wanted_cmp);
		if (!hit || (!vmlinux && hit->in_vmlinux))
			continue;
		hit->in_vmlinux = vmlinux;
		hit->found = true;
		copy(c, id);
	}
}

/* The names (and kinds) of the objects' types that a CO-RE relocation can be about, sorted
 * and unique, in c->w. */
static int collect_wanted(struct core_btf *c, const struct btf *const *locals, int nlocals)
{
	__u32 n = 0;
	int k = 0;

	for (int l = 0; l < nlocals; l++)
		n += btf__type_cnt(locals[l]);
	c->w = calloc(n ? n : 1, sizeof(*c->w));
	if (!c->w)
		return -ENOMEM;
	for (int l = 0; l < nlocals; l++)
		for (__u32 id = 1; id < btf__type_cnt(locals[l]); id++) {
			const struct btf_type *t = btf__type_by_id(locals[l], id);
			const char *name = btf__name_by_offset(locals[l], t->name_off);

			if (!candidate_kind(kind_class(t)) || !name || !name[0])
				continue;
			c->w[k].name = name;
			c->w[k].len = essential_len(name);
			c->w[k].kind = kind_class(t);
			k++;
		}
	qsort(c->w, k, sizeof(*c->w), wanted_cmp);
	c->nw = 0;
	for (int i = 0; i < k; i++)
		if (!c->nw || wanted_cmp(&c->w[c->nw - 1], &c->w[i]))
			c->w[c->nw++] = c->w[i];
	return 0;
}

struct btf *vt_core_btf_make(const struct btf *const *locals, int nlocals, const struct btf *base,
			     const struct btf *const *modules, int nmodules, int *nfound,
			     int *nnames)
{
	struct core_btf c = { .base_cnt = btf__type_cnt(base) };
	int err;

	*nfound = 0;
	c.out = btf__new_empty();
	c.base_map = calloc(c.base_cnt, sizeof(*c.base_map));
	err = !c.out || !c.base_map ? -ENOMEM : collect_wanted(&c, locals, nlocals);
	if (!err) {
		c.src = base;
		copy_candidates(&c, 1, true);
	}
	for (int m = 0; m < nmodules && !err && !c.err; m++) {
		__u32 own = btf__type_cnt(modules[m]) - c.base_cnt;

		c.mod_map = calloc(own ? own : 1, sizeof(*c.mod_map));
		if (!c.mod_map) {
			err = -ENOMEM;
			break;
		}
		c.src = modules[m];
		copy_candidates(&c, c.base_cnt, false);
		free(c.mod_map);
		c.mod_map = NULL;
	}
	err = err ? err : c.err;
	*nnames = c.nw;
	for (int i = 0; i < c.nw; i++)
		*nfound += c.w[i].found;
	free(c.w);
	free(c.base_map);
	if (err) {
		btf__free(c.out);
		errno = -err;
		return NULL;
	}
	return c.out;
}

/* The object's own BTF, from its ELF in memory: libbpf parses an ELF's .BTF only from a file. */
static struct btf *local_btf(const void *elf, size_t size)
{
	int fd = memfd_create("vfio-trace-obj", MFD_CLOEXEC);
	char path[32];
	struct btf *btf = NULL;

	if (fd < 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (write(fd, elf, size) == (ssize_t)size)
		btf = btf__parse_elf(path, NULL);
	close(fd);
	return btf;
}

int vt_core_btf_write(const struct vt_core_obj *objs, int nobjs, struct btf *base,
		      const char *const *modules, int nmodules)
{
	const struct btf *mods[VT_CORE_BTF_MODULES], *locals[VT_CORE_BTF_OBJS];
	struct btf *out = NULL;
	uint64_t t0 = vt_now_ns();
	int nmods = 0, nlocals = 0, found = 0, names = 0, fd = -1;
	const void *raw;
	__u32 len;

	for (int i = 0; i < nobjs && nlocals < VT_CORE_BTF_OBJS; i++) {
		struct btf *local = local_btf(objs[i].elf, objs[i].size);

		if (!local) {
			vt_dbg("CO-RE target: the BPF object's BTF did not parse (%s): the kernel's "
			       "whole BTF",
			       strerror(errno));
			goto out;
		}
		locals[nlocals++] = local;
	}
	for (int i = 0; i < nmodules && nmods < VT_CORE_BTF_MODULES; i++) {
		bool seen = false;
		struct btf *m;

		for (int k = 0; k < i; k++)
			seen |= !strcmp(modules[k], modules[i]);
		if (!seen && (m = btf__load_module_btf(modules[i], base)))
			mods[nmods++] = m;
	}
	out = vt_core_btf_make(locals, nlocals, base, mods, nmods, &found, &names);
	raw = out ? btf__raw_data(out, &len) : NULL;
	if (raw && (fd = memfd_create("vfio-trace-core-btf", MFD_CLOEXEC)) >= 0 &&
	    write(fd, raw, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		vt_dbg("CO-RE target: %u types for %d of %d names, from vmlinux and %d modules, "
		       "in %.3f s",
		       btf__type_cnt(out) - 1, found, names, nmods, (vt_now_ns() - t0) / 1e9);
	else
		vt_dbg("CO-RE target: not built (%s): the kernel's whole BTF", strerror(errno));
out:
	for (int i = 0; i < nmods; i++)
		btf__free((struct btf *)mods[i]);
	for (int i = 0; i < nlocals; i++)
		btf__free((struct btf *)locals[i]);
	btf__free(out);
	return fd;
}
