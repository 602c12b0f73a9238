// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the library's parsers: kallsyms lines, options, QEMU VM names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "vt.h"
#include "cli.h"
#include "report.h"

static void test_kallsyms_line(void **state)
{
	uint64_t a;
	char t, name[128], mod[64];

	assert_true(vt_ksyms_parse_line("ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]\n",
					&a, &t, name, sizeof(name), mod, sizeof(mod)));
	assert_true(a == 0xffffffffc0a01000ULL);
	assert_int_equal(t, 't');
	assert_string_equal(name, "vfio_iommu_type1_ioctl");
	assert_string_equal(mod, "vfio_iommu_type1");
	assert_true(vt_ksyms_parse_line("ffffffff81000000 T _stext\n", &a, &t, name, sizeof(name),
					mod, sizeof(mod)));
	assert_string_equal(name, "_stext");
	assert_string_equal(mod, "");
	assert_false(vt_ksyms_parse_line("garbage\n", &a, &t, name, sizeof(name), mod, sizeof(mod)));
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_true(vt_parse_u64("--pid", "42", 1, 100, &v));
	assert_int_equal(v, 42);
	assert_false(vt_parse_u64("--pid", "0", 1, 100, &v));
	assert_false(vt_parse_u64("--pid", "101", 1, 100, &v));
	assert_false(vt_parse_u64("--pid", "-1", 1, 100, &v));
	assert_false(vt_parse_u64("--pid", "12abc", 1, 100, &v));
	assert_false(vt_parse_u64("--pid", "", 1, 100, &v));
	assert_false(vt_parse_u64("--pid", "99999999999999999999999", 1, UINT64_MAX, &v));
}

static int parse(const char *line, unsigned accept, struct vt_cli *o)
{
	char buf[256], *argv[16];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 15; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	memset(o, 0, sizeof(*o));
	return vt_cli_parse(argc, argv, accept, "usage\n", o);
}

static void test_cli(void **state)
{
	struct vt_cli o;
	unsigned all = VT_CLI_PID | VT_CLI_INTERVAL | VT_CLI_DEVICE;

	assert_int_equal(parse("stat -j -p 7 2 5", all, &o), -1);
	assert_true(o.json);
	assert_int_equal(o.pid, 7);
	assert_true(o.interval == 2.0);
	assert_int_equal(o.count, 5);
	assert_int_equal(parse("stat 0.5", all, &o), -1);
	assert_true(o.interval == 0.5);
	assert_int_equal(o.count, 0);
	assert_int_equal(parse("stat --kprobe -d vfio_dmatest.0", all, &o), -1);
	assert_true(o.kprobe);
	assert_string_equal(o.device, "vfio_dmatest.0");
	assert_int_equal(parse("stat -p", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -p x", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat --bogus", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 1 2 3", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 0", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 1 0", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -d x", VT_CLI_PID, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hist 1", VT_CLI_PID, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("snoop --ringbuf-pages 3", VT_CLI_RINGBUF, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("snoop --ringbuf-pages 4", VT_CLI_RINGBUF, &o), -1);
	assert_int_equal(o.ringbuf_pages, 4);
}

static void test_qemu_name(void **state)
{
	const char a[] = "qemu-system-x86_64\0-m\0004096\0-name\0guest=web01,debug-threads=on\0-S";
	const char b[] = "qemu-kvm\0-name\0db7\0";
	const char c[] = "bash\0-c\0true";
	const char d[] = "qemu\0-name\0";
	char vm[64];

	assert_true(vt_qemu_vm_name(a, sizeof(a), vm, sizeof(vm)));
	assert_string_equal(vm, "web01");
	assert_true(vt_qemu_vm_name(b, sizeof(b), vm, sizeof(vm)));
	assert_string_equal(vm, "db7");
	assert_false(vt_qemu_vm_name(c, sizeof(c), vm, sizeof(vm)));
	assert_string_equal(vm, "");
	assert_false(vt_qemu_vm_name(d, sizeof(d) - 1, vm, sizeof(vm)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kallsyms_line),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_qemu_name),
	};

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
