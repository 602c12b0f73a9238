// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: /proc/kallsyms as lib/ksyms.c reads it (the load pass, the per-address
 * pass a new callback takes, the whole-text pass `locks` takes to name stacks, every lookup),
 * and its one-line parser. The input is the file; a memfd stands in for /proc/kallsyms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], line[512], name[128], mod[64], type;
	struct vt_ksyms *ks;
	uint64_t addr = 0;
	size_t off = 0;

	if (fd < 0)
		fd = memfd_create("kallsyms", 0);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ks = vt_ksyms_load_path(path);
	if (ks) {
		const struct vt_ksym *s;

		(void)vt_ksyms_hidden(ks);
		(void)vt_ksyms_count(ks);
		s = vt_ksyms_by_name(ks, "mutex_lock", NULL);
		(void)vt_ksyms_clone(ks, "mutex_lock", NULL);
		(void)vt_ksyms_clone(ks, "vfio_pin_pages", "vfio");
		(void)vt_ksyms_data(ks, "vfio_device_fops", "vfio");
		if (size >= 8)
			memcpy(&addr, data, 8);
		(void)vt_ksyms_at(ks, addr);
		(void)vt_ksyms_at(ks, s ? s->addr : 0xffffffffc0001000ULL);
		(void)vt_ksyms_by_addr(ks, addr);
		(void)vt_ksyms_by_addr(ks, s ? s->addr + 1 : 0);
		vt_ksyms_free(ks);
	}
	/* the line parser, on every line, as a NUL-terminated string */
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = (nl ? (size_t)(nl - data) : size) - off;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, data + off, len);
		line[len] = 0;
		(void)vt_ksyms_parse_line(line, &addr, &type, name, sizeof(name), mod, sizeof(mod));
		off = nl ? (size_t)(nl - data) + 1 : size;
	}
	return 0;
}
