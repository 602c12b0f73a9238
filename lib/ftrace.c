// SPDX-License-Identifier: GPL-2.0
/*
 * The ftrace backend: the same rows as the BPF backend, without bpf(). Kprobe and kretprobe
 * dynamic events on the attach points of bpf/vfio_trace.bpf.c (and the drivers' dma_unmap
 * callbacks, found as lib/callbacks.c finds them), created with libtracefs in an event group
 * of this run's own (vfio_trace_<pid>) and enabled only in a tracefs instance of the same name:
 * nothing global is touched, and everything goes at exit. A run killed before it could remove
 * them leaves both behind: the next start (and doctor --cleanup) removes those whose process
 * is gone (lib/ftrace_cleanup.c).
 *
 * Kernel struct fields are fetched at offsets computed from the running kernel's BTF (vmlinux
 * and module BTF, libbpf) or --btf's file (lib/ftrace_btf.c), never hard-coded; the
 * UNMAP/MAP_DMA user struct at the offsets of the uapi header. Reading and accounting:
 * lib/ftrace_read.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <event-parse.h>
#include <tracefs.h>
#include "ftrace.h"

/* ---- the events -------------------------------------------------------------------------- */

/* The field names of each kind's fetch arguments, in the order lib/ftrace_read.c reads them
 * (ft_rec.v[]); "name"/"drv" strings are looked up apart. */
static const char *const ft_fields[FT_NKINDS][VT_FT_NFIELDS] = {
	/* the caller's struct, each offset fetched once: 8 unmap iova, 16 map iova and unmap
	 * size (the same word), 24 map size */
	[FT_IOCTL] = { "iommu", "cmd", "uarg", "uiova", "miova_usize", "msize" },
	[FT_REMOVE] = { "iommu", "iova", "size" },
	[FT_UNMAP_UNPIN] = { "iommu", "iova", "size" },
	[FT_DETACH] = { "iommu" },
	[FT_RELEASE] = { "iommu" },
	[FT_REGISTER] = { "iommu", "vdev", "unmap" },
	[FT_UNREGISTER] = { "iommu", "vdev", "unmap" },
	[FT_PIN] = { "vdev", "iova", "npage", "unmap" },
	[FT_UNPIN] = { "vdev", "iova", "npage", "unmap" },
	[FT_CB] = { "vdev", "iova", "len", "unmap", "next", "prev" },
	[FT_NOTIFY] = { "iommu", "iova", "size" },
	[FT_IOCTL_RET] = { "ret" },
	[FT_PIN_RET] = { "ret" },
	/* the iommufd path: the command's iova and length (the kernel copy ucmd->cmd) */
	[FT_IOAS_UNMAP] = { "iova", "length" },
	[FT_IOAS_UNMAP_RET] = { "ret" },
	[FT_IOAS_MAP] = { "iova", "length" },
	[FT_IOAS_MAP_RET] = { "ret" },
	[FT_IOAS_NOTIFY] = { "iopt", "iova", "length" },
	[FT_IOAS_DESTROY] = { "obj" },
	[FT_IOPT_UNMAP] = { "iopt" },
	[FT_IOPT_MAP] = { "iopt" },
	[FT_AREA_UNFILL] = { "start", "last" },
	/* the phases: dtype (struct iommu_domain.type) is what their filters test */
	[FT_IOMMU_UNMAP] = { "dtype", "iova", "size" },
	[FT_IOMMU_UNMAP_RET] = { "ret" },
	[FT_IOTLB_SYNC] = { "dtype", "start", "end" },
	[FT_UNPIN_REMOTE] = { "iova" },
	[FT_UNPIN_REMOTE_RET] = { "ret" },
	[FT_IOVA_WALK] = { "dtype", "iova" },
	[FT_UNMAP_PAGES] = { "dtype", "pgsize", "pgcount" },
	[FT_MUTEX_LOCK] = { "lock", "caller" },
	[FT_MUTEX_UNLOCK] = { "lock", "caller" },
	[FT_MUTEX_WAIT] = { "lock" },
	[FT_KERNEL_STACK] = { "size" }, /* its caller[] is read apart */
};

int vt_ft_bind_fields(struct vt_ftrace *f)
{
	for (int i = 0; i < f->nev; i++) {
		struct ft_event *e = &f->ev[i];
		struct tep_event *te =
			tep_find_event_by_name(f->tep, e->system ? e->system : f->name, e->name);

		if (!te)
			return -1;
		e->id = te->id;
		e->te = te;
		for (int j = 0; j < VT_FT_NFIELDS && ft_fields[e->kind][j]; j++) {
			e->f[j] = tep_find_field(te, ft_fields[e->kind][j]);
			if (!e->f[j])
				return -1;
		}
		e->name_f = tep_find_field(te, "name");
		e->drv_f = tep_find_field(te, "drv");
		e->comm_f = tep_find_field(te, "comm");
	}
	return 0;
}

/* A kretprobe's instances: calls in flight at once on that function before one is missed. */
#define FT_MAXACTIVE 256

/* Create one event (retprobe: a kretprobe) in our group; false (missing noted) if it cannot
 * be. */
static bool add_event(struct vt_ftrace *f, const char *name, enum ft_kind kind, int cb,
		      const char *addr, const char *fmt, bool retprobe)
{
	struct ft_event *e;
	struct tracefs_dynevent *d;

	if (f->nev == VT_FT_MAX_EVENTS)
		return false;
	if (retprobe) {
		/* libtracefs 1.6.4's kretprobe with a maxactive writes "r256::group/event", which
		 * the kernel refuses: the same line written right, through libtracefs */
		char line[1024];

		snprintf(line, sizeof(line), "r%d:%s/%s %s%s%s", FT_MAXACTIVE, f->name, name, addr,
			 fmt[0] ? " " : "", fmt);
		d = tracefs_instance_file_append(NULL, "dynamic_events", line) < 0 ?
			    NULL :
			    tracefs_dynevent_get(TRACEFS_DYNEVENT_KRETPROBE, f->name, name);
	} else {
		d = tracefs_kprobe_alloc(f->name, name, addr, fmt);
		if (d && tracefs_dynevent_create(d)) {
			tracefs_dynevent_free(d);
			d = NULL;
		}
	}
	if (!d) {
		vt_dbg("ftrace: cannot create %s %s/%s at %s (%s): %s",
		       retprobe ? "kretprobe" : "kprobe", f->name, name, addr, fmt,
		       strerror(errno));
		return false;
	}
	e = &f->ev[f->nev++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->kind = kind;
	e->cb = cb;
	e->retprobe = retprobe;
	e->dyn = d;
	e->id = -1;
	return true;
}

/* An entry kprobe and its kretprobe ("<name>_ret"); false when either cannot be created. */
static bool add_pair(struct vt_ftrace *f, const char *name, enum ft_kind kind, int cb,
		     const char *addr, const char *fmt)
{
	char rname[24];

	snprintf(rname, sizeof(rname), "%s_ret", name);
	/* only the ioctls' and vfio_pin_pages' results are read (the kernel refuses $retval of
	 * a void function); an int's: the register's upper half is not its */
	return add_event(f, name, kind, cb, addr, fmt, false) &&
	       add_event(f, rname, kind + 1, cb, addr,
			 kind == FT_PIN || kind == FT_IOAS_UNMAP || kind == FT_IOAS_MAP ?
				 "ret=$retval:s32" :
			 kind == FT_IOCTL ? "ret=$retval:s64" :
					    "",
			 true);
}

static void note_missing(struct vt_ftrace *f, const char *what)
{
	size_t l = strlen(f->missing);

	snprintf(f->missing + l, sizeof(f->missing) - l, "%s%s", l ? ", " : "", what);
}

/* Remove the events from index first on (created, then found not to be of use). */
static void drop_events(struct vt_ftrace *f, int first)
{
	while (f->nev > first) {
		struct ft_event *e = &f->ev[--f->nev];

		if (e->dyn) {
			tracefs_dynevent_destroy(e->dyn, true);
			tracefs_dynevent_free(e->dyn);
		}
		memset(e, 0, sizeof(*e));
	}
}

/* The iommufd path (a VFIO device cdev bound to /dev/iommu: an IOAS, not a type1 container):
 * the points of bpf/vt_iommufd.bpf.h as kprobe events, where the kernel has the module
 * loaded. A kernel without it (no CONFIG_IOMMUFD, Debian's) has no such path: not a loss,
 * nothing said, as on the BPF backend. All or nothing: a part of them would count wrong. */
static void create_iommufd_events(struct vt_ftrace *f, struct btf *btf)
{
	struct ft_iommufd_offsets o;
	char fmt[512], why[192];
	int first = f->nev;
	bool ok;

	/* initstate: a loadable module that is loaded (a built-in one has no MODULE:FUNCTION) */
	if (access("/sys/module/iommufd/initstate", F_OK))
		return;
	if (vt_ft_btf_iommufd_offsets(&o, btf, !!f->opts.btf_path, why, sizeof(why))) {
		snprintf(fmt, sizeof(fmt), "the iommufd path (%s)", why);
		note_missing(f, fmt);
		return;
	}
	f->ioas_iopt_off = o.ioas_iopt;
	f->ioas_obj_off = o.ioas_obj;
	/* the command's iova and length, from the kernel's copy of it (ucmd->cmd); the thread's
	 * comm, which a RETRY LIMIT alert names (the thread may be gone before it is read) */
	snprintf(fmt, sizeof(fmt),
		 "iova=+%ld(+%ld($arg1)):u64 length=+%ld(+%ld($arg1)):u64 comm=$comm:string",
		 o.unmap_iova, o.ucmd_cmd, o.unmap_length, o.ucmd_cmd);
	ok = add_pair(f, "ioas_unmap", FT_IOAS_UNMAP, 0, "iommufd:iommufd_ioas_unmap", fmt);
	snprintf(fmt, sizeof(fmt), "iova=+%ld(+%ld($arg1)):u64 length=+%ld(+%ld($arg1)):u64",
		 o.map_iova, o.ucmd_cmd, o.map_length, o.ucmd_cmd);
	ok = ok && add_pair(f, "ioas_map", FT_IOAS_MAP, 0, "iommufd:iommufd_ioas_map", fmt);
	ok = ok && add_event(f, "iopt_unmap", FT_IOPT_UNMAP, 0, "iommufd:iopt_unmap_iova",
			     "iopt=$arg1:x64", false);
	ok = ok && add_event(f, "iopt_unmap_all", FT_IOPT_UNMAP, 0, "iommufd:iopt_unmap_all",
			     "iopt=$arg1:x64", false);
	ok = ok && add_event(f, "iopt_map", FT_IOPT_MAP, 0, "iommufd:iopt_map_user_pages",
			     "iopt=$arg2:x64", false);
	ok = ok &&
	     add_pair(f, "ioas_notify", FT_IOAS_NOTIFY, 0, "iommufd:iommufd_access_notify_unmap",
		      "iopt=$arg1:x64 iova=$arg2:x64 length=$arg3:u64");
	ok = ok && add_pair(f, "ioas_destroy", FT_IOAS_DESTROY, 0, "iommufd:iommufd_ioas_destroy",
			    "obj=$arg1:x64");
	/* an area removed, by an unmap (its bytes are what the unmap reports unmapped) or by a
	 * teardown: [node.start, node.last] */
	snprintf(fmt, sizeof(fmt), "start=+%ld($arg1):u64 last=+%ld($arg1):u64", o.area_start,
		 o.area_last);
	ok = ok && add_event(f, "area_unfill", FT_AREA_UNFILL, 0,
			     "iommufd:iopt_area_unfill_domains", fmt, false);
	if (!ok) {
		drop_events(f, first);
		note_missing(f, "the iommufd path (its kprobe events cannot be created)");
		return;
	}
	f->iommufd = true;
}

/* IOMMU_DOMAIN_UNMANAGED (include/linux/iommu.h: __IOMMU_DOMAIN_PAGING, 1 since 4.x): the
 * type of every domain vfio_iommu_type1 allocates, where the DMA API's are DMA or DMA_FQ
 * (3, 7) and identity 4. A #define, so not in the BTF. */
#define FT_DOMAIN_UNMANAGED 1

/* Filter event name of our group in our instance (false: the kernel refused it). */
static bool filter_event(struct vt_ftrace *f, const char *name, const char *filter)
{
	return tracefs_event_file_write(f->inst, f->name, name, "filter", filter) >= 0;
}

/* One phase's kprobe (entry_fmt, filtered on the domain's type when domain_fetch is not NULL)
 * and, unless ret_fmt is NULL, its kretprobe. A kretprobe has no arguments before 6.9: where
 * the kernel takes $arg1 in one (6.9+), the return is filtered on the domain's type too; else
 * every return of the function reaches the buffer (the reader drops those outside a
 * vfio_unmap_unpin). False (nothing left created) when the function cannot be probed. */
static bool add_phase(struct vt_ftrace *f, const char *name, enum ft_kind kind, const char *addr,
		      const char *entry_fmt, const char *ret_fmt, const char *domain_fetch,
		      const char *filter)
{
	char fmt[256], rname[24];
	int first = f->nev;

	if (!add_event(f, name, kind, 0, addr, entry_fmt, false))
		return false;
	if (domain_fetch && !filter_event(f, name, filter))
		vt_dbg("ftrace: cannot filter %s on the domain's type: every call recorded", name);
	if (!ret_fmt)
		return true;
	snprintf(rname, sizeof(rname), "%s_ret", name);
	snprintf(fmt, sizeof(fmt), "%s%s%s", ret_fmt, ret_fmt[0] && domain_fetch ? " " : "",
		 domain_fetch ? domain_fetch : "");
	if (domain_fetch && add_event(f, rname, kind + 1, 0, addr, fmt, true)) {
		snprintf(fmt, sizeof(fmt), "dtype == %d", FT_DOMAIN_UNMANAGED);
		if (!filter_event(f, rname, fmt))
			vt_dbg("ftrace: cannot filter %s on the domain's type", rname);
		return true;
	}
	if (add_event(f, rname, kind + 1, 0, addr, ret_fmt, true)) {
		if (domain_fetch)
			vt_dbg("ftrace: %s: no $arg1 in a kretprobe here (before 6.9): every return "
			       "of %s is recorded, the reader drops those outside vfio_unmap_unpin",
			       rname, addr);
		return true;
	}
	drop_events(f, first);
	return false;
}

/* The phases of vfio_unmap_unpin (bpf/vt_phases.bpf.h): the IOMMU unmap, the IOTLB flush, the
 * IOVA walk and the unpinning, where the kernel has the functions. iommu_unmap{,_fast},
 * iommu_iova_to_phys and the drivers' iotlb_sync and unmap_pages serve every IOMMU user, the
 * DMA API's unmaps of every device first: their events are filtered in the kernel on the
 * domain's type (unmanaged, vfio's), so those never reach the buffer; the reader counts the
 * rest only inside a vfio_unmap_unpin of the same thread (lib/ftrace_read.c). */
static void create_phase_events(struct vt_ftrace *f, const struct ft_offsets *o)
{
	char dom[64], fmt[256], filter[64];
	int first = f->nev;
	bool ok, vtd, amd;

	if (f->opts.no_detail)
		return; /* no per-vfio_dma events wanted (top without --phases): not a loss */
	if (o->domain_type < 0 || o->gather_start < 0 || o->gather_end < 0) {
		note_missing(f, "the phases of vfio_unmap_unpin (no IOMMU structs in the BTF)");
		return;
	}
	snprintf(dom, sizeof(dom), "dtype=+%ld($arg1):u32", o->domain_type);
	snprintf(filter, sizeof(filter), "dtype == %d", FT_DOMAIN_UNMANAGED);
	snprintf(fmt, sizeof(fmt), "%s iova=$arg2:x64 size=$arg3:u64", dom);
	/* the return value: the bytes unmapped (size_t) */
	ok = add_phase(f, "unmap_fast", FT_IOMMU_UNMAP, "iommu_unmap_fast", fmt, "ret=$retval:u64",
		       dom, filter);
	ok = ok && add_phase(f, "iommu_unmap", FT_IOMMU_UNMAP, "iommu_unmap", fmt,
			     "ret=$retval:u64", dom, filter);
	/* the unpinning: iova; returns the pages unpinned (long) */
	ok = ok && add_phase(f, "unpin_remote", FT_UNPIN_REMOTE,
			     "vfio_iommu_type1:vfio_unpin_pages_remote", "iova=$arg2:x64",
			     "ret=$retval:s64", NULL, NULL);
	snprintf(fmt, sizeof(fmt), "%s iova=$arg2:x64", dom);
	ok = ok &&
	     add_phase(f, "iova_phys", FT_IOVA_WALK, "iommu_iova_to_phys", fmt, "", dom, filter);
	if (!ok) {
		drop_events(f, first);
		note_missing(f, "the phases of vfio_unmap_unpin (their kprobe events cannot be "
				"created)");
		return;
	}
	/* the IOMMU drivers' own functions, only the vendor's whose unit this host has (both
	 * are built in: the other's are dead code, as lib/probe.c says for the BPF backend) */
	vtd = vt_iommu_unit_present("dmar");
	amd = vt_iommu_unit_present("ivhd");
	snprintf(fmt, sizeof(fmt), "%s start=+%ld($arg2):u64 end=+%ld($arg2):u64", dom,
		 o->gather_start, o->gather_end);
	if (vtd)
		add_phase(f, "intel_sync", FT_IOTLB_SYNC, "intel_iommu_tlb_sync", fmt, "", dom,
			  filter);
	if (amd)
		add_phase(f, "amd_sync", FT_IOTLB_SYNC, "amd_iommu_iotlb_sync", fmt, "", dom,
			  filter);
	/* unmap_pages(domain, iova, pgsize, pgcount, gather): only its 4 KiB pages count */
	snprintf(fmt, sizeof(fmt), "%s pgsize=$arg3:u64 pgcount=$arg4:u64", dom);
	snprintf(filter, sizeof(filter), "dtype == %d && pgsize == 4096", FT_DOMAIN_UNMANAGED);
	if (vtd)
		add_phase(f, "intel_upages", FT_UNMAP_PAGES, "intel_iommu_unmap_pages", fmt, NULL,
			  dom, filter);
	if (amd)
		add_phase(f, "amd_upages", FT_UNMAP_PAGES, "amd_iommu_unmap_pages", fmt, NULL, dom,
			  filter);
	f->phases = true;
}

/* the device's name (dev_name(vdev->dev)) of a struct vfio_device * in argument a */
#define DEVNAME(a) \
	snprintf(name, sizeof(name), "name=+0(+%ld(+%ld(%s))):string", o->dev_name, o->vdev_dev, a)

/* The type1 container path's events (vfio_iommu_type1 loaded at the start): -1 (said) when
 * its ioctl cannot be probed. */
static int create_type1_events(struct vt_ftrace *f, const struct ft_offsets *o)
{
	char fmt[512], dma_args[128], name[160], drv[160];
	bool unmap_unpin;

	_Static_assert(offsetof(struct vfio_iommu_type1_dma_map, iova) ==
			       offsetof(struct vfio_iommu_type1_dma_unmap, size),
		       "the ioctl event fetches map iova and unmap size as one word");
	snprintf(fmt, sizeof(fmt),
		 "iommu=$arg1:x64 cmd=$arg2:u32 uarg=$arg3:x64 uiova=+u%zu($arg3):u64 "
		 "miova_usize=+u%zu($arg3):u64 msize=+u%zu($arg3):u64",
		 offsetof(struct vfio_iommu_type1_dma_unmap, iova),
		 offsetof(struct vfio_iommu_type1_dma_map, iova),
		 offsetof(struct vfio_iommu_type1_dma_map, size));
	if (!add_pair(f, "ioctl", FT_IOCTL, 0, "vfio_iommu_type1:vfio_iommu_type1_ioctl", fmt)) {
		vt_err("ftrace: cannot create a kprobe event on vfio_iommu_type1_ioctl (%s)",
		       strerror(errno));
		return -1;
	}
	/* only MAP_DMA and UNMAP_DMA are recorded */
	snprintf(fmt, sizeof(fmt), "cmd == %d || cmd == %d", VT_VFIO_IOMMU_MAP_DMA,
		 VT_VFIO_IOMMU_UNMAP_DMA);
	if (tracefs_event_file_write(f->inst, f->name, "ioctl", "filter", fmt) < 0)
		vt_warn("ftrace: cannot filter the ioctl event (%s): every ioctl is recorded",
			strerror(errno));
	/* (iommu, vfio_dma): the arguments of remove_dma, unmap_unpin and notify alike */
	snprintf(dma_args, sizeof(dma_args),
		 "iommu=$arg1:x64 iova=+%ld($arg2):u64 size=+%ld($arg2):u64", o->dma_iova,
		 o->dma_size);
	if (!add_pair(f, "remove", FT_REMOVE, 0, "vfio_iommu_type1:vfio_remove_dma", dma_args))
		note_missing(f, "remove_dma (unmap bytes and teardowns need it too)");
	unmap_unpin = add_pair(f, "unmap_unpin", FT_UNMAP_UNPIN, 0,
			       "vfio_iommu_type1:vfio_unmap_unpin", dma_args);
	if (!unmap_unpin)
		note_missing(f, "unmap_unpin");
	/* Where vfio_notify_dma_unmap is a function (not inlined, as on Debian's kernels), a
	 * notify is its call, counted even when no callback of it can be traced (a notrace
	 * driver's) or the device_list is empty, as the BPF backend counts it */
	if (!vt_env_is_1("VFIO_TRACE_RECONSTRUCT_NOTIFY") &&
	    vt_ksyms_by_name(f->ks, "vfio_notify_dma_unmap", "vfio_iommu_type1")) {
		f->notify_direct = add_pair(f, "notify", FT_NOTIFY, 0,
					    "vfio_iommu_type1:vfio_notify_dma_unmap", dma_args);
		if (!f->notify_direct)
			vt_dbg("ftrace: vfio_notify_dma_unmap cannot be probed (%s): notifies "
			       "rebuilt from the callbacks",
			       strerror(errno));
	}
	if (!add_pair(f, "detach", FT_DETACH, 0, "vfio_iommu_type1:vfio_iommu_type1_detach_group",
		      "iommu=$arg1:x64") ||
	    !add_pair(f, "release", FT_RELEASE, 0, "vfio_iommu_type1:vfio_iommu_type1_release",
		      "iommu=$arg1:x64"))
		note_missing(f, "teardown");
	if (unmap_unpin)
		create_phase_events(f, o);
	else if (!f->opts.no_detail)
		note_missing(f, "the phases of vfio_unmap_unpin (unmap_unpin is not traced)");
	DEVNAME("$arg2");
	snprintf(drv, sizeof(drv), "drv=+0(+%ld(+%ld($arg2))):string", o->ops_name, o->vdev_ops);
	/* comm: the registering thread's, which names its process if it is gone before its
	 * command line can be read (lib/ftrace_read.c name_process) */
	snprintf(
		fmt, sizeof(fmt),
		"iommu=$arg1:x64 vdev=$arg2:x64 unmap=+%ld(+%ld($arg2)):x64 %s %s comm=$comm:string",
		o->ops_unmap, o->vdev_ops, name, drv);
	if (!add_event(f, "register", FT_REGISTER, 0,
		       "vfio_iommu_type1:vfio_iommu_type1_register_device", fmt, false))
		note_missing(f, "register");
	if (!add_event(f, "unregister", FT_UNREGISTER, 0,
		       "vfio_iommu_type1:vfio_iommu_type1_unregister_device", fmt, false))
		note_missing(f, "unregister");
	return 0;
}

/* A callback's entry event's fetch arguments: the device, the range, the device's own
 * ops->dma_unmap, and where it is on its container's device_list (first: its prev is the
 * list head; last: its next is). The arguments by register where the function's module is
 * not loaded: the kernel only takes $argN on a function it can check is one (6.1 refuses
 * them in a probe of a module not loaded yet); at a function's entry they are the same. */
static void callback_fmt(const struct vt_ftrace *f, char *fmt, size_t len, bool loaded)
{
	const struct ft_offsets *o = &f->off;
	const char *a1 = "$arg1", *a2 = "$arg2", *a3 = "$arg3";
	char name[160], drv[160];

#ifdef __x86_64__
	if (!loaded)
		a1 = "%di", a2 = "%si", a3 = "%dx";
#endif
	snprintf(name, sizeof(name), "name=+0(+%ld(+%ld(%s))):string", o->dev_name, o->vdev_dev,
		 a1);
	snprintf(drv, sizeof(drv), "drv=+0(+%ld(+%ld(%s))):string", o->ops_name, o->vdev_ops, a1);
	snprintf(fmt, len,
		 "vdev=%s:x64 iova=%s:x64 len=%s:u64 unmap=+%ld(+%ld(%s)):x64 "
		 "next=+%ld(%s):x64 prev=+%ld(%s):x64 %s %s",
		 a1, a2, a3, o->ops_unmap, o->vdev_ops, a1, o->vdev_entry, a1,
		 o->vdev_entry + o->list_prev, a1, name, drv);
}

/* The events of callback i (its kprobe "cb<i>" and kretprobe); false, and neither left, when
 * they cannot be created. */
static bool add_callback_events(struct vt_ftrace *f, int i)
{
	char fmt[512], n[24];
	int first = f->nev;

#ifndef __x86_64__
	if (!f->cbs[i].addr)
		return false;
#endif
	callback_fmt(f, fmt, sizeof(fmt), f->cbs[i].addr != 0);
	snprintf(n, sizeof(n), "cb%d", i);
	if (add_pair(f, n, FT_CB, i, f->cbs[i].sym, fmt))
		return true;
	drop_events(f, first);
	return false;
}

/* A loaded driver's dma_unmap that no kprobe event takes (a notrace function: the kernel log
 * says "Could not probe notrace function"): said once, and named in not_traced from then on. */
static void untraced_callback(struct vt_ftrace *f, const char *sym)
{
	char what[VT_MODNAME_LEN + 64 + 160];

	vt_warn("ftrace: cannot probe dma_unmap callback %s: its devices' callbacks, and the "
		"notifies reconstructed from them, are not counted (not_traced says so)",
		sym);
	snprintf(what, sizeof(what),
		 "dma_unmap callback %s (no kprobe event takes it, a notrace function: its "
		 "devices' callbacks and notifies)",
		 sym);
	note_missing(f, what);
}

/* Keep callbacks [from, ncbs) whose events could be created, in order; how many. */
static int probe_new_callbacks(struct vt_ftrace *f, int from)
{
	int kept = from;

	for (int i = from, n = f->ncbs; i < n; i++) {
		f->cbs[kept] = f->cbs[i];
		f->ncbs = kept + 1;
		if (add_callback_events(f, kept))
			kept++;
		else if (f->cbs[kept].addr) /* loaded: not traced */
			untraced_callback(f, f->cbs[kept].sym);
		else /* probed at its load instead (lib/ftrace_read.c late_module) */
			vt_dbg("ftrace: cannot probe dma_unmap callback %s before its module loads",
			       f->cbs[kept].sym);
	}
	f->ncbs = kept;
	return kept - from;
}

/* The callbacks of the driver modules installed for this kernel and not loaded (yet): their
 * events created now, on "module:function", which the kernel arms when the module loads,
 * before its init can register a device. So they count from the driver's first device on,
 * however soon after the load its first unmap comes: the reader never races the loader. What
 * cannot be found or probed so is probed at its load (vt_ft_add_late_callbacks). */
static void prearm_installed(struct vt_ftrace *f, struct btf *btf)
{
	int first = f->ncbs, n;

	if (!vt_ft_find_installed_callbacks(f, btf))
		return;
	n = probe_new_callbacks(f, first);
	if (n)
		fprintf(stderr,
			"%s: %d dma_unmap callbacks of driver modules not loaded yet probed (armed "
			"when they load)\n",
			vt_prog, n);
}

int vt_ft_add_late_callbacks(struct vt_ftrace *f, const char *module)
{
	int first = f->ncbs, firstev = f->nev, n;
	struct btf *base;
	uint64_t now;

	/* the kernel's BTF again (freed after the start: a few MiB kept for a rare event) */
	base = f->opts.btf_path ? vt_btf_file_load(f->opts.btf_path) : btf__load_vmlinux_btf();
	if (!base) {
		vt_warn("ftrace: cannot read the kernel's BTF for %s's callbacks (%s): not traced",
			module, strerror(errno));
		return -1;
	}
	vt_ft_find_callbacks(f, base, &module, 1);
	btf__free(base);
	if (f->ncbs == first)
		return 0;
	n = probe_new_callbacks(f, first);
	for (int j = firstev; j < f->nev; j++) {
		int size = 0;
		char *fmt = tracefs_event_file_read(NULL, f->name, f->ev[j].name, "format", &size);

		if (!fmt || tep_parse_event(f->tep, fmt, size, f->name) ||
		    tracefs_event_enable(f->inst, f->name, f->ev[j].name)) {
			vt_warn("ftrace: cannot read or enable event %s/%s (%s)", f->name,
				f->ev[j].name, strerror(errno));
			n = -1;
		}
		free(fmt);
	}
	if (f->nev > firstev && vt_ft_bind_fields(f)) {
		vt_warn("ftrace: cannot read the fields of the events of %s's callbacks", module);
		n = -1;
	}
	if (n < 0) { /* none half made (removed, disabled first): nothing counted from them */
		drop_events(f, firstev);
		f->ncbs = first;
		return -1;
	}
	now = vt_now_ns();
	for (int i = first; i < f->ncbs; i++)
		f->cbs[i].armed_late = now;
	if (n)
		f->armed_late_max = now;
	return n;
}

/* ---- lock tracking (locks, --locks) ------------------------------------------------------
 * The BPF side probes every mutex_lock and mutex_unlock and tells a tracked lock with one load
 * (its slot table). Here every call would be a record, so the kernel keeps only the calls made
 * from the VFIO modules' code (vfio_iommu_type1's is the only code that takes a container's
 * iommu->lock or device_list_lock): a filter on the return address ($stack0 at the entry).
 * The reader keeps the tracked locks' (lib/ftrace_read.c). Waits are __mutex_lock_slowpath's
 * calls, a mutex_lock that found the lock taken (the lock:contention_* tracepoints would bring
 * every contended spinlock too); the reader drops the other locks' without looking at their
 * thread. Each kept mutex_unlock records its stack too (a stacktrace trigger with the same
 * condition): where a longest hold ended. */

/* The filter's condition on the return address: in the code of vfio_iommu_type1, vfio or a
 * module using vfio (a driver), each [base, base + size) of /proc/modules (its code and more:
 * no other module's code is in it). type1's alone would miss releases: a function that ends
 * with mutex_unlock jumps to it (a tail call), so the address is its caller's, and those
 * chains (type1's unpin_pages and register_device end so) end in vfio or in the driver whose
 * dma_unmap callback unpinned, or in a kretprobe's trampoline (lab locks: every unpin's and
 * register's release). -1 when type1's range is not there. */
/* One line of /proc/modules: its name, and its code's [base, base + size) (false: not a
 * loaded module's line, or its address hidden) */
static bool modules_line(const char *line, char name[64], uint64_t *base, uint64_t *size)
{
	unsigned long long b, sz;

	if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &sz, &b) != 3 || !b || !sz)
		return false;
	*base = b;
	*size = sz;
	return true;
}

static int module_ranges(struct vt_ftrace *f, char *cond, size_t len)
{
	static const char *const trampolines[] = { "arch_rethook_trampoline",
						   "__kretprobe_trampoline" };
	char holders[VT_FT_MAX_CB][VT_MODNAME_LEN];
	int nh = vt_vfio_holders("/sys/module", holders, VT_FT_MAX_CB);
	FILE *fp = fopen("/proc/modules", "r");
	char line[512], name[64];
	uint64_t size, base;
	size_t at = 0;
	bool type1 = false;

	cond[0] = 0;
	f->nlock_ranges = 0;
	while (fp && fgets(line, sizeof(line), fp)) {
		bool want;

		if (!modules_line(line, name, &base, &size))
			continue;
		want = !strcmp(name, "vfio_iommu_type1") || !strcmp(name, "vfio");
		for (int i = 0; i < nh && !want; i++)
			want = !strcmp(name, holders[i]);
		if (!want)
			continue;
		type1 |= !strcmp(name, "vfio_iommu_type1");
		if (f->nlock_ranges < VT_FT_MAX_CB + 2)
			f->lock_ranges[f->nlock_ranges++] = (struct ft_range){ base, base + size };
		at += snprintf(cond + at, at < len ? len - at : 0,
			       "%s(caller >= 0x%llx && caller < 0x%llx)", at ? " || " : "",
			       (unsigned long long)base, (unsigned long long)(base + size));
	}
	if (fp)
		fclose(fp);
	/* and a kretprobe's trampoline: a function under one (vfio_unpin_pages, which our own
	 * unpin events probe) returns there, so a mutex_unlock tail-called at its end (type1's
	 * unpin_pages') has it for its caller */
	for (size_t i = 0; i < sizeof(trampolines) / sizeof(trampolines[0]); i++) {
		const struct vt_ksym *k = vt_ksyms_by_name(f->ks, trampolines[i], NULL);

		if (k && k->addr)
			at += snprintf(cond + at, at < len ? len - at : 0, " || caller == 0x%llx",
				       (unsigned long long)k->addr);
	}
	return type1 && at < len ? 0 : -1;
}

bool vt_ft_lock_filter_covers(struct vt_ftrace *f, const char *module)
{
	FILE *fp = fopen("/proc/modules", "r");
	char line[512], name[64];
	uint64_t size, base;
	bool covered = false;

	while (fp && fgets(line, sizeof(line), fp))
		if (modules_line(line, name, &base, &size) && !strcmp(name, module)) {
			for (size_t i = 0; i < f->nlock_ranges; i++)
				covered |= base >= f->lock_ranges[i].lo &&
					   base + size <= f->lock_ranges[i].hi;
			break;
		}
	if (fp)
		fclose(fp);
	return covered;
}

int vt_ft_lock_filter(struct vt_ftrace *f, bool again)
{
	char cond[2048], trig[2100];

	if (module_ranges(f, cond, sizeof(cond)))
		return -1;
	if (!filter_event(f, "mutex_lock", cond) || !filter_event(f, "mutex_unlock", cond))
		return -1;
	if (!f->lock_stacks)
		return 0;
	/* without its condition a trigger runs at every mutex_unlock of the system, before the
	 * event's filter */
	snprintf(trig, sizeof(trig), "stacktrace if %s", cond);
	if ((again && tracefs_event_file_append(f->inst, f->name, "mutex_unlock", "trigger",
						"!stacktrace") < 0) ||
	    tracefs_event_file_append(f->inst, f->name, "mutex_unlock", "trigger", trig) < 0) {
		vt_warn("ftrace: cannot record the stacks of vfio_iommu_type1's mutex_unlock (%s): "
			"the longest holds have no stack",
			strerror(errno));
		f->lock_stacks = false;
	}
	return 0;
}

static void create_lock_events(struct vt_ftrace *f)
{
	static const char fmt[] = "lock=$arg1:x64 caller=$stack0:x64";
	int first = f->nev;

	f->lock_stacks = true;
	if (!add_event(f, "mutex_lock", FT_MUTEX_LOCK, 0, "mutex_lock", fmt, false) ||
	    !add_event(f, "mutex_unlock", FT_MUTEX_UNLOCK, 0, "mutex_unlock", fmt, false) ||
	    !add_pair(f, "mutex_wait", FT_MUTEX_WAIT, 0, "__mutex_lock_slowpath",
		      "lock=$arg1:x64") ||
	    vt_ft_lock_filter(f, false)) {
		/* never the events without their filter: a record per mutex call of the system */
		drop_events(f, first);
		f->lock_stacks = false;
		note_missing(f, "lock times and the ABBA deadlock alert (mutex_lock, mutex_unlock, "
				"__mutex_lock_slowpath cannot be probed, or their filter on the "
				"VFIO modules' code was refused)");
		return;
	}
	f->locks = true;
}

static int create_events(struct vt_ftrace *f, const struct ft_offsets *o, struct btf *btf)
{
	char fmt[512], name[160], drv[160];

	if (f->type1 && create_type1_events(f, o))
		return -1;
	if (f->type1 && f->opts.locks)
		create_lock_events(f);
	if (!f->type1)
		note_missing(f, "the type1 container path (vfio_iommu_type1 not loaded; its "
				"containers are traced by a vfio-trace started after it loads)");
	/* a device first seen at a pin, unpin or callback (a cdev's has no register) is learned
	 * there as the BPF side learns it: its name, its driver's and its ops->dma_unmap */
	DEVNAME("$arg1");
	snprintf(drv, sizeof(drv), "drv=+0(+%ld(+%ld($arg1))):string", o->ops_name, o->vdev_ops);
	snprintf(fmt, sizeof(fmt),
		 "vdev=$arg1:x64 iova=$arg2:x64 npage=$arg3:s32 unmap=+%ld(+%ld($arg1)):x64 %s %s",
		 o->ops_unmap, o->vdev_ops, name, drv);
	if (!add_pair(f, "pin", FT_PIN, 0, "vfio:vfio_pin_pages", fmt))
		note_missing(f, "pin");
	if (!add_pair(f, "unpin", FT_UNPIN, 0, "vfio:vfio_unpin_pages", fmt))
		note_missing(f, "unpin");
	for (int i = 0, n = f->ncbs; i < n; i++)
		if (!add_callback_events(f, i))
			untraced_callback(f, f->cbs[i].sym);
		else if (vt_verbose)
			vt_dbg("attached dma_unmap callback %s", f->cbs[i].sym);
	prearm_installed(f, btf);
#undef DEVNAME
	create_iommufd_events(f, btf);
	if (!f->type1 && !f->iommufd) {
		vt_err("--backend ftrace: vfio_iommu_type1 is not loaded and the iommufd path "
		       "cannot be traced (%s)",
		       f->missing);
		return -1;
	}
	/* module loads and unloads: the events above name their functions as MODULE:FUNCTION,
	 * so the kernel keeps them across an unload and arms them again at the next load (before
	 * the module's init runs); these say when, for the callbacks' new addresses */
	for (int i = 0; i < 2 && f->nev < VT_FT_MAX_EVENTS; i++) {
		struct ft_event *e = &f->ev[f->nev];

		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", i ? "module_free" : "module_load");
		e->kind = i ? FT_MODULE_FREE : FT_MODULE_LOAD;
		e->system = "module";
		e->id = -1;
		if (tracefs_event_enable(f->inst, "module", e->name)) {
			note_missing(f, "module unload and reload (no module events)");
			break;
		}
		f->nev++;
	}
	/* the stacks of the kept mutex_unlock (lib/ftrace_read.c: a longest hold's) */
	if (f->lock_stacks && f->nev < VT_FT_MAX_EVENTS) {
		struct ft_event *e = &f->ev[f->nev++];

		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "kernel_stack");
		e->kind = FT_KERNEL_STACK;
		e->system = "ftrace";
		e->id = -1;
	}
	return 0;
}

/* ---- open, close ------------------------------------------------------------------------ */

static void ft_close(struct vt_tracer *t);

#define FT_BUFFER_KB 4096 /* per CPU */

/* The instance's buffer per CPU in KiB: FT_BUFFER_KB, or VFIO_TRACE_FTRACE_BUFFER_KB (4 to
 * 1048576), which the lab sets tiny to make the buffer overrun for certain and check that the
 * loss is counted and nothing is made up from what is left. */
static int ft_buffer_kb(void)
{
	const char *e = getenv("VFIO_TRACE_FTRACE_BUFFER_KB");
	char *end;
	long kb;

	if (!e)
		return FT_BUFFER_KB;
	errno = 0;
	kb = strtol(e, &end, 10);
	if (errno || end == e || *end || kb < 4 || kb > 1048576) {
		vt_warn("VFIO_TRACE_FTRACE_BUFFER_KB=%s is not a size in KiB from 4 to 1048576: "
			"%d KiB per CPU",
			e, FT_BUFFER_KB);
		return FT_BUFFER_KB;
	}
	return (int)kb;
}

static int ft_open(struct vt_tracer **out, const struct vt_tracer_opts *opts)
{
	char holders[VT_FT_MAX_CB][VT_MODNAME_LEN];
	const char *holder_names[VT_FT_MAX_CB + 1];
	struct vt_ftrace *f;
	struct ft_offsets o;
	const char *systems[4];
	int nholders, nkprobes = 0, err = -ENOTSUP;
	const char *blocker;
	struct btf *btf = NULL;
	uint64_t t0 = vt_now_ns(), t1, t2, t3, t4;

	blocker = vt_ftrace_blocker(opts->btf_path);
	if (blocker) {
		vt_err("--backend ftrace: %s", blocker);
		return -ENOTSUP;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base.be = &vt_backend_ftrace;
	f->opts = *opts;
	f->alerts.opts = &f->opts;
	f->ncpus = libbpf_num_possible_cpus();
	snprintf(f->name, sizeof(f->name), VT_FT_PREFIX "%d", (int)getpid());
	vt_ftrace_cleanup(false, NULL);
	nholders = vt_vfio_holders("/sys/module", holders, VT_FT_MAX_CB);
	for (int i = 0; i < nholders; i++)
		holder_names[i] = holders[i];
	holder_names[nholders > 0 ? nholders : 0] = NULL;
	f->ks = vt_ksyms_load_with(holder_names);
	if (!f->ks || vt_ksyms_hidden(f->ks)) {
		vt_err("--backend ftrace: cannot read kernel addresses from /proc/kallsyms (%s)",
		       f->ks ? vt_ksyms_hidden(f->ks) : strerror(errno));
		goto fail;
	}
	t1 = vt_now_ns();
	/* the kernel's BTF (or --btf's file) parsed once, for the offsets, the callbacks and the
	 * iommufd path (each parse of vmlinux's is ~5 MiB read, a few MiB of heap) */
	btf = opts->btf_path ? vt_btf_file_load(opts->btf_path) : btf__load_vmlinux_btf();
	if (!btf) {
		if (!opts->btf_path)
			vt_err("ftrace: cannot read the kernel's BTF (%s): the fetch arguments' "
			       "offsets come from it (or give --btf FILE)",
			       strerror(errno));
		goto fail;
	}
	/* an iommufd-only host may never load type1 (vt_ftrace_blocker let it start) */
	f->type1 = !access("/sys/module/vfio_iommu_type1", F_OK);
	if (vt_ft_btf_offsets(&o, btf, !!opts->btf_path, f->type1))
		goto fail;
	t2 = vt_now_ns();
	f->devlist_off = o.iommu_devlist;
	f->off = o;
	f->inst = tracefs_instance_create(f->name);
	if (!f->inst) {
		vt_err("--backend ftrace: cannot create tracefs instance %s (%s)", f->name,
		       strerror(errno));
		goto fail;
	}
	/* CLOCK_MONOTONIC: latencies in ns, and vt_now_ns() tells which records are complete */
	if (tracefs_instance_file_write(f->inst, "trace_clock", "mono") < 0) {
		vt_err("--backend ftrace: cannot set the instance's trace_clock to mono (%s)",
		       strerror(errno));
		goto fail;
	}
	tracefs_instance_set_buffer_size(f->inst, ft_buffer_kb(), -1);
	/* a full buffer overwrites its oldest records, and the reader is told where (each gap
	 * flagged in the next sub-buffer's header, lib/ftrace_read.c); an instance inherits the
	 * top level's options, and without overwrite a full buffer drops the newest records
	 * with no mark where */
	if (tracefs_option_enable(f->inst, TRACEFS_OPTION_OVERWRITE)) {
		vt_err("--backend ftrace: cannot set the instance's overwrite option (%s)",
		       strerror(errno));
		goto fail;
	}
	if (nholders > 0)
		vt_ft_find_callbacks(f, btf, holder_names, nholders);
	t3 = vt_now_ns();
	if (create_events(f, &o, btf))
		goto fail;
	btf__free(btf);
	btf = NULL;
	t4 = vt_now_ns();
	systems[0] = f->name;
	systems[1] = "module";
	systems[2] = f->lock_stacks ? "ftrace" : NULL; /* kernel_stack, the trigger's records */
	systems[3] = NULL;
	f->tep = tracefs_local_events_system(NULL, systems);
	if (!f->tep || vt_ft_bind_fields(f)) {
		vt_err("--backend ftrace: cannot read the formats of the events of %s (%s)",
		       f->name, strerror(errno));
		goto fail;
	}
	if (vt_ft_read_open(f)) {
		vt_err("--backend ftrace: cannot open the per-CPU buffers of instance %s (%s)",
		       f->name, strerror(errno));
		goto fail;
	}
	if (tracefs_event_enable(f->inst, f->name, NULL)) {
		vt_err("--backend ftrace: cannot enable the events of %s in its instance (%s)",
		       f->name, strerror(errno));
		goto fail;
	}
	/* the storm detector's baseline: counted from here on */
	if (vt_storm_live_open(&f->storm, &f->base, &f->opts)) {
		err = -ENOMEM;
		goto fail;
	}
	vt_storm_live_tick(&f->storm);
	if (!f->locks && !f->opts.locks)
		note_missing(f,
			     "lock times and the ABBA deadlock alert (on the ftrace backend only "
			     "`locks` and --locks probe mutex_lock)");
	for (int i = 0; i < f->nev; i++)
		nkprobes += !!f->ev[i].dyn;
	vt_dbg("start-up: kallsyms %.2f s, BTF (parsed once) and offsets %.2f s, callbacks %.2f s, "
	       "kprobe events %.2f s, enable %.2f s; %.2f s in all",
	       (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9,
	       (vt_now_ns() - t4) / 1e9, (vt_now_ns() - t0) / 1e9);
	fprintf(stderr, "%s: attached %d kprobe events (ftrace, instance %s), tracing\n", vt_prog,
		nkprobes, f->name);
	if (f->missing[0])
		vt_warn("not traced: %s", f->missing);
	*out = &f->base;
	return 0;
fail:
	btf__free(btf);
	ft_close(&f->base);
	return err;
}

static void ft_close(struct vt_tracer *t)
{
	struct vt_ftrace *f = (struct vt_ftrace *)t;

	if (f->phases) {
		uint64_t all = 0, phases = 0, entries = 0;

		for (int k = 0; k < FT_NKINDS; k++)
			all += f->nread[k];
		for (int k = FT_IOMMU_UNMAP; k <= FT_UNMAP_PAGES; k++) {
			phases += f->nread[k];
			entries += k == FT_UNMAP_PAGES || (k - FT_IOMMU_UNMAP) % 2 == 0 ?
					   f->nread[k] :
					   0;
		}
		/* what the phases cost the reader (for -v and the lab, which checks that the
		 * DMA API's own IOMMU calls never reach the buffer) */
		vt_dbg("ftrace: %llu records read, %llu of them the phases' (%llu entries, %llu "
		       "IOVA lookups)",
		       (unsigned long long)all, (unsigned long long)phases,
		       (unsigned long long)entries, (unsigned long long)f->nread[FT_IOVA_WALK]);
	}
	/* the instance first: its events are enabled there, and an enabled event stays; its
	 * buffers' readers before it, as an open trace_pipe_raw keeps it from being removed */
	vt_ft_read_close(f);
	if (f->inst) {
		tracefs_instance_destroy(f->inst);
		tracefs_instance_free(f->inst);
	}
	for (int i = 0; i < f->nev; i++) {
		if (!f->ev[i].dyn)
			continue;
		if (tracefs_dynevent_destroy(f->ev[i].dyn, true))
			vt_warn("ftrace: cannot remove event %s/%s (%s)", f->name, f->ev[i].name,
				strerror(errno));
		tracefs_dynevent_free(f->ev[i].dyn);
	}
	/* and any event of the group not in that list (created, then not found again) */
	if (f->name[0]) {
		struct tracefs_dynevent **left = tracefs_dynevent_get_all(
			TRACEFS_DYNEVENT_KPROBE | TRACEFS_DYNEVENT_KRETPROBE, f->name);

		for (int i = 0; left && left[i]; i++)
			tracefs_dynevent_destroy(left[i], true);
		tracefs_dynevent_list_free(left);
	}
	vt_retry_alerts_flush(&f->alerts, true);
	vt_storm_live_close(&f->storm);
	if (f->tep)
		tep_free(f->tep);
	vt_ft_read_free(f);
	vt_ksyms_free(f->ks);
	free(f);
}

/* ---- the rest of the table ---------------------------------------------------------------- */

static int ft_poll(struct vt_tracer *t, int timeout_ms)
{
	struct vt_ftrace *f = (struct vt_ftrace *)t;
	struct pollfd p = { .fd = f->stdout_closed ? -1 : STDOUT_FILENO };
	int n;

	if (vt_stop == VT_STOP_OUTPUT)
		return 0;
	/* the buffers are read every poll: no wake-up to wait for but stdout's end */
	if (poll(&p, 1, timeout_ms) > 0) {
		f->stdout_closed |= !!(p.revents & POLLNVAL);
		if ((p.revents & (POLLERR | POLLHUP)) && vt_out_gone())
			return 0;
	}
	n = vt_ft_read(f, false);
	vt_storm_live_tick(&f->storm);
	return n;
}

static bool ft_wait(struct vt_tracer *t, uint64_t until)
{
	while (!vt_stop && !vt_out_gone()) {
		uint64_t now = vt_now_ns(), left;

		if (now >= until)
			return true;
		left = (until - now) / 1000000;
		ft_poll(t, left > 100 ? 100 : (int)left + 1);
	}
	return false;
}

static void ft_drain(struct vt_tracer *t)
{
	if (vt_stop != VT_STOP_OUTPUT)
		vt_ft_read((struct vt_ftrace *)t, true);
}

static int ft_snapshot(struct vt_tracer *t, struct vt_snapshot *s)
{
	return vt_ft_snapshot((struct vt_ftrace *)t, s);
}

static int ft_losses(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX])
{
	return vt_ft_losses((struct vt_ftrace *)t, losses);
}

static const char *ft_missing(struct vt_tracer *t)
{
	return ((struct vt_ftrace *)t)->missing;
}

static const char *ft_ksym(struct vt_tracer *t, uint64_t addr, char *buf, size_t len)
{
	const struct vt_ksym *k = vt_ksyms_by_addr(((struct vt_ftrace *)t)->ks, addr);

	if (!k)
		snprintf(buf, len, "%#llx", (unsigned long long)addr);
	else
		snprintf(buf, len, "%s+%#llx%s%s%s", k->name, (unsigned long long)(addr - k->addr),
			 k->module ? " [" : "", k->module ? k->module : "", k->module ? "]" : "");
	return buf;
}

static struct vt_ksyms *ft_ksyms(struct vt_tracer *t)
{
	return ((struct vt_ftrace *)t)->ks;
}

static void ft_programs(struct vt_tracer *t, vt_prog_fn fn, void *ctx)
{
	struct vt_ftrace *f = (struct vt_ftrace *)t;

	for (int i = 0; i < f->nev; i++)
		fn(ctx, f->ev[i].name,
		   f->ev[i].system		 ? "tracepoint" :
		   strstr(f->ev[i].name, "_ret") ? "kretprobe" :
						   "kprobe",
		   0, 0);
}

static unsigned ft_module_generation(struct vt_tracer *t)
{
	return 0; /* modules loaded or unloaded later are not followed */
}

const struct vt_backend vt_backend_ftrace = {
	.name = "ftrace",
	.open = ft_open,
	.poll = ft_poll,
	.wait = ft_wait,
	.drain = ft_drain,
	.snapshot = ft_snapshot,
	.losses = ft_losses,
	.missing = ft_missing,
	.ksym = ft_ksym,
	.ksyms = ft_ksyms,
	.programs = ft_programs,
	.module_generation = ft_module_generation,
	.close = ft_close,
};
