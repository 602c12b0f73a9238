// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the library's parsers: kallsyms lines, options, QEMU VM names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* A fake kallsyms: more vmlinux filler than one read buffer (lines cross its boundary), the
 * names vt_ksyms_load() keeps among them, two VFIO modules, a driver module. */
static char *fake_kallsyms(void)
{
	static char path[] = "/tmp/vt-unit-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		return NULL;
	fprintf(f, "ffffffff81000000 T _stext\n");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%016llx t filler_function_number_%d\n", 0xffffffff81001000ULL + i * 0x100ULL, i);
	fprintf(f, "ffffffff82000000 T mutex_lock\n"
		   "ffffffff82000100 T mutex_unlock\n"
		   "ffffffff82000200 t mutex_lockdep_thing\n"
		   "ffffffff82000300 D some_data\n"
		   "ffffffff82000400 t vfs_read\n"
		   "ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]\n"
		   "ffffffffc0a02000 t vfio_remove_dma.isra.0\t[vfio_iommu_type1]\n"
		   "ffffffffc0a03000 t vfio_unmap_unpin.cold\t[vfio_iommu_type1]\n"
		   "ffffffffc0b00000 T vfio_pin_pages\t[vfio]\n"
		   "ffffffffc0b10000 r vfio_device_fops\t[vfio]\n"
		   "ffffffffc0c00000 t dt_dma_unmap\t[vfio_dmatest]\n"
		   "ffffffffc0c00100 t dt_other\t[vfio_dmatest]");	/* no newline at the end */
	fclose(f);
	return path;
}

static void test_kallsyms_filtered(void **state)
{
	char *path = fake_kallsyms();
	struct vt_ksyms *ks;
	const struct vt_ksym *s;

	assert_non_null(path);
	ks = vt_ksyms_load_path(path);
	assert_non_null(ks);
	/* kept: mutex_lock, mutex_unlock, 3 type1 + 1 vfio text symbols, vfio_device_fops */
	assert_int_equal(vt_ksyms_count(ks), 7);
	assert_non_null(vt_ksyms_by_name(ks, "mutex_lock", NULL));
	assert_null(vt_ksyms_by_name(ks, "vfs_read", NULL));
	assert_null(vt_ksyms_by_name(ks, "mutex_lockdep_thing", NULL));
	s = vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio_iommu_type1");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffffc0a01000ULL);
	assert_null(vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio"));
	s = vt_ksyms_clone(ks, "vfio_remove_dma", "vfio_iommu_type1");
	assert_non_null(s);
	assert_string_equal(s->name, "vfio_remove_dma.isra.0");
	assert_null(vt_ksyms_clone(ks, "vfio_unmap_unpin", "vfio_iommu_type1"));
	s = vt_ksyms_data(ks, "vfio_device_fops", "vfio");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffffc0b10000ULL);
	/* a driver's callback: not kept at load, found by address (exactly), then kept */
	assert_null(vt_ksyms_by_name(ks, "dt_dma_unmap", NULL));
	assert_null(vt_ksyms_at(ks, 0xffffffffc0c00001ULL));
	s = vt_ksyms_at(ks, 0xffffffffc0c00000ULL);
	assert_non_null(s);
	assert_string_equal(s->name, "dt_dma_unmap");
	assert_string_equal(s->module, "vfio_dmatest");
	assert_int_equal(vt_ksyms_count(ks), 8);
	s = vt_ksyms_at(ks, 0xffffffffc0c00100ULL);	/* the last line, without a newline */
	assert_non_null(s);
	assert_string_equal(s->name, "dt_other");
	/* an arbitrary address (a stack frame): every text symbol is read */
	s = vt_ksyms_by_addr(ks, 0xffffffff81001000ULL + 12345 * 0x100ULL + 7);
	assert_non_null(s);
	assert_string_equal(s->name, "filler_function_number_12345");
	assert_null(s->module);
	s = vt_ksyms_by_addr(ks, 0xffffffffc0a01010ULL);
	assert_string_equal(s->name, "vfio_iommu_type1_ioctl");
	assert_string_equal(s->module, "vfio_iommu_type1");
	assert_non_null(vt_ksyms_data(ks, "vfio_device_fops", "vfio"));
	assert_int_equal(vt_ksyms_count(ks), 20000 + 12);
	vt_ksyms_free(ks);
	unlink(path);
	assert_null(vt_ksyms_load_path("/nonexistent/kallsyms"));
}

/* Every attach point's symbol is among what vt_ksyms_load() keeps. */
static void test_kallsyms_covers_points(void **state)
{
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		if (p->kind != VT_PK_FUNC && p->kind != VT_PK_INLINED_FUNC)
			continue;
		assert_true(vt_ksyms_wanted(p->name, p->module));
	}
	assert_true(vt_ksyms_wanted("vfio_iommu_type1_ioctl", "vfio_iommu_type1"));
	assert_true(vt_ksyms_wanted("mutex_lock_nested", NULL));
	assert_true(vt_ksyms_wanted("vfio_device_fops", "vfio"));
	assert_false(vt_ksyms_wanted("vfs_read", NULL));
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
	/* hung's options: values in seconds with bounds, refused by the tracing commands */
	assert_int_equal(parse("hung --threshold 0.5 --timeout 3 -j", VT_CLI_PID | VT_CLI_HUNG, &o), -1);
	assert_true(o.threshold == 0.5 && o.timeout == 3.0 && o.json);
	assert_int_equal(parse("hung --threshold -1", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --threshold abc", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --timeout 0", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --timeout 3601", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung 1", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("top --threshold 1", all, &o), VT_EXIT_USAGE);
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
		cmocka_unit_test(test_kallsyms_filtered),
		cmocka_unit_test(test_kallsyms_covers_points),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_qemu_name),
	};

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
