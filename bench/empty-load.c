// SPDX-License-Identifier: GPL-2.0
/*
 * bench/empty-load GROUP...: load and attach bench/empty.bpf.c's empty programs of the named
 * groups (vfio: the 18 fentry/fexit points of vfio-trace's detailed commands (stat, hist,
 * snoop), including the test module's dt_dma_unmap; lean: the 9 of `top` and `locks` that
 * a storm runs (ioctl, dt_dma_unmap, fexit of vfio_{pin,unpin}_pages, register, unregister,
 * fentry of vfio_remove_dma, which counts a teardown's vfio_dma); both groups also get
 * fentry+fexit on vfio_dma_do_unmap and vfio_notify_dma_unmap where the kernel has them as
 * functions, as vfio-trace attaches them there (elsewhere they are inlined); mutex:
 * fentry on mutex_lock and mutex_unlock; phases: the phases of vfio_unmap_unpin, which
 * `top --phases` adds to the vfio group's points, each where the kernel has the function and,
 * for a vendor IOMMU driver's, a unit of that vendor), print
 * "empty-load: attached N programs (GROUPS), tracing" on stderr, stay attached until
 * SIGINT/SIGTERM, detach, exit 0. Exit 1 when a program cannot be loaded or attached.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "empty.skel.h"

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

/* A VT-d (intel_*) or AMD-Vi (amd_*) function only where /sys/class/iommu has a unit of that
 * vendor (dmar*, ivhd*), as vfio-trace probes them (lib/probe.c): elsewhere dead code. */
static int vendor_iommu_present(const char *fn)
{
	const char *prefix = !strncmp(fn, "intel_", 6) ? "dmar" :
			     !strncmp(fn, "amd_", 4)   ? "ivhd" :
							 NULL;
	DIR *d = prefix ? opendir("/sys/class/iommu") : NULL;
	struct dirent *e;
	int found = 0;

	if (!d)
		return 1;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return found;
}

/* name is a text symbol in /proc/kallsyms: of module mod (NULL: of any, or of vmlinux), i.e.
 * a function of its own on this kernel, not inlined. */
static int ksym_has(const char *name, const char *mod)
{
	char line[256], type, sym[128], m[64];
	FILE *f = fopen("/proc/kallsyms", "r");
	int found = 0, n;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		m[0] = 0;
		n = sscanf(line, "%*s %c %127s [%63[^]]]", &type, sym, m);
		found = n >= 2 && (type == 't' || type == 'T') && !strcmp(sym, name) &&
			(!mod || !strcmp(m, mod));
	}
	fclose(f);
	return found;
}

/* EMPTY_LOAD_TYPE1_FUNCS="name ...": which of them vfio_iommu_type1 has, as the runner found
 * once before timing (bench/startup-guest.sh), so that the limit's start-up is the load and
 * attach alone, not two scans of /proc/kallsyms (each one of fgets + sscanf per line) */
static int type1_has(const char *name)
{
	const char *given = getenv("EMPTY_LOAD_TYPE1_FUNCS");
	size_t len = strlen(name);

	if (!given)
		return ksym_has(name, "vfio_iommu_type1");
	for (const char *p = strstr(given, name); p; p = strstr(p + 1, name))
		if ((p == given || p[-1] == ' ') && (p[len] == 0 || p[len] == ' '))
			return 1;
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

int main(int argc, char **argv)
{
	int want_vfio = 0, want_lean = 0, want_mutex = 0, want_phases = 0, n = 0, has_do_unmap,
	    has_notify;
	struct empty_bpf *s;
	struct bpf_program *p;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "vfio"))
			want_vfio = 1;
		else if (!strcmp(argv[i], "lean"))
			want_lean = 1;
		else if (!strcmp(argv[i], "mutex"))
			want_mutex = 1;
		else if (!strcmp(argv[i], "phases"))
			want_phases = 1;
		else {
			fprintf(stderr, "usage: empty-load vfio|lean|mutex|phases...\n");
			return 2;
		}
	}
	if (!want_vfio && !want_lean && !want_mutex && !want_phases) {
		fprintf(stderr, "usage: empty-load vfio|lean|mutex|phases...\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	s = empty_bpf__open();
	if (!s) {
		fprintf(stderr, "empty-load: open: %s\n", strerror(errno));
		return 1;
	}
	has_do_unmap = type1_has("vfio_dma_do_unmap");
	has_notify = type1_has("vfio_notify_dma_unmap");
	bpf_object__for_each_program(p, s->obj) {
		static const char *const lean[] = {
			"e_fe_ioctl",	   "e_fx_ioctl",      "e_fx_vfio_pin", "e_fx_vfio_unpin",
			"e_fe_register",   "e_fe_unregister", "e_fe_callback", "e_fx_callback",
			"e_fe_remove_dma", "e_fe_do_unmap",   "e_fx_do_unmap", "e_fe_notify",
			"e_fx_notify"
		};
		const char *name = bpf_program__name(p);
		int mutex = strstr(name, "mutex") != NULL, in_lean = 0;

		if (!strncmp(name, "e_ph_", 5)) { /* a phase point: where the function is one */
			const char *fn = strchr(bpf_program__section_name(p), '/');

			bpf_program__set_autoload(p, want_phases && fn && ksym_has(fn + 1, NULL) &&
							     vendor_iommu_present(fn + 1));
			continue;
		}

		for (size_t i = 0; i < sizeof(lean) / sizeof(lean[0]); i++)
			in_lean |= !strcmp(name, lean[i]);
		if ((strstr(name, "_do_unmap") && !has_do_unmap) ||
		    (strstr(name, "_notify") && !has_notify)) {
			bpf_program__set_autoload(p, 0);
			continue;
		}
		bpf_program__set_autoload(p,
					  mutex ? want_mutex : want_vfio || (want_lean && in_lean));
	}
	if (empty_bpf__load(s)) {
		fprintf(stderr, "empty-load: load failed (is vfio_dmatest loaded, with BTF?)\n");
		return 1;
	}
	bpf_object__for_each_program(p, s->obj) {
		if (!bpf_program__autoload(p))
			continue;
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "empty-load: attach %s: %s\n", bpf_program__name(p),
				strerror(errno));
			empty_bpf__destroy(s);
			return 1;
		}
		n++;
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	fprintf(stderr, "empty-load: attached %d programs (%s%s%s%s%s), tracing\n", n,
		want_vfio ? "vfio" :
		want_lean ? "lean" :
			    "",
		(want_vfio || want_lean) && want_mutex ? "," : "", want_mutex ? "mutex" : "",
		(want_vfio || want_lean || want_mutex) && want_phases ? "," : "",
		want_phases ? "phases" : "");
	while (!stop)
		pause();
	empty_bpf__destroy(s);
	return 0;
}
