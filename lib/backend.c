// SPDX-License-Identifier: GPL-2.0
/*
 * lib/trace.h's vt_tracer_*: the backend that opened the tracer does the work (lib/backend.h).
 * --backend auto tries BPF and, when it cannot trace here, ftrace, saying why.
 */
#include <errno.h>
#include <string.h>
#include "backend.h"

int vt_tracer_open(struct vt_tracer **t, const struct vt_tracer_opts *opts)
{
	int err;

	*t = NULL;
	switch (opts->backend) {
	case VT_BACKEND_FTRACE: return vt_backend_ftrace.open(t, opts);
	case VT_BACKEND_AUTO:
		err = vt_backend_bpf.open(t, opts);
		if (!err || err == -EINTR)
			return err;
		/* the BPF backend said why on the line above */
		vt_warn("--backend auto: the BPF backend cannot trace here (%s): trying ftrace",
			strerror(-err));
		return vt_backend_ftrace.open(t, opts);
	case VT_BACKEND_BPF:
	default: return vt_backend_bpf.open(t, opts);
	}
}

int vt_tracer_poll(struct vt_tracer *t, int timeout_ms)
{
	return t->be->poll(t, timeout_ms);
}

bool vt_tracer_wait(struct vt_tracer *t, uint64_t until)
{
	return t->be->wait(t, until);
}

void vt_tracer_drain(struct vt_tracer *t)
{
	t->be->drain(t);
}

int vt_tracer_snapshot(struct vt_tracer *t, struct vt_snapshot *s)
{
	return t->be->snapshot(t, s);
}

int vt_tracer_losses(struct vt_tracer *t, uint64_t losses[VT_LOSS_MAX])
{
	return t->be->losses(t, losses);
}

const char *vt_tracer_missing(struct vt_tracer *t)
{
	return t->be->missing(t);
}

const char *vt_tracer_ksym(struct vt_tracer *t, uint64_t addr, char *buf, size_t len)
{
	return t->be->ksym(t, addr, buf, len);
}

struct vt_ksyms *vt_tracer_ksyms(struct vt_tracer *t)
{
	return t->be->ksyms(t);
}

void vt_tracer_programs(struct vt_tracer *t, vt_prog_fn fn, void *ctx)
{
	t->be->programs(t, fn, ctx);
}

unsigned vt_tracer_module_generation(struct vt_tracer *t)
{
	return t->be->module_generation(t);
}

void vt_tracer_close(struct vt_tracer *t)
{
	if (t)
		t->be->close(t);
}

const char *vt_tracer_backend(const struct vt_tracer *t)
{
	return t->be->name;
}
