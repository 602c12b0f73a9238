// SPDX-License-Identifier: GPL-2.0
/* Capabilities and hidden kernel addresses, against this host's kernel (lib/caps.c,
 * lib/ksyms.c): what a command keeps after attach, what the sets hold once dropped, zero
 * kallsyms addresses never used, and the one-line refusal without CAP_SYSLOG. The dropping
 * happens in child processes; without root the tests that need it are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "vt.h"

static bool have_cap(cap_value_t c)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps) {
		cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

static unsigned long long status_hex(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long long v = ~0ULL;
	size_t kl = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
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

/* Run fn in a child; its exit status (0: its checks held). */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_needed(void **state)
{
	int keep[8], n;

	assert_int_equal(vt_caps_needed(VT_CAPS_NONE, keep, 8), 0);
	n = vt_caps_needed(VT_CAPS_TRACER, keep, 8);
	assert_true(n >= 2);
	assert_int_equal(keep[0], CAP_SYS_ADMIN);
	assert_int_equal(keep[1], CAP_KILL);
}

static int drop_to_kill(void)
{
	int keep[] = { CAP_KILL };

	if (vt_caps_limit(keep, 1))
		return 1;
	if (status_hex("CapEff") != 1ULL << CAP_KILL || status_hex("CapPrm") != 1ULL << CAP_KILL ||
	    status_hex("CapBnd") != 1ULL << CAP_KILL || status_hex("CapInh") ||
	    status_hex("CapAmb"))
		return 2;
	return status_hex("NoNewPrivs") == 1 ? 0 : 3;
}

static int drop_all(void)
{
	if (vt_caps_limit(NULL, 0))
		return 1;
	return status_hex("CapEff") || status_hex("CapPrm") || status_hex("CapBnd") ? 2 : 0;
}

/* Effective, permitted and bounding sets hold exactly what is kept, nothing else. */
static void test_limit(void **state)
{
	if (!have_cap(CAP_SETPCAP) || !have_cap(CAP_KILL))
		skip();
	assert_int_equal(in_child(drop_to_kill), 0);
	assert_int_equal(in_child(drop_all), 0);
}

/* Every capability we have except CAP_SYSLOG. */
static int drop_syslog(void)
{
	int keep[64], n = 0;

	for (int c = 0; c <= CAP_LAST_CAP && c < 64; c++)
		if (c != CAP_SYSLOG && have_cap(c))
			keep[n++] = c;
	return vt_caps_limit(keep, n) ? -1 : 0;
}

/* Whether this kernel shows kallsyms addresses to a process without CAP_SYSLOG
 * (kallsyms_show_value(): kptr_restrict 0 and perf_event_paranoid <= 1). */
static bool shown_without_syslog(void)
{
	return read_int("/proc/sys/kernel/kptr_restrict") == 0 &&
	       read_int("/proc/sys/kernel/perf_event_paranoid") <= 1;
}

static int hidden_without_syslog(void)
{
	struct vt_ksyms *ks;
	const char *why;

	if (drop_syslog())
		return 1;
	ks = vt_ksyms_load();
	if (!ks)
		return 2;
	why = vt_ksyms_hidden(ks);
	if (!why != shown_without_syslog())
		return 3;
	if (why && (!strstr(why, "CAP_SYSLOG") || !strstr(why, "kptr_restrict") ||
		    vt_ksyms_by_name(ks, "mutex_unlock", NULL) || vt_ksyms_by_addr(ks, 0x1000) ||
		    vt_ksyms_at(ks, 0)))
		return 4; /* a zero address was kept or looked up */
	vt_ksyms_free(ks);
	return 0;
}

/* Loaded with CAP_SYSLOG, the table still reads real addresses after it is dropped (the
 * kernel decides at open; the file stays open): a tracer needs no CAP_SYSLOG later. */
static int kept_file_after_drop(void)
{
	struct vt_ksyms *ks = vt_ksyms_load();
	const struct vt_ksym *s, *t;
	uint64_t addr;

	if (!ks || vt_ksyms_hidden(ks))
		return 1;
	s = vt_ksyms_by_name(ks, "mutex_unlock", NULL);
	if (!s || !s->addr)
		return 2;
	addr = s->addr; /* the whole-text pass below rebuilds the table s points into */
	if (drop_syslog())
		return 3;
	t = vt_ksyms_by_addr(ks, addr + 1);
	if (!t || strcmp(t->name, "mutex_unlock") || t->addr != addr)
		return 4;
	vt_ksyms_free(ks);
	return 0;
}

static void test_kallsyms_hidden(void **state)
{
	if (!have_cap(CAP_SYSLOG) || !have_cap(CAP_SETPCAP) || access("/proc/kallsyms", R_OK))
		skip();
	assert_int_equal(in_child(hidden_without_syslog), 0);
	assert_int_equal(in_child(kept_file_after_drop), 0);
}

/* The binary without CAP_SYSLOG: one line on stderr naming it, exit 1, for doctor and a
 * tracer (on this host they stop there, before any VFIO check). */
static void refuses(const char *cmd)
{
	char line[1024], all[8192] = "";
	int lines = 0, st;
	FILE *p;

	snprintf(line, sizeof(line), "VFIO_TRACE_TEST_DROP_CAPS=cap_syslog %s 2>&1 >/dev/null",
		 cmd);
	p = popen(line, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		lines++;
		strncat(all, line, sizeof(all) - strlen(all) - 1);
	}
	st = pclose(p);
	if (lines != 1 || !strstr(all, "CAP_SYSLOG"))
		print_error("%s said: %s", cmd, all);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(all, "CAP_SYSLOG"));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static void test_refusal(void **state)
{
	if (!have_cap(CAP_SYSLOG) || shown_without_syslog() || access("build/vfio-trace", X_OK))
		skip();
	refuses("build/vfio-trace doctor");
	refuses("build/vfio-trace stat 1 1");
}

/* The real binary on this host: doctor, done with its test attaches, holds nothing (its own
 * /proc/self/status, printed with -v). */
static void test_doctor_drops_all(void **state)
{
	char line[512];
	bool seen = false;
	FILE *p;

	if (!have_cap(CAP_SETPCAP) || access("build/vfio-trace", X_OK))
		skip();
	p = popen("build/vfio-trace -v doctor 2>&1 >/dev/null", "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "capabilities kept after attach: none (CapPrm=0000000000000000 "
				 "CapEff=0000000000000000 CapBnd=0000000000000000)"))
			seen = true;
	pclose(p);
	assert_true(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needed),		 cmocka_unit_test(test_limit),
		cmocka_unit_test(test_kallsyms_hidden),	 cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_doctor_drops_all),
	};

	return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
