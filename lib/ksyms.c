// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms, read once. Under an emulated CPU one pass costs seconds, so every lookup a
 * run needs (doctor's table, callback resolution) is served from this copy; a miss on an
 * address (a module loaded after start) reloads it once.
 */
#include <stdlib.h>
#include <string.h>
#include "vt.h"

struct vt_ksyms {
	struct vt_ksym *syms;	/* text symbols, sorted by address */
	size_t n, cap;
	struct vt_ksym *data;	/* data symbols of module vfio (e.g. vfio_device_fops) */
	size_t ndata;
	char **blocks;		/* names live in 64 KiB blocks: no malloc per symbol */
	size_t nblocks, used;
	char **mods;		/* module names, interned */
	size_t nmods;
};

#define VT_KS_BLOCK 65536

static char *ks_strdup(struct vt_ksyms *ks, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (!ks->nblocks || ks->used + len > VT_KS_BLOCK) {
		char **b = realloc(ks->blocks, (ks->nblocks + 1) * sizeof(*b));

		if (!b || !(b[ks->nblocks] = malloc(VT_KS_BLOCK)))
			return NULL;
		ks->blocks = b;
		ks->nblocks++;
		ks->used = 0;
	}
	p = ks->blocks[ks->nblocks - 1] + ks->used;
	memcpy(p, s, len);
	ks->used += len;
	return p;
}

static char *ks_module(struct vt_ksyms *ks, const char *mod)
{
	char **m;

	/* kallsyms lists a module's symbols together: the last one matches most often. */
	for (size_t i = ks->nmods; i-- > 0;)
		if (!strcmp(ks->mods[i], mod))
			return ks->mods[i];
	m = realloc(ks->mods, (ks->nmods + 1) * sizeof(*m));
	if (!m)
		return NULL;
	ks->mods = m;
	m[ks->nmods] = ks_strdup(ks, mod);
	return m[ks->nmods++];
}

/* "ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]": split in place (the module
 * is tab-separated and optional). sscanf was most of a load's time on an emulated CPU. */
static bool split_line(char *line, uint64_t *addr, char *type, char **name, char **mod)
{
	char *p;

	*addr = strtoull(line, &p, 16);
	if (p == line || p[0] != ' ' || !p[1] || p[2] != ' ')
		return false;
	*type = p[1];
	*name = p + 3;
	p = *name + strcspn(*name, "\t\n ");
	*mod = NULL;
	if (*p == '\t' || *p == ' ') {
		char *e;

		*p++ = 0;
		if (*p == '[' && (e = strchr(p + 1, ']'))) {
			*e = 0;
			*mod = p + 1;
		}
	} else {
		*p = 0;
	}
	return **name != 0;
}

bool vt_ksyms_parse_line(const char *line, uint64_t *addr, char *type, char *name, size_t nlen,
			 char *module, size_t mlen)
{
	char buf[512], *n, *m;

	snprintf(buf, sizeof(buf), "%s", line);
	if (!split_line(buf, addr, type, &n, &m))
		return false;
	snprintf(name, nlen, "%s", n);
	snprintf(module, mlen, "%s", m ? m : "");
	return true;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct vt_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct vt_ksyms *vt_ksyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct vt_ksyms *ks;
	char line[512], *name, *mod, t;
	uint64_t addr;

	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!split_line(line, &addr, &t, &name, &mod))
			continue;
		if (t != 't' && t != 'T') {
			struct vt_ksym *d;

			if (!mod || strcmp(mod, "vfio") || !strchr("dDrRbB", t))
				continue;
			d = realloc(ks->data, (ks->ndata + 1) * sizeof(*d));
			if (!d)
				continue;
			ks->data = d;
			d[ks->ndata].addr = addr;
			d[ks->ndata].name = ks_strdup(ks, name);
			d[ks->ndata].module = ks_module(ks, mod);
			ks->ndata++;
			continue;
		}
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct vt_ksym *s = realloc(ks->syms, cap * sizeof(*s));

			if (!s)
				break;
			ks->syms = s;
			ks->cap = cap;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = ks_strdup(ks, name);
		ks->syms[ks->n].module = mod ? ks_module(ks, mod) : NULL;
		if (!ks->syms[ks->n].name)
			break;
		ks->n++;
	}
	fclose(f);
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	return ks;
}

void vt_ksyms_free(struct vt_ksyms *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->nblocks; i++)
		free(ks->blocks[i]);
	free(ks->blocks);
	free(ks->mods);
	free(ks->data);
	free(ks->syms);
	free(ks);
}

const struct vt_ksym *vt_ksyms_by_addr(const struct vt_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!ks || !ks->n || addr < ks->syms[0].addr)
		return NULL;
	hi = ks->n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &ks->syms[lo];
}

static bool mod_match(const struct vt_ksym *s, const char *module)
{
	if (!module)
		return true;
	return s->module && !strcmp(s->module, module);
}

const struct vt_ksym *vt_ksyms_by_name(const struct vt_ksyms *ks, const char *name,
				       const char *module)
{
	for (size_t i = 0; ks && i < ks->n; i++)
		if (!strcmp(ks->syms[i].name, name) && mod_match(&ks->syms[i], module))
			return &ks->syms[i];
	return NULL;
}

const struct vt_ksym *vt_ksyms_clone(const struct vt_ksyms *ks, const char *name,
				     const char *module)
{
	size_t len = strlen(name);

	for (size_t i = 0; ks && i < ks->n; i++) {
		const char *s = ks->syms[i].name;

		if (strncmp(s, name, len) || s[len] != '.' || !mod_match(&ks->syms[i], module))
			continue;
		/* name.cold is the unlikely tail of name, not an entry point. */
		if (!strncmp(s + len, ".cold", 5))
			continue;
		return &ks->syms[i];
	}
	return NULL;
}

const struct vt_ksym *vt_ksyms_data(const struct vt_ksyms *ks, const char *name, const char *module)
{
	for (size_t i = 0; ks && i < ks->ndata; i++)
		if (!strcmp(ks->data[i].name, name) && !strcmp(ks->data[i].module, module))
			return &ks->data[i];
	return NULL;
}
