// SPDX-License-Identifier: GPL-2.0
/*
 * top's sort keys (-s KEY, the s and S keys): their names, and both tables sorted on one.
 */
#include <stdlib.h>
#include <string.h>
#include "view.h"

static const char *const sort_names[VT_SORT_MAX] = {
	[VT_SORT_UNMAPS] = "unmaps",	 [VT_SORT_BYTES] = "bytes",
	[VT_SORT_NOTIFIES] = "notifies", [VT_SORT_CALLBACKS] = "callbacks",
	[VT_SORT_P99] = "p99",		 [VT_SORT_PINS] = "pins",
	[VT_SORT_ERRORS] = "errors",
};

int vt_sort_parse(const char *name)
{
	for (int i = 0; name && i < VT_SORT_MAX; i++)
		if (!strcmp(name, sort_names[i]))
			return i;
	return -1;
}

const char *vt_sort_name(int key)
{
	return key >= 0 && key < VT_SORT_MAX ? sort_names[key] : "?";
}

const char *vt_sort_names(void)
{
	return "unmaps, bytes, notifies, callbacks, p99, pins, errors";
}

struct sort_ctx {
	int key;
	bool reverse;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static uint64_t proc_key(const struct vt_view_proc *p, int key)
{
	switch (key) {
	case VT_SORT_BYTES: return p->iv.unmap_bytes;
	case VT_SORT_NOTIFIES: return p->iv.notifies;
	case VT_SORT_CALLBACKS: return p->iv.callbacks;
	case VT_SORT_P99: return p->iv.unmap_p99;
	case VT_SORT_PINS: return p->iv.pins;
	case VT_SORT_ERRORS: return p->iv.errors + p->iv.retries;
	default: return p->iv.unmaps;
	}
}

/* A device has no unmaps of its own: its share of one is a callback. */
static uint64_t dev_key(const struct vt_view_dev *d, int key)
{
	switch (key) {
	case VT_SORT_BYTES: return d->iv.cb_bytes;
	case VT_SORT_P99: return d->iv.cb_p99;
	case VT_SORT_PINS: return d->iv.pins;
	case VT_SORT_ERRORS: return d->iv.pin_errors;
	default: return d->iv.callbacks;
	}
}

/* The sort key's order: descending, ascending when reversed; 0 on a tie. */
static int cmp_key(uint64_t x, uint64_t y, const struct sort_ctx *c)
{
	int r = cmp_u64(y, x);

	return c->reverse ? -r : r;
}

static int cmp_proc(const void *a, const void *b, void *arg)
{
	const struct vt_view_proc *x = a, *y = b;
	const struct sort_ctx *c = arg;
	int r = cmp_key(proc_key(x, c->key), proc_key(y, c->key), c);

	if (!r)
		r = cmp_u64(x->tgid, y->tgid);
	return r ? r : cmp_u64(x->container, y->container);
}

static int cmp_dev(const void *a, const void *b, void *arg)
{
	const struct vt_view_dev *x = a, *y = b;
	const struct sort_ctx *c = arg;
	int r = cmp_key(dev_key(x, c->key), dev_key(y, c->key), c);

	if (!r)
		r = strcmp(x->name, y->name);
	return r ? r : cmp_u64(x->vdev, y->vdev);
}

void vt_view_sort(struct vt_view *v, int key, bool reverse)
{
	struct sort_ctx c = { key, reverse };

	if (v->nprocs)
		qsort_r(v->procs, v->nprocs, sizeof(*v->procs), cmp_proc, &c);
	if (v->ndevs)
		qsort_r(v->devs, v->ndevs, sizeof(*v->devs), cmp_dev, &c);
}
