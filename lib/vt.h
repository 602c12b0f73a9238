/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vfio-trace library. The BPF backend: the attach points (points.c), what this kernel
 * lets each use (probe.c), load and attach (loader.c), the ring buffers (rings.c), the maps
 * read into a snapshot (snapshot.c), the drivers' callbacks (callbacks.c); hung's collection
 * (hung.c). Pure: kernel symbols (ksyms.c), aggregation and the operation table (model.c),
 * reports and process identity (report.c), filters (filter.c), hung's wait-for graph
 * (hung_graph.c), escaping names (escape.c), capabilities (caps.c), output helpers (util.c).
 * No command, option parser or screen: those are cmd/'s.
 */
#ifndef VT_LIB_H
#define VT_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "vt_shared.h"

/* Exit codes, the same for every command. */
#define VT_EXIT_OK    0
#define VT_EXIT_FAIL  1 /* runtime failure: the tool cannot do what was asked here */
#define VT_EXIT_USAGE 2 /* bad arguments */

extern int vt_verbose;
extern const char *vt_prog; /* "vfio-trace" or "vfio-trace <command>" */

void vt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vt_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing for options: false (and a one-line error) on anything not a number
 * in [min, max]. */
bool vt_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds in [min, max]; a bad value gets one line naming opt. */
/* Bytes in [min, max]: a whole number, optionally with a K, M or G suffix (powers of 1024). */
bool vt_parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool vt_parse_secs(const char *opt, const char *s, double min, double max, double *secs);
bool vt_parse_interval(const char *s, double *secs);
uint64_t vt_now_ns(void); /* CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() uses */
/* glibc malloc kept from giving each interval's large buffers back and mapping them again. */
void vt_malloc_tune(void);

/* ---- names in output (lib/escape.c) -------------------------------------------------------
 * VM names, comm, device and driver names are chosen by other people. Text output shows them
 * the way `ls -b` / systemd-escape do: printable ASCII and valid UTF-8 as they are; a
 * backslash as \\; control bytes (C0, DEL), C1 controls, bidi controls, U+2028/9 and every
 * byte that is not valid UTF-8 as \xNN (lower-case hex, one per byte). srclen bounds src
 * (fixed-size kernel arrays need not end in NUL). The output is cut at a whole character or
 * escape and always NUL-terminated. */
#define VT_ESC_SIZE(n) (4 * (n) + 1) /* room for n input bytes, escaped */
char *vt_esc(char *dst, size_t size, const char *src, size_t srclen);
/* The same, cut to at most cols columns and padded with spaces to exactly cols (a UTF-8
 * character counts as one column). cols < 0: no cut, no padding. */
char *vt_esc_cols(char *dst, size_t size, const char *src, size_t srclen, int cols);
/* The columns vt_esc()'s output of src takes. */
size_t vt_esc_width(const char *src, size_t srclen);
/* Text of several lines (len bytes, vfio-trace's own messages): each line escaped but for
 * backslashes (names in them are escaped already), the newlines kept (malloc'd). */
char *vt_esc_lines(const char *src, size_t len);
/* A serialized JSON document made valid UTF-8 (malloc'd): every byte that is not part of
 * valid UTF-8 becomes U+FFFD, DEL and C1 controls become \u007f..\u009f escapes. */
char *vt_json_utf8(const char *json);

/* ---- stopping (lib/util.c) ------------------------------------------------------------------
 * SIGINT, SIGTERM, SIGHUP: the first sets vt_stop = VT_STOP_SIGNAL and vt_stop_ns (the
 * commands drain what the rings hold for at most VT_DRAIN_MS after it, print their final
 * numbers, detach, exit 0); a second one kills the process with that signal at once (the
 * kernel detaches every BPF link when its fds close). SIGPIPE is ignored: a write to a closed
 * stdout fails with EPIPE, vt_out_check() sees it and sets VT_STOP_OUTPUT (no drain, no final
 * output, detach, exit 0); any other write error prints one line and the exit status is 1. */
#define VT_STOP_SIGNAL 1
#define VT_STOP_OUTPUT 2
#define VT_DRAIN_MS    300
extern volatile int vt_stop;
extern volatile uint64_t vt_stop_ns;
void vt_install_signals(void);
/* Flush stdout; false (and vt_stop set) when it cannot be written any more. */
bool vt_out_check(void);
/* Whether stdout's reader is gone already (a pipe polls POLLERR), without writing: the
 * waits check it every 100 ms, so `stat 10 | head -1` does not run until its next line. */
bool vt_out_gone(void);
/* rc, or VT_EXIT_FAIL when writing stdout failed other than by EPIPE. */
int vt_exit_code(int rc);

/* ---- kernel symbols (/proc/kallsyms: a pass costs ~0.2-0.5 s on an emulated CPU, a table
 * of every text symbol several MiB; lib/ksyms.c reads only what is asked) ----------------- */
struct vt_ksym {
	uint64_t addr;
	char *name;
	char *module; /* NULL for vmlinux */
};

struct vt_ksyms;
/* One pass keeping what vfio-trace looks up by name: every symbol of the VFIO modules and the
 * vmlinux functions it attaches to (vt_ksyms_wanted()). NULL when kallsyms cannot be read. */
struct vt_ksyms *vt_ksyms_load(void);
struct vt_ksyms *vt_ksyms_load_path(const char *path); /* another file (unit tests) */
/* The same, keeping the symbols of extra_modules (NULL-terminated) too. */
struct vt_ksyms *vt_ksyms_load_with(const char *const *extra_modules);
struct vt_ksyms *vt_ksyms_load_path_with(const char *path, const char *const *extra_modules);
/* The kernel's answer for name in module (NULL: vmlinux or any module): 0 and *addr, -ENOENT
 * when it has none, -EPERM when it hides addresses from this process, another -errno when it
 * cannot answer (lib/ksym_lookup.c's vt_ksym_lookup). */
typedef int (*vt_ksym_lookup_fn)(void *ctx, const char *name, const char *module, uint64_t *addr);
/* Lookup mode: no pass; vt_ksyms_by_name and vt_ksyms_data ask lookup for a name not kept, and
 * keep it. kallsyms is opened (not read) now, for the passes of later (vt_ksyms_at, by_addr)
 * and for the fallback: when lookup does not answer, first or later (capabilities dropped),
 * the table is what vt_ksyms_load_with(extra_modules) keeps (extra_modules only if first).
 * vt_ksyms_clone sees only what was kept. ctx must outlive the table. */
struct vt_ksyms *vt_ksyms_open_lookup(vt_ksym_lookup_fn lookup, void *ctx,
				      const char *const *extra_modules);
struct vt_ksyms *vt_ksyms_open_lookup_path(const char *path, vt_ksym_lookup_fn lookup, void *ctx,
					   const char *const *extra_modules);
bool vt_ksyms_lookup_mode(const struct vt_ksyms *ks); /* still asking the kernel */
/* The kernel's lookups (lib/ksym_lookup.c): NULL where they would be slow (no sorted name
 * index: before 6.2 unless backported) or do not load; VFIO_TRACE_KSYMS=pass never, =lookup
 * on any kernel. */
struct vt_ksym_lookup;
struct vt_ksym_lookup *vt_ksym_lookup_open(void);
int vt_ksym_lookup(void *ctx, const char *name, const char *module, uint64_t *addr);
void vt_ksym_lookup_close(struct vt_ksym_lookup *l);
/* Keep every text symbol of module too (one pass, none when they are kept already; none in
 * lookup mode, where its names are asked for one by one). */
int vt_ksyms_add_module(struct vt_ksyms *ks, const char *module);
/* Drop every symbol of module (unloaded: its addresses are stale; a module loaded again is
 * elsewhere, vt_ksyms_add_module reads it anew). */
void vt_ksyms_forget_module(struct vt_ksyms *ks, const char *module);
/* Both: module loaded again, its symbols (text, and data where kept) at their new addresses. */
int vt_ksyms_reload_module(struct vt_ksyms *ks, const char *module);
void vt_ksyms_free(struct vt_ksyms *ks);
/* Whether vt_ksyms_load() keeps symbol name of module (NULL: vmlinux). */
bool vt_ksyms_wanted(const char *name, const char *module);
size_t vt_ksyms_count(const struct vt_ksyms *ks); /* symbols kept */
/* NULL, or one sentence when kallsyms showed this process text symbols at address 0 (hidden
 * by kernel.kptr_restrict / perf_event_paranoid without CAP_SYSLOG): those are never kept,
 * so nothing is named or attached from a zero. */
const char *vt_ksyms_hidden(const struct vt_ksyms *ks);
/* The text symbol containing addr. The first call reads and keeps every text symbol. */
const struct vt_ksym *vt_ksyms_by_addr(struct vt_ksyms *ks, uint64_t addr);
/* The text symbol starting exactly at addr (a function); one pass for an address not kept
 * (a driver's callback, a module loaded since), the symbol is kept. */
const struct vt_ksym *vt_ksyms_at(struct vt_ksyms *ks, uint64_t addr);
/* Exact name, in module (NULL: any), among the kept symbols (lookup mode: else the kernel's). */
const struct vt_ksym *vt_ksyms_by_name(struct vt_ksyms *ks, const char *name, const char *module);
/* A compiler clone of name (name.isra.0, name.constprop.0, name.part.0; not name.cold). */
const struct vt_ksym *vt_ksyms_clone(const struct vt_ksyms *ks, const char *name,
				     const char *module);
/* A data symbol of a VFIO module (vfio_device_fops is the only data vfio-trace looks up;
 * lookup mode: else the kernel's). */
const struct vt_ksym *vt_ksyms_data(struct vt_ksyms *ks, const char *name, const char *module);
/* Parse one /proc/kallsyms line (exposed for unit tests). */
bool vt_ksyms_parse_line(const char *line, uint64_t *addr, char *type, char *name, size_t nlen,
			 char *module, size_t mlen);

/* ---- where the drivers' dma_unmap callbacks are (callbacks.c) ---------------------------- */
#define VT_MODNAME_LEN 56 /* the kernel's MODULE_NAME_LEN on 64-bit */
struct btf;
/* Is BTF function func_id `void (struct vfio_device *, u64, u64)`, dma_unmap's prototype? */
bool vt_btf_is_dma_unmap(const struct btf *btf, uint32_t func_id);
/* Call found() for each such function from type id first_id on (a module's own types);
 * returns how many. */
int vt_btf_dma_unmap_funcs(const struct btf *btf, uint32_t first_id,
			   void (*found)(void *ctx, const char *func), void *ctx);
/* The modules that use vfio.ko (sysfs_module/vfio/holders; sysfs_module is /sys/module):
 * the only ones that can hold a vfio_device driver. Returns how many, or -errno. */
int vt_vfio_holders(const char *sysfs_module, char names[][VT_MODNAME_LEN], int max);

/* ---- capabilities (lib/caps.c) ---------------------------------------------------------- */
enum vt_caps_role {
	VT_CAPS_NONE,	/* doctor, hung: nothing once their attaches/iterators are done */
	VT_CAPS_TRACER, /* stat, top, snoop, hist, locks: they attach more while running */
};
/* The CAP_* values role still needs after attach, into keep (at most max); how many. */
int vt_caps_needed(enum vt_caps_role role, int *keep, int max);
/* Keep only keep[0..n) in the effective, permitted and bounding sets; inheritable and ambient
 * emptied, no_new_privs set. 0, or -errno (what could be dropped is). */
int vt_caps_limit(const int *keep, int n);
/* vt_caps_limit() with vt_caps_needed(role); a warning when something stays, -v says what. */
void vt_caps_after_attach(enum vt_caps_role role);
/* The test hook VFIO_TRACE_TEST_DROP_CAPS=cap_a,cap_b (start without those). 0 or -errno. */
int vt_caps_test_drop(void);

/* ---- attach points ---------------------------------------------------------------------- */
enum vt_method {
	VT_M_NONE = 0, /* not usable: see reason */
	VT_M_FENTRY,
	VT_M_KPROBE,
	VT_M_TRACEPOINT,
	VT_M_INLINED, /* no symbol: the compiler inlined it; measured from others */
	VT_M_DYNAMIC, /* attached at run time (drivers' dma_unmap callbacks) */
};

enum vt_point_kind { VT_PK_FUNC, VT_PK_TRACEPOINT, VT_PK_INLINED_FUNC, VT_PK_CALLBACK };

struct vt_point {
	const char *name;   /* function, or "category:event" */
	const char *module; /* where the function lives (NULL: vmlinux) */
	enum vt_point_kind kind;
	const char *progs;	/* non-NULL: vfio-trace attaches its programs here (bound to the
				 * skeleton's members in lib/loader.c's vt_point_progs; the string
				 * is their common suffix, for a reader) */
	const char *use;	/* what vfio-trace measures with it */
	bool required;		/* the tracer cannot work without it */
	unsigned feature;	/* VT_FEAT_* that loads it (0: always) */
	const char *iommu_unit; /* a vendor IOMMU driver's function (built in, dead code on the
				 * other vendor's hosts): traced only where /sys/class/iommu has a
				 * unit named so (units register at boot) */
	/* decided at run time */
	enum vt_method method;
	bool absent;	  /* its module is not in this kernel at all (iommufd on Debian's):
			   * nothing to warn about while tracing, doctor still lists it */
	char symbol[128]; /* the symbol actually probed (may be a clone) */
	char reason[256];
};

struct vt_env {
	char release[128];
	bool vmlinux_btf;
	bool btf_vfio, btf_type1;
	const char *btf_file;	  /* --btf FILE: the types from it (checked), not /sys/kernel/btf */
	bool mod_vfio, mod_type1; /* loaded */
	bool mod_iommufd;	  /* loaded: VFIO cdev devices can be traced without type1 */
	bool mod_vfio_avail;	  /* present in /lib/modules or built in */
	bool cap_bpf, cap_perfmon, cap_sys_admin, cap_syslog;
	char ksyms_hidden[256]; /* vt_ksyms_hidden()'s sentence, "" when readable */
	bool privileged;	/* enough to load and attach */
	char missing_caps[160];
	char tracefs[64];	 /* mount point, "" when not mounted */
	bool fentry_works;	 /* the kernel attached a test fentry program (quick:
					 * assumed until the skeleton fails to load or attach) */
	bool kprobes;		 /* the kernel has kprobes (quick: the kprobe PMU is there) */
	bool kprobe_multi;	 /* kprobe_multi links (CONFIG_FPROBE): many functions, one
				  * link, closed at once (lib/loader.c) */
	bool force_kprobe;	 /* VFIO_TRACE_NO_FENTRY=1 / --kprobe: skip fentry */
	bool reconstruct_notify; /* VFIO_TRACE_RECONSTRUCT_NOTIFY=1: vfio_notify_dma_unmap
				  * reconstructed from the callbacks even where it attaches */
	bool reconstruct_unmap;	 /* VFIO_TRACE_RECONSTRUCT_UNMAP=1: the unmap measured at
				  * vfio_iommu_type1_ioctl even where vfio_dma_do_unmap attaches */
	bool module_kprobes;	 /* module functions by kprobe: the modules stay unloadable */
	bool quick;		 /* the tracers: no test attach at all (each is a trampoline,
					 * kprobe or tracepoint install, up to a second under
					 * emulation): the method follows the symbol, fentry unless
					 * --kprobe, and a failed load or attach falls back to kprobes */
};

extern struct vt_point vt_points[];
extern const int vt_npoints;

/* Inspect the host. quick (the tracers): no test attach at all (fentry_works assumed unless
 * --kprobe; kprobes from the kprobe PMU's presence); else (doctor) a real fentry and kprobe
 * attach on vfs_read, and vt_points_probe() then tries every point for real. */
int vt_env_probe(struct vt_env *env, bool quick);
void vt_points_probe(struct vt_env *env, struct vt_ksyms *ks);
/* An fd of the kernel's BTF object of module (to load fentry programs against its BTF), or
 * -ENOENT. */
int vt_module_btf_fd(const char *module);
/* The kernel's BTF objects (the kernel's own, then the modules', in load order), one per call
 * from *id = 0 on: an fd of the next and its name, or -ENOENT after the last. */
int vt_kernel_btf_next(__u32 *id, char *name, size_t len);

/* lib/core_btf.c: CO-RE's target cut down to the types BPF objects can name. */
#define VT_CORE_BTF_MODULES 64
#define VT_CORE_BTF_OBJS    4
/* Those of the locals' named types (struct, union, enum, typedef) from base, or where base has
 * none of that name and kind, from the modules (split on base); each with what it holds by
 * value, pointers as pointers to void. *nfound of *nnames names found. NULL (errno) on error. */
struct btf *vt_core_btf_make(const struct btf *const *locals, int nlocals, const struct btf *base,
			     const struct btf *const *modules, int nmodules, int *nfound,
			     int *nnames);
/* A BPF object's ELF (a skeleton's elf_bytes). */
struct vt_core_obj {
	const void *elf;
	size_t size;
};
/* The same for the objects, with the named modules' BTF, written to a memfd for
 * bpf_object_open_opts.btf_custom_path ("/proc/self/fd/N"): its fd, or -1. */
int vt_core_btf_write(const struct vt_core_obj *objs, int nobjs, struct btf *base,
		      const char *const *modules, int nmodules);
struct vt_point *vt_point_find(const char *name);
const char *vt_method_name(enum vt_method m);
/* Whether environment variable name is set to "1" (the VFIO_TRACE_* switches). */
bool vt_env_is_1(const char *name);
/* Whether /sys/class/iommu has a unit of that vendor (dmar: VT-d, ivhd: AMD-Vi); true when
 * the class cannot be read. A vendor's functions are dead code on a host without its unit. */
bool vt_iommu_unit_present(const char *prefix);
/* NULL when the tracer can work; else one sentence saying why not. */
const char *vt_env_blocker(const struct vt_env *env);

/* --btf FILE (lib/btf_file.c): its BTF, once it is known to hold vmlinux's and the VFIO
 * modules' structs; else NULL, said on stderr in one line. */
struct btf *vt_btf_file_load(const char *path);
/* 0 when path is such a file, else -EINVAL (said on stderr). */
int vt_btf_file_check(const char *path);

#endif
