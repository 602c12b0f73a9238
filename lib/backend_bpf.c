// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend's entry in the backend table (lib/backend.h): each call handed to its
 * vt_bpf_* function (lib/loader.c, rings.c, snapshot.c, reload.c).
 */
#include <stddef.h>
#include "backend.h"
#include "tracer.h"

static struct vt_bpf *bpf_of(struct vt_tracer *t)
{
	return (struct vt_bpf *)((char *)t - offsetof(struct vt_bpf, base));
}

static int bpf_open(struct vt_tracer **out, const struct vt_tracer_opts *opts)
{
	struct vt_bpf *b;
	int err = vt_bpf_open(&b, opts);

	if (err)
		return err;
	*out = &b->base; /* vt_bpf_open set base.be */
	return 0;
}

static int bpf_poll(struct vt_tracer *t, int timeout_ms)
{
	return vt_bpf_poll(bpf_of(t), timeout_ms);
}

static bool bpf_wait(struct vt_tracer *t, uint64_t until)
{
	return vt_bpf_wait(bpf_of(t), until);
}

static void bpf_drain(struct vt_tracer *t)
{
	vt_bpf_drain(bpf_of(t));
}

static int bpf_snapshot(struct vt_tracer *t, struct vt_snapshot *s)
{
	return vt_bpf_snapshot(bpf_of(t), s);
}

static int bpf_losses(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX])
{
	return vt_bpf_losses(bpf_of(t), losses);
}

static const char *bpf_missing(struct vt_tracer *t)
{
	return vt_bpf_missing(bpf_of(t));
}

static const char *bpf_ksym(struct vt_tracer *t, uint64_t addr, char *buf, size_t len)
{
	return vt_bpf_ksym(bpf_of(t), addr, buf, len);
}

static struct vt_ksyms *bpf_ksyms(struct vt_tracer *t)
{
	return vt_bpf_ksyms(bpf_of(t));
}

static void bpf_programs(struct vt_tracer *t, vt_prog_fn fn, void *ctx)
{
	vt_bpf_programs(bpf_of(t), fn, ctx);
}

static unsigned bpf_module_generation(struct vt_tracer *t)
{
	return vt_bpf_module_generation(bpf_of(t));
}

static void bpf_close(struct vt_tracer *t)
{
	vt_bpf_close(bpf_of(t));
}

static int bpf_task_stacks(struct vt_tracer *t, uint32_t tgid, unsigned max, vt_task_stack_fn fn,
			   void *ctx)
{
	return vt_task_stacks(bpf_of(t), tgid, max, fn, ctx);
}

const struct vt_backend vt_backend_bpf = {
	.name = "bpf",
	.open = bpf_open,
	.poll = bpf_poll,
	.wait = bpf_wait,
	.drain = bpf_drain,
	.snapshot = bpf_snapshot,
	.losses = bpf_losses,
	.missing = bpf_missing,
	.ksym = bpf_ksym,
	.ksyms = bpf_ksyms,
	.programs = bpf_programs,
	.module_generation = bpf_module_generation,
	.close = bpf_close,
	.task_stacks = bpf_task_stacks,
};
