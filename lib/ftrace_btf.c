// SPDX-License-Identifier: GPL-2.0
/*
 * The ftrace backend's use of BTF: the offsets of the kernel struct fields its kprobe events
 * fetch, and the drivers' dma_unmap callbacks (functions of that prototype), from the running
 * kernel's vmlinux and module BTF (libbpf), or from --btf's file (lib/btf_file.c) for kernels
 * built without BTF. Never hard-coded.
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "ftrace.h"

/* The byte offset of member name in struct/union type id (anonymous members searched too);
 * *type_id: the member's type. -1 when not there. */
static long member_off(const struct btf *btf, __u32 id, const char *name, __u32 *type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		long off = btf_member_bit_offset(t, i) / 8, sub;

		if (mn && !strcmp(mn, name)) {
			*type_id = m->type;
			return off;
		}
		if ((!mn || !mn[0]) && (sub = member_off(btf, m->type, name, type_id)) >= 0)
			return off + sub;
	}
	return -1;
}

/* The offset of path ("kobj.name") in struct sname; -1 when not found, why written in why. */
static long field_off_why(const struct btf *btf, const char *sname, const char *path, char *why,
			  size_t whylen)
{
	char part[64];
	const char *p = path;
	long total = 0;
	__s32 id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	__u32 tid;

	if (id < 0) {
		snprintf(why, whylen, "struct %s not in the BTF", sname);
		return -1;
	}
	while (*p) {
		size_t l = strcspn(p, ".");
		long off;

		snprintf(part, sizeof(part), "%.*s", (int)l, p);
		off = member_off(btf, id, part, &tid);
		if (off < 0) {
			snprintf(why, whylen, "no %s in struct %s in the BTF", path, sname);
			return -1;
		}
		total += off;
		id = btf__resolve_type(btf, tid);
		p += l + !!p[l];
	}
	return total;
}

/* The offset of path in struct sname; -1 (said on stderr) when not found. */
static long field_off(const struct btf *btf, const char *sname, const char *path)
{
	char why[160];
	long off = field_off_why(btf, sname, path, why, sizeof(why));

	if (off < 0)
		vt_err("ftrace: %s", why);
	return off;
}

int vt_ft_btf_offsets(struct ft_offsets *o, struct btf *base, bool from_file, bool type1_loaded)
{
	struct btf *vfio = NULL, *type1 = NULL;
	int err = -1;

	/* --btf: every struct from the one file (vt_btf_file_load checked they are there) */
	if (!from_file) {
		vfio = btf__load_module_btf("vfio", base);
		type1 = type1_loaded ? btf__load_module_btf("vfio_iommu_type1", base) : NULL;
		if (type1_loaded && !type1) {
			vt_err("ftrace: vfio_iommu_type1 has no module BTF (%s)", strerror(errno));
			goto out;
		}
	}
	/* struct vfio_device is vfio.ko's, or the kernel's when vfio is built in */
	const struct btf *vb = vfio ? vfio : base, *tb = type1 ? type1 : base;

	/* without type1 (an iommufd-only host) its structs are not needed: none of its events */
	o->dma_iova = type1_loaded ? field_off(tb, "vfio_dma", "iova") : 0;
	o->dma_size = type1_loaded ? field_off(tb, "vfio_dma", "size") : 0;
	o->iommu_devlist = type1_loaded ? field_off(tb, "vfio_iommu", "device_list") : 0;
	o->iommu_lock = type1_loaded ? field_off(tb, "vfio_iommu", "lock") : 0;
	o->iommu_dlist_lock = type1_loaded ? field_off(tb, "vfio_iommu", "device_list_lock") : 0;
	o->vdev_ops = field_off(vb, "vfio_device", "ops");
	o->vdev_dev = field_off(vb, "vfio_device", "dev");
	o->vdev_entry = field_off(vb, "vfio_device", "iommu_entry");
	o->ops_unmap = field_off(vb, "vfio_device_ops", "dma_unmap");
	o->ops_name = field_off(vb, "vfio_device_ops", "name");
	o->dev_name = field_off(base, "device", "kobj.name");
	o->list_prev = field_off(base, "list_head", "prev");
	err = 0;
	for (long *v = &o->dma_iova; v <= &o->list_prev; v++)
		if (*v < 0)
			err = -1;
	/* the phases of vfio_unmap_unpin: vmlinux's IOMMU structs, where the kernel has them (a
	 * kernel without CONFIG_IOMMU_API has no phases to trace: not an error, said as missing) */
	char why[160];

	o->domain_type = field_off_why(base, "iommu_domain", "type", why, sizeof(why));
	o->gather_start = field_off_why(base, "iommu_iotlb_gather", "start", why, sizeof(why));
	o->gather_end = field_off_why(base, "iommu_iotlb_gather", "end", why, sizeof(why));
out:
	btf__free(type1);
	btf__free(vfio);
	return err;
}

int vt_ft_btf_iommufd_offsets(struct ft_iommufd_offsets *o, struct btf *base, bool from_file,
			      char *why, size_t whylen)
{
	/* the uapi structs too: their layout is the kernel's, whatever header this was built
	 * with (bookworm's has no linux/iommufd.h) */
	static const struct {
		const char *sname, *path;
		size_t at;
	} fields[] = {
		{ "iommufd_ucmd", "cmd", offsetof(struct ft_iommufd_offsets, ucmd_cmd) },
		{ "iommu_ioas_unmap", "iova", offsetof(struct ft_iommufd_offsets, unmap_iova) },
		{ "iommu_ioas_unmap", "length", offsetof(struct ft_iommufd_offsets, unmap_length) },
		{ "iommu_ioas_map", "iova", offsetof(struct ft_iommufd_offsets, map_iova) },
		{ "iommu_ioas_map", "length", offsetof(struct ft_iommufd_offsets, map_length) },
		{ "iommufd_ioas", "iopt", offsetof(struct ft_iommufd_offsets, ioas_iopt) },
		{ "iommufd_ioas", "obj", offsetof(struct ft_iommufd_offsets, ioas_obj) },
		{ "iopt_area", "node.start", offsetof(struct ft_iommufd_offsets, area_start) },
		{ "iopt_area", "node.last", offsetof(struct ft_iommufd_offsets, area_last) },
	};
	struct btf *mod = NULL;
	const struct btf *b;
	int err = 0;

	if (!from_file && !(mod = btf__load_module_btf("iommufd", base))) {
		snprintf(why, whylen, "iommufd has no module BTF (%s)", strerror(errno));
		return -1;
	}
	b = mod ? mod : base;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !err; i++) {
		long off = field_off_why(b, fields[i].sname, fields[i].path, why, whylen);

		*(long *)((char *)o + fields[i].at) = off;
		err = off < 0 ? -1 : 0;
	}
	btf__free(mod);
	return err;
}

struct cb_found {
	struct vt_ftrace *f;
	const char *module;
};

static void cb_found(void *ctx, const char *func)
{
	struct cb_found *c = ctx;
	struct vt_ftrace *f = c->f;
	const struct vt_ksym *s = vt_ksyms_by_name(f->ks, func, c->module);

	if (!s && !vt_ksyms_add_module(f->ks, c->module))
		s = vt_ksyms_by_name(f->ks, func, c->module);
	if (!s || f->ncbs == VT_FT_MAX_CB)
		return;
	snprintf(f->cbs[f->ncbs].sym, sizeof(f->cbs[0].sym), "%s:%s", c->module, func);
	f->cbs[f->ncbs++].addr = s->addr;
}

/* --btf: a function of the file with dma_unmap's prototype is a callback of each module
 * using vfio.ko that has a symbol of that name (the file has no module names). */
struct cb_in_file {
	struct vt_ftrace *f;
	const char *const *modules;
	int nmod;
};

static void cb_found_in_file(void *ctx, const char *func)
{
	struct cb_in_file *c = ctx;

	for (int i = 0; i < c->nmod; i++) {
		struct cb_found one = { c->f, c->modules[i] };
		char sym[sizeof(c->f->cbs[0].sym)];
		int j;

		/* a name twice in the file (two modules' static functions): probed once a module */
		snprintf(sym, sizeof(sym), "%s:%s", c->modules[i], func);
		for (j = 0; j < c->f->ncbs && strcmp(c->f->cbs[j].sym, sym); j++)
			;
		if (j == c->f->ncbs)
			cb_found(&one, func);
	}
}

/* Every function with dma_unmap's BTF prototype in the modules using vfio.ko (--btf: in the
 * file, whose drivers' types are there only if pahole was given their .ko). */
void vt_ft_find_callbacks(struct vt_ftrace *f, struct btf *base, const char *const *modules,
			  int nmod)
{
	if (f->opts.btf_path) {
		struct cb_in_file c = { f, modules, nmod };

		vt_btf_dma_unmap_funcs(base, 1, cb_found_in_file, &c);
		return;
	}
	for (int i = 0; i < nmod; i++) {
		struct btf *btf = btf__load_module_btf(modules[i], base);
		struct cb_found c = { f, modules[i] };

		if (btf)
			vt_btf_dma_unmap_funcs(btf, btf__type_cnt(base), cb_found, &c);
		btf__free(btf);
	}
}

/* A callback of a module not loaded: probed as "module:function", the kernel resolves it at
 * the load. */
static void cb_installed(void *ctx, const char *func)
{
	struct cb_found *c = ctx;
	struct vt_ftrace *f = c->f;
	char sym[sizeof(f->cbs[0].sym)];

	snprintf(sym, sizeof(sym), "%s:%s", c->module, func);
	for (int j = 0; j < f->ncbs; j++)
		if (!strcmp(f->cbs[j].sym, sym))
			return;
	if (f->ncbs == VT_FT_MAX_CB)
		return;
	memset(&f->cbs[f->ncbs], 0, sizeof(f->cbs[0]));
	memcpy(f->cbs[f->ncbs++].sym, sym, sizeof(sym));
}

/* Does a modules.dep line's dependency list (after the colon) name vfio.ko? */
static bool needs_vfio(const char *deps)
{
	for (const char *p = strstr(deps, "vfio.ko"); p; p = strstr(p + 1, "vfio.ko"))
		if (p[-1] == '/' || p[-1] == ' ')
			return true;
	return false;
}

int vt_ft_find_installed_callbacks(struct vt_ftrace *f, struct btf *base)
{
	char path[512], line[4096];
	struct utsname u;
	FILE *dep;
	int nmod = 0;

	/* --btf: a kernel without BTF has none in its modules' files either */
	if (f->opts.btf_path || uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	dep = fopen(path, "r");
	if (!dep)
		return 0;
	while (fgets(line, sizeof(line), dep)) {
		char *colon = strchr(line, ':'), *base_name, *dot, ko[sizeof(line) + 300];
		char name[VT_MODNAME_LEN];
		struct cb_found c = { f, NULL };
		struct btf *btf;
		int before = f->ncbs;

		if (!colon || !needs_vfio(colon + 1))
			continue;
		*colon = 0;
		/* only an uncompressed .ko: libbpf reads its .BTF section (a .ko.xz or .ko.zst is
		 * probed when it loads, lib/ftrace.c vt_ft_add_late_callbacks) */
		dot = strrchr(line, '.');
		if (!dot || strcmp(dot, ".ko"))
			continue;
		base_name = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
		snprintf(name, sizeof(name), "%.*s", (int)(dot - base_name), base_name);
		for (char *p = name; *p; p++)
			*p = *p == '-' ? '_' : *p;
		/* loaded: its callbacks were found in its module BTF, if it uses vfio */
		snprintf(path, sizeof(path), "/sys/module/%s", name);
		if (!access(path, F_OK))
			continue;
		snprintf(ko, sizeof(ko), "%s%s%s%s", line[0] == '/' ? "" : "/lib/modules/",
			 line[0] == '/' ? "" : u.release, line[0] == '/' ? "" : "/", line);
		btf = btf__parse_split(ko, base);
		if (!btf) {
			vt_dbg("ftrace: no BTF in %s: its callbacks are probed when it loads", ko);
			continue;
		}
		c.module = name;
		vt_btf_dma_unmap_funcs(btf, btf__type_cnt(base), cb_installed, &c);
		btf__free(btf);
		nmod += f->ncbs > before;
	}
	fclose(dep);
	return nmod;
}
