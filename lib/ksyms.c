// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms, read as little as possible. Under an emulated CPU one pass costs a few
 * hundred ms and a table of every text symbol (107k on 6.12) several MiB, yet a tracing command
 * looks up only a few names (its attach points, vfio_device_fops) and, later, the symbol at a
 * driver's dma_unmap callback. So the start-up pass keeps only the symbols of the VFIO modules
 * and the few vmlinux functions vfio-trace attaches to; a callback's symbol is found by its own
 * pass when the callback shows up; the whole text table is read only when an arbitrary address
 * must be named (the stacks of `locks`).
 *
 * Lookup mode (vt_ksyms_open_lookup, kernels with kallsyms' sorted name index): no pass at
 * start at all. Each name is asked
 * of the kernel (lib/ksym_lookup.c: kallsyms_lookup_name() through a BPF syscall program, a
 * binary search for vmlinux names, one module's symbols for "module:name") and kept. The
 * kernel answers only while the process may see addresses (CAP_SYSLOG, which the tracers drop
 * once attached): when it stops answering, the table falls back to the passes above, on the
 * kallsyms file opened at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vt.h"

/* What vfio-trace looks up by name (lib/points.c's vt_points; a unit test keeps them in step):
 * every symbol, text and data, of these modules ... */
static const char *const want_modules[] = { "vfio", "vfio_iommu_type1", "iommufd", NULL };
/* ... and these vmlinux functions and their compiler clones (CONFIG_DEBUG_LOCK_ALLOC turns
 * mutex_lock into mutex_lock_nested). */
static const char *const want_vmlinux[] = { "mutex_lock", "mutex_lock_nested", "mutex_unlock",
					    "iommu_unmap", "iommu_unmap_fast", "iommu_iova_to_phys",
					    "intel_iommu_tlb_sync", "amd_iommu_iotlb_sync",
					    "intel_iommu_unmap_pages", "amd_iommu_unmap_pages",
					    /* where a kretprobed function returns to: the
					     * caller a function it tail-calls sees (the
					     * ftrace backend's lock filter) */
					    "arch_rethook_trampoline", "__kretprobe_trampoline",
					    NULL };

struct vt_ksyms {
	char path[64];
	int fd;		      /* kept from the first pass: whether kallsyms shows addresses is
				 * decided at open, with the opener's CAP_SYSLOG (kallsyms_open()),
				 * so later passes need no CAP_SYSLOG of their own */
	size_t zero_text;     /* text symbols at address 0: kallsyms hides addresses from us */
	bool all_text;	      /* every text symbol is kept (by_addr can answer for any address) */
	struct vt_ksym *syms; /* kept text symbols, sorted by address */
	size_t n, cap;
	struct vt_ksym *data; /* kept data symbols (e.g. vfio_device_fops) */
	size_t ndata, dcap;
	char **blocks; /* names live in 64 KiB blocks: no malloc per symbol */
	size_t nblocks, used;
	char **mods; /* module names, interned */
	size_t nmods;
	const char *const *extra; /* more modules whose symbols the first pass keeps */
	const char *only;	  /* KS_MODULE: the module one pass adds */
	vt_ksym_lookup_fn lookup; /* lookup mode: the kernel's answer for a name not kept */
	void *lookup_ctx;
};

#define VT_KS_BLOCK 65536
/* kallsyms is read in large chunks and parsed in place: ~40 bytes a line, ~4 MiB on 6.12. */
#define VT_KS_READ  (256 * 1024)

static char *ks_strndup(struct vt_ksyms *ks, const char *s, size_t len)
{
	char *p;

	if (len + 1 > VT_KS_BLOCK)
		return NULL;
	if (!ks->nblocks || ks->used + len + 1 > VT_KS_BLOCK) {
		char **b = realloc(ks->blocks, (ks->nblocks + 1) * sizeof(*b));

		if (!b)
			return NULL;
		ks->blocks = b;
		if (!(b[ks->nblocks] = malloc(VT_KS_BLOCK)))
			return NULL;
		ks->nblocks++;
		ks->used = 0;
	}
	p = ks->blocks[ks->nblocks - 1] + ks->used;
	memcpy(p, s, len);
	p[len] = 0;
	ks->used += len + 1;
	return p;
}

static char *ks_module(struct vt_ksyms *ks, const char *mod, size_t len)
{
	char **m;

	/* kallsyms lists a module's symbols together: the last one matches most often. */
	for (size_t i = ks->nmods; i-- > 0;)
		if (strlen(ks->mods[i]) == len && !memcmp(ks->mods[i], mod, len))
			return ks->mods[i];
	m = realloc(ks->mods, (ks->nmods + 1) * sizeof(*m));
	if (!m)
		return NULL;
	ks->mods = m;
	if (!(m[ks->nmods] = ks_strndup(ks, mod, len)))
		return NULL;
	return m[ks->nmods++];
}

/* One line, split in place without copying: "ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]"
 * (the module is tab-separated and optional). line..end excludes the newline. */
struct ks_line {
	const char *addr; /* hex digits, alen of them */
	size_t alen;
	char type;
	const char *name;
	size_t nlen;
	const char *mod; /* NULL for vmlinux */
	size_t mlen;
};

static bool split_line(const char *line, const char *end, struct ks_line *l)
{
	const char *p = memchr(line, ' ', end - line), *e;

	if (!p || p == line || end - p < 4 || p[2] != ' ')
		return false;
	l->addr = line;
	l->alen = p - line;
	l->type = p[1];
	l->name = p + 3;
	e = memchr(l->name, '\t', end - l->name);
	if (!e)
		e = memchr(l->name, ' ', end - l->name);
	l->nlen = (e ? e : end) - l->name;
	l->mod = NULL;
	l->mlen = 0;
	if (e && e + 1 < end && e[1] == '[') {
		const char *c = memchr(e + 2, ']', end - (e + 2));

		if (c) {
			l->mod = e + 2;
			l->mlen = c - l->mod;
		}
	}
	return l->nlen > 0;
}

static uint64_t parse_addr(const struct ks_line *l)
{
	uint64_t a = 0;

	for (size_t i = 0; i < l->alen && i < 16; i++) {
		char c = l->addr[i];

		a = a << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return a;
}

bool vt_ksyms_parse_line(const char *line, uint64_t *addr, char *type, char *name, size_t nlen,
			 char *module, size_t mlen)
{
	const char *end = line + strcspn(line, "\n");
	struct ks_line l;

	if (!split_line(line, end, &l) || strspn(l.addr, "0123456789abcdefABCDEF") < l.alen)
		return false;
	*addr = parse_addr(&l);
	*type = l.type;
	snprintf(name, nlen, "%.*s", (int)l.nlen, l.name);
	snprintf(module, mlen, "%.*s", (int)l.mlen, l.mod ? l.mod : "");
	return true;
}

static bool is_text(char t)
{
	return t == 't' || t == 'T';
}

static bool is_data(char t)
{
	return strchr("dDrRbB", t) != NULL;
}

static bool in_list(const char *const *list, const char *s, size_t len)
{
	/* s is not NUL-terminated and may hold a NUL (a corrupt file): compare lengths first */
	for (; *list; list++)
		if (strlen(*list) == len && !memcmp(*list, s, len))
			return true;
	return false;
}

/* name, or a compiler clone of it (name.isra.0, name.cold, ...) */
static bool wanted_vmlinux(const char *s, size_t len)
{
	for (const char *const *w = want_vmlinux; *w; w++) {
		size_t wl;

		if (s[0] != (*w)[0]) /* rejects most lines at once */
			continue;
		wl = strlen(*w);

		if (len >= wl && !memcmp(s, *w, wl) && (len == wl || s[wl] == '.'))
			return true;
	}
	return false;
}

bool vt_ksyms_wanted(const char *name, const char *module)
{
	if (module)
		return in_list(want_modules, module, strlen(module));
	return wanted_vmlinux(name, strlen(name));
}

static int add_sym_at(struct vt_ksyms *ks, uint64_t addr, const char *name, size_t nlen,
		      const char *mod, size_t mlen, bool data)
{
	struct vt_ksym *s;

	if (data && ks->ndata == ks->dcap) {
		size_t cap = ks->dcap ? ks->dcap * 2 : 64;

		if (!(s = realloc(ks->data, cap * sizeof(*s))))
			return -ENOMEM;
		ks->data = s;
		ks->dcap = cap;
	} else if (!data && ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : (ks->all_text ? 65536 : 256);

		if (!(s = realloc(ks->syms, cap * sizeof(*s))))
			return -ENOMEM;
		ks->syms = s;
		ks->cap = cap;
	}
	s = data ? &ks->data[ks->ndata] : &ks->syms[ks->n];
	s->addr = addr;
	s->name = ks_strndup(ks, name, nlen);
	s->module = mod ? ks_module(ks, mod, mlen) : NULL;
	if (!s->name || (mod && !s->module))
		return -ENOMEM;
	if (data)
		ks->ndata++;
	else
		ks->n++;
	return 0;
}

static int add_sym(struct vt_ksyms *ks, const struct ks_line *l, bool data)
{
	return add_sym_at(ks, parse_addr(l), l->name, l->nlen, l->mod, l->mlen, data);
}

/* What one pass keeps. KS_MODULE: the text symbols of ks->only. */
enum ks_pass { KS_WANTED, KS_ALL_TEXT, KS_AT, KS_MODULE };

static bool kept_module(const struct vt_ksyms *ks, const char *mod, size_t len)
{
	return in_list(want_modules, mod, len) || (ks->extra && in_list(ks->extra, mod, len));
}

/* One read of kallsyms: large reads, lines parsed in place. KS_AT stops at the first text
 * symbol at exactly addr and keeps it. */
static int ks_pass(struct vt_ksyms *ks, enum ks_pass what, uint64_t addr,
		   const struct vt_ksym **found)
{
	int fd, err = 0;
	char *buf, hex[24];
	size_t have = 0, hlen = 0;
	bool done = false;

	if (what == KS_AT && !addr)
		return 0; /* no symbol is at 0: a hidden address is never looked up */
	if (ks->fd < 0)
		ks->fd = open(ks->path, O_RDONLY | O_CLOEXEC);
	fd = ks->fd;
	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	buf = malloc(VT_KS_READ);
	if (!buf)
		return -ENOMEM;
	if (what == KS_AT)
		hlen = snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)addr);
	while (!done && !err) {
		ssize_t r = read(fd, buf + have, VT_KS_READ - have);
		char *p = buf, *end;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				err = -errno;
			if (!have)
				break;
			buf[have++] = '\n'; /* a last line without its newline */
			done = true;
			r = 0;
		}
		end = buf + have + r;
		for (;;) {
			char *nl = memchr(p, '\n', end - p);
			struct ks_line l;

			if (!nl)
				break;
			/* Cheap tests first: most lines are vmlinux symbols nobody asked for. */
			if (what == KS_AT) {
				bool hit = (size_t)(nl - p) > hlen && p[hlen] == ' ' ?
						   !memcmp(p, hex, hlen) :
						   split_line(p, nl, &l) && parse_addr(&l) == addr;

				if (hit && split_line(p, nl, &l) && is_text(l.type)) {
					err = add_sym(ks, &l, false);
					if (!err && found)
						*found = &ks->syms[ks->n - 1];
					done = true;
					break;
				}
			} else if (split_line(p, nl, &l)) {
				bool text = is_text(l.type);

				/* Real kernel text is never at 0 (addresses start with f): a zero
				 * is kallsyms hiding addresses (kptr_restrict, no CAP_SYSLOG).
				 * Counted, never kept. */
				if (text && l.addr[0] == '0' && !parse_addr(&l)) {
					ks->zero_text++;
					p = nl + 1;
					continue;
				}

				if (what == KS_ALL_TEXT) {
					if (text)
						err = add_sym(ks, &l, false);
				} else if (what == KS_MODULE) {
					/* data too where the first pass kept it (vfio_fops of
					 * vfio loaded again) */
					bool data = !text && is_data(l.type) &&
						    kept_module(ks, l.mod, l.mlen);

					if ((text || data) && l.mod &&
					    !strncmp(ks->only, l.mod, l.mlen) && !ks->only[l.mlen])
						err = add_sym(ks, &l, data);
				} else if (l.mod ? kept_module(ks, l.mod, l.mlen) :
						   text && wanted_vmlinux(l.name, l.nlen)) {
					if (text || is_data(l.type))
						err = add_sym(ks, &l, !text);
				}
				if (err)
					break;
			}
			p = nl + 1;
		}
		have = end - p;
		if (have == VT_KS_READ) { /* a line longer than the buffer: not kallsyms */
			err = -EINVAL;
			break;
		}
		memmove(buf, p, have);
	}
	free(buf);
	return err;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct vt_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void sort_syms(struct vt_ksyms *ks)
{
	if (ks->n > 1) /* syms is NULL while empty: qsort(NULL, 0, ...) is undefined */
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
}

/* The start's one pass: the wanted names and the symbols of extra_modules, sorted; ks freed
 * (NULL returned) when it fails. */
static struct vt_ksyms *first_pass(struct vt_ksyms *ks, const char *const *extra_modules)
{
	int err;

	ks->extra = extra_modules;
	err = ks_pass(ks, KS_WANTED, 0, NULL);
	ks->extra = NULL; /* the caller's list need not outlive the call */
	if (err) {
		vt_ksyms_free(ks);
		return NULL;
	}
	sort_syms(ks);
	return ks;
}

struct vt_ksyms *vt_ksyms_load_path_with(const char *path, const char *const *extra_modules)
{
	struct vt_ksyms *ks = calloc(1, sizeof(*ks));

	if (!ks)
		return NULL;
	snprintf(ks->path, sizeof(ks->path), "%s", path);
	ks->fd = -1;
	return first_pass(ks, extra_modules);
}

/* name, in module (NULL: vmlinux or any module), asked of the kernel and kept. */
static const struct vt_ksym *ks_lookup(struct vt_ksyms *ks, const char *name, const char *module,
				       bool data)
{
	uint64_t addr = 0;
	int err = ks->lookup(ks->lookup_ctx, name, module, &addr);

	if (err == -ENOENT)
		return NULL; /* the kernel looked: there is none */
	if (err || !addr) {
		/* The kernel stopped answering: what a pass keeps, from here on. */
		ks->lookup = NULL;
		ks->n = ks->ndata = 0; /* kept again by the pass; their names stay valid */
		if (ks_pass(ks, KS_WANTED, 0, NULL))
			return NULL;
		sort_syms(ks);
		return data ? vt_ksyms_data(ks, name, module) : vt_ksyms_by_name(ks, name, module);
	}
	if (add_sym_at(ks, addr, name, strlen(name), module, module ? strlen(module) : 0, data))
		return NULL;
	if (data)
		return &ks->data[ks->ndata - 1];
	sort_syms(ks);
	return vt_ksyms_by_name(ks, name, module);
}

struct vt_ksyms *vt_ksyms_open_lookup_path(const char *path, vt_ksym_lookup_fn lookup, void *ctx,
					   const char *const *extra_modules)
{
	struct vt_ksyms *ks = calloc(1, sizeof(*ks));
	uint64_t addr = 0;
	int err;

	if (!ks)
		return NULL;
	snprintf(ks->path, sizeof(ks->path), "%s", path);
	/* Opened now, with the capabilities of the start: a pass after they are dropped (a
	 * callback to name, a table to fall back to) still sees addresses. */
	ks->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ks->fd < 0) {
		vt_ksyms_free(ks);
		return NULL;
	}
	/* The first answer says whether the kernel shows this process addresses: the same rule
	 * (kallsyms_show_value()) as the file's. mutex_unlock is in every kernel. */
	err = lookup(ctx, "mutex_unlock", NULL, &addr);
	if (err == -EPERM) {
		ks->zero_text = 1; /* as a pass would count them: nothing is kept */
		return ks;
	}
	if (!err && addr) {
		ks->lookup = lookup;
		ks->lookup_ctx = ctx;
		if (!add_sym_at(ks, addr, "mutex_unlock", strlen("mutex_unlock"), NULL, 0, false))
			return ks;
		vt_ksyms_free(ks);
		return NULL;
	}
	/* No answer at all: one pass, as vt_ksyms_load_path_with(). */
	return first_pass(ks, extra_modules);
}

struct vt_ksyms *vt_ksyms_open_lookup(vt_ksym_lookup_fn lookup, void *ctx,
				      const char *const *extra_modules)
{
	return vt_ksyms_open_lookup_path("/proc/kallsyms", lookup, ctx, extra_modules);
}

bool vt_ksyms_lookup_mode(const struct vt_ksyms *ks)
{
	return ks && ks->lookup;
}

struct vt_ksyms *vt_ksyms_load_path(const char *path)
{
	return vt_ksyms_load_path_with(path, NULL);
}

struct vt_ksyms *vt_ksyms_load(void)
{
	return vt_ksyms_load_path_with("/proc/kallsyms", NULL);
}

struct vt_ksyms *vt_ksyms_load_with(const char *const *extra_modules)
{
	return vt_ksyms_load_path_with("/proc/kallsyms", extra_modules);
}

int vt_ksyms_add_module(struct vt_ksyms *ks, const char *module)
{
	int err;

	if (!ks)
		return -EINVAL;
	if (ks->lookup)
		return 0; /* lookup mode: each of its names is asked for when wanted */
	for (size_t i = 0; i < ks->n; i++)
		if (ks->syms[i].module && !strcmp(ks->syms[i].module, module))
			return 0; /* kept already */
	ks->only = module;
	err = ks_pass(ks, KS_MODULE, 0, NULL);
	ks->only = NULL;
	sort_syms(ks);
	return err;
}

static size_t drop_module(struct vt_ksym *syms, size_t n, const char *module)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		if (!syms[i].module || strcmp(syms[i].module, module))
			syms[kept++] = syms[i]; /* order kept: still sorted */
	return kept;
}

void vt_ksyms_forget_module(struct vt_ksyms *ks, const char *module)
{
	if (!ks)
		return;
	ks->n = drop_module(ks->syms, ks->n, module);
	ks->ndata = drop_module(ks->data, ks->ndata, module);
}

int vt_ksyms_reload_module(struct vt_ksyms *ks, const char *module)
{
	vt_ksyms_forget_module(ks, module);
	return vt_ksyms_add_module(ks, module);
}

void vt_ksyms_free(struct vt_ksyms *ks)
{
	if (!ks)
		return;
	if (ks->fd >= 0)
		close(ks->fd);
	for (size_t i = 0; i < ks->nblocks; i++)
		free(ks->blocks[i]);
	free(ks->blocks);
	free(ks->mods);
	free(ks->data);
	free(ks->syms);
	free(ks);
}

static int read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

const char *vt_ksyms_hidden(const struct vt_ksyms *ks)
{
	static char msg[256];

	if (!ks || !ks->zero_text)
		return NULL;
	snprintf(msg, sizeof(msg),
		 "%s shows kernel addresses as 0 to this process "
		 "(kernel.kptr_restrict=%d, kernel.perf_event_paranoid=%d): vfio-trace needs "
		 "CAP_SYSLOG to read them",
		 ks->path, read_int("/proc/sys/kernel/kptr_restrict"),
		 read_int("/proc/sys/kernel/perf_event_paranoid"));
	return msg;
}

size_t vt_ksyms_count(const struct vt_ksyms *ks)
{
	return ks ? ks->n + ks->ndata : 0;
}

/* Every text symbol, for by_addr. The names already handed out stay valid (blocks are never
 * freed before the table); the entries are rebuilt. */
static int ks_all_text(struct vt_ksyms *ks)
{
	int err;

	ks->n = 0;
	ks->all_text = true;
	err = ks_pass(ks, KS_ALL_TEXT, 0, NULL);
	sort_syms(ks);
	return err;
}

const struct vt_ksym *vt_ksyms_by_addr(struct vt_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!ks)
		return NULL;
	if (!ks->all_text)
		ks_all_text(ks);
	if (!ks->n || addr < ks->syms[0].addr)
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

static const struct vt_ksym *find_exact(const struct vt_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr == addr)
			return &ks->syms[mid];
		if (ks->syms[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct vt_ksym *vt_ksyms_at(struct vt_ksyms *ks, uint64_t addr)
{
	const struct vt_ksym *s;

	if (!ks)
		return NULL;
	s = find_exact(ks, addr);
	if (s)
		return s;
	/* Not kept, or a module loaded since: look for this address alone. */
	if (ks_pass(ks, KS_AT, addr, &s) || !s)
		return NULL;
	sort_syms(ks);
	return find_exact(ks, addr);
}

static bool mod_match(const struct vt_ksym *s, const char *module)
{
	if (!module)
		return true;
	return s->module && !strcmp(s->module, module);
}

const struct vt_ksym *vt_ksyms_by_name(struct vt_ksyms *ks, const char *name, const char *module)
{
	for (size_t i = 0; ks && i < ks->n; i++)
		if (!strcmp(ks->syms[i].name, name) && mod_match(&ks->syms[i], module))
			return &ks->syms[i];
	return ks && ks->lookup ? ks_lookup(ks, name, module, false) : NULL;
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

const struct vt_ksym *vt_ksyms_data(struct vt_ksyms *ks, const char *name, const char *module)
{
	for (size_t i = 0; ks && i < ks->ndata; i++)
		if (!strcmp(ks->data[i].name, name) && mod_match(&ks->data[i], module))
			return &ks->data[i];
	return ks && ks->lookup ? ks_lookup(ks, name, module, true) : NULL;
}
