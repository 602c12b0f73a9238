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
 * helper with the same prototype costs a probe but never a wrong count. A module loaded later
 * gets the same while its loader is held (bpf/vfio_trace.bpf.c rt_module_load): this file
 * lets it go, and its guard process does if vfio-trace dies first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "tracer.h"
#include "callback.skel.h"

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
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len >= VT_MODNAME_LEN)
			continue; /* longer than the kernel's MODULE_NAME_LEN: not a module */
		memcpy(names[n++], de->d_name, len + 1);
	}
	closedir(d);
	return n;
}

/* ---- attaching them --------------------------------------------------------------------- */

static int reuse_maps(struct vt_bpf *t, struct callback_bpf *cb)
{
	struct {
		struct bpf_map *dst, *src;
	} m[] = {
		{ cb->maps.vt_stats, t->skel->maps.vt_stats },
		{ cb->maps.vt_rowc, t->skel->maps.vt_rowc },
		{ cb->maps.vt_stats_spill, t->skel->maps.vt_stats_spill },
		{ cb->maps.vt_zero, t->skel->maps.vt_zero },
		{ cb->maps.vt_losses, t->skel->maps.vt_losses },
		{ cb->maps.vt_devices, t->skel->maps.vt_devices },
		{ cb->maps.vt_unmaps, t->skel->maps.vt_unmaps },
		{ cb->maps.vt_calls, t->skel->maps.vt_calls },
		{ cb->maps.vt_events, t->skel->maps.vt_events },
		{ cb->maps.vt_lifecycle, t->skel->maps.vt_lifecycle },
		/* per-task callback state: the main object's callback programs have it too */
		{ cb->maps.vt_cbs, t->skel->maps.vt_cbs },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (bpf_map__reuse_fd(m[i].dst, bpf_map__fd(m[i].src)))
			return -1;
	return 0;
}

/* multi: the kprobe programs for kprobe_multi links (vt_cb_multi_prepare) */
static struct callback_bpf *cb_open(struct vt_bpf *t, bool fentry, bool multi, const char *func,
				    const char *module, uint64_t addr)
{
	/* CO-RE against --btf's file or the kernel types the objects name, as the main object */
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = vt_bpf_core_target(t));
	struct callback_bpf *cb;

	/* Its target in its own module's BTF (lib/fentry_targets.c), found before the open, which
	 * the handler must precede: libbpf would walk the kernel's BTF once per module loaded
	 * before this one (a driver loaded late comes last), its loader held meanwhile. */
	if (fentry) {
		struct btf *base = t->opts.btf_path ? NULL : btf__load_vmlinux_btf();

		vt_fentry_targets_want(func, module);
		vt_fentry_targets_find(base);
		btf__free(base);
	}
	cb = callback_bpf__open_opts(&oo);
	if (!cb) {
		vt_fentry_targets_free();
		return NULL;
	}
	cb->rodata->vt_cb_func = addr;
	cb->rodata->vt_features = t->skel->rodata->vt_features;
	cb->rodata->vt_notify_direct = t->skel->rodata->vt_notify_direct;
	cb->rodata->vt_targ_tgid = t->skel->rodata->vt_targ_tgid;
	cb->rodata->vt_events_wake = t->skel->rodata->vt_events_wake;
	cb->rodata->vt_rowc_mask = t->skel->rodata->vt_rowc_mask;
	cb->rodata->vt_events_band = t->skel->rodata->vt_events_band;
	bpf_program__set_autoload(cb->progs.fe_callback, fentry);
	bpf_program__set_autoload(cb->progs.fx_callback, fentry);
	bpf_program__set_autoload(cb->progs.kp_callback, !fentry);
	bpf_program__set_autoload(cb->progs.kr_callback, !fentry);
	if (multi) {
		bpf_program__set_expected_attach_type(cb->progs.kp_callback,
						      BPF_TRACE_KPROBE_MULTI);
		bpf_program__set_expected_attach_type(cb->progs.kr_callback,
						      BPF_TRACE_KPROBE_MULTI);
	}
	if (fentry && (vt_fentry_target_set(cb->progs.fe_callback, func, module) ||
		       vt_fentry_target_set(cb->progs.fx_callback, func, module)))
		goto fail;
	if (reuse_maps(t, cb) || callback_bpf__load(cb))
		goto fail;
	vt_fentry_targets_free();
	return cb;
fail:
	vt_fentry_targets_free();
	callback_bpf__destroy(cb);
	return NULL;
}

/* The main object's fentry/fexit pair of a slot. */
static void slot_progs(const struct vt_bpf *t, int slot, struct bpf_program **fe,
		       struct bpf_program **fx)
{
	struct bpf_program *fes[VT_CB_SLOTS] = { t->skel->progs.fe_callback_0,
						 t->skel->progs.fe_callback_1,
						 t->skel->progs.fe_callback_2,
						 t->skel->progs.fe_callback_3 };
	struct bpf_program *fxs[VT_CB_SLOTS] = { t->skel->progs.fx_callback_0,
						 t->skel->progs.fx_callback_1,
						 t->skel->progs.fx_callback_2,
						 t->skel->progs.fx_callback_3 };

	*fe = fes[slot];
	*fx = fxs[slot];
}

bool vt_cb_main_prog(const struct vt_bpf *t, const struct bpf_program *p)
{
	struct bpf_program *fe, *fx;

	if (p == t->skel->progs.kp_callback || p == t->skel->progs.kr_callback)
		return true;
	for (int i = 0; i < VT_CB_SLOTS; i++) {
		slot_progs(t, i, &fe, &fx);
		if (p == fe || p == fx)
			return true;
	}
	return false;
}

/* The main object's kprobe pair, loaded (vt_cb_slots_set) for perf kprobes (kprobe_multi:
 * NULL, a perf kprobe would refuse that kind). */
static struct bpf_program *main_kprobe(const struct vt_bpf *t, bool ret)
{
	struct bpf_program *p = ret ? t->skel->progs.kr_callback : t->skel->progs.kp_callback;

	if (bpf_program__fd(p) < 0 ||
	    bpf_program__expected_attach_type(p) == BPF_TRACE_KPROBE_MULTI)
		return NULL;
	return p;
}

/* The callback's own perf kprobe and kretprobe; false (errno) when they did not attach. */
static bool attach_cb_kprobe(struct vt_bpf *t, struct vt_cb_target *c)
{
	struct bpf_program *kp = main_kprobe(t, false), *kr = main_kprobe(t, true);

	/* the main object's pair where it was loaded for them, else an object of its own */
	if (!kp && !t->kp_cb && t->env.kprobes) /* only through the perf kprobe PMU (probe.c) */
		t->kp_cb = cb_open(t, false, false, NULL, NULL, 0);
	if (!kp && t->kp_cb) {
		kp = t->kp_cb->progs.kp_callback;
		kr = t->kp_cb->progs.kr_callback;
	}
	if (kp) {
		/* One kprobe program for every target: the cookie says which function it is. */
		LIBBPF_OPTS(bpf_kprobe_opts, o, .bpf_cookie = c->addr);

		c->links[0] = bpf_program__attach_kprobe_opts(kp, c->sym, &o);
		o.retprobe = true;
		c->links[1] = bpf_program__attach_kprobe_opts(kr, c->sym, &o);
		if (c->links[0] && c->links[1]) {
			c->method = VT_M_KPROBE;
			return true;
		}
		bpf_link__destroy(c->links[0]);
		bpf_link__destroy(c->links[1]);
		memset(c->links, 0, sizeof(c->links));
	}
	return false;
}

static bool cb_is_untraced(const struct vt_bpf *t, uint64_t addr)
{
	for (int i = 0; i < t->ncb_untraced; i++)
		if (t->cb_untraced[i].addr == addr)
			return true;
	return false;
}

/* A callback no probe takes: trace kprobes refuse a notrace function (kernel log: "Could not
 * probe notrace function"), and ftrace, so fentry and kprobe_multi, cannot hook it. Said
 * once, on stderr and in not_traced from now on: on kernels that inline
 * vfio_notify_dma_unmap its devices' notifies are reconstructed from these very calls. */
static void cb_untraced(struct vt_bpf *t, const struct vt_cb_target *c, const char *who,
			const char *why)
{
	vt_warn("cannot attach to %s, %s: %s: its devices' callbacks, and the notifies "
		"reconstructed from them, are not counted (not_traced says so)",
		c->sym, who, why);
	if (t->ncb_untraced == VT_MAX_UNTRACED_CB)
		return;
	t->cb_untraced[t->ncb_untraced].addr = c->addr;
	_Static_assert(sizeof(t->cb_untraced[0].sym) == sizeof(c->sym), "the same names");
	memcpy(t->cb_untraced[t->ncb_untraced].sym, c->sym, sizeof(c->sym));
	t->ncb_untraced++;
	vt_bpf_note_missing(t);
}

/* fentry for this function? Its trampoline would keep the module from being unloaded
 * (module_reload). */
static bool cb_fentry_ok(const struct vt_bpf *t, const struct vt_ksym *s)
{
	return t->env.fentry_works && !t->opts.force_kprobe &&
	       !(s->module && t->env.module_kprobes);
}

/* Attach to the function at addr named s (a candidate from BTF, or a device's callback);
 * slot: its fentry slot in the main object (vt_cb_slots_set), or -1. */
static int attach_cb_func(struct vt_bpf *t, const struct vt_ksym *s, enum cb_origin from,
			  const char *who, int slot)
{
	struct vt_cb_target *c;
	char why[128] = "";
	size_t n;

	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].addr == s->addr)
			return 0;
	if (cb_is_untraced(t, s->addr))
		return -1;
	if (t->ncbs == VT_MAX_CB) {
		vt_warn("more than %d functions that can be dma_unmap callbacks; %s:%s (%s) is not "
			"traced",
			VT_MAX_CB, s->module ? s->module : "vmlinux", s->name, who);
		return -1;
	}
	c = &t->cbs[t->ncbs];
	memset(c, 0, sizeof(*c));
	c->slot = -1;
	c->addr = s->addr;
	if (s->module)
		snprintf(c->sym, sizeof(c->sym), "%s:%s", s->module, s->name);
	else
		snprintf(c->sym, sizeof(c->sym), "%s", s->name);

	/* found before the load: the main object's slot, loaded for it */
	if (slot >= 0) {
		struct bpf_program *fe, *fx;
		uint64_t t0 = vt_now_ns();

		slot_progs(t, slot, &fe, &fx);
		c->links[0] = bpf_program__attach(fe);
		c->links[1] = bpf_program__attach(fx);
		if (vt_verbose >= 2)
			vt_dbg("callback %s: in the main object (slot %d), attach %.2f s", c->sym,
			       slot, (vt_now_ns() - t0) / 1e9);
		if (c->links[0] && c->links[1]) {
			c->method = VT_M_FENTRY;
			c->slot = slot;
			goto done;
		}
		snprintf(why, sizeof(why), "fentry attach: %s; ", strerror(errno));
		bpf_link__destroy(c->links[0]);
		bpf_link__destroy(c->links[1]);
		memset(c->links, 0, sizeof(c->links));
	} else if (cb_fentry_ok(t, s)) {
		uint64_t t0 = vt_now_ns(), t1;

		c->obj = cb_open(t, true, false, s->name, s->module, s->addr);
		t1 = vt_now_ns();
		if (c->obj) {
			c->links[0] = bpf_program__attach(c->obj->progs.fe_callback);
			c->links[1] = bpf_program__attach(c->obj->progs.fx_callback);
			if (vt_verbose >= 2)
				vt_dbg("callback %s: load %.2f s, attach %.2f s", c->sym,
				       (t1 - t0) / 1e9, (vt_now_ns() - t1) / 1e9);
			if (c->links[0] && c->links[1]) {
				c->method = VT_M_FENTRY;
				goto done;
			}
			snprintf(why, sizeof(why), "fentry attach: %s; ", strerror(errno));
			bpf_link__destroy(c->links[0]);
			bpf_link__destroy(c->links[1]);
			callback_bpf__destroy(c->obj);
			memset(c->links, 0, sizeof(c->links));
			c->obj = NULL;
		} else {
			snprintf(why, sizeof(why), "fentry load: %s; ", strerror(errno));
		}
	}
	/* the start of a command on kprobe_multi: attached with the others (vt_cb_multi_prepare) */
	if (t->cb_multi_collect) {
		c->method = VT_M_KPROBE;
		c->multi = true;
		t->ncbs++;
		return 0;
	}
	if (attach_cb_kprobe(t, c))
		goto done;
	n = strlen(why);
	snprintf(why + n, sizeof(why) - n, "kprobe: %s", strerror(errno));
	cb_untraced(t, c, who, why);
	return -1;
done:
	t->ncbs++;
	fprintf(stderr, "%s: attached dma_unmap callback %s (%s) for %s%s\n", vt_prog, c->sym,
		vt_method_name(c->method), from == CB_FROM_BTF ? "module " : "", who);
	return 0;
}

int vt_cb_multi_prepare(struct vt_bpf *t, int map_fd, unsigned long *addrs, __u64 *cookies)
{
	__u32 slots[2] = { VT_KM_SLOT_CB_ENTRY, VT_KM_SLOT_CB_EXIT };
	struct bpf_program *kp, *kr;
	int n = 0;

	t->cb_multi_collect = false;
	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].multi) {
			/* the address, not the name: two modules may name a function alike */
			addrs[n] = t->cbs[i].addr;
			cookies[n++] = t->cbs[i].addr; /* which function it is, as for a kprobe */
		}
	if (!n)
		return 0;
	/* the main object's pair, loaded for them (vt_cb_slots_set), else an object of its own */
	kp = t->skel->progs.kp_callback;
	kr = t->skel->progs.kr_callback;
	if (bpf_program__fd(kp) < 0 ||
	    bpf_program__expected_attach_type(kp) != BPF_TRACE_KPROBE_MULTI) {
		t->km_cb = cb_open(t, false, true, NULL, NULL, 0);
		if (!t->km_cb)
			return errno ? -errno : -EINVAL;
		kp = t->km_cb->progs.kp_callback;
		kr = t->km_cb->progs.kr_callback;
	}
	for (int r = 0; r < 2; r++) {
		struct bpf_program *p = r ? kr : kp;
		int fd = bpf_program__fd(p);

		/* another object's program: the array holds its fd, the kind is what must match */
		if (bpf_map_update_elem(map_fd, &slots[r], &fd, BPF_ANY)) {
			int err = errno ? -errno : -EINVAL;

			vt_dbg("kprobe_multi: %s refused by the program array: %s",
			       bpf_program__name(p), strerror(-err));
			return err;
		}
	}
	return n;
}

void vt_cb_multi_attached(struct vt_bpf *t)
{
	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].multi)
			fprintf(stderr,
				"%s: attached dma_unmap callback %s (kprobe_multi) for module "
				"%.*s\n",
				vt_prog, t->cbs[i].sym, (int)strcspn(t->cbs[i].sym, ":"),
				t->cbs[i].sym);
}

void vt_cb_multi_unwind(struct vt_bpf *t)
{
	int kept = 0;

	for (int i = 0; i < t->ncbs; i++) {
		struct vt_cb_target c = t->cbs[i];
		char who[VT_MODNAME_LEN + 8], why[64];

		if (c.multi) {
			c.multi = false;
			snprintf(who, sizeof(who), "module %.*s", (int)strcspn(c.sym, ":"), c.sym);
			if (!attach_cb_kprobe(t, &c)) {
				snprintf(why, sizeof(why), "kprobe_multi refused; kprobe: %s",
					 strerror(errno));
				cb_untraced(t, &c, who + 7, why);
				continue;
			}
			fprintf(stderr, "%s: attached dma_unmap callback %s (kprobe) for %s\n",
				vt_prog, c.sym, who);
		}
		t->cbs[kept++] = c;
	}
	t->ncbs = kept;
}

/* A device's callback at addr (one not found in BTF: a module without it, say). */
int vt_cb_attach_device(struct vt_bpf *t, uint64_t addr, const char *devname)
{
	const struct vt_ksym *s;

	for (int i = 0; i < t->ncbs; i++)
		if (t->cbs[i].addr == addr)
			return 0;
	if (cb_is_untraced(t, addr))
		return -1;
	/* Not a candidate found at start: one kallsyms pass for this address. */
	s = vt_ksyms_at(t->ks, addr);
	if (!s) {
		vt_warn("dma_unmap callback of %s at %#llx has no symbol: not traced", devname,
			(unsigned long long)addr);
		return -1;
	}
	return attach_cb_func(t, s, CB_FROM_DEVICE, devname, -1);
}

#define VT_MAX_CANDIDATES 128

struct cb_candidates {
	const char *module;
	struct {
		char module[VT_MODNAME_LEN];
		char func[128];
	} c[VT_MAX_CANDIDATES];
	int n;
};

static void cb_found(void *ctx, const char *func)
{
	struct cb_candidates *cc = ctx;

	if (cc->n == VT_MAX_CANDIDATES) {
		vt_warn("more than %d functions with dma_unmap's prototype: %s:%s is not traced",
			VT_MAX_CANDIDATES, cc->module, func);
		return;
	}
	snprintf(cc->c[cc->n].module, sizeof(cc->c[0].module), "%s", cc->module);
	snprintf(cc->c[cc->n].func, sizeof(cc->c[0].func), "%s", func);
	cc->n++;
}

/* --btf: the file's functions with dma_unmap's prototype, each a candidate of every module
 * (the file names none; a module without that symbol is skipped at attach) */
static int find_candidates_in_file(const char *path, const char *const *modules, int nmod,
				   struct cb_candidates *cc)
{
	struct btf *btf = vt_btf_file_load(path);

	if (!btf)
		return -1;
	for (int i = 0; i < nmod; i++) {
		cc->module = modules[i];
		vt_btf_dma_unmap_funcs(btf, 1, cb_found, cc);
	}
	btf__free(btf);
	return 0;
}

/* The functions with dma_unmap's prototype in these modules' BTF. The kernel's BTF (their base,
 * ~10 MiB parsed) is freed before anything is attached: each callback object's load parses it
 * again inside libbpf, and both at once would double the peak memory. */
static int find_candidates(const char *const *modules, int nmod, struct cb_candidates *cc,
			   struct btf *shared)
{
	struct btf *base = shared ? shared : btf__load_vmlinux_btf();

	if (!base) {
		vt_warn("cannot read the kernel's BTF (%s): dma_unmap callbacks are attached when a "
			"device shows them",
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < nmod; i++) {
		struct btf *btf = btf__load_module_btf(modules[i], base);

		if (!btf) {
			vt_dbg("module %s has no BTF (%s): its callbacks are attached when a device "
			       "shows them",
			       modules[i], strerror(errno));
			continue;
		}
		cc->module = modules[i];
		vt_btf_dma_unmap_funcs(btf, btf__type_cnt(base), cb_found, cc);
		btf__free(btf);
	}
	if (base != shared)
		btf__free(base);
	return 0;
}

/* The candidates of these modules (NULL with nothing found: no kernel BTF, say). */
static struct cb_candidates *find_in_modules(struct vt_bpf *t, const char *const *modules, int nmod,
					     struct btf *base)
{
	struct cb_candidates *cc = calloc(1, sizeof(*cc));
	uint64_t t0 = vt_now_ns();

	if (!cc ||
	    (t->opts.btf_path ? find_candidates_in_file(t->opts.btf_path, modules, nmod, cc) :
				find_candidates(modules, nmod, cc, base))) {
		free(cc);
		return NULL;
	}
	if (vt_verbose >= 2)
		vt_dbg("callbacks: %d functions with dma_unmap's prototype in %d modules' BTF, found in "
		       "%.2f s",
		       cc->n, nmod, (vt_now_ns() - t0) / 1e9);
	return cc;
}

/* The kernel symbol of candidate i (NULL: none to attach to). */
static const struct vt_ksym *candidate_sym(struct vt_bpf *t, const struct cb_candidates *cc, int i)
{
	const char *mod = cc->c[i].module, *func = cc->c[i].func;
	const struct vt_ksym *s = vt_ksyms_by_name(t->ks, func, mod);

	if (!s && !vt_ksyms_add_module(t->ks, mod))
		s = vt_ksyms_by_name(t->ks, func, mod);
	if (!s) /* inlined everywhere, or a name kallsyms does not list: nothing to attach */
		vt_dbg("%s:%s has dma_unmap's prototype but no symbol", mod, func);
	return s;
}

int vt_cb_attach_modules(struct vt_bpf *t, const char *const *modules, int nmod)
{
	struct cb_candidates *cc = find_in_modules(t, modules, nmod, NULL);
	int attached = 0;

	if (!cc)
		return -1;
	for (int i = 0; i < cc->n; i++) {
		const struct vt_ksym *s = candidate_sym(t, cc, i);

		if (s)
			attached += !attach_cb_func(t, s, CB_FROM_BTF, cc->c[i].module, -1);
	}
	free(cc);
	return attached;
}

/* ---- the start's callbacks in the main object ---------------------------------------------
 * Found before its load, so that the first VT_CB_SLOTS of them that fentry can take are
 * programs of the main object told their target before it is loaded (libbpf's one parse of
 * the kernel's BTF and one load serve them too; an object each cost both again, 0.2-0.3 s a
 * callback under TCG), and those on kprobes or kprobe_multi use its kprobe pair. */
struct vt_cb_early {
	int n;
	struct {
		uint64_t addr;
		char name[128];
		char module[VT_MODNAME_LEN];
		int slot; /* its fentry slot in the main object, or -1 */
	} c[VT_MAX_CANDIDATES];
};

void vt_cb_find_early(struct vt_bpf *t, const char *const *modules, int nmod, struct btf *base)
{
	struct cb_candidates *cc = find_in_modules(t, modules, nmod, base);
	struct vt_cb_early *e = cc ? calloc(1, sizeof(*e)) : NULL;

	for (int i = 0; e && i < cc->n; i++) {
		const struct vt_ksym *s = candidate_sym(t, cc, i);

		if (!s)
			continue;
		e->c[e->n].addr = s->addr;
		snprintf(e->c[e->n].name, sizeof(e->c[0].name), "%s", s->name);
		snprintf(e->c[e->n].module, sizeof(e->c[0].module), "%s", cc->c[i].module);
		e->c[e->n++].slot = -1;
		vt_fentry_targets_want(s->name, cc->c[i].module);
	}
	free(cc);
	free(t->early);
	t->early = e;
}

int vt_cb_slots_set(struct vt_bpf *t)
{
	struct vt_cb_early *e = t->early;
	int used = 0;
	bool kprobe_pair = false;

	for (int i = 0; e && i < e->n; i++) {
		struct vt_ksym s = { .addr = e->c[i].addr,
				     .name = e->c[i].name,
				     .module = e->c[i].module };
		struct bpf_program *fe, *fx;

		e->c[i].slot = -1;
		if (!cb_fentry_ok(t, &s)) {
			kprobe_pair = true;
			continue;
		}
		/* past the slots (or after a load that refused them): fentry in an object each */
		if (t->cb_no_slots || used == VT_CB_SLOTS)
			continue;
		slot_progs(t, used, &fe, &fx);
		if (vt_fentry_target_set(fe, s.name, s.module) ||
		    vt_fentry_target_set(fx, s.name, s.module))
			continue;
		t->skel->rodata->vt_cb_slot_func[used] = s.addr;
		bpf_program__set_autoload(fe, true);
		bpf_program__set_autoload(fx, true);
		bpf_program__set_autoattach(fe, false);
		bpf_program__set_autoattach(fx, false);
		e->c[i].slot = used++;
	}
	/* those on kprobes: the dispatchers tail-call the pair (kprobe_multi), or a perf kprobe
	 * each (the pair is not loaded without the perf kprobe PMU: nothing would attach it) */
	if (kprobe_pair && (t->kmulti_on || t->env.kprobes)) {
		struct bpf_program *pair[2] = { t->skel->progs.kp_callback,
						t->skel->progs.kr_callback };

		for (int k = 0; k < 2; k++) {
			bpf_program__set_autoload(pair[k], true);
			bpf_program__set_autoattach(pair[k], false);
			if (t->kmulti_on)
				bpf_program__set_expected_attach_type(pair[k],
								      BPF_TRACE_KPROBE_MULTI);
		}
	}
	return used;
}

int vt_cb_attach_early(struct vt_bpf *t)
{
	struct vt_cb_early *e = t->early;
	int attached = 0;

	for (int i = 0; e && i < e->n; i++) {
		struct vt_ksym s = { .addr = e->c[i].addr,
				     .name = e->c[i].name,
				     .module = e->c[i].module };

		attached += !attach_cb_func(t, &s, CB_FROM_BTF, e->c[i].module, e->c[i].slot);
	}
	return attached;
}

/* Does another vfio-trace still hold this loader (its vt_held names it)? Each one running
 * stops it; the last to let go continues it, so that every one has attached first (export
 * beside an admin's top: the first SIGCONT would otherwise let the loader go before the
 * other attached; measured in the lab as one callback missed). Found by name among the
 * kernel's maps, ours excepted by id; a dead one's map stays while its guard holds it. */
static bool held_elsewhere(struct vt_bpf *t, uint32_t tgid)
{
	struct bpf_map_info mine = {}, info;
	__u32 len = sizeof(mine), id = 0;
	uint64_t since;
	bool held = false;

	if (bpf_obj_get_info_by_fd(bpf_map__fd(t->skel->maps.vt_held), &mine, &len))
		return false;
	while (!held && !bpf_map_get_next_id(id, &id)) {
		int fd = id == mine.id ? -1 : bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "vt_held") &&
		    info.key_size == sizeof(tgid) && info.value_size == sizeof(since))
			held = !bpf_map_lookup_elem(fd, &tgid, &since);
		close(fd);
	}
	return held;
}

/* A loader stopped by rt_module_load goes on, unless another vfio-trace still holds it. */
int vt_hold_release(struct vt_bpf *t, uint32_t tgid)
{
	int err = bpf_map_delete_elem(bpf_map__fd(t->skel->maps.vt_held), &tgid);

	if (!held_elsewhere(t, tgid))
		kill(tgid, SIGCONT);
	return err;
}

/* A loader still held 2 s after its load: its lifecycle record was lost (counted in
 * lifecycle_ringbuf_full). Attach whatever the modules using vfio.ko now have, then let it go. */
void vt_hold_release_stale(struct vt_bpf *t)
{
	int fd = bpf_map__fd(t->skel->maps.vt_held);
	uint32_t k, cur, *prev = NULL;
	uint64_t since, now = vt_now_ns();
	bool rescanned = false;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		cur = k;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &since) || now - since < 2000000000ULL)
			continue;
		if (!rescanned) {
			char mods[64][VT_MODNAME_LEN];
			const char *names[64];
			int n = vt_vfio_holders("/sys/module", mods, 64);

			for (int i = 0; i < n; i++)
				names[i] = mods[i];
			vt_cb_attach_modules(t, names, n > 0 ? n : 0);
			rescanned = true;
		}
		vt_hold_release(t, cur);
	}
}

/* SIGCONT to every loader vt_held (its fd) names: at our end, and from the guard at our death. */
static void continue_held(int fd)
{
	uint32_t k, cur, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		kill(k, SIGCONT);
		cur = k;
		prev = &cur;
	}
}

void vt_hold_release_all(struct vt_bpf *t)
{
	int fd = bpf_map__fd(t->skel->maps.vt_held);
	uint32_t k;

	/* a key that cannot be deleted would come back first for ever: stop there */
	while (!bpf_map_get_next_key(fd, NULL, &k) && !vt_hold_release(t, k))
		;
}

/* A child that outlives us only to continue the loaders held at our death (kill -9 in the
 * middle of an attach): it keeps vt_held's fd and nothing else (no program stays attached
 * through it) and waits for our end of a pipe to close. */
void vt_guard_start(struct vt_bpf *t)
{
	int p[2], held = bpf_map__fd(t->skel->maps.vt_held);
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		char c;

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "vfio-trace-guard");
		{ /* all it may ever do is send SIGCONT */
			int keep[] = { CAP_KILL };

			vt_caps_limit(keep, 1);
		}
		if (dup2(p[0], 3) < 0 || dup2(held, 4) < 0)
			_exit(1);
		if (close_range(5, ~0U, 0))
			for (int fd = 5; fd < 65536; fd++)
				close(fd);
		while (read(3, &c, 1) < 0 && errno == EINTR)
			;
		continue_held(4);
		_exit(0);
	}
	close(p[0]);
	t->guardian = pid;
	t->guardian_pipe = p[1];
}

void vt_guard_stop(struct vt_bpf *t)
{
	if (!t->guardian)
		return;
	close(t->guardian_pipe);
	waitpid(t->guardian, NULL, 0);
	t->guardian = 0;
}

void vt_cb_programs(struct vt_bpf *t, vt_prog_fn fn, void *ctx)
{
	bool kprobe_cb = false;
	char name[200];

	for (int i = 0; i < t->ncbs; i++) {
		struct bpf_program *fe, *fx;

		if (t->cbs[i].slot >= 0) {
			slot_progs(t, t->cbs[i].slot, &fe, &fx);
		} else if (t->cbs[i].obj) {
			fe = t->cbs[i].obj->progs.fe_callback;
			fx = t->cbs[i].obj->progs.fx_callback;
		} else {
			kprobe_cb |= t->cbs[i].links[0] != NULL;
			continue;
		}
		snprintf(name, sizeof(name), "fe_callback:%s", t->cbs[i].sym);
		vt_prog_report(fe, name, fn, ctx);
		snprintf(name, sizeof(name), "fx_callback:%s", t->cbs[i].sym);
		vt_prog_report(fx, name, fn, ctx);
	}
	/* the kprobe_multi pair (every callback found at the start): the main object's, or an
	 * instance of its own */
	if (t->kmulti_links[0] && bpf_program__fd(t->skel->progs.kp_callback) >= 0 &&
	    !main_kprobe(t, false)) {
		vt_prog_report(t->skel->progs.kp_callback, "kp_callback", fn, ctx);
		vt_prog_report(t->skel->progs.kr_callback, "kr_callback", fn, ctx);
	}
	if (t->km_cb) {
		vt_prog_report(t->km_cb->progs.kp_callback, "kp_callback", fn, ctx);
		vt_prog_report(t->km_cb->progs.kr_callback, "kr_callback", fn, ctx);
	}
	/* the perf kprobe pair serving every such callback: the main object's first */
	if (kprobe_cb && main_kprobe(t, false)) {
		vt_prog_report(t->skel->progs.kp_callback, "kp_callback", fn, ctx);
		vt_prog_report(t->skel->progs.kr_callback, "kr_callback", fn, ctx);
	} else if (kprobe_cb && t->kp_cb) {
		vt_prog_report(t->kp_cb->progs.kp_callback, "kp_callback", fn, ctx);
		vt_prog_report(t->kp_cb->progs.kr_callback, "kr_callback", fn, ctx);
	}
}

static void cb_detach(struct vt_cb_target *c)
{
	bpf_link__destroy(c->links[0]);
	bpf_link__destroy(c->links[1]);
	callback_bpf__destroy(c->obj);
}

bool vt_cb_in_module(const struct vt_cb_target *c, const char *module)
{
	size_t len = strlen(module);

	return !strncmp(c->sym, module, len) && c->sym[len] == ':';
}

int vt_cb_detach_module(struct vt_bpf *t, const char *module)
{
	int kept = 0, links = 0;

	for (int i = 0; i < t->ncbs; i++) {
		struct vt_cb_target *c = &t->cbs[i];

		if (!vt_cb_in_module(c, module)) {
			t->cbs[kept++] = *c;
			continue;
		}
		links += (c->links[0] != NULL) + (c->links[1] != NULL);
		cb_detach(c);
	}
	t->ncbs = kept;
	return links;
}

void vt_cb_detach_all(struct vt_bpf *t)
{
	for (int i = 0; i < t->ncbs; i++)
		cb_detach(&t->cbs[i]);
	callback_bpf__destroy(t->km_cb);
	t->km_cb = NULL;
	callback_bpf__destroy(t->kp_cb);
	t->ncbs = 0;
	t->kp_cb = NULL;
}
