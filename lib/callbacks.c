// SPDX-License-Identifier: GPL-2.0
/*
 * Where the drivers' dma_unmap callbacks are, before any device shows one.
 *
 * A callback attached only once a device reveals it (at register, pin or unpin) misses what
 * that device does while the attach runs: loading and attaching a program takes up to seconds
 * under emulation, longer than a short-lived VM lives (measured: 0 of 64-79 callbacks of ~1 s
 * processes). So the tracers attach, before tracing starts, to every function that can be a
 * dma_unmap callback: in each module that uses vfio.ko (/sys/module/vfio/holders), every BTF
 * function whose prototype is `void (struct vfio_device *, u64, u64)`. The BPF side counts a
 * call only when the device's ops->dma_unmap is that function (bpf/callback.bpf.c), so a
 * helper with the same prototype costs a probe but never a wrong count.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "vt.h"

/* The type behind typedefs and qualifiers (u64 -> __u64 -> unsigned long long). */
static const struct btf_type *skip_mods(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	for (int i = 0; t && i < 16 && (btf_is_typedef(t) || btf_is_mod(t)); i++)
		t = btf__type_by_id(btf, t->type);
	return t;
}

static bool is_u64(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = skip_mods(btf, id);

	return t && btf_is_int(t) && t->size == 8;
}

static bool is_vfio_device_ptr(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = skip_mods(btf, id);

	if (!t || !btf_is_ptr(t))
		return false;
	t = skip_mods(btf, t->type);
	return t && (btf_is_struct(t) || btf_is_fwd(t)) &&
	       !strcmp(btf__name_by_offset(btf, t->name_off), "vfio_device");
}

bool vt_btf_is_dma_unmap(const struct btf *btf, __u32 func_id)
{
	const struct btf_type *f = btf__type_by_id(btf, func_id), *proto;
	const struct btf_param *p;

	if (!f || !btf_is_func(f))
		return false;
	proto = btf__type_by_id(btf, f->type);
	if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) != 3 || proto->type != 0)
		return false;
	p = btf_params(proto);
	return is_vfio_device_ptr(btf, p[0].type) && is_u64(btf, p[1].type) &&
	       is_u64(btf, p[2].type);
}

int vt_btf_dma_unmap_funcs(const struct btf *btf, __u32 first_id,
			   void (*found)(void *ctx, const char *func), void *ctx)
{
	__u32 n = btf__type_cnt(btf);
	int hits = 0;

	for (__u32 id = first_id; id < n; id++) {
		if (!vt_btf_is_dma_unmap(btf, id))
			continue;
		found(ctx, btf__name_by_offset(btf, btf__type_by_id(btf, id)->name_off));
		hits++;
	}
	return hits;
}

int vt_vfio_holders(const char *sysfs_module, char names[][VT_MODNAME_LEN], int max)
{
	char path[256];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "%s/vfio/holders", sysfs_module);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= VT_MODNAME_LEN)
			continue;
		snprintf(names[n++], VT_MODNAME_LEN, "%s", de->d_name);
	}
	closedir(d);
	return n;
}
