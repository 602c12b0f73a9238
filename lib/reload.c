// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO modules unloaded and loaded again under a running tracer (vfio, vfio_iommu_type1, the
 * drivers): an operator updating a driver, a host agent reloading vfio-pci. A long-running
 * command (export) asks for VT_FEAT_RELOAD: its module functions are probed by kprobe, which
 * takes no module reference (an fentry trampoline does, and rmmod would then say "in use"),
 * and bpf/vfio_trace.bpf.c reports the modules' unloads (module:module_free) and loads.
 *
 * A kprobe on a module that goes away stays registered but dead ("gone"): the kernel does not
 * arm it again when the module comes back, and the callback programs' cookies are the old
 * function addresses. So an unload removes the module's probes and forgets its symbols, and
 * a load attaches them anew, while the loader is held (rt_module_load): whatever the loader's
 * caller starts next (a VM) is traced from its first unmap. The counts live in the maps,
 * which outlive every probe: nothing restarts from zero.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer.h"

/* Where the skeleton keeps prog's link (NULL: not a skeleton program). */
static struct bpf_link **link_slot(struct vt_bpf *t, const struct bpf_program *prog)
{
	const struct bpf_object_skeleton *s = t->skel->skeleton;

	for (int i = 0; i < s->prog_cnt; i++)
		if (*s->progs[i].prog == prog)
			return s->progs[i].link;
	return NULL;
}

/* The kprobes of module's fixed points (lib/points.c) removed and, when attach, made again;
 * how many links were removed (attach: how many are attached now). An fentry point is left
 * alone: its trampoline kept the module from going. */
static int module_points(struct vt_bpf *t, const char *module, bool attach)
{
	struct point_progs b[VT_MAX_POINT_PROGS];
	int n = vt_point_progs(t->skel, b), links = 0;

	for (int i = 0; i < n; i++) {
		const struct vt_point *p = vt_point_find(b[i].point);
		struct bpf_program *progs[2] = { b[i].kp, b[i].kr };

		if (!p || !p->module || strcmp(p->module, module) || p->method != VT_M_KPROBE)
			continue;
		for (int k = 0; k < 2; k++) {
			struct bpf_link **l = progs[k] ? link_slot(t, progs[k]) : NULL;

			/* a kprobe_multi handler: its link holds the module, which cannot go */
			if (!l || !bpf_program__autoload(progs[k]) ||
			    bpf_program__expected_attach_type(progs[k]) == BPF_TRACE_KPROBE_MULTI)
				continue;
			if (*l && !attach)
				links++;
			bpf_link__destroy(*l);
			*l = attach ? bpf_program__attach(progs[k]) : NULL;
			if (*l)
				links++;
			else if (attach)
				vt_warn("cannot attach to %s again (module %s): %s: not traced",
					p->symbol, module, strerror(errno));
		}
	}
	return links;
}

/* The devices whose dma_unmap is one of module's callbacks are gone with it (a module's
 * devices are unregistered before it can go): out of the kernel side's device map, so that
 * nothing tries to attach their callbacks again, and a new device at a reused address is not
 * taken for one of them before it registers. */
static void forget_devices(struct vt_bpf *t, const char *module)
{
	int fd = bpf_map__fd(t->skel->maps.vt_devices);
	uint64_t key, next, *prev = NULL;
	struct vtr_device dev;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool gone = false;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &dev))
			continue;
		for (int i = 0; i < t->ncbs && !gone; i++)
			gone = t->cbs[i].addr == dev.dma_unmap &&
			       vt_cb_in_module(&t->cbs[i], module);
		/* deleting the current key: the walk goes on from the start, which is short */
		if (gone && !bpf_map_delete_elem(fd, &key))
			prev = NULL;
	}
}

static void module_free(struct vt_bpf *t, const char *module)
{
	int links;

	forget_devices(t, module);
	links = module_points(t, module, false) + vt_cb_detach_module(t, module);
	vt_ksyms_forget_module(t->ks, module);
	fprintf(stderr,
		"%s: module %s unloaded: %d probes removed; they are attached again when it is "
		"loaded again\n",
		vt_prog, module, links);
}

static void module_load(struct vt_bpf *t, const struct vtr_event *e, const char *module)
{
	/* Left from an unload whose record was lost, or a module that was loaded before: their
	 * addresses are not this module's. */
	int stale = module_points(t, module, false) + vt_cb_detach_module(t, module), fixed;

	/* an iommufd-only start (lib/probe.c): type1's programs were never loaded, and
	 * cannot be now (their CO-RE needed its BTF at load) */
	if (!strcmp(module, "vfio_iommu_type1") && !t->env.mod_type1)
		vt_warn("vfio_iommu_type1 loaded after the start: its containers are not traced "
			"until vfio-trace is started again");
	vt_ksyms_reload_module(t->ks, module);
	fixed = module_points(t, module, true);
	if (fixed || stale)
		fprintf(stderr, "%s: module %s loaded: %d probes attached to its functions\n",
			vt_prog, module, fixed);
	vt_cb_attach_modules(t, &module, 1);
	if (e->ret)
		vt_hold_release(t, e->tgid);
}

void vt_module_event(struct vt_bpf *t, const struct vtr_event *e)
{
	char module[VT_MODNAME_LEN];

	/* the kernel's name: no control characters, shorter than MODULE_NAME_LEN */
	snprintf(module, sizeof(module), "%.*s", (int)sizeof(e->dev), e->dev);
	if (e->op == VT_EV_MODULE_FREE)
		module_free(t, module);
	else
		module_load(t, e, module);
	__atomic_add_fetch(&t->module_gen, 1, __ATOMIC_RELEASE);
}

unsigned vt_bpf_module_generation(struct vt_bpf *t)
{
	return __atomic_load_n(&t->module_gen, __ATOMIC_ACQUIRE);
}
