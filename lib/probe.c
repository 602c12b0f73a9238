// SPDX-License-Identifier: GPL-2.0
/*
 * What this kernel lets vfio-trace attach to, decided by trying: every function point gets a
 * real fentry load+attach against its (module) BTF, then a real kprobe attach, and keeps the
 * first that works; tracepoints get a real raw_tp attach. Nothing is guessed from names.
 * The points themselves are lib/points.c's table.
 */
#include <dirent.h>
#include <errno.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "vt.h"
#include "probe.skel.h"

#define T1 "vfio_iommu_type1"

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static bool module_loaded(const char *mod)
{
	char path[128];

	/* Built-in "modules" with parameters also show up in /sys/module. */
	snprintf(path, sizeof(path), "/sys/module/%s", mod);
	return path_exists(path);
}

static bool module_available(const char *release, const char *mod)
{
	char path[256], line[512], needle[64];
	const char *files[] = { "modules.dep", "modules.builtin" };
	bool found = false;

	snprintf(needle, sizeof(needle), "/%s.ko", mod);
	for (int i = 0; i < 2 && !found; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/lib/modules/%s/%s", release, files[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (colon)
				*colon = 0;
			found = strstr(line, needle) != NULL;
		}
		fclose(f);
	}
	return found;
}

static void probe_caps(struct vt_env *env)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v;

	if (!caps)
		return;
#define HAS(c) (cap_get_flag(caps, c, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
	env->cap_bpf = HAS(CAP_BPF);
	env->cap_perfmon = HAS(CAP_PERFMON);
	env->cap_sys_admin = HAS(CAP_SYS_ADMIN);
	env->cap_syslog = HAS(CAP_SYSLOG);
#undef HAS
	cap_free(caps);
	/* Not CAP_BPF + CAP_PERFMON alone: the programs are relocated against the VFIO modules'
	 * BTF, which libbpf finds through BPF_BTF_GET_NEXT_ID (CAP_SYS_ADMIN only), and
	 * Debian's perf_event_paranoid=3 lets only CAP_SYS_ADMIN open the kprobe PMU (lib/caps.c). */
	env->privileged = env->cap_sys_admin;
	env->missing_caps[0] = 0;
	if (!env->privileged)
		snprintf(env->missing_caps, sizeof(env->missing_caps),
			 "CAP_SYS_ADMIN (CAP_BPF and "
			 "CAP_PERFMON are not enough: libbpf reads the VFIO modules' BTF through "
			 "BPF_BTF_GET_NEXT_ID)");
}

static void probe_tracefs(struct vt_env *env)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;

	env->tracefs[0] = 0;
	if (!f)
		return;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "tracefs")) {
			snprintf(env->tracefs, sizeof(env->tracefs), "%s", m->mnt_dir);
			if (!strcmp(m->mnt_dir, "/sys/kernel/tracing"))
				break;
		}
	}
	endmntent(f);
}

/* ---- real attach tries ------------------------------------------------------------------ */

static struct btf *vmlinux_btf;
static struct probe_bpf *probe_skel;

/* -v: libbpf's warnings; -v -v -v: its debug lines too, each after the ms since the first
 * one, to see where a load's time goes (BTF parses, CO-RE relocations, maps, the verifier). */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static uint64_t first;
	uint64_t now;

	if (!vt_verbose || (level == LIBBPF_DEBUG && vt_verbose < 3))
		return 0;
	if (level != LIBBPF_DEBUG)
		return vfprintf(stderr, fmt, ap);
	now = vt_now_ns();
	if (!first)
		first = now;
	fprintf(stderr, "%9.3f ms ", (now - first) / 1e6);
	return vfprintf(stderr, fmt, ap);
}

/* Parsed module BTF and the kernel's object fd, once per module for all its points (doctor
 * tries every point: parsing the BTF and walking every kernel BTF object each time cost
 * ~0.1 s a point under emulation). Freed with vmlinux_btf. */
static struct module_btf {
	char name[64];
	struct btf *btf;
	int fd;
} module_btfs[4];

static void module_btfs_free(void)
{
	for (size_t i = 0; i < sizeof(module_btfs) / sizeof(module_btfs[0]); i++) {
		btf__free(module_btfs[i].btf);
		if (module_btfs[i].name[0] && module_btfs[i].fd >= 0)
			close(module_btfs[i].fd);
		memset(&module_btfs[i], 0, sizeof(module_btfs[i]));
	}
}

int vt_kernel_btf_next(__u32 *id, char *name, size_t len)
{
	while (!bpf_btf_get_next_id(*id, id)) {
		struct bpf_btf_info info = {};
		__u32 ilen = sizeof(info);
		int fd = bpf_btf_get_fd_by_id(*id);

		if (fd < 0) /* unloaded meanwhile */
			continue;
		name[0] = 0;
		info.name = (__u64)(unsigned long)name;
		info.name_len = len;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) && info.kernel_btf)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

int vt_module_btf_fd(const char *module)
{
	char name[64];
	__u32 id = 0;
	int fd;

	while ((fd = vt_kernel_btf_next(&id, name, sizeof(name))) >= 0) {
		if (!strcmp(name, module))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* Load an empty fentry program on func and attach it. 0 or -errno; why in reason. */
int vt_try_fentry(const char *func, const char *module, char *reason, size_t rlen)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *btf = vmlinux_btf, *mbtf = NULL;
	int id, prog_fd, link_fd, obj_fd = -1, err = 0;
	bool owned = false;

	if (!btf) {
		snprintf(reason, rlen, "no vmlinux BTF");
		return -ENOENT;
	}
	if (module) {
		struct module_btf *m = NULL;

		for (size_t i = 0; i < sizeof(module_btfs) / sizeof(module_btfs[0]) && !m; i++)
			if (!module_btfs[i].name[0] || !strcmp(module_btfs[i].name, module))
				m = &module_btfs[i];
		if (m && !m->name[0]) {
			snprintf(m->name, sizeof(m->name), "%s", module);
			m->btf = btf__load_module_btf(module, vmlinux_btf);
			m->fd = m->btf ? vt_module_btf_fd(module) : -ENOENT;
		}
		if (m) {
			mbtf = m->btf;
			obj_fd = m->fd;
		} else { /* more modules than slots: not cached */
			mbtf = btf__load_module_btf(module, vmlinux_btf);
			obj_fd = mbtf ? vt_module_btf_fd(module) : -ENOENT;
			owned = true;
		}
		if (!mbtf) {
			snprintf(reason, rlen, "no BTF for module %s", module);
			return -ENOENT;
		}
		btf = mbtf;
		if (obj_fd < 0) {
			if (owned)
				btf__free(mbtf);
			snprintf(reason, rlen, "module %s BTF not loaded in the kernel", module);
			return -ENOENT;
		}
	}
	id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	if (id < 0) {
		snprintf(reason, rlen, "%s not in %s BTF", func, module ? module : "vmlinux");
		err = -ENOENT;
		goto out;
	}
	opts.attach_btf_id = id;
	if (obj_fd >= 0)
		opts.attach_btf_obj_fd = obj_fd;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "vt_fentry_try", "GPL", insns, 2, &opts);
	if (prog_fd < 0) {
		err = -errno;
		snprintf(reason, rlen, "fentry load refused: %s", strerror(errno));
		goto out;
	}
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_FENTRY, NULL);
	if (link_fd < 0) {
		err = -errno;
		snprintf(reason, rlen, "fentry attach refused: %s", strerror(errno));
	} else {
		close(link_fd);
	}
	close(prog_fd);
out:
	if (owned) {
		close(obj_fd);
		btf__free(mbtf);
	}
	return err;
}

static bool probe_skel_ready(void)
{
	if (probe_skel)
		return true;
	probe_skel = probe_bpf__open_and_load();
	return probe_skel != NULL;
}

/* The perf kprobe PMU (every kernel since 4.17 with CONFIG_KPROBE_EVENTS): a kprobe made
 * through it lives as long as its perf fd, so a killed vfio-trace leaves nothing. Without it
 * libbpf would write tracefs' kprobe_events, which outlive a kill -9: vfio-trace never takes
 * that route (kprobes count as unavailable there). */
static bool kprobe_pmu(void)
{
	return path_exists("/sys/bus/event_source/devices/kprobe/type");
}

int vt_try_kprobe(const char *sym, char *reason, size_t rlen)
{
	struct bpf_link *l;

	if (!kprobe_pmu()) {
		snprintf(reason, rlen,
			 "no perf kprobe PMU (vfio-trace does not write tracefs "
			 "kprobe_events)");
		return -ENOTSUP;
	}

	if (!probe_skel_ready()) {
		snprintf(reason, rlen, "cannot load a kprobe program: %s", strerror(errno));
		return -errno;
	}
	l = bpf_program__attach_kprobe(probe_skel->progs.vt_probe_kprobe, false, sym);
	if (!l) {
		int err = -errno;

		snprintf(reason, rlen, "kprobe attach refused: %s", strerror(-err));
		return err;
	}
	bpf_link__destroy(l);
	return 0;
}

/* kprobe_multi links (CONFIG_FPROBE; Debian's 6.1 has none): one link attaches a program to
 * many functions and is closed at once (lib/loader.c). A link asked for no function is
 * refused with EINVAL where the kernel has them, EOPNOTSUPP where not: nothing is attached,
 * the test is one two-instruction program loaded and closed. */
static bool kprobe_multi_works(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_KPROBE_MULTI);
	int prog_fd, link_fd, err;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "vt_kmulti_try", "GPL", insns, 2, &opts);
	if (prog_fd < 0)
		return false;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_KPROBE_MULTI, NULL);
	err = errno;
	close(prog_fd);
	if (link_fd >= 0) {
		close(link_fd);
		return true;
	}
	return err == EINVAL;
}

static int try_tracepoint(const struct vt_env *env, const char *tp, char *reason, size_t rlen)
{
	char cat[64], path[256];
	const char *ev = strchr(tp, ':');
	struct bpf_link *l;

	snprintf(cat, sizeof(cat), "%.*s", (int)(ev - tp), tp);
	ev++;
	if (env->tracefs[0]) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/events/%s/%s", env->tracefs, cat, ev);
		if (stat(path, &st) && errno == ENOENT) {
			snprintf(reason, rlen, "no %s event in this kernel", tp);
			return -ENOENT;
		}
		/* The tracers: the event exists (or tracefs is closed to us: not root), the
		 * skeleton's attach is the real test. */
		if (env->quick)
			return 0;
	}
	if (!probe_skel_ready()) {
		snprintf(reason, rlen, "cannot load a raw_tp program: %s", strerror(errno));
		return -errno;
	}
	l = bpf_program__attach_raw_tracepoint(probe_skel->progs.vt_probe_raw_tp, ev);
	if (!l) {
		int err = -errno;

		snprintf(reason, rlen, "raw_tp attach refused: %s", strerror(-err));
		return err;
	}
	bpf_link__destroy(l);
	return 0;
}

/* fentry, else kprobe: the method for one function symbol. */
static enum vt_method try_func(struct vt_env *env, const char *sym, const char *module,
			       char *reason, size_t rlen)
{
	char fr[160] = "fentry not tried", kr[160];
	/* fentry's trampoline holds a reference on the module: it could not be unloaded */
	bool no_fentry = env->force_kprobe || (module && env->module_kprobes);

	if (env->quick) {
		if (env->fentry_works && !no_fentry) {
			snprintf(reason, rlen, "fentry (symbol present)");
			return VT_M_FENTRY;
		}
		if (env->kprobes) {
			snprintf(reason, rlen, "kprobe (symbol present; %s%s)",
				 env->force_kprobe ? "fentry not used (--kprobe, or a command "
						     "without a count) or refused" :
				 no_fentry ? "not fentry, so that this module can be unloaded: " :
					     "the kernel refuses fentry",
				 !env->force_kprobe && no_fentry ? module : "");
			return VT_M_KPROBE;
		}
		snprintf(reason, rlen, "the kernel refuses fentry and kprobes");
		return VT_M_NONE;
	}
	if (!no_fentry && vt_try_fentry(sym, module, fr, sizeof(fr)) == 0) {
		snprintf(reason, rlen, "fentry attached (BTF of %s)", module ? module : "vmlinux");
		return VT_M_FENTRY;
	}
	if (env->force_kprobe)
		snprintf(fr, sizeof(fr), "fentry disabled by --kprobe");
	if (!env->kprobes)
		snprintf(kr, sizeof(kr), "kprobes unavailable (see doctor's kprobes line)");
	else if (vt_try_kprobe(sym, kr, sizeof(kr)) == 0) {
		snprintf(reason, rlen, "%s; kprobe attached", fr);
		return VT_M_KPROBE;
	}
	snprintf(reason, rlen, "%s; %s", fr, kr);
	return VT_M_NONE;
}

/* Whether /sys/class/iommu has a unit whose name starts with prefix (dmar: VT-d, ivhd:
 * AMD-Vi). Both drivers are built in and register their units at boot, so without one the
 * vendor's functions never run: each probe on them would only cost an attach and a detach
 * (~30 ms of grace periods each at the stop, one after the other, on a kernel without
 * kprobe_multi). A class that cannot be read says nothing: probe them as before. */
bool vt_iommu_unit_present(const char *prefix)
{
	DIR *d = opendir("/sys/class/iommu");
	struct dirent *e;
	bool found = false;

	if (!d)
		return true;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return found;
}

static void probe_point(struct vt_env *env, struct vt_ksyms *ks, struct vt_point *p)
{
	const struct vt_ksym *s, *clone;
	const char *owner = p->module ? p->module : "vmlinux";
	bool unmap;
	size_t n;

	p->method = VT_M_NONE;
	p->absent = false;
	p->symbol[0] = 0;
	switch (p->kind) {
	case VT_PK_TRACEPOINT:
		if (try_tracepoint(env, p->name, p->reason, sizeof(p->reason)) == 0) {
			p->method = VT_M_TRACEPOINT;
			snprintf(p->reason, sizeof(p->reason), "raw_tp attached");
		}
		return;
	case VT_PK_CALLBACK:
		/* type1's notify and iommufd's vfio_emulated_unmap both call them */
		if (!env->mod_type1 && !env->mod_iommufd) {
			snprintf(p->reason, sizeof(p->reason),
				 "neither vfio_iommu_type1 nor iommufd loaded");
			return;
		}
		p->method = VT_M_DYNAMIC;
		snprintf(
			p->reason, sizeof(p->reason),
			"%s on every function with dma_unmap's prototype in the BTF of the modules "
			"using vfio, before tracing starts and when such a module loads; a callback "
			"a device shows that is not among them, when it shows it",
			env->fentry_works ? "fentry (kprobe fallback)" : "kprobe");
		return;
	default: break;
	}
	if (p->iommu_unit && !vt_iommu_unit_present(p->iommu_unit)) {
		p->absent = true;
		snprintf(
			p->reason, sizeof(p->reason),
			"not present: no %s unit on this host (/sys/class/iommu/%s*, registered at "
			"boot)",
			strcmp(p->iommu_unit, "dmar") ? "AMD-Vi" : "VT-d", p->iommu_unit);
		return;
	}
	if (p->module && !module_loaded(p->module)) {
		/* e.g. iommufd on Debian's kernels (no CONFIG_IOMMUFD) */
		p->absent = !module_available(env->release, p->module);
		if (p->absent)
			snprintf(p->reason, sizeof(p->reason),
				 "not present: no module %s in this kernel", p->module);
		else
			snprintf(p->reason, sizeof(p->reason), "module %s not loaded", p->module);
		return;
	}
	s = vt_ksyms_by_name(ks, p->name, p->module);
	/* CONFIG_DEBUG_LOCK_ALLOC makes mutex_lock a macro around mutex_lock_nested(lock, 0). */
	if (!s && !strcmp(p->name, "mutex_lock"))
		s = vt_ksyms_by_name(ks, "mutex_lock_nested", NULL);
	clone = s ? NULL : vt_ksyms_clone(ks, p->name, p->module);
	if (!s && p->kind == VT_PK_INLINED_FUNC && !clone) {
		const struct vt_ksym *parent = vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", T1);

		if (parent) {
			p->method = VT_M_INLINED;
			snprintf(p->reason, sizeof(p->reason),
				 "no symbol: inlined into vfio_iommu_type1_ioctl; %s", p->use);
		} else {
			snprintf(p->reason, sizeof(p->reason),
				 "no symbol, and no vfio_iommu_type1_ioctl");
		}
		return;
	}
	if (!s && clone) {
		snprintf(p->symbol, sizeof(p->symbol), "%s", clone->name);
		snprintf(
			p->reason, sizeof(p->reason),
			"only the compiler clone %s exists (its arguments may be rewritten): not traced",
			clone->name);
		return;
	}
	if (!s) {
		snprintf(p->reason, sizeof(p->reason), "no symbol %s in %s", p->name, owner);
		return;
	}
	snprintf(p->symbol, sizeof(p->symbol), "%s", s->name);
	p->method = try_func(env, s->name, p->module, p->reason, sizeof(p->reason));
	if (p->kind != VT_PK_INLINED_FUNC || p->method == VT_M_NONE)
		return;
	n = strlen(p->reason);
	unmap = !strcmp(p->name, "vfio_dma_do_unmap");
	if (unmap ? env->reconstruct_unmap : env->reconstruct_notify) {
		p->method = VT_M_INLINED;
		snprintf(p->reason + n, sizeof(p->reason) - n, "; a symbol here, but %s=1: %s",
			 unmap ? "VFIO_TRACE_RECONSTRUCT_UNMAP" : "VFIO_TRACE_RECONSTRUCT_NOTIFY",
			 p->use);
	} else
		snprintf(p->reason + n, sizeof(p->reason) - n,
			 "; a symbol here: each %s measured at its own entry and exit",
			 unmap ? "unmap" : "notify");
}

bool vt_env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

int vt_env_probe(struct vt_env *env, bool quick)
{
	struct utsname u;
	char why[160];

	memset(env, 0, sizeof(*env));
	env->quick = quick;
	uname(&u);
	snprintf(env->release, sizeof(env->release), "%s", u.release);
	env->vmlinux_btf = path_exists("/sys/kernel/btf/vmlinux");
	env->btf_vfio = path_exists("/sys/kernel/btf/vfio");
	env->btf_type1 = path_exists("/sys/kernel/btf/vfio_iommu_type1");
	env->mod_vfio = module_loaded("vfio");
	env->mod_type1 = module_loaded(T1);
	env->mod_iommufd = module_loaded("iommufd") && path_exists("/sys/kernel/btf/iommufd");
	env->mod_vfio_avail = env->mod_type1 || module_available(u.release, T1);
	env->force_kprobe = vt_env_is_1("VFIO_TRACE_NO_FENTRY");
	env->reconstruct_notify = vt_env_is_1("VFIO_TRACE_RECONSTRUCT_NOTIFY");
	env->reconstruct_unmap = vt_env_is_1("VFIO_TRACE_RECONSTRUCT_UNMAP");
	probe_caps(env);
	probe_tracefs(env);
	libbpf_set_print(libbpf_quiet);
	if (quick) {
		/* No test attaches and no parsed vmlinux BTF (several MiB, ~0.1 s, and libbpf
		 * parses its own copy to load the skeleton): fentry is assumed, and the loader
		 * falls back to kprobes when the skeleton does not load or attach. kprobes: the
		 * perf kprobe PMU only (kprobe_pmu()). */
		env->fentry_works = env->privileged && !env->force_kprobe && env->vmlinux_btf;
		env->kprobes = env->privileged && kprobe_pmu();
		env->kprobe_multi = env->privileged && kprobe_multi_works();
		return 0;
	}
	if (env->vmlinux_btf && !vmlinux_btf)
		vmlinux_btf = btf__load_vmlinux_btf();
	if (env->privileged) {
		/* A function every kernel has, to tell "fentry refused here" from "this point". */
		env->fentry_works = !env->force_kprobe &&
				    vt_try_fentry("vfs_read", NULL, why, sizeof(why)) == 0;
		env->kprobes = vt_try_kprobe("vfs_read", why, sizeof(why)) == 0;
		env->kprobe_multi = kprobe_multi_works();
	}
	return 0;
}

void vt_points_probe(struct vt_env *env, struct vt_ksyms *ks)
{
	const char *hidden = vt_ksyms_hidden(ks);

	snprintf(env->ksyms_hidden, sizeof(env->ksyms_hidden), "%s", hidden ? hidden : "");
	for (int i = 0; i < vt_npoints; i++) {
		struct vt_point *p = &vt_points[i];

		if (!env->privileged) {
			p->method = VT_M_NONE;
			snprintf(p->reason, sizeof(p->reason), "not tried: missing %s",
				 env->missing_caps);
			continue;
		}
		probe_point(env, ks, p);
	}
	if (probe_skel) {
		probe_bpf__destroy(probe_skel);
		probe_skel = NULL;
	}
	/* Parsed vmlinux BTF is several MiB: nothing needs it after this. */
	module_btfs_free();
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
}

const char *vt_env_blocker(const struct vt_env *env)
{
	static char msg[320];

	if (!env->privileged) {
		snprintf(msg, sizeof(msg), "missing privileges: need %s (run as root)",
			 env->missing_caps);
		return msg;
	}
	if (env->ksyms_hidden[0])
		return env->ksyms_hidden;
	/* An iommufd-only host (VMs on /dev/iommu + VFIO cdev) may never load type1: the
	 * iommufd points are then enough, and type1's show as its module not loaded. */
	if (!env->mod_type1 && !env->mod_iommufd && !env->mod_vfio_avail)
		return "VFIO is not available in this kernel (no vfio_iommu_type1 module)";
	if (!env->mod_type1 && !env->mod_iommufd)
		return "neither vfio_iommu_type1 nor iommufd is loaded: no VFIO container or IOAS "
		       "is in use on this host (modprobe vfio_iommu_type1)";
	if (!env->vmlinux_btf && !env->btf_file)
		return "this kernel has no BTF (/sys/kernel/btf/vmlinux): vfio-trace needs "
		       "CONFIG_DEBUG_INFO_BTF";
	if (env->mod_type1 && !env->btf_type1 && !env->btf_file)
		return "vfio_iommu_type1 has no module BTF (/sys/kernel/btf/vfio_iommu_type1): "
		       "vfio-trace needs CONFIG_DEBUG_INFO_BTF_MODULES";
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		if (p->required && p->method == VT_M_NONE && env->mod_type1) {
			snprintf(msg, sizeof(msg), "cannot attach to %s: %s", p->name, p->reason);
			return msg;
		}
	}
	return NULL;
}
