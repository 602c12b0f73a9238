// SPDX-License-Identifier: GPL-2.0
/* --btf FILE (lib/btf_file.c): a raw BTF file written by libbpf with the structs vfio-trace
 * reads is taken; one without vfio_iommu_type1's struct vfio_dma, a file that is not BTF and a
 * missing file are refused with one line on stderr naming what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <bpf/btf.h>
#include <cmocka.h>
#include "vt.h"

static char dir[] = "/tmp/vt-btf-XXXXXX";

/* path: a raw BTF file with an int and one struct of that int for each name but skip */
static void write_btf(const char *path, const char *skip)
{
	static const char *const names[] = { "task_struct",	"device",     "vfio_device",
					     "vfio_device_ops", "vfio_iommu", "vfio_dma" };
	struct btf *btf = btf__new_empty();
	const void *raw;
	__u32 size;
	FILE *f;
	int id;

	assert_non_null(btf);
	id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	assert_true(id > 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (skip && !strcmp(names[i], skip))
			continue;
		assert_true(btf__add_struct(btf, names[i], 4) > 0);
		assert_int_equal(btf__add_field(btf, "x", id, 0, 0), 0);
	}
	raw = btf__raw_data(btf, &size);
	assert_non_null(raw);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(raw, 1, size, f), size);
	fclose(f);
	btf__free(btf);
}

/* What vt_btf_file_load(path) said on stderr, and whether it took the file. */
static bool load(const char *path, char *said, size_t len)
{
	char out[300];
	int saved = dup(2), fd;
	struct btf *btf;
	ssize_t n;

	snprintf(out, sizeof(out), "%s/stderr", dir);
	fd = open(out, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	btf = vt_btf_file_load(path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, said, len - 1, 0);
	said[n > 0 ? n : 0] = 0;
	close(fd);
	btf__free(btf);
	return btf != NULL;
}

static void test_good_file(void **state)
{
	char path[300], said[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/good.btf", dir);
	write_btf(path, NULL);
	assert_true(load(path, said, sizeof(said)));
	assert_string_equal(said, "");
	assert_int_equal(vt_btf_file_check(path), 0);
}

static void test_no_vfio_dma(void **state)
{
	char path[300], said[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/vmlinux-only.btf", dir);
	write_btf(path, "vfio_dma");
	assert_false(load(path, said, sizeof(said)));
	assert_non_null(strstr(said, "no struct vfio_dma in it"));
	assert_non_null(strstr(said, "vfio_iommu_type1's is missing"));
	assert_non_null(strchr(said, '\n'));
	assert_string_equal(strchr(said, '\n'), "\n"); /* one line */
}

static void test_not_btf(void **state)
{
	char path[300], said[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/notbtf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not BTF at all\n", f);
	fclose(f);
	assert_false(load(path, said, sizeof(said)));
	assert_non_null(strstr(said, "cannot read BTF from it"));
	assert_string_equal(strchr(said, '\n'), "\n");
	assert_false(load("/nonexistent/vfio.btf", said, sizeof(said)));
	assert_non_null(strstr(said, "cannot read BTF from it (No such file or directory)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_no_vfio_dma),
		cmocka_unit_test(test_not_btf),
	};
	static const char *const files[] = { "good.btf", "vmlinux-only.btf", "notbtf", "stderr" };
	char path[300];
	int rc;

	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests_name("btf_file", tests, NULL, NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return rc;
}
