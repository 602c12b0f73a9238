// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend's start and end: opens, loads and attaches the fixed points (per point the
 * method probe.c found: fentry, else kprobe, else nothing and a notice), and undoes it all.
 * The rest of the backend: lib/rings.c (the ring buffers' records: devices, alerts, module
 * loads, snoop's events), lib/snapshot.c (the maps read into a struct vt_snapshot),
 * lib/callbacks.c (the drivers' dma_unmap callbacks and module holds); the state they share
 * is lib/tracer.h.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "report.h"
#include "tracer.h"
#include "callback.skel.h"

static unsigned features(const struct vt_tracer_opts *o)
{
	return (o->snoop ? VT_FEAT_SNOOP : 0) | (o->locks ? VT_FEAT_LOCKS : 0) |
	       (o->no_alert ? 0 : VT_FEAT_ALERT) | (o->no_detail ? 0 : VT_FEAT_DETAIL) |
	       (o->module_reload ? VT_FEAT_RELOAD : 0);
}

static bool point_usable(const char *name)
{
	const struct vt_point *p = vt_point_find(name);

	return p && (p->method == VT_M_FENTRY || p->method == VT_M_KPROBE);
}

void vt_bpf_op_masks(const struct vt_bpf *t, uint32_t *untraced, uint32_t *untimed)
{
	const struct vt_point *pin = vt_point_find("vfio_pin_pages");
	const struct vt_point *ioctl = vt_point_find("vfio_iommu_type1_ioctl");

	*untraced = *untimed = 0;
	if (!(features(&t->opts) & VT_FEAT_DETAIL)) {
		*untraced |= 1u << VT_OP_REMOVE_DMA | 1u << VT_OP_UNMAP_UNPIN | vt_phase_mask();
		if (pin && pin->method == VT_M_FENTRY)
			*untimed |= 1u << VT_OP_PIN | 1u << VT_OP_UNPIN;
		if (ioctl && ioctl->method == VT_M_FENTRY)
			*untimed |= 1u << VT_OP_MAP;
	}
	if (!(features(&t->opts) & VT_FEAT_LOCKS))
		*untraced |= 1u << VT_OP_LOCK_HOLD | 1u << VT_OP_LOCK_DROP;
}

static bool point_wanted(const struct vt_bpf *t, const struct vt_point *p)
{
	return !p->feature || (features(&t->opts) & p->feature);
}

int vt_point_progs(const struct vfio_trace_bpf *s, struct point_progs *out)
{
#define PAIRS(point, x)                                                                   \
	{                                                                                 \
		point, s->progs.fe_##x, s->progs.fx_##x, s->progs.kp_##x, s->progs.kr_##x \
	}
	const struct point_progs all[] = {
		PAIRS("vfio_iommu_type1_ioctl", ioctl),
		PAIRS("vfio_dma_do_unmap", do_unmap),
		PAIRS("vfio_notify_dma_unmap", notify),
		PAIRS("vfio_remove_dma", remove_dma),
		PAIRS("vfio_unmap_unpin", unmap_unpin),
		PAIRS("iommu_unmap_fast", iommu_unmap_fast),
		PAIRS("iommu_unmap", iommu_unmap),
		PAIRS("vfio_unpin_pages_remote", unpin_remote),
		PAIRS("intel_iommu_tlb_sync", intel_sync),
		PAIRS("amd_iommu_iotlb_sync", amd_sync),
		PAIRS("iommu_iova_to_phys", iova_to_phys),
		{ "intel_iommu_unmap_pages", s->progs.fe_intel_unmap_pages, NULL,
		  s->progs.kp_intel_unmap_pages },
		{ "amd_iommu_unmap_pages", s->progs.fe_amd_unmap_pages, NULL,
		  s->progs.kp_amd_unmap_pages },
		PAIRS("vfio_pin_pages", vfio_pin),
		PAIRS("vfio_unpin_pages", vfio_unpin),
		PAIRS("vfio_iommu_type1_pin_pages", t1_pin),
		PAIRS("vfio_iommu_type1_unpin_pages", t1_unpin),
		PAIRS("vfio_iommu_type1_detach_group", detach_group),
		PAIRS("vfio_iommu_type1_release", release),
		PAIRS("iommufd_ioas_unmap", ioas_unmap),
		PAIRS("iommufd_ioas_map", ioas_map),
		PAIRS("iommufd_access_notify_unmap", ioas_notify),
		PAIRS("iommufd_access_pin_pages", ioas_pin),
		PAIRS("iommufd_access_unpin_pages", ioas_unpin),
		PAIRS("iommufd_ioas_destroy", ioas_destroy),
		{ "iopt_area_unfill_domains", s->progs.fe_area_unfill, NULL,
		  s->progs.kp_area_unfill },
		{ "iopt_unmap_iova", s->progs.fe_iopt_unmap, NULL, s->progs.kp_iopt_unmap },
		{ "iopt_unmap_all", s->progs.fe_iopt_unmap_all, NULL, s->progs.kp_iopt_unmap_all },
		{ "iopt_map_user_pages", s->progs.fe_iopt_map, NULL, s->progs.kp_iopt_map },
		{ "vfio_iommu_type1_register_device", s->progs.fe_register, NULL,
		  s->progs.kp_register },
		{ "vfio_iommu_type1_unregister_device", s->progs.fe_unregister, NULL,
		  s->progs.kp_unregister },
		{ "mutex_lock", s->progs.fe_mutex_lock, NULL, s->progs.kp_mutex_lock },
		{ "mutex_unlock", s->progs.fe_mutex_unlock, NULL, s->progs.kp_mutex_unlock },
		{ "module:module_load", .rt = s->progs.rt_module_load },
		{ "module:module_free", .rt = s->progs.rt_module_free },
		{ "lock:contention_begin", .rt = s->progs.rt_contention_begin },
		{ "lock:contention_end", .rt = s->progs.rt_contention_end },
	};
#undef PAIRS
	memcpy(out, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

/* Programs a point's method alone does not decide: the type1 and iommufd pin/unpin pairs are
 * only a fallback for the vfio.ko pair; without VT_FEAT_DETAIL the vfio.ko pair's fentry half is
 * not needed (its fexit sees arguments and result; a kretprobe does not), nor
 * vfio_remove_dma's exit (its entry counts the vfio_dma of a teardown). */
static bool prog_needed(const struct vt_bpf *t, const struct point_progs *b,
			const struct bpf_program *prog)
{
	const struct vfio_trace_bpf *s = t->skel;

	if (!strcmp(b->point, "vfio_iommu_type1_pin_pages"))
		return !point_usable("vfio_pin_pages");
	if (!strcmp(b->point, "vfio_iommu_type1_unpin_pages"))
		return !point_usable("vfio_unpin_pages");
	if (!strcmp(b->point, "iommufd_access_pin_pages"))
		return !point_usable("vfio_pin_pages");
	if (!strcmp(b->point, "iommufd_access_unpin_pages"))
		return !point_usable("vfio_unpin_pages");
	if (prog == s->progs.fe_vfio_pin || prog == s->progs.fe_vfio_unpin ||
	    prog == s->progs.fx_remove_dma || prog == s->progs.kr_remove_dma)
		return features(&t->opts) & VT_FEAT_DETAIL;
	return true;
}

/* Load what each wanted point's method needs and nothing else. A point of a feature not asked
 * for loads nothing. */
static void set_autoload(struct vt_bpf *t)
{
	struct point_progs b[VT_MAX_POINT_PROGS];
	struct bpf_program *prog;
	int n = vt_point_progs(t->skel, b);

	bpf_object__for_each_program(prog, t->skel->obj)
		bpf_program__set_autoload(prog, false);
	/* every point that has programs is bound (a point added to lib/probe.c but not here
	 * would never be traced) */
	for (int i = 0; i < vt_npoints; i++) {
		int k = 0;

		while (vt_points[i].progs && k < n && strcmp(b[k].point, vt_points[i].name))
			k++;
		if (vt_points[i].progs && k == n)
			vt_warn("internal: no BPF programs bound to %s: not traced",
				vt_points[i].name);
	}
	/* the open-device iterator; the storm alert's stack iterator, attached only for an
	 * alert (lib/stacks.c). Iterators need the kernel's own BTF: --btf's file cannot stand
	 * in for it. */
	bpf_program__set_autoload(t->skel->progs.it_devices,
				  t->env.vmlinux_btf && t->skel->rodata->vt_device_fops != 0);
	bpf_program__set_autoload(t->skel->progs.it_task_stacks,
				  t->env.vmlinux_btf && !t->opts.storm.off);
	bpf_program__set_autoattach(t->skel->progs.it_task_stacks, false);
	bpf_program__set_autoload(t->skel->progs.km_dispatch_entry, t->kmulti_on);
	bpf_program__set_autoload(t->skel->progs.km_dispatch_exit, t->kmulti_on);
	bpf_program__set_autoattach(t->skel->progs.km_dispatch_entry, false);
	bpf_program__set_autoattach(t->skel->progs.km_dispatch_exit, false);
	t->nretarget = 0;
	t->nkmulti = 0;
	for (int i = 0; i < n; i++) {
		const struct vt_point *p = vt_point_find(b[i].point);
		struct bpf_program *use[2] = { NULL, NULL };

		if (!p || !point_wanted(t, p))
			continue;
		if (p->method == VT_M_FENTRY) {
			use[0] = b[i].fe;
			use[1] = b[i].fx;
		} else if (p->method == VT_M_KPROBE) {
			use[0] = b[i].kp;
			use[1] = b[i].kr;
		} else if (p->method == VT_M_TRACEPOINT) {
			use[0] = b[i].rt;
		}
		for (int k = 0; k < 2; k++) {
			if (!use[k] || !prog_needed(t, &b[i], use[k]))
				continue;
			bpf_program__set_autoload(use[k], true);
			/* kprobe_multi: a handler the dispatchers tail-call (attach_kprobe_multi),
			 * on the symbol doctor found */
			if (t->kmulti_on && p->method == VT_M_KPROBE &&
			    t->nkmulti < VT_MAX_KMULTI) {
				bpf_program__set_expected_attach_type(use[k],
								      BPF_TRACE_KPROBE_MULTI);
				bpf_program__set_autoattach(use[k], false);
				t->kmulti[t->nkmulti].prog = use[k];
				t->kmulti[t->nkmulti].symbol = p->symbol[0] ? p->symbol : p->name;
				t->kmulti[t->nkmulti].module = p->module;
				t->kmulti[t->nkmulti++].retprobe = k == 1;
				continue;
			}
			/* The probed symbol is not the one in the section name (mutex_lock_nested):
			 * retarget fentry now, attach the kprobe by hand after load. */
			if (!p->symbol[0] || !strcmp(p->symbol, p->name))
				continue;
			if (p->method == VT_M_FENTRY) {
				vt_fentry_target_set(use[k], p->symbol, p->module);
			} else if (p->method == VT_M_KPROBE && t->nretarget < VT_MAX_EXTRA) {
				bpf_program__set_autoattach(use[k], false);
				t->retarget[t->nretarget].prog = use[k];
				t->retarget[t->nretarget].retprobe = k == 1;
				t->retarget[t->nretarget++].p = p;
			}
		}
	}
}

/* kprobes set_autoload() left to attach by hand, on the symbol doctor found. */
static int attach_retargeted(struct vt_bpf *t)
{
	for (int i = 0; i < t->nretarget; i++) {
		const struct vt_point *p = t->retarget[i].p;
		struct bpf_link *l = bpf_program__attach_kprobe(t->retarget[i].prog,
								t->retarget[i].retprobe, p->symbol);

		if (!l) {
			vt_err("cannot attach a kprobe to %s: %s", p->symbol, strerror(errno));
			return -errno;
		}
		t->extra[t->nextra++] = l;
	}
	return 0;
}

/* The kprobe programs set_autoload() gave to the dispatchers, each in its slot of the program
 * array, and the dma_unmap callbacks of the modules using vfio (holders, nholders) found now:
 * every entry on one kprobe_multi link, every return on another (each link costs ~0.2 s to
 * close, whatever its function count), a fixed point's attach cookie its program's slot, a
 * callback's its address. Functions by address, not name: a name could match a same-named
 * function elsewhere (kallsyms_lookup_name takes the first). */
static int attach_dispatchers(struct vt_bpf *t, struct bpf_program *dispatch[2],
			      unsigned long addrs[2][VT_MAX_KMULTI + VT_MAX_CB],
			      __u64 cookies[2][VT_MAX_KMULTI + VT_MAX_CB], const int n[2])
{
	for (int r = 0; r < 2; r++) {
		LIBBPF_OPTS(bpf_kprobe_multi_opts, o, .addrs = addrs[r], .cookies = cookies[r],
			    .cnt = n[r], .retprobe = r == 1);

		if (!n[r])
			continue;
		t->kmulti_links[r] = bpf_program__attach_kprobe_multi_opts(dispatch[r], NULL, &o);
		if (!t->kmulti_links[r]) {
			int err = errno ? -errno : -EINVAL;

			vt_dbg("kprobe_multi: %d %s not attached: %s", n[r],
			       r ? "returns" : "entries", strerror(-err));
			bpf_link__destroy(t->kmulti_links[0]);
			t->kmulti_links[0] = NULL;
			return err;
		}
	}
	return 0;
}

static int attach_kprobe_multi(struct vt_bpf *t, const char *const *holders, int nholders)
{
	struct bpf_program *dispatch[2] = { t->skel->progs.km_dispatch_entry,
					    t->skel->progs.km_dispatch_exit };
	int map = bpf_map__fd(t->skel->maps.vt_kprobe_handlers), n[2] = { 0, 0 }, ncb = 0, err;
	unsigned long addrs[2][VT_MAX_KMULTI + VT_MAX_CB];
	__u64 cookies[2][VT_MAX_KMULTI + VT_MAX_CB];

	if (t->nkmulti > VT_MAX_KMULTI)
		return -E2BIG;
	for (__u32 slot = 0; slot < (__u32)t->nkmulti; slot++) {
		int fd = bpf_program__fd(t->kmulti[slot].prog), r = t->kmulti[slot].retprobe;
		/* the symbol doctor found, in the point's own module (vmlinux: no module's) */
		const struct vt_ksym *s =
			vt_ksyms_by_name(t->ks, t->kmulti[slot].symbol, t->kmulti[slot].module);

		if (!s || (!t->kmulti[slot].module && s->module)) {
			vt_dbg("kprobe_multi: no address for %s in %s", t->kmulti[slot].symbol,
			       t->kmulti[slot].module ? t->kmulti[slot].module : "vmlinux");
			return -ENOENT;
		}
		if (bpf_map_update_elem(map, &slot, &fd, BPF_ANY)) {
			err = errno ? -errno : -EINVAL;
			vt_dbg("kprobe_multi: %s refused by the program array: %s",
			       bpf_program__name(t->kmulti[slot].prog), strerror(-err));
			return err;
		}
		addrs[r][n[r]] = s->addr;
		cookies[r][n[r]++] = slot;
	}
	if (nholders > 0) {
		t->cb_multi_collect = true; /* collected only; cleared by vt_cb_multi_prepare */
		vt_cb_attach_early(t);
		ncb = vt_cb_multi_prepare(t, map, addrs[0] + n[0], cookies[0] + n[0]);
		if (ncb < 0)
			return ncb;
		/* the returns: the same functions, the same cookies */
		memcpy(addrs[1] + n[1], addrs[0] + n[0], ncb * sizeof(addrs[0][0]));
		memcpy(cookies[1] + n[1], cookies[0] + n[0], ncb * sizeof(cookies[0][0]));
		n[0] += ncb;
		n[1] += ncb;
	}
	err = attach_dispatchers(t, dispatch, addrs, cookies, n);
	if (err && ncb) {
		/* A callback ftrace cannot hook (a notrace function) fails the whole link: the
		 * fixed points on their own, the callbacks each on a kprobe of its own. */
		vt_dbg("kprobe_multi: refused with %d callbacks: the points alone", ncb);
		n[0] -= ncb;
		n[1] -= ncb;
		vt_cb_multi_unwind(t);
		ncb = 0;
		err = attach_dispatchers(t, dispatch, addrs, cookies, n);
	}
	if (!err && ncb)
		vt_cb_multi_attached(t);
	return err;
}

void vt_bpf_note_missing(struct vt_bpf *t)
{
	size_t len = 0;

	t->missing[0] = 0;
	/* an iommufd-only host: one line for type1's points, not one each */
	if (!t->env.mod_type1)
		len = snprintf(t->missing, sizeof(t->missing),
			       "the type1 container path (vfio_iommu_type1 not loaded; its "
			       "containers are traced by a vfio-trace started after it loads)");
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		/* reconstructed (vfio_notify_dma_unmap) is measured, from the callbacks; a path
		 * this kernel does not have (iommufd on Debian's) is not a loss */
		if (!p->progs || p->method == VT_M_FENTRY || p->method == VT_M_KPROBE ||
		    p->method == VT_M_TRACEPOINT || p->method == VT_M_INLINED || p->absent ||
		    !point_wanted(t, p) ||
		    (!t->env.mod_type1 && p->module && !strcmp(p->module, "vfio_iommu_type1")))
			continue;
		len += snprintf(t->missing + len, sizeof(t->missing) - len, "%s%s (%s)",
				len ? "; " : "", p->name, p->reason);
		if (len >= sizeof(t->missing))
			return;
	}
	for (int i = 0; i < t->ncb_untraced && len < sizeof(t->missing); i++)
		len += snprintf(
			t->missing + len, sizeof(t->missing) - len,
			"%sdma_unmap callback %s (no probe takes it, a notrace function: its "
			"devices' callbacks, and the notifies reconstructed from them, are "
			"not counted)",
			len ? "; " : "", t->cb_untraced[i].sym);
}

static unsigned stats_entries(int ncpus, size_t value)
{
	size_t n = (32u << 20) / (value * (ncpus > 0 ? ncpus : 1));

	return n < 128 ? 128 : n > 4096 ? 4096 : n;
}

/* Hot-row slots (vt_rowc): a power of two, 64 where 4 MiB allow it, at least 8;
 * VFIO_TRACE_HOT_ROWS=N (a power of two up to 64) sets it, so the lab can send most keys
 * through vt_stats (N=1) and check that both add up. */
static unsigned rowc_slots(int ncpus)
{
	size_t n = (4u << 20) / (sizeof(struct vtr_rowc) * (ncpus > 0 ? ncpus : 1));
	const char *e = getenv("VFIO_TRACE_HOT_ROWS");
	unsigned slots = 8;

	if (e) {
		unsigned long v = strtoul(e, NULL, 10);

		if (v >= 1 && v <= 64 && !(v & (v - 1)))
			return v;
	}
	while (slots < 64 && slots * 2 <= n)
		slots *= 2;
	return slots;
}

/* Devices already open (VMs running before vfio-trace): one pass of the task_file iterator
 * learns them, and the lifecycle ring attaches their callbacks before tracing begins. */
static void find_open_devices(struct vt_bpf *t)
{
	struct bpf_link *l = t->skel->links.it_devices;
	char buf[64];
	int fd, n = 0;

	if (!l) {
		vt_warn("cannot list the VFIO devices open before start (%s): their callbacks are "
			"attached at their next pin or unpin",
			t->env.vmlinux_btf ? "no vfio_device_fops in kallsyms" :
					     "no kernel BTF for the BPF iterator");
		return;
	}
	fd = bpf_iter_create(bpf_link__fd(l));
	if (fd < 0) {
		vt_warn("cannot run the open-device iterator: %s", strerror(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	t->poll_end = vt_now_ns() + 2000000000ull;
	while ((n = ring_buffer__poll(t->rb, 0)) > 0)
		;
}

/* A /proc/self/status line's kB (VmHWM, RssAnon, ...) in MiB. */
static double status_mib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	size_t len = strlen(field);
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024.0;
}

/* The process's peak RSS so far (what wait4's ru_maxrss reports at exit), in MiB. */
static double vmhwm_mib(void)
{
	return status_mib("VmHWM");
}

/* -v -v: what is resident at a step of the start, to tell what libbpf's peak sits on. */
static void memory_at(const char *step)
{
	if (vt_verbose >= 2)
		vt_dbg("start-up memory %s: VmRSS %.1f MiB (anon %.1f, file %.1f), VmHWM %.1f MiB",
		       step, status_mib("VmRSS"), status_mib("RssAnon"), status_mib("RssFile"),
		       vmhwm_mib());
}

/* VFIO_TRACE_CORE_BTF=kernel: CO-RE against the kernel's whole BTF, as libbpf does by itself
 * (to compare; lib/core_btf.c). */
static bool core_btf_off(void)
{
	const char *v = getenv("VFIO_TRACE_CORE_BTF");

	return v && !strcmp(v, "kernel");
}

/* CO-RE's target: the kernel's types the main and callback objects can name, from vmlinux
 * and the modules their types can be in (the attach points' and those using vfio), in a memfd
 * for their opens. */
static void core_btf_write(struct vt_bpf *t, struct btf *base, const char *const *holders,
			   int nholders)
{
	const char *modules[VT_CORE_BTF_MODULES];
	struct vt_core_obj objs[2];
	int n = 0;

	/* the callbacks' objects too (a driver loaded later, the kprobe_multi instance): one walk
	 * of the kernel's types for both, the memfd kept open for them */
	objs[0].elf = vfio_trace_bpf__elf_bytes(&objs[0].size);
	objs[1].elf = callback_bpf__elf_bytes(&objs[1].size);

	for (int i = 0; i < vt_npoints && n < VT_CORE_BTF_MODULES; i++)
		if (vt_points[i].module && vt_points[i].module[0])
			modules[n++] = vt_points[i].module;
	for (int i = 0; i < nholders && n < VT_CORE_BTF_MODULES; i++)
		modules[n++] = holders[i];
	t->core_btf_fd = vt_core_btf_write(objs, 2, base, modules, n);
	if (t->core_btf_fd < 0)
		return;
	snprintf(t->core_btf_path, sizeof(t->core_btf_path), "/proc/self/fd/%d", t->core_btf_fd);
	if (access(t->core_btf_path, R_OK)) { /* no /proc here: libbpf could not read it */
		vt_dbg("CO-RE target: %s unreadable (%s): the kernel's whole BTF", t->core_btf_path,
		       strerror(errno));
		close(t->core_btf_fd);
		t->core_btf_fd = -1;
		t->core_btf_path[0] = 0;
	}
}

const char *vt_bpf_core_target(const struct vt_bpf *t)
{
	if (t->opts.btf_path)
		return t->opts.btf_path;
	return t->core_btf_path[0] ? t->core_btf_path : NULL;
}

/* Before the open: the start's callbacks in the BTF of the modules using vfio, the BTF ids of
 * every fentry program's target (lib/fentry_targets.c) and CO-RE's target (lib/core_btf.c),
 * with one parse of the kernel's BTF for all three, freed before libbpf's own: one at a time,
 * the peak is one parse. */
static void find_before_load(struct vt_bpf *t, const char *const *holders, int nholders)
{
	struct btf *base = NULL;
	int nfentry = 0;

	vt_fentry_targets_free();
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		if (p->method != VT_M_FENTRY || !p->progs)
			continue;
		/* what its programs load against: the symbol doctor found where set_autoload()
		 * retargets them, else the function their section names */
		vt_fentry_targets_want(p->symbol[0] ? p->symbol : p->name, p->module);
		nfentry++;
	}
	/* --btf: the callbacks are in the file, which is CO-RE's target too; fentry's targets
	 * must be in the kernel's own BTF, which such a kernel lacks (and fentry is not used
	 * then) */
	if (!t->opts.btf_path)
		base = btf__load_vmlinux_btf();
	if (nholders > 0)
		vt_cb_find_early(t, holders, nholders, base);
	if (nfentry)
		vt_fentry_targets_find(base);
	if (base && !core_btf_off())
		core_btf_write(t, base, holders, nholders);
	btf__free(base);
}

static int open_and_load(struct vt_bpf *t, const struct vt_tracer_opts *opts)
{
	const struct vt_ksym *fops = vt_ksyms_data(t->ks, "vfio_device_fops", "vfio");
	__u32 ring, slots;

	/* --btf: the file is CO-RE's target instead of the kernel's BTF (libbpf then looks in no
	 * module BTF: the VFIO modules' types are in the file, lib/btf_file.c); else the
	 * kernel's types this object can name, when they were written (lib/core_btf.c) */
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = vt_bpf_core_target(t));

	memory_at("before the open");
	t->skel = vfio_trace_bpf__open_opts(&oo);
	if (!t->skel) {
		vt_err("cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	t->skel->rodata->vt_features = features(opts);
	t->skel->rodata->vt_targ_tgid = opts->tgid;
	t->skel->rodata->vt_hold_modules = !opts->no_hold;
	t->skel->rodata->vt_device_fops = fops ? fops->addr : 0;
	/* vfio_notify_dma_unmap attaches: the callbacks stop reconstructing the notifies */
	t->skel->rodata->vt_notify_direct = point_usable("vfio_notify_dma_unmap");
	/* vfio_dma_do_unmap attaches: the unmap is measured there, not at the ioctl */
	t->skel->rodata->vt_unmap_direct = point_usable("vfio_dma_do_unmap");
	set_autoload(t);
	/* The per-CPU stats are preallocated: about 32 MiB whatever the CPU count, 128..4096 keys
	 * (the spill map takes the rest). VFIO_TRACE_STATS_ENTRIES=N shrinks both to N keys, so
	 * the lab can fill them and check that every observation left out is counted. */
	bpf_map__set_max_entries(t->skel->maps.vt_stats,
				 stats_entries(t->ncpus, sizeof(struct vtr_stat)));
	if (getenv("VFIO_TRACE_STATS_ENTRIES")) {
		unsigned long n = strtoul(getenv("VFIO_TRACE_STATS_ENTRIES"), NULL, 10);

		if (n >= 1 && n <= 65536) {
			bpf_map__set_max_entries(t->skel->maps.vt_stats, n);
			bpf_map__set_max_entries(t->skel->maps.vt_stats_spill, n);
		}
	}
	slots = rowc_slots(t->ncpus);
	bpf_map__set_max_entries(t->skel->maps.vt_rowc, slots);
	t->skel->rodata->vt_rowc_mask = slots - 1;
	/* The per-event ring costs memory only when snoop asks for it. */
	bpf_map__set_max_entries(
		t->skel->maps.vt_events,
		(opts->snoop ? (opts->ringbuf_pages ? opts->ringbuf_pages : 64) : 1) *
			getpagesize());
	/* Readers poll every 100 ms at most (vt_bpf_wait); the records that find the ring a
	 * quarter full, up to a band of 1/16 of it but at least ~15 records, wake them
	 * (bpf/vt_core.bpf.h). */
	ring = bpf_map__max_entries(t->skel->maps.vt_events);
	t->skel->rodata->vt_events_wake = ring / 4;
	t->skel->rodata->vt_events_band = ring / 16 > 2048 ? ring / 16 : 2048;
	/* the start's callbacks: fentry slots and the kprobe pair of this object */
	t->cb_slots = vt_cb_slots_set(t);
	/* -v -v -v: the verifier's statistics of each program (its time, the instructions it
	 * processed), among libbpf's debug lines */
	if (vt_verbose > 2) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, t->skel->obj)
			bpf_program__set_log_level(prog, 4);
	}
	memory_at("before the load");
	return vfio_trace_bpf__load(t->skel);
}

/* Undo a load (and attach) that is to be retried with kprobes. */
static void unload(struct vt_bpf *t)
{
	if (t->skel)
		vt_hold_release_all(t);
	vt_guard_stop(t);
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	t->nextra = 0;
	for (int r = 0; r < 2; r++) {
		bpf_link__destroy(t->kmulti_links[r]);
		t->kmulti_links[r] = NULL;
	}
	/* the callbacks collected for kprobe_multi: they share this object's maps */
	vt_cb_detach_all(t);
	t->cb_multi_collect = false;
	vfio_trace_bpf__destroy(t->skel);
	t->skel = NULL;
}

#define VT_MAX_HOLDERS 64

int vt_bpf_open(struct vt_bpf **out, const struct vt_tracer_opts *opts)
{
	char holders[VT_MAX_HOLDERS][VT_MODNAME_LEN];
	const char *holder_names[VT_MAX_HOLDERS + 1];
	int nholders;
	struct vt_bpf *t = calloc(1, sizeof(*t));
	const char *blocker, *step;
	int err, nprog = 0;
	struct bpf_program *prog;
	uint64_t t0 = vt_now_ns(), t1, tcb = 0, t2 = 0, t3 = 0, t4, t5, t6;
	double hwm_load;

	if (!t)
		return -ENOMEM;
	/* before anything calls vt_tracer_* on it (the storm detector's baseline, below) */
	t->base.be = &vt_backend_bpf;
	t->opts = *opts;
	t->core_btf_fd = -1;
	t->retry_alerts.opts = &t->opts;
	/* Only the symbols of the modules using vfio.ko and a few vmlinux names: each asked of
	 * the kernel where it can answer quickly (its sorted name index), else one pass over
	 * /proc/kallsyms. */
	nholders = vt_vfio_holders("/sys/module", holders, VT_MAX_HOLDERS);
	for (int i = 0; i < nholders; i++)
		holder_names[i] = holders[i];
	holder_names[nholders > 0 ? nholders : 0] = NULL;
	t->ksym_lookup = vt_ksym_lookup_open();
	t->ks = t->ksym_lookup ?
			vt_ksyms_open_lookup(vt_ksym_lookup, t->ksym_lookup, holder_names) :
			vt_ksyms_load_with(holder_names);
	t1 = vt_now_ns();
	memory_at("after the symbols");
	/* No test attaches: the skeleton's own load and attach are the test. */
	vt_env_probe(&t->env, true);
	t->env.btf_file = opts->btf_path;
	/* fentry needs the kernel's own BTF, --btf's file or not. A command stopped by Ctrl-C
	 * or a reader that left (no count) is waited for by someone: kprobes, which detach in
	 * ~1 s (lib/detach.c); fentry's detach waits ~0.2 s per function, one function at a time
	 * (docs/BENCHMARKS.md "Exit"). A command with a count ends by itself and keeps fentry,
	 * cheaper per event. A kernel without the perf kprobe PMU keeps fentry for both: slower
	 * to stop, but tracing.
	 * Closed at once, kprobe_multi is quicker to stop still: one link for every entry, one
	 * for every return, where the kernel has them (not Debian's 6.1: no CONFIG_FPROBE). Such
	 * a link holds the modules it probes (rmmod: in use) as fentry does, so export, record
	 * and --kprobe (and VFIO_TRACE_NO_FENTRY) keep a kprobe per function, which module reloads
	 * leave free to go (lib/reload.c). */
	t->kmulti_on = opts->until_stopped && !opts->no_kprobe_multi && !opts->force_kprobe &&
		       !t->env.force_kprobe && t->env.kprobe_multi && t->env.kprobes;
	if (opts->force_kprobe || (opts->until_stopped && t->env.kprobes) || !t->env.vmlinux_btf)
		t->env.force_kprobe = true;
	/* The module functions by kprobe (asked for, or no fentry): the modules can then go and
	 * come back under the tracer, which must follow (lib/reload.c). */
	if (t->env.force_kprobe) {
		t->opts.module_reload = true;
		t->env.fentry_works = false;
	}
	t->env.module_kprobes = t->opts.module_reload;
	t->ncpus = libbpf_num_possible_cpus();
	for (;;) {
		vt_points_probe(&t->env, t->ks);
		blocker = vt_env_blocker(&t->env);
		if (blocker) {
			vt_err("%s", blocker);
			err = -ENOTSUP;
			goto fail;
		}
		if (!t2) {
			tcb = vt_now_ns();
			/* The callbacks before the load, so that the main object holds their
			 * programs (its one parse of the kernel's BTF and its load serve them);
			 * once this kernel is known to be traceable (no kernel BTF nor --btf:
			 * refused above in one line). The parse here is freed before libbpf's:
			 * one at a time, the peak is one parse. */
			find_before_load(t, holder_names, nholders);
			memory_at("after the callbacks' BTF");
			t2 = vt_now_ns();
		}
		step = "load";
		err = open_and_load(t, &t->opts);
		if (!err) {
			t3 = vt_now_ns();
			step = "attach";
			if (!opts->no_hold)
				vt_guard_start(t);
			err = vfio_trace_bpf__attach(t->skel);
			if (!err)
				err = attach_retargeted(t);
			if (!err && t->kmulti_on)
				err = attach_kprobe_multi(t, holder_names, nholders);
			if (!err)
				break;
		}
		unload(t);
		/* a callback's fentry slot refused at load (a target fentry cannot take): the
		 * callbacks in objects of their own, as any found later, the rest as it was */
		if (t->cb_slots && !strcmp(step, "load")) {
			vt_dbg("the callbacks' programs did not load in the main object (%s): an "
			       "object each",
			       strerror(-err));
			t->cb_no_slots = true;
			continue;
		}
		/* kprobe_multi refused (a function ftrace cannot take, say): a kprobe each */
		if (t->kmulti_on) {
			vt_dbg("kprobe_multi did not %s (%s): a kprobe per function", step,
			       strerror(-err));
			t->kmulti_on = false;
			continue;
		}
		/* A function fentry cannot take (no BTF for it, say), a kernel that refuses
		 * trampolines: everything by kprobe. */
		if (t->env.force_kprobe || !t->env.kprobes) {
			vt_err("cannot %s the BPF programs: %s (run with -v for libbpf's messages)",
			       step, strerror(-err));
			goto fail;
		}
		vt_warn("fentry programs did not %s (%s): using kprobes", step, strerror(-err));
		t->env.force_kprobe = true;
		t->env.fentry_works = false;
		t->opts.module_reload = t->env.module_kprobes = true;
	}
	t4 = vt_now_ns();
	vt_fentry_targets_free(); /* loaded: the kernel holds the BTF objects it needs */
	hwm_load = vmhwm_mib();
	memory_at("after the load and attach");
	if (vt_rings_open(t)) {
		vt_err("cannot set up the ring buffers: %s", strerror(errno));
		err = -errno;
		goto fail;
	}
	/* Every function that can be a callback, before tracing starts: a device that opens,
	 * pins and unmaps in the next millisecond is traced from its first callback (on
	 * kprobe_multi, attached already with the fixed points, on the same two links). */
	if (nholders > 0 && !t->kmulti_on)
		vt_cb_attach_early(t);
	t5 = vt_now_ns();
	memory_at("after the callbacks");
	find_open_devices(t);
	t6 = vt_now_ns();
	vt_bpf_note_missing(t);
	/* the dispatchers are not counted: the programs that trace are the same either way; nor
	 * the callbacks' (counted as attached, a line each, wherever their programs are) */
	bpf_object__for_each_program(prog, t->skel->obj)
		nprog += bpf_program__autoload(prog) && prog != t->skel->progs.it_task_stacks &&
			 prog != t->skel->progs.km_dispatch_entry &&
			 prog != t->skel->progs.km_dispatch_exit && !vt_cb_main_prog(t, prog);
	vt_dbg("start-up: kallsyms %.2f s (%zu symbols kept, %s), probe %.2f s, callbacks' BTF "
	       "%.2f s, load %.2f s, attach %.2f s (programs %.2f, callbacks %.2f, open devices "
	       "%.2f), peak RSS (VmHWM) %.1f MiB (%.1f after the load)",
	       (t1 - t0) / 1e9, vt_ksyms_count(t->ks),
	       vt_ksyms_lookup_mode(t->ks) ? "looked up" : "one pass", (tcb - t1) / 1e9,
	       (t2 - tcb) / 1e9, (t3 - t2) / 1e9, (vt_now_ns() - t3) / 1e9, (t4 - t3) / 1e9,
	       (t5 - t4) / 1e9, (t6 - t5) / 1e9, vmhwm_mib(), hwm_load);
	/* libbpf parses the kernel's BTF once per object (~10 MiB for an instant, the main object
	 * and each callback's); glibc then raises its mmap threshold past those buffers, so the
	 * later parses come from the heap and stay resident after their free (the lab, 6.12:
	 * 11.3 MiB of heap still held once tracing, against empty-load's 0.2). Give it back. */
	malloc_trim(0);
	/* the storm detector's baseline: counted from here on */
	if (vt_storm_live_open(&t->storm, &t->base, &t->opts)) {
		err = -ENOMEM;
		goto fail;
	}
	vt_storm_live_tick(&t->storm);
	fprintf(stderr, "%s: attached %d programs (%s), tracing\n", vt_prog, nprog,
		t->kmulti_on ?
			"kprobe_multi" :
			vt_method_name(vt_point_find(t->env.mod_type1 ? "vfio_iommu_type1_ioctl" :
									"iommufd_ioas_unmap")
					       ->method));
	if (t->missing[0])
		vt_warn("not traced on this kernel: %s", t->missing);
	/* What attaching callbacks later still takes, nothing more (lib/caps.c). */
	vt_caps_after_attach(VT_CAPS_TRACER);
	*out = t;
	return 0;
fail:
	vt_fentry_targets_free();
	vt_bpf_close(t);
	return err;
}

struct vt_ksyms *vt_bpf_ksyms(struct vt_bpf *t)
{
	return t->ks;
}

void vt_prog_report(struct bpf_program *p, const char *name, vt_prog_fn fn, void *ctx)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	const char *sec = bpf_program__section_name(p);
	char method[16];

	if (bpf_program__fd(p) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		memset(&info, 0, sizeof(info));
	snprintf(method, sizeof(method), "%.*s", (int)strcspn(sec, "/.+"), sec);
	fn(ctx, name, method, info.run_time_ns, info.run_cnt);
}

void vt_bpf_programs(struct vt_bpf *t, vt_prog_fn fn, void *ctx)
{
	const struct bpf_object_skeleton *s = t->skel->skeleton;

	for (int i = 0; i < s->prog_cnt; i++)
		if (*s->progs[i].link)
			vt_prog_report(*s->progs[i].prog, s->progs[i].name, fn, ctx);
	for (int i = 0; i < t->nextra && i < t->nretarget; i++)
		vt_prog_report(t->retarget[i].prog, bpf_program__name(t->retarget[i].prog), fn,
			       ctx);
	/* the dispatchers (their run counts and times take in their handlers': a tail call
	 * counts no run of its own), then the handlers */
	for (int r = 0; r < 2; r++)
		if (t->kmulti_links[r])
			vt_prog_report(r ? t->skel->progs.km_dispatch_exit :
					   t->skel->progs.km_dispatch_entry,
				       r ? "km_dispatch_exit" : "km_dispatch_entry", fn, ctx);
	for (int i = 0; t->kmulti_links[0] && i < t->nkmulti; i++)
		vt_prog_report(t->kmulti[i].prog, bpf_program__name(t->kmulti[i].prog), fn, ctx);
	vt_cb_programs(t, fn, ctx);
}

const char *vt_bpf_missing(struct vt_bpf *t)
{
	return t->missing;
}

const char *vt_bpf_ksym(struct vt_bpf *t, uint64_t addr, char *buf, size_t len)
{
	const struct vt_ksym *k = vt_ksyms_by_addr(t->ks, addr);

	if (!k)
		snprintf(buf, len, "%#llx", (unsigned long long)addr);
	else
		snprintf(buf, len, "%s+%#llx%s%s%s", k->name, (unsigned long long)(addr - k->addr),
			 k->module ? " [" : "", k->module ? k->module : "", k->module ? "]" : "");
	return buf;
}

void vt_bpf_close(struct vt_bpf *t)
{
	if (!t)
		return;
	if (t->skel)
		vt_hold_release_all(t);
	vt_guard_stop(t);
	vt_alerts_flush(t);
	vt_storm_live_close(&t->storm);
	vt_detach_links(t);
	ring_buffer__free(t->rb);
	vt_cb_detach_all(t);
	for (int i = 0; i < t->nextra; i++)
		bpf_link__destroy(t->extra[i]);
	for (int r = 0; r < 2; r++)
		bpf_link__destroy(t->kmulti_links[r]);
	vfio_trace_bpf__destroy(t->skel);
	vt_ksyms_free(t->ks);
	vt_ksym_lookup_close(t->ksym_lookup); /* after the table that asks it */
	if (t->core_btf_fd >= 0)
		close(t->core_btf_fd);
	free(t->early);
	free(t->devtab);
	vt_snapshot_free(&t->retired);
	vt_rowidx_free(&t->retired_idx);
	free(t);
}
