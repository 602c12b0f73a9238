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
};

bool vt_ksyms_parse_line(const char *line, uint64_t *addr, char *type, char *name, size_t nlen,
			 char *module, size_t mlen)
{
	unsigned long long a;
	char t, nm[256], mod[128];
	int n;

	/* "ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]": the module is
	 * tab-separated and optional. */
	mod[0] = 0;
	n = sscanf(line, "%llx %c %255s [%127[^]]]", &a, &t, nm, mod);
	if (n < 3)
		return false;
	*addr = a;
	*type = t;
	snprintf(name, nlen, "%s", nm);
	snprintf(module, mlen, "%s", n == 4 ? mod : "");
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
	char line[512], name[256], mod[128], t;
	uint64_t addr;

	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!vt_ksyms_parse_line(line, &addr, &t, name, sizeof(name), mod, sizeof(mod)))
			continue;
		if (t != 't' && t != 'T') {
			struct vt_ksym *d;

			if (strcmp(mod, "vfio") || !strchr("dDrRbB", t))
				continue;
			d = realloc(ks->data, (ks->ndata + 1) * sizeof(*d));
			if (!d)
				continue;
			ks->data = d;
			d[ks->ndata].addr = addr;
			d[ks->ndata].name = strdup(name);
			d[ks->ndata].module = strdup(mod);
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
		ks->syms[ks->n].name = strdup(name);
		ks->syms[ks->n].module = mod[0] ? strdup(mod) : NULL;
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
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->syms[i].name);
		free(ks->syms[i].module);
	}
	for (size_t i = 0; i < ks->ndata; i++) {
		free(ks->data[i].name);
		free(ks->data[i].module);
	}
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
