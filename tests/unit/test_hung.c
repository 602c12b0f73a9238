// SPDX-License-Identifier: GPL-2.0
/* Unit tests of `vfio-trace hung`'s wait-for graph: cycles, chains, blocked time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hung.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The VFIO ABBA: A (10) holds device_list_lock (lock 1), waits iommu->lock (lock 0) owned by
 * B (11); B holds iommu->lock and waits device_list_lock owned by A. */
static void test_abba(void **state)
{
	struct vth_wait w[] = { { 10, 11, 0 }, { 11, 10, 1 } };
	int cy[2];

	assert_int_equal(vth_find_cycles(w, 2, cy), 1);
	assert_int_equal(cy[0], 0);
	assert_int_equal(cy[1], 0);
}

/* slow-notify: pin (30) waits iommu->lock owned by register (31), which waits device_list_lock
 * owned by the unmapping thread (32), which waits for nothing: a chain, no cycle. */
static void test_chain_no_cycle(void **state)
{
	struct vth_wait w[] = { { 30, 31, 0 }, { 31, 32, 1 } };
	size_t ch[8];
	int cy[2];

	assert_int_equal(vth_find_cycles(w, 2, cy), 0);
	assert_int_equal(cy[0], -1);
	assert_int_equal(cy[1], -1);
	assert_int_equal(vth_chain(w, 2, 0, ch, 8), 2);
	assert_int_equal(ch[0], 0);
	assert_int_equal(ch[1], 1);
	assert_int_equal(vth_chain(w, 2, 1, ch, 8), 1);
	assert_int_equal(vth_chain(w, 2, 0, ch, 1), 1); /* bounded */
}

/* A waiter queued behind a deadlock is not part of the cycle; two independent cycles (two
 * containers) are counted apart; an owner that is unknown (0) ends a chain. */
static void test_behind_and_two_cycles(void **state)
{
	struct vth_wait w[] = {
		{ 5, 1, 0 },				/* behind the first cycle */
		{ 1, 2, 0 },  { 2, 1, 1 },		/* cycle 0 */
		{ 7, 8, 2 },  { 8, 9, 3 }, { 9, 7, 2 }, /* cycle 1, three tasks */
		{ 40, 0, 4 },				/* owner unknown */
	};
	size_t ch[16];
	int cy[N(w)];

	assert_int_equal(vth_find_cycles(w, N(w), cy), 2);
	assert_int_equal(cy[0], -1);
	assert_int_equal(cy[1], cy[2]);
	assert_true(cy[1] >= 0);
	assert_int_equal(cy[3], cy[4]);
	assert_int_equal(cy[4], cy[5]);
	assert_true(cy[3] >= 0 && cy[3] != cy[1]);
	assert_int_equal(cy[6], -1);
	/* the chain from the one behind enters the cycle and stops at the first repeat */
	assert_int_equal(vth_chain(w, N(w), 0, ch, 16), 3);
	assert_int_equal(vth_chain(w, N(w), 6, ch, 16), 1);
	assert_int_equal(vth_wait_of(w, N(w), 9), 5);
	assert_int_equal(vth_wait_of(w, N(w), 99), -1);
}

/* A task cannot wait on two mutexes: a torn read showing it twice is refused. A task waiting
 * on a lock it owns (self-deadlock) is a cycle of one. */
static void test_dup_and_self(void **state)
{
	struct vth_wait dup[] = { { 3, 4, 0 }, { 3, 5, 1 } };
	struct vth_wait self[] = { { 6, 6, 0 } };
	int cy[2];

	assert_int_equal(vth_find_cycles(dup, 2, cy), -1);
	assert_int_equal(vth_find_cycles(self, 1, cy), 1);
	assert_int_equal(cy[0], 0);
	assert_int_equal(vth_find_cycles(NULL, 0, cy), 0);
}

static void test_blocked_time(void **state)
{
	struct vth_task_rec t = { .has_sched_info = 1,
				  .now_ns = 5000000000ULL,
				  .last_arrival = 1500000000ULL };

	assert_true(vth_blocked_s(&t) > 3.499 && vth_blocked_s(&t) < 3.501);
	t.last_arrival = 6000000000ULL; /* a clock ahead of now: unknown, not negative */
	assert_true(vth_blocked_s(&t) < 0);
	t.has_sched_info = 0;
	assert_true(vth_blocked_s(&t) < 0);
	assert_true(vth_blocked_s(NULL) < 0);
	assert_string_equal(vth_state_name(0x2), "D");
	assert_string_equal(vth_state_name(0x402), "I");
	assert_string_equal(vth_state_name(0x1), "S");
	assert_string_equal(vth_state_name(0), "R");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba),
		cmocka_unit_test(test_chain_no_cycle),
		cmocka_unit_test(test_behind_and_two_cycles),
		cmocka_unit_test(test_dup_and_self),
		cmocka_unit_test(test_blocked_time),
	};

	return cmocka_run_group_tests_name("hung", tests, NULL, NULL);
}
