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
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "vt.h"
#include "cli.h"
#include "report.h"

static void test_kallsyms_line(void **state)
{
	uint64_t a;
	char t, name[128], mod[64];

	assert_true(vt_ksyms_parse_line(
		"ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]\n", &a, &t, name,
		sizeof(name), mod, sizeof(mod)));
	assert_true(a == 0xffffffffc0a01000ULL);
	assert_int_equal(t, 't');
	assert_string_equal(name, "vfio_iommu_type1_ioctl");
	assert_string_equal(mod, "vfio_iommu_type1");
	assert_true(vt_ksyms_parse_line("ffffffff81000000 T _stext\n", &a, &t, name, sizeof(name),
					mod, sizeof(mod)));
	assert_string_equal(name, "_stext");
	assert_string_equal(mod, "");
	assert_false(
		vt_ksyms_parse_line("garbage\n", &a, &t, name, sizeof(name), mod, sizeof(mod)));
}

/* A fake kallsyms: more vmlinux filler than one read buffer (lines cross its boundary), the
 * names vt_ksyms_load() keeps among them, two VFIO modules, a driver module. */
static char *fake_kallsyms(void)
{
	static char path[64];
	int fd = mkstemp(strcpy(path, "/tmp/vt-unit-kallsyms-XXXXXX")); /* every call anew */
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		return NULL;
	fprintf(f, "ffffffff81000000 T _stext\n");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%016llx t filler_function_number_%d\n",
			0xffffffff81001000ULL + i * 0x100ULL, i);
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
		   "ffffffffc0c00100 t dt_other\t[vfio_dmatest]"); /* no newline at the end */
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
	s = vt_ksyms_at(ks, 0xffffffffc0c00100ULL); /* the last line, without a newline */
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

/* A module unloaded and loaded again elsewhere (export across a reload, lib/reload.c): its
 * symbols forgotten, then read anew at the new addresses, data included; other modules kept.
 * The kallsyms file is rewritten in place: the kept fd reads the new text. */
static void test_kallsyms_module_reload(void **state)
{
	char *path = fake_kallsyms();
	struct vt_ksyms *ks;
	const struct vt_ksym *s;
	FILE *f;

	assert_non_null(path);
	ks = vt_ksyms_load_path(path);
	assert_non_null(ks);
	assert_non_null(vt_ksyms_by_name(ks, "vfio_pin_pages", "vfio"));
	vt_ksyms_forget_module(ks, "vfio");
	assert_null(vt_ksyms_by_name(ks, "vfio_pin_pages", "vfio"));
	assert_null(vt_ksyms_data(ks, "vfio_device_fops", "vfio"));
	assert_non_null(vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio_iommu_type1"));
	assert_int_equal(vt_ksyms_count(ks), 5);
	f = fopen(path, "w"); /* the same file, truncated: what kallsyms shows after the reload */
	assert_non_null(f);
	fprintf(f, "ffffffffc0a01000 t vfio_iommu_type1_ioctl\t[vfio_iommu_type1]\n"
		   "ffffffffc0e00000 T vfio_pin_pages\t[vfio]\n"
		   "ffffffffc0e10000 r vfio_device_fops\t[vfio]\n");
	fclose(f);
	assert_int_equal(vt_ksyms_add_module(ks, "vfio"), 0);
	s = vt_ksyms_by_name(ks, "vfio_pin_pages", "vfio");
	assert_non_null(s);
	assert_int_equal(s->addr, 0xffffffffc0e00000ULL);
	s = vt_ksyms_data(ks, "vfio_device_fops", "vfio");
	assert_non_null(s);
	assert_int_equal(s->addr, 0xffffffffc0e10000ULL);
	/* still sorted: the type1 function and the new one found by address */
	assert_non_null(vt_ksyms_at(ks, 0xffffffffc0a01000ULL));
	s = vt_ksyms_by_addr(ks, 0xffffffffc0e00010ULL);
	assert_non_null(s);
	assert_string_equal(s->name, "vfio_pin_pages");
	vt_ksyms_free(ks);
	unlink(path);
}

/* A fake kernel for lookup mode: answers from a small table like kallsyms_lookup_name()
 * ("module:name" looks in that module only, a bare name anywhere), counts the questions, and
 * can start refusing (-EPERM: capabilities dropped) or never answer (-EIO). */
struct fake_kernel {
	int asked;
	int refuse_after; /* questions answered before -EPERM (< 0: always answer) */
	int fail;	  /* the error every question gets instead (0: none) */
};

static int fake_lookup(void *ctx, const char *name, const char *module, uint64_t *addr)
{
	static const struct {
		const char *module, *name;
		uint64_t addr;
	} table[] = {
		{ NULL, "mutex_unlock", 0xffffffff82000100ULL },
		{ NULL, "mutex_lock", 0xffffffff82000000ULL },
		{ "vfio_iommu_type1", "vfio_iommu_type1_ioctl", 0xffffffffc0a01000ULL },
		{ "vfio", "vfio_pin_pages", 0xffffffffc0b00000ULL },
		{ "vfio", "vfio_device_fops", 0xffffffffc0b10000ULL },
		{ "vfio_dmatest", "dt_dma_unmap", 0xffffffffc0c00000ULL },
	};
	struct fake_kernel *k = ctx;

	k->asked++;
	if (k->fail)
		return k->fail;
	if (k->refuse_after >= 0 && k->asked > k->refuse_after)
		return -EPERM;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name) &&
		    (!module || (table[i].module && !strcmp(table[i].module, module)))) {
			*addr = table[i].addr;
			return 0;
		}
	return -ENOENT;
}

/* Lookup mode: names are asked of the kernel once each and kept, a "no" is final, nothing of
 * the file is read until a pass is needed (the file here has other addresses, to tell which
 * answered); when the kernel stops answering, the table is the pass's. */
static void test_kallsyms_lookup_mode(void **state)
{
	char *path = fake_kallsyms();
	struct fake_kernel k = { .refuse_after = -1 };
	const char *const extra[] = { "vfio_dmatest", NULL };
	struct vt_ksyms *ks;
	const struct vt_ksym *s;
	FILE *f;

	assert_non_null(path);
	ks = vt_ksyms_open_lookup_path(path, fake_lookup, &k, extra);
	assert_non_null(ks);
	assert_true(vt_ksyms_lookup_mode(ks));
	assert_null(vt_ksyms_hidden(ks));
	assert_int_equal(k.asked, 1); /* mutex_unlock: does the kernel show us addresses? */
	assert_int_equal(vt_ksyms_count(ks), 1);
	s = vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio_iommu_type1");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffffc0a01000ULL);
	assert_string_equal(s->module, "vfio_iommu_type1");
	assert_non_null(vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio_iommu_type1"));
	assert_int_equal(k.asked, 2); /* kept: asked once */
	assert_null(vt_ksyms_by_name(ks, "vfio_iommu_type1_ioctl", "vfio"));
	assert_null(vt_ksyms_by_name(ks, "vfio_dma_do_unmap", "vfio_iommu_type1")); /* inlined */
	assert_null(vt_ksyms_clone(ks, "vfio_remove_dma", "vfio_iommu_type1"));	    /* not seen */
	s = vt_ksyms_data(ks, "vfio_device_fops", "vfio");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffffc0b10000ULL);
	assert_int_equal(vt_ksyms_add_module(ks, "vfio_dmatest"), 0); /* no pass */
	s = vt_ksyms_by_name(ks, "dt_dma_unmap", "vfio_dmatest");
	assert_non_null(s);
	assert_int_equal(vt_ksyms_count(ks), 4);
	/* a callback's address found among what was looked up, without a pass */
	s = vt_ksyms_at(ks, 0xffffffffc0c00000ULL);
	assert_non_null(s);
	assert_string_equal(s->name, "dt_dma_unmap");
	/* the kernel stops answering: the file (opened at start) is read as a pass would */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "ffffffff82000000 T mutex_lock\n"
		   "ffffffffc0e00000 T vfio_pin_pages\t[vfio]\n");
	fclose(f);
	k.refuse_after = k.asked;
	assert_true(vt_ksyms_lookup_mode(ks));
	s = vt_ksyms_by_name(ks, "vfio_pin_pages", "vfio");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffffc0e00000ULL); /* the file's */
	assert_false(vt_ksyms_lookup_mode(ks));
	assert_int_equal(vt_ksyms_count(ks), 2);
	assert_null(vt_ksyms_data(ks, "vfio_device_fops", "vfio"));
	vt_ksyms_free(ks);

	/* hidden addresses: nothing kept, the same sentence as a pass's zeros */
	k = (struct fake_kernel){ .refuse_after = 0 };
	ks = vt_ksyms_open_lookup_path(path, fake_lookup, &k, NULL);
	assert_non_null(ks);
	assert_non_null(vt_ksyms_hidden(ks));
	assert_int_equal(vt_ksyms_count(ks), 0);
	vt_ksyms_free(ks);

	/* no answer at all: one pass, the extra modules kept as vt_ksyms_load_with() does */
	k = (struct fake_kernel){ .refuse_after = -1, .fail = -EIO };
	unlink(path);
	path = fake_kallsyms();
	ks = vt_ksyms_open_lookup_path(path, fake_lookup, &k, extra);
	assert_non_null(ks);
	assert_false(vt_ksyms_lookup_mode(ks));
	assert_int_equal(k.asked, 1);
	assert_int_equal(vt_ksyms_count(ks), 7 + 2);
	assert_non_null(vt_ksyms_by_name(ks, "dt_dma_unmap", "vfio_dmatest"));
	assert_int_equal(k.asked, 1);
	vt_ksyms_free(ks);
	unlink(path);
	assert_null(vt_ksyms_open_lookup_path("/nonexistent/kallsyms", fake_lookup, &k, NULL));
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

/* --max-size: bytes, K/M/G (either case) powers of 1024, in range after the suffix */
static void test_parse_size(void **state)
{
	const uint64_t max = 1ull << 50;
	uint64_t v;

	assert_true(vt_parse_size("--max-size", "65536", 65536, max, &v));
	assert_int_equal(v, 65536);
	assert_true(vt_parse_size("--max-size", "64K", 65536, max, &v));
	assert_int_equal(v, 65536);
	assert_true(vt_parse_size("--max-size", "256m", 65536, max, &v));
	assert_int_equal(v, 256ull << 20);
	assert_true(vt_parse_size("--max-size", "3G", 65536, max, &v));
	assert_int_equal(v, 3ull << 30);
	assert_true(vt_parse_size("--max-size", "1048576G", 65536, max, &v));
	assert_int_equal(v, max);
	assert_false(vt_parse_size("--max-size", "1048577G", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "17179869184G", 65536, UINT64_MAX, &v));
	assert_false(vt_parse_size("--max-size", "63K", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "64KB", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "1T", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "K", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "-64K", 65536, max, &v));
	assert_false(vt_parse_size("--max-size", "64 K", 65536, max, &v));
}

static int parse(const char *line, unsigned accept, struct vt_cli *o)
{
	static char buf[256]; /* o keeps pointers into it (--listen, --textfile) */
	char *argv[24];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 23; tok = strtok(NULL, " "))
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
	assert_int_equal(o.filter.npids, 1);
	assert_int_equal(o.filter.pids[0], 7);
	assert_true(o.interval == 2.0);
	assert_int_equal(o.count, 5);
	assert_int_equal(parse("stat 0.5", all, &o), -1);
	assert_true(o.interval == 0.5);
	assert_int_equal(o.count, 0);
	assert_int_equal(parse("stat --kprobe -d vfio_dmatest.0", all, &o), -1);
	assert_true(o.kprobe);
	assert_string_equal(o.filter.device, "vfio_dmatest.0");
	/* --backend: the backend enum (lib/trace.h) by name; not for report or hung */
	assert_int_equal(parse("stat --backend ftrace", all, &o), -1);
	assert_int_equal(o.backend, VT_BACKEND_FTRACE);
	assert_int_equal(parse("top --backend=auto", all, &o), -1);
	assert_int_equal(o.backend, VT_BACKEND_AUTO);
	assert_int_equal(parse("stat --backend bpf", all, &o), -1);
	assert_int_equal(o.backend, VT_BACKEND_BPF);
	assert_int_equal(parse("stat", all, &o), -1);
	assert_int_equal(o.backend, VT_BACKEND_BPF);
	assert_int_equal(parse("stat --backend dtrace", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat --backend", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("report --backend ftrace", VT_CLI_WINDOW, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --backend ftrace", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
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
	assert_int_equal(parse("hung --threshold 0.5 --timeout 3 -j", VT_CLI_PID | VT_CLI_HUNG, &o),
			 -1);
	assert_true(o.threshold == 0.5 && o.timeout == 3.0 && o.json);
	assert_int_equal(parse("hung --threshold -1", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --threshold abc", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --timeout 0", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung --timeout 3601", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("hung 1", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("top --threshold 1", all, &o), VT_EXIT_USAGE);
	/* export's options: through the same parser, bounds checked, refused by the others */
	assert_int_equal(
		parse("export --listen 0.0.0.0:9826 --textfile /run --interval 0.5 "
		      "--forget 60 --max-series 5 --health 0 --detail --pin-modules --locks",
		      VT_CLI_EXPORT | VT_CLI_LOCKS, &o),
		-1);
	assert_string_equal(o.listen, "0.0.0.0:9826");
	assert_string_equal(o.textfile, "/run");
	assert_true(o.interval == 0.5 && o.forget == 60 && o.health == 0 && o.max_series == 5);
	assert_true(o.detail && o.pin_modules && o.locks);
	assert_int_equal(parse("export --interval 0.05", VT_CLI_EXPORT, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("export --max-series 0", VT_CLI_EXPORT, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("export --forget", VT_CLI_EXPORT, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("export 1", VT_CLI_EXPORT, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat --listen :1", all, &o), VT_EXIT_USAGE);

	/* several PIDs: a comma list, -p repeated, both */
	assert_int_equal(parse("stat -p 1,22,333 -p 4", all, &o), -1);
	assert_int_equal(o.filter.npids, 4);
	assert_int_equal(o.filter.pids[1], 22);
	assert_int_equal(o.filter.pids[3], 4);
	assert_int_equal(parse("stat -p 1,", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -p ,1", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -p 1,,2", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -p 0", all, &o), VT_EXIT_USAGE);
	/* --vm NAME, with the process options */
	assert_int_equal(parse("top --vm web -p 9", all, &o), -1);
	assert_string_equal(o.filter.vm, "web");
	assert_int_equal(parse("locks --vm web", VT_CLI_INTERVAL, &o), VT_EXIT_USAGE);
	/* -v after the command, too */
	vt_verbose = 0;
	assert_int_equal(parse("stat -v 1", all, &o), -1);
	assert_int_equal(vt_verbose, 1);
	assert_int_equal(parse("stat --verbose -vj", all, &o), -1);
	assert_int_equal(vt_verbose, 3);
	assert_true(o.json);
	vt_verbose = 0;
	/* combined short options: the unknown one is named (stderr), not the command */
	assert_int_equal(parse("stat -zj", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -jz", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat -jp", all, &o), VT_EXIT_USAGE);
	/* strict numbers */
	assert_int_equal(parse("stat 0x10", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 1e1", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat inf", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 1. 2", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat .5", all, &o), VT_EXIT_USAGE);
	assert_int_equal(parse("stat 1.5 2", all, &o), -1);
	assert_true(o.interval == 1.5);
	assert_int_equal(parse("hung --threshold 0x1", VT_CLI_HUNG, &o), VT_EXIT_USAGE);
}

/* Options whose values hold blanks or are long: argv built by hand. */
static void test_cli_values(void **state)
{
	unsigned all = VT_CLI_PID | VT_CLI_INTERVAL | VT_CLI_DEVICE;
	static char big[10 * 1024 + 1];
	struct vt_cli o;
	char *a1[] = { "stat", "-p", " 1", NULL };
	char *a2[] = { "stat", "--", "1", "-18446744073709551615", NULL };
	char *a3[] = { "stat", "1", " 2", NULL };
	char *a4[] = { "hist", "-d", "", NULL };
	char *a5[] = { "hist", "-d", big, NULL };
	char *a6[] = { "stat", "-d", "0b1d4ef4-6e36-4a7a-9a55-4dc2f3a1b2c3", NULL };
	char *a7[] = { "stat", "--vm", "", NULL };
	char *a8[] = { "stat", "-p", "+1", NULL };

	memset(big, 'a', sizeof(big) - 1);
#define P(a) \
	(memset(&o, 0, sizeof(o)), vt_cli_parse(sizeof(a) / sizeof(a[0]) - 1, a, all, "u\n", &o))
	assert_int_equal(P(a1), VT_EXIT_USAGE);
	assert_int_equal(P(a2), VT_EXIT_USAGE);
	assert_int_equal(P(a3), VT_EXIT_USAGE);
	assert_int_equal(P(a4), VT_EXIT_USAGE);
	assert_int_equal(P(a5), VT_EXIT_USAGE);
	assert_int_equal(P(a6), -1);
	assert_string_equal(o.filter.device, a6[2]);
	assert_int_equal(P(a7), VT_EXIT_USAGE);
	assert_int_equal(P(a8), VT_EXIT_USAGE);
#undef P
}

/* The text escape every name goes through. */
static void test_escape(void **state)
{
	char b[256];

	assert_string_equal(vt_esc(b, sizeof(b), "qemu-web01", 64), "qemu-web01");
	assert_string_equal(vt_esc(b, sizeof(b), "\033]0;x\a", 64), "\\x1b]0;x\\x07");
	assert_string_equal(vt_esc(b, sizeof(b), "\033[2J", 64), "\\x1b[2J");
	assert_string_equal(vt_esc(b, sizeof(b), "a\nb\tc\x7f", 64), "a\\x0ab\\x09c\\x7f");
	assert_string_equal(vt_esc(b, sizeof(b), "back\\slash", 64), "back\\\\slash");
	/* valid UTF-8 kept; invalid bytes, overlong forms, surrogates, C1 and bidi escaped */
	assert_string_equal(vt_esc(b, sizeof(b), "caf\xc3\xa9 \xe2\x82\xac", 64),
			    "caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(vt_esc(b, sizeof(b), "\xff\xc3(", 64), "\\xff\\xc3(");
	assert_string_equal(vt_esc(b, sizeof(b), "\xc0\xaf", 64), "\\xc0\\xaf");
	assert_string_equal(vt_esc(b, sizeof(b), "\xed\xa0\x80", 64), "\\xed\\xa0\\x80");
	assert_string_equal(vt_esc(b, sizeof(b), "\xc2\x9b", 64), "\\xc2\\x9b");
	assert_string_equal(vt_esc(b, sizeof(b), "x\xe2\x80\xaey", 64), "x\\xe2\\x80\\xaey");
	assert_string_equal(vt_esc(b, sizeof(b), "\xf0\x9f\x98\x80", 64), "\xf0\x9f\x98\x80");
	/* srclen bounds a kernel array without NUL */
	assert_string_equal(vt_esc(b, sizeof(b), "abcdef", 3), "abc");
	/* a small buffer: whole escapes only */
	assert_string_equal(vt_esc(b, 7, "\033\033", 64), "\\x1b");
	assert_string_equal(vt_esc(b, 4, "\xc3\xa9\xc3\xa9", 64), "\xc3\xa9");
	/* columns: cut and padded, a UTF-8 character is one column */
	assert_string_equal(vt_esc_cols(b, sizeof(b), "\033abc", 64, 6), "\\x1bab");
	assert_string_equal(vt_esc_cols(b, sizeof(b), "\033abc", 64, 5), "\\x1ba");
	assert_string_equal(vt_esc_cols(b, sizeof(b), "\033abc", 64, 3), "   ");
	assert_string_equal(vt_esc_cols(b, sizeof(b), "\xc3\xa9", 64, 3), "\xc3\xa9  ");
	assert_int_equal(vt_esc_width("\033\xc3\xa9\\", 64), 4 + 1 + 2);
	/* several lines: newlines kept, backslashes of already escaped names kept */
	{
		const char in[] = "one \033[2J\ntwo \\x1b\0 \xff\n";
		char *out = vt_esc_lines(in, sizeof(in) - 1);

		assert_string_equal(out, "one \\x1b[2J\ntwo \\x1b\\x00 \\xff\n");
		free(out);
	}
}

static void test_json_utf8(void **state)
{
	char *s;

	s = vt_json_utf8("{\"comm\":\"a\xff\xc3(\\u001b\"}");
	assert_string_equal(s, "{\"comm\":\"a\xef\xbf\xbd\xef\xbf\xbd(\\u001b\"}");
	free(s);
	s = vt_json_utf8("{\"vm\":\"\xc3\xa9\x7f\xc2\x9b\"}");
	assert_string_equal(s, "{\"vm\":\"\xc3\xa9\\u007f\\u009b\"}");
	free(s);
}

/* A comm with a newline (a file named so): read whole from /proc, not cut at the newline. */
static void test_proc_comm(void **state)
{
	char comm[32], vm[64], old[32] = "";

	prctl(PR_GET_NAME, old);
	prctl(PR_SET_NAME, "a\nb\033c");
	vt_proc_ident(getpid(), comm, sizeof(comm), vm, sizeof(vm));
	prctl(PR_SET_NAME, old);
	assert_string_equal(comm, "a\nb\033c");
	assert_string_equal(vm, "");
}

/* The ftrace backend's VT_EV_PROC, read from /proc: a QEMU-like process (-name guest=) is
 * named by the same code as the BPF side's record (vt_event_proc_ident); a process gone by
 * the read gives none. */
static void test_proc_record(void **state)
{
	struct vtr_proc p;
	char comm[32], vm[64], cmdline[256];
	pid_t pid = fork();
	int st;

	if (!pid) {
		execl("/bin/sh", "qemu-like", "-c", "sleep 5", "-name",
		      "guest=unit-vm,debug-threads=on", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	/* until it has exec'd */
	for (int i = 0; i < 200; i++) {
		size_t n = vt_proc_cmdline(pid, cmdline, sizeof(cmdline));

		if (n > 10 && memmem(cmdline, n, "-name", 5))
			break;
		usleep(10000);
	}
	assert_true(vt_proc_record(pid, &p));
	assert_int_equal(p.e.op, VT_EV_PROC);
	assert_int_equal(p.e.tgid, pid);
	assert_int_equal(p.start, vt_proc_start(pid));
	assert_true(p.len > 0 && p.len <= VT_CMDLINE_MAX);
	vt_event_proc_ident(&p, comm, sizeof(comm), vm, sizeof(vm));
	assert_string_equal(vm, "unit-vm");
	assert_string_equal(comm, "sh");
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_false(vt_proc_record(pid, &p));
	assert_int_equal(p.len, 0);
	assert_int_equal(p.e.tgid, pid);
}

/* stdout a pipe whose reader left: vt_out_check() stops the command, exit status 0; a
 * second signal ends the process at once, by that signal. Both in a child. */
static void test_stop(void **state)
{
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (!pid) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		vt_install_signals();
		for (int i = 0; i < 100000 && !vt_stop; i++) {
			printf("line %d\n", i);
			vt_out_check();
		}
		_exit(vt_stop == VT_STOP_OUTPUT ? vt_exit_code(VT_EXIT_OK) : 9);
	}
	close(p[1]);
	close(p[0]); /* the reader leaves at once */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* the reader gone before anything is written: seen without a write (POLLERR) */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	pid = fork();
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		_exit(vt_out_gone() && vt_stop == VT_STOP_OUTPUT ? 0 : 7);
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_false(vt_out_gone()); /* the runner's own stdout is fine */

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (!pid) {
		char c = 1;
		sigset_t stops, none;

		/* Blocked until sigsuspend: a signal landing between the vt_stop check and a
		 * pause() would be lost, and the child would wait forever (seen under ASan with
		 * the CPUs busy: make check hung until CI's limit). */
		sigemptyset(&none);
		sigemptyset(&stops);
		sigaddset(&stops, SIGTERM);
		sigaddset(&stops, SIGINT);
		sigprocmask(SIG_BLOCK, &stops, NULL);
		vt_install_signals();
		if (write(p[1], &c, 1) != 1)
			_exit(8);
		while (!vt_stop)
			sigsuspend(&none);
		if (write(p[1], &c, 1) != 1 || vt_stop != VT_STOP_SIGNAL || !vt_stop_ns)
			_exit(8);
		for (;;)
			sigsuspend(&none); /* "draining": the second signal must end this */
	}
	{
		char c;

		assert_int_equal(read(p[0], &c, 1), 1);
		kill(pid, SIGTERM);
		assert_int_equal(read(p[0], &c, 1), 1);
		kill(pid, SIGINT);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGINT);
	close(p[0]);
	close(p[1]);
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
	{
		/* QEMU's own option syntax: ",," is a comma in the value */
		const char e[] = "qemu\0-name\0guest=web,,prod,debug-threads=on";
		const char f[] = "qemu\0-name\0web,,prod";
		const char g[] = "qemu\0-name\0debug-threads=on,guest=db";
		const char h[] = "qemu\0-name\0x,,guest=y";	      /* one value, no guest= key */
		const char i[] = "qemu\0-name\0first\0-name\0second"; /* the last one counts */
		const char j[] = "qemu\0-name\0debug-threads=on";
		const char k[] = "qemu\0-name\0\033]0;x\a,debug-threads=on";

		assert_true(vt_qemu_vm_name(e, sizeof(e), vm, sizeof(vm)));
		assert_string_equal(vm, "web,prod");
		assert_true(vt_qemu_vm_name(f, sizeof(f), vm, sizeof(vm)));
		assert_string_equal(vm, "web,prod");
		assert_true(vt_qemu_vm_name(g, sizeof(g), vm, sizeof(vm)));
		assert_string_equal(vm, "db");
		assert_true(vt_qemu_vm_name(h, sizeof(h), vm, sizeof(vm)));
		assert_string_equal(vm, "x,guest=y");
		assert_true(vt_qemu_vm_name(i, sizeof(i), vm, sizeof(vm)));
		assert_string_equal(vm, "second");
		assert_false(vt_qemu_vm_name(j, sizeof(j), vm, sizeof(vm)));
		assert_true(vt_qemu_vm_name(k, sizeof(k), vm, sizeof(vm)));
		assert_string_equal(vm, "\033]0;x\a");
		/* cut to the buffer */
		assert_true(vt_qemu_vm_name(e, sizeof(e), vm, 4));
		assert_string_equal(vm, "web");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kallsyms_line),
		cmocka_unit_test(test_kallsyms_filtered),
		cmocka_unit_test(test_kallsyms_module_reload),
		cmocka_unit_test(test_kallsyms_lookup_mode),
		cmocka_unit_test(test_kallsyms_covers_points),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_qemu_name),
		cmocka_unit_test(test_cli_values),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_proc_comm),
		cmocka_unit_test(test_proc_record),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
