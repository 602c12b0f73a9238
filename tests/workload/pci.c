// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload's pci scenario: a vfio-pci device with a REAL IOMMU domain (the lab's e1000e
 * behind an emulated Intel VT-d, tests/lab/run-vm --iommu), where the test module's devices
 * have none (emulated IOMMU: MAP_DMA maps nothing, iommu:map/unmap never fire).
 *
 * Its group goes into a TYPE1v2 container (the container's attach gives it an IOMMU domain);
 * per cycle it maps --maps vfio_dma backed by anonymous 4 KiB pages (THP off for the buffer)
 * and --huge-maps backed by 2 MiB hugetlbfs pages, then unmaps each with one UNMAP_DMA. With
 * --leave-mapped N it maps N more of each kind and exits with them mapped: the kernel removes
 * them when the fds close at exit (vfio_iommu_type1 detach/release), as at a VM's exit.
 * No device fd is opened: vfio-pci has no dma_unmap, nothing pins or notifies.
 *
 * The JSON has the shape of the other scenarios (totals, containers[0] with the same
 * counters) plus backing {anon, hugetlb}: per kind the page size behind it, its IOVA window
 * and its counts, so a check can split iommu:map/unmap events by IOVA.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/mman.h>
#include <linux/vfio.h>
#include <json-c/json.h>

#include "wl.h"

#define PCI_HUGE_IOVA_BASE (WL_IOVA_BASE + (1ULL << 32)) /* 2 MiB aligned, after anon's 4G */
#define HUGE_PAGE	   (2ULL << 20)

/* One kind of backing memory: its buffer, IOVA window and counts. */
struct backing {
	const char *name;
	uint64_t page_size, map_size, iova_base;
	unsigned per_cycle;
	void *buf;
	uint64_t maps, bytes_mapped, unmaps, bytes_unmapped, left, bytes_left;
};

/* The one device bound to vfio-pci (or --pci): its BDF and IOMMU group number. */
static int find_device(struct wcontainer *c, const char *want)
{
	char path[512], link[512];
	struct dirent *de;
	unsigned found = 0;
	DIR *d;
	ssize_t n;

	if (want) {
		if (strlen(want) >= sizeof(c->dev[0].name) || strchr(want, '/')) {
			wc_fail(c, "--pci '%.64s': not a PCI address (e.g. 0000:00:05.0)", want);
			return -1;
		}
		snprintf(c->dev[0].name, sizeof(c->dev[0].name), "%s", want);
	} else {
		d = opendir("/sys/bus/pci/drivers/vfio-pci");
		if (!d) {
			wc_fail(c, "/sys/bus/pci/drivers/vfio-pci: %s (vfio-pci loaded?)",
				strerror(errno));
			return -1;
		}
		while ((de = readdir(d)))
			if (strchr(de->d_name, ':') && found++ == 0)
				snprintf(c->dev[0].name, sizeof(c->dev[0].name), "%.63s",
					 de->d_name);
		closedir(d);
		if (found != 1) {
			wc_fail(c, "%u devices bound to vfio-pci: give one with --pci BDF", found);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", c->dev[0].name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		wc_fail(c, "%s: %s (no IOMMU group: intel_iommu=on?)", path, strerror(errno));
		return -1;
	}
	link[n] = 0;
	c->dev[0].group_no = atoi(basename(link));
	return 0;
}

static int container_open(struct wcontainer *c)
{
	struct wdev *d = &c->dev[0];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[64];

	c->fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c->fd < 0 || ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		wc_fail(c, "/dev/vfio/vfio: no TYPE1v2 (%s)", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_no);
	d->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->group_fd < 0) {
		wc_fail(c, "open %s (group of %s): %s", path, d->name, strerror(errno));
		return -1;
	}
	if (ioctl(d->group_fd, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		wc_fail(c, "group %s of %s is not viable (every device bound to vfio-pci?)", path,
			d->name);
		return -1;
	}
	if (ioctl(d->group_fd, VFIO_GROUP_SET_CONTAINER, &c->fd) ||
	    ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		wc_fail(c, "%s into a TYPE1v2 container: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* One pre-faulted buffer of map_size per kind, shared by every vfio_dma of that kind. */
static int backing_alloc(struct wcontainer *c, struct backing *b, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB | MAP_HUGE_2MB : 0);

	b->buf = mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b->buf == MAP_FAILED) {
		b->buf = NULL;
		wc_fail(c, "mmap %llu bytes of %s memory: %s%s", (unsigned long long)b->map_size,
			b->name, strerror(errno),
			huge ? " (reserve 2 MiB pages: /proc/sys/vm/nr_hugepages)" : "");
		return -1;
	}
	/* 4 KiB pages for the anonymous kind, or the IOMMU could get 2 MiB runs from THP
	 * (EINVAL: a kernel without THP, 4 KiB pages anyway) */
	if (!huge && madvise(b->buf, b->map_size, MADV_NOHUGEPAGE) && errno != EINVAL) {
		wc_fail(c, "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
		return -1;
	}
	memset(b->buf, 0x5a, b->map_size);
	return 0;
}

static int pci_map(struct wcontainer *c, struct backing *b, unsigned slot)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)b->buf,
		.iova = b->iova_base + slot * b->map_size,
		.size = b->map_size,
	};

	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m)) {
		CADD(c, map_dma_err, 1);
		wc_fail(c, "MAP_DMA %s iova 0x%llx size %llu: %s", b->name,
			(unsigned long long)m.iova, (unsigned long long)m.size, strerror(errno));
		return -1;
	}
	CADD(c, map_dma_ok, 1);
	CADD(c, bytes_mapped, b->map_size);
	b->maps++;
	b->bytes_mapped += b->map_size;
	return 0;
}

static int pci_unmap(struct wcontainer *c, struct backing *b, unsigned slot)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = b->iova_base + slot * b->map_size,
		.size = b->map_size,
	};

	CADD(c, unmap_bytes_requested, b->map_size);
	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u)) {
		CADD(c, unmap_dma_err, 1);
		wc_fail(c, "UNMAP_DMA %s iova 0x%llx: %s", b->name, (unsigned long long)u.iova,
			strerror(errno));
		return -1;
	}
	CADD(c, unmap_dma_ok, 1);
	CADD(c, unmap_bytes_unmapped, u.size);
	CADD(c, vfio_dma_removed, 1); /* one exact vfio_dma per UNMAP_DMA */
	b->unmaps++;
	b->bytes_unmapped += u.size;
	if (u.size != b->map_size) {
		wc_fail(c, "UNMAP_DMA %s iova 0x%llx: kernel unmapped %llu, expected %llu", b->name,
			(unsigned long long)u.iova, (unsigned long long)u.size,
			(unsigned long long)b->map_size);
		return -1;
	}
	return 0;
}

static void run(struct wcontainer *c, const struct options *o, struct backing *kinds)
{
	double t0 = now_s();

	/* --iterations cycles, or (0) as many as --duration allows: bench/phases-guest.sh's storm */
	for (uint64_t it = 0; (!o->iterations || it < o->iterations) && !wl_stop; it++) {
		if (o->duration > 0 && now_s() - t0 >= o->duration)
			break;
		for (unsigned k = 0; k < 2; k++)
			for (unsigned j = 0; j < kinds[k].per_cycle; j++)
				if (pci_map(c, &kinds[k], j))
					return;
		for (unsigned k = 0; k < 2; k++)
			for (unsigned j = 0; j < kinds[k].per_cycle; j++)
				if (pci_unmap(c, &kinds[k], j))
					return;
		CADD(c, cycles, 1);
	}
	/* --leave-mapped: left for the kernel to remove at exit */
	for (unsigned k = 0; k < 2 && !wl_stop; k++) {
		if (!kinds[k].per_cycle)
			continue;
		for (unsigned j = 0; j < o->leave_mapped; j++) {
			if (pci_map(c, &kinds[k], kinds[k].per_cycle + j))
				return;
			kinds[k].left++;
			kinds[k].bytes_left += kinds[k].map_size;
			CADD(c, teardown_dma_expected, 1);
			CADD(c, teardown_bytes_expected, kinds[k].map_size);
		}
	}
	if (cget(&c->c[CT_teardown_dma_expected]))
		CADD(c, teardowns_expected, 1);
}

static json_object *backing_json(const struct backing *b)
{
	json_object *j = json_object_new_object();

#define ADD(k, v) json_object_object_add(j, k, json_object_new_int64((int64_t)(v)))
	ADD("page_size", b->page_size);
	ADD("map_size", b->map_size);
	ADD("per_cycle", b->per_cycle);
	ADD("iova_start", b->iova_base);
	ADD("iova_end", b->iova_base + (1ULL << 32)); /* the window: [start, end) */
	ADD("maps", b->maps);
	ADD("bytes_mapped", b->bytes_mapped);
	ADD("unmaps", b->unmaps);
	ADD("bytes_unmapped", b->bytes_unmapped);
	ADD("left_mapped", b->left);
	ADD("bytes_left_mapped", b->bytes_left);
#undef ADD
	return j;
}

int pci_main(const struct options *o)
{
	struct wcontainer *c = calloc(1, sizeof(*c));
	struct backing kinds[2] = {
		{ .name = "anon",
		  .page_size = sysconf(_SC_PAGESIZE),
		  .map_size = o->map_size,
		  .iova_base = WL_IOVA_BASE,
		  .per_cycle = o->maps },
		{ .name = "hugetlb",
		  .page_size = HUGE_PAGE,
		  .map_size = o->huge_size,
		  .iova_base = PCI_HUGE_IOVA_BASE,
		  .per_cycle = o->huge_maps },
	};
	json_object *doc, *totals, *cj, *cnt, *devs, *errors, *bk, *p;
	double t0 = now_s();
	struct utsname un;
	const char *s;
	int rc;

	if (!c) {
		fprintf(stderr, "vfio-workload: error: out of memory\n");
		return 1;
	}
	pthread_mutex_init(&c->err_lock, NULL);
	c->opt = o;
	c->pid = getpid();
	c->fd = -1;
	c->ndev = 1;
	c->dev[0].group_fd = -1;
	c->dev[0].cdev_no = -1;
	if (!find_device(c, o->pci) && !container_open(c) && !backing_alloc(c, &kinds[0], false) &&
	    (!o->huge_maps || !backing_alloc(c, &kinds[1], true)))
		run(c, o, kinds);
	c->elapsed = now_s() - t0;

	doc = json_object_new_object();
	errors = json_object_new_array();
	if (atomic_load(&c->failed))
		json_object_array_add(errors, json_object_new_string(c->err));
	cj = wc_to_json(c);
	totals = json_object_new_object();
	json_object_object_get_ex(cj, "counters", &cnt);
	json_object_object_foreach(cnt, k, v)
		json_object_object_add(totals, k, json_object_get(v));
	json_object_object_get_ex(cj, "devices", &devs);
	json_object_object_foreach(
		json_object_object_get(json_object_array_get_idx(devs, 0), "counters"), dk, dv)
		json_object_object_add(totals, dk, json_object_get(dv));
	p = json_object_new_object();
	json_object_object_add(p, "scenario", json_object_new_string("pci"));
	json_object_object_add(p, "pci", json_object_new_string(c->dev[0].name));
	json_object_object_add(p, "iterations", json_object_new_int64(o->iterations));
	json_object_object_add(p, "maps", json_object_new_int(o->maps));
	json_object_object_add(p, "map_size", json_object_new_int64(o->map_size));
	json_object_object_add(p, "huge_maps", json_object_new_int(o->huge_maps));
	json_object_object_add(p, "huge_size", json_object_new_int64(o->huge_size));
	json_object_object_add(p, "leave_mapped", json_object_new_int(o->leave_mapped));
	json_object_object_add(p, "fault_k", json_object_new_int(0));
	json_object_object_add(p, "page_size", json_object_new_int(sysconf(_SC_PAGESIZE)));
	bk = json_object_new_object();
	json_object_object_add(bk, "anon", backing_json(&kinds[0]));
	json_object_object_add(bk, "hugetlb", backing_json(&kinds[1]));

	json_object_object_add(doc, "tool", json_object_new_string("vfio-workload"));
	json_object_object_add(doc, "schema", json_object_new_int(1));
	json_object_object_add(doc, "scenario", json_object_new_string("pci"));
	json_object_object_add(doc, "kernel", json_object_new_string(uname(&un) ? "" : un.release));
	json_object_object_add(doc, "pid", json_object_new_int(getpid()));
	json_object_object_add(doc, "status",
			       json_object_new_string(atomic_load(&c->failed) ? "error" : "ok"));
	json_object_object_add(doc, "interrupted", json_object_new_boolean(wl_stop != 0));
	json_object_object_add(doc, "errors", errors);
	json_object_object_add(doc, "wall_s", json_object_new_double(now_s() - t0));
	json_object_object_add(doc, "params", p);
	json_object_object_add(doc, "totals", totals);
	json_object_object_add(doc, "backing", bk);
	cj = json_object_new_array();
	json_object_array_add(cj, wc_to_json(c));
	json_object_object_add(doc, "containers", cj);
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE |
							JSON_C_TO_STRING_SPACED);
	rc = atomic_load(&c->failed) ? 1 : wl_stop ? 3 : 0;
	if (o->json_path) {
		FILE *f = fopen(o->json_path, "we");

		if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f)) {
			fprintf(stderr, "vfio-workload: error: cannot write %s: %s\n", o->json_path,
				strerror(errno));
			rc = 1;
		}
	} else {
		printf("%s\n", s);
	}
	if (!o->quiet || rc == 1)
		fprintf(stderr, "vfio-workload: pci %s: %s\n", c->dev[0].name,
			rc == 1 ? c->err : "ok");
	/* teardown by exit: the container and group fds close with --leave-mapped vfio_dma
	 * still mapped, and the kernel removes them (no UNMAP_DMA), as when a VM exits */
	return rc;
}
