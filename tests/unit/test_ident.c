// SPDX-License-Identifier: GPL-2.0
/* Unit tests of process identity (lib/report.c): start times, and top's name cache (bounded,
 * one /proc read per process, kept after exit, never trusted for a reused PID). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "trace.h"
#include "report.h"

static void self_comm(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, len, f));
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* A child named name (comm), waiting to be killed. */
static pid_t child(const char *name)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/* gone with this test binary even if an assertion skips the kill below (the
		 * runner reads our stdout to its end) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, name);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_start_time(void **state)
{
	uint64_t self = vt_proc_start(getpid());
	pid_t c = child("vt-paren) x y"); /* ')' and spaces in comm: parsed after the last ')' */
	uint64_t cs = vt_proc_start(c);

	assert_true(self > 0);
	assert_true(cs >= self);
	reap(c);
	assert_int_equal(vt_proc_start(c), 0);
	assert_int_equal(vt_proc_start(0), 0);
}

static void test_cache_reads_once_and_keeps_exited(void **state)
{
	struct vt_ident_cache *c = calloc(1, sizeof(*c));
	char comm[32], vm[64], want[32];
	pid_t pid;

	assert_non_null(c);
	self_comm(want, sizeof(want));
	for (int i = 0; i < 5; i++) {
		vt_ident_get(c, getpid(), comm, sizeof(comm), vm, sizeof(vm));
		assert_string_equal(comm, want);
	}
	assert_int_equal(c->reads, 1); /* then only its start time is checked */

	pid = child("vt-short-lived");
	vt_ident_get(c, pid, comm, sizeof(comm), vm, sizeof(vm));
	assert_string_equal(comm, "vt-short-lived");
	reap(pid);
	vt_ident_get(c, pid, comm, sizeof(comm), vm, sizeof(vm));
	assert_string_equal(comm, "vt-short-lived"); /* the name it had while it ran */
	assert_int_equal(c->reads, 2);

	vt_ident_get(c, 0, comm, sizeof(comm), vm, sizeof(vm)); /* not attributable */
	assert_string_equal(comm, "?");
	free(c);
}

/* A cached name of another process that had this PID (another start time) is not used. */
static void test_cache_reused_pid(void **state)
{
	struct vt_ident_cache *c = calloc(1, sizeof(*c));
	char comm[32], vm[64], want[32];
	struct vt_ident *e;

	assert_non_null(c);
	self_comm(want, sizeof(want));
	assert_non_null(
		vt_ident_put(c, getpid(), vt_proc_start(getpid()) + 1, "old-process", "oldvm"));
	vt_ident_get(c, getpid(), comm, sizeof(comm), vm, sizeof(vm));
	assert_string_equal(comm, want);
	assert_string_equal(vm, "");
	assert_int_equal(c->reads, 1);
	e = vt_ident_find(c, getpid());
	assert_non_null(e);
	assert_int_equal(e->start, vt_proc_start(getpid()));
	assert_string_equal(e->comm, want);
	free(c);
}

/* However many processes come and go, the cache holds at most SETS x WAYS entries, and the
 * ones in use stay. */
static void test_cache_bounded(void **state)
{
	struct vt_ident_cache *c = calloc(1, sizeof(*c));
	char name[32];

	assert_non_null(c);
	for (uint32_t pid = 1; pid <= 100000; pid++) {
		snprintf(name, sizeof(name), "p%u", pid);
		assert_non_null(vt_ident_put(c, pid, 7, name, ""));
		if (pid >= 42) /* in use all along */
			assert_non_null(vt_ident_find(c, 42));
		assert_true(vt_ident_count(c) <= VT_IDENT_SETS * VT_IDENT_WAYS);
	}
	assert_int_equal(vt_ident_count(c), VT_IDENT_SETS * VT_IDENT_WAYS);
	assert_string_equal(vt_ident_find(c, 42)->comm, "p42");
	assert_string_equal(vt_ident_find(c, 100000)->comm, "p100000");
	assert_null(vt_ident_find(c, 43));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_time),
		cmocka_unit_test(test_cache_reads_once_and_keeps_exited),
		cmocka_unit_test(test_cache_reused_pid),
		cmocka_unit_test(test_cache_bounded),
	};

	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
