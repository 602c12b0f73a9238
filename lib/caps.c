// SPDX-License-Identifier: GPL-2.0
/*
 * Capabilities: once a command has attached what it attaches at start, it keeps only what it
 * still uses, in the effective, permitted and bounding sets (inheritable and ambient emptied,
 * no_new_privs set: it never executes anything). What each command keeps, and why, is in
 * README "Privileges" and each man page:
 *
 * - the tracers (stat, top, snoop, hist, locks) load and attach programs while they run (a
 *   driver's dma_unmap callback when a new device shows up, fentry or kprobe): CAP_SYS_ADMIN.
 *   CAP_BPF + CAP_PERFMON are not enough on the kernels vfio-trace supports (measured in the
 *   lab, 6.12): the programs are CO-RE-relocated against the VFIO modules' own BTF (struct
 *   vfio_iommu lives in vfio_iommu_type1), and libbpf finds module BTF by walking the
 *   kernel's BTF objects, which BPF_BTF_GET_NEXT_ID / BPF_BTF_GET_FD_BY_ID allow only with
 *   CAP_SYS_ADMIN ("failed to iterate BTF objects", then the load fails, kprobes too); and
 *   Debian's kernel.perf_event_paranoid=3 refuses perf_event_open (the kprobe PMU) to all but
 *   CAP_SYS_ADMIN. CAP_SYS_ADMIN covers what CAP_BPF and CAP_PERFMON would (bpf_capable(),
 *   perfmon_capable()), so those two are not kept beside it. CAP_KILL (SIGCONT to a stopped
 *   module loader); CAP_SYS_PTRACE only when /proc is mounted with hidepid (else any
 *   process's comm, cmdline and stat are readable without it). No CAP_SYSLOG: lib/ksyms.c
 *   keeps the kallsyms file it opened with it, and the kernel decides at open whether
 *   addresses show.
 * - doctor and hung: nothing, once their test attaches / iterators are done.
 */
#include <errno.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include "vt.h"

/* The highest capability this kernel knows (CAP_BPF is 39, new in 5.8). */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n >= 0 ? n : CAP_LAST_CAP;
}

/* /proc mounted with hidepid=1/2 (invisible, noaccess): other users' processes need
 * ptrace access (CAP_SYS_PTRACE) to be read. */
static bool proc_hides_pids(void)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	bool hidden = false;

	while (f && (m = getmntent(f))) {
		const char *h;

		if (strcmp(m->mnt_type, "proc") || strcmp(m->mnt_dir, "/proc"))
			continue;
		h = hasmntopt(m, "hidepid");
		hidden = h && strncmp(h, "hidepid=0", 9) && strncmp(h, "hidepid=off", 11);
	}
	if (f)
		endmntent(f);
	return hidden;
}

int vt_caps_needed(enum vt_caps_role role, int *keep, int max)
{
	int n = 0;

#define KEEP(c)                          \
	do {                             \
		if (n < max)             \
			keep[n++] = (c); \
	} while (0)
	if (role != VT_CAPS_TRACER)
		return 0;
	KEEP(CAP_SYS_ADMIN);
	KEEP(CAP_KILL);
	if (proc_hides_pids())
		KEEP(CAP_SYS_PTRACE);
#undef KEEP
	return n;
}

static bool kept(const int *keep, int n, int c)
{
	for (int i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

int vt_caps_limit(const int *keep, int n)
{
	int last = last_cap(), err = 0;
	cap_t caps = cap_get_proc();
	cap_value_t v[64];
	int nv = 0;

	if (!caps)
		return -errno;
	/* Bounding first: it takes CAP_SETPCAP, which the next step drops. */
	if (CAP_IS_SUPPORTED(CAP_SETPCAP)) {
		for (int c = 0; c <= last; c++) {
			if (kept(keep, n, c) || cap_get_bound(c) != 1)
				continue;
			if (cap_drop_bound(c) && !err)
				err = -errno; /* no CAP_SETPCAP (a setcap'd binary without it) */
		}
	}
	/* Effective and permitted: what we hold of keep; inheritable empty. */
	for (int c = 0; c <= last && c < 64; c++) {
		cap_flag_value_t f = CAP_CLEAR;

		if (kept(keep, n, c) && !cap_get_flag(caps, c, CAP_PERMITTED, &f) && f == CAP_SET)
			v[nv++] = c;
	}
	cap_clear(caps);
	if (nv && (cap_set_flag(caps, CAP_PERMITTED, nv, v, CAP_SET) ||
		   cap_set_flag(caps, CAP_EFFECTIVE, nv, v, CAP_SET))) {
		cap_free(caps);
		return -EINVAL;
	}
	if (cap_set_proc(caps) && !err)
		err = -errno;
	cap_free(caps);
	cap_reset_ambient();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return err;
}

/* "CapEff=... CapPrm=... CapBnd=..." as /proc/self/status has them. */
static void status_caps(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	size_t off = 0;

	buf[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char val[32];

		if (sscanf(line, "CapEff: %31s", val) == 1 ||
		    sscanf(line, "CapPrm: %31s", val) == 1 ||
		    sscanf(line, "CapBnd: %31s", val) == 1)
			off += snprintf(buf + off, len > off ? len - off : 0, "%s%.6s=%s",
					off ? " " : "", line, val);
	}
	if (f)
		fclose(f);
}

void vt_caps_after_attach(enum vt_caps_role role)
{
	int keep[8] = { 0 }, n = vt_caps_needed(role, keep, 8), err = vt_caps_limit(keep, n);
	char now[160], names[160] = "";
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		char *s = cap_to_name(keep[i]);

		off += snprintf(names + off, sizeof(names) > off ? sizeof(names) - off : 0, "%s%s",
				i ? "," : "", s ? s : "?");
		cap_free(s);
	}
	status_caps(now, sizeof(now));
	if (err)
		vt_warn("could not drop every unneeded capability (%s): %s", strerror(-err), now);
	vt_dbg("capabilities kept after attach: %s (%s)", n ? names : "none", now);
}

/* VFIO_TRACE_TEST_DROP_CAPS=cap_syslog,cap_sys_admin: start without those, as a partly
 * privileged user would (lab tests; it can only take privileges away). */
int vt_caps_test_drop(void)
{
	const char *e = getenv("VFIO_TRACE_TEST_DROP_CAPS");
	int keep[64], n = 0, last = last_cap();
	char *list, *tok, *save = NULL;
	cap_t caps;

	if (!e || !*e)
		return 0;
	list = strdup(e);
	caps = cap_get_proc();
	if (!list || !caps) {
		free(list);
		cap_free(caps);
		return -ENOMEM;
	}
	for (int c = 0; c <= last && c < 64; c++) {
		cap_flag_value_t f;

		if (!cap_get_flag(caps, c, CAP_PERMITTED, &f) && f == CAP_SET)
			keep[n++] = c;
	}
	cap_free(caps);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		cap_value_t c;

		if (cap_from_name(tok, &c)) {
			vt_err("VFIO_TRACE_TEST_DROP_CAPS: unknown capability '%s'", tok);
			free(list);
			return -EINVAL;
		}
		for (int i = 0; i < n; i++)
			if (keep[i] == c)
				keep[i--] = keep[--n];
	}
	free(list);
	return vt_caps_limit(keep, n) == 0 ? 0 : -EPERM;
}
