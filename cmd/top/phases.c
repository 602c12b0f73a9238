// SPDX-License-Identifier: GPL-2.0
/*
 * top --phases: where each process's vfio_unmap_unpin time went (issue #19). The rows are
 * those of the operation table (include/vt_ops.h): unmap_unpin and its four phases, which
 * never overlap (a flush inside an IOMMU unmap is the flush's, bpf/vt_phases.bpf.h), so the
 * rest is unmap_unpin's time minus theirs. GiB/s is the bytes unmapped per second of
 * unmap_unpin time: how fast the kernel tears mappings down, whatever the interval. 4K% is
 * the share of the IOMMU unmap's bytes the driver unmapped in 4 KiB pages (iommu_unmap's
 * items, from the driver's unmap_pages).
 */
#include <stdio.h>
#include <stdlib.h>
#include "report.h"
#include "view.h"

bool vt_view_proc_has_phases(const struct vt_proc_counts *c)
{
	return c->uu_count && c->phase_ns[0];
}

bool vt_view_has_phases(const struct vt_view *v)
{
	for (size_t i = 0; i < v->nprocs; i++)
		if (vt_view_proc_has_phases(&v->procs[i].tot))
			return true;
	return false;
}

static uint64_t rest_ns(const uint64_t ns[VT_PHASE_OPS])
{
	uint64_t in = 0;

	for (int i = 1; i < VT_PHASE_OPS; i++)
		in += ns[i];
	return ns[0] > in ? ns[0] - in : 0;
}

static double gib_per_s(uint64_t bytes, uint64_t ns)
{
	return ns ? bytes / (double)(1ull << 30) / (ns / 1e9) : 0;
}

static char *fmt_share(char *b, size_t l, uint64_t part, uint64_t whole)
{
	snprintf(b, l, "%.1f", whole ? 100.0 * part / whole : 0);
	return b;
}

/* 79 columns with a COMM/VM of 8: the process, what unmap_unpin did, the five shares of its
 * time and the share of 4 KiB pages */
#define PHASE_FMT "%7s %-*s %6s %8s %6s %6s %6s %5s %6s %5s %5s"
#define PHASE_ROW "%7u %s %6llu %8s %6s %6s %6s %5s %6s %5s %5s"

void vt_view_phase_header(char *buf, size_t len, const struct vt_view_widths *w)
{
	snprintf(buf, len, PHASE_FMT, "PID", w->ident, "COMM/VM", "DMAS", "UU_TIME", "GiB/s",
		 "IOMMU%", "FLUSH%", "WALK%", "UNPIN%", "REST%", "4K%");
}

void vt_view_phase_line(char *buf, size_t len, const struct vt_view_proc *p,
			const struct vt_proc_counts *c, const struct vt_view_widths *w)
{
	char id[VT_ESC_SIZE(sizeof(p->vm))], t[24], g[24], s[VT_PHASE_OPS][16], k4[16];
	const uint64_t *ns = c->phase_ns;

	/* a VM name or comm is someone else's choice: escaped, cut to the column */
	vt_esc_cols(id, sizeof(id), p->vm[0] ? p->vm : p->comm, sizeof(p->vm), w->ident);
	if (!vt_view_proc_has_phases(c)) {
		snprintf(buf, len, PHASE_ROW, p->tgid, id, (unsigned long long)c->uu_count, "-",
			 "-", "-", "-", "-", "-", "-", "-");
		return;
	}
	for (int i = 1; i < VT_PHASE_OPS; i++)
		fmt_share(s[i], sizeof(s[i]), ns[i], ns[0]);
	fmt_share(s[0], sizeof(s[0]), rest_ns(ns), ns[0]);
	snprintf(g, sizeof(g), "%.2f", gib_per_s(c->uu_bytes, ns[0]));
	if (c->iommu_bytes)
		fmt_share(k4, sizeof(k4), c->iommu_4k, c->iommu_bytes);
	else
		snprintf(k4, sizeof(k4), "-");
	snprintf(buf, len, PHASE_ROW, p->tgid, id, (unsigned long long)c->uu_count,
		 vt_fmt_ns(t, sizeof(t), ns[0]), g, s[1], s[2], s[3], s[4], s[0], k4);
}

static json_object *phases_obj(const struct vt_snapshot *s, uint64_t obj, uint32_t tgid)
{
	struct vtr_stat *st = malloc(sizeof(*st));
	uint64_t ns[VT_PHASE_OPS], bytes = 0, count = 0, iommu = 0, iommu_4k = 0;
	json_object *o;

	if (!st)
		return NULL;
	for (int i = 0; i < VT_PHASE_OPS; i++) {
		vt_snapshot_sum(s, vt_phase_ops[i], obj, tgid, st);
		ns[i] = st->lat_sum;
		if (!i) {
			bytes = st->bytes;
			count = st->count;
		} else if (vt_phase_ops[i] == VT_OP_IOMMU_UNMAP) {
			iommu = st->bytes;
			iommu_4k = st->items;
		}
	}
	free(st);
	if (!count || !ns[0])
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "unmap_unpins", json_object_new_uint64(count));
	json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
	json_object_object_add(o, "unmap_unpin_ns", json_object_new_uint64(ns[0]));
	json_object_object_add(o, "gib_per_s", json_object_new_double(gib_per_s(bytes, ns[0])));
	/* the share of the IOMMU unmap's bytes in 4 KiB pages (null: no page size seen) */
	json_object_object_add(o, "share_4k",
			       iommu ? json_object_new_double((double)iommu_4k / iommu) : NULL);
	for (int i = 1; i <= VT_PHASE_OPS; i++) {
		json_object *ph = json_object_new_object();
		uint64_t v = i < VT_PHASE_OPS ? ns[i] : rest_ns(ns);

		json_object_object_add(ph, "ns", json_object_new_uint64(v));
		json_object_object_add(ph, "share", json_object_new_double((double)v / ns[0]));
		json_object_object_add(o, i < VT_PHASE_OPS ? vt_op_name(vt_phase_ops[i]) : "rest",
				       ph);
	}
	return o;
}

void vt_view_json_phases(json_object *doc, const struct vt_snapshot *s)
{
	struct vt_container *cs;
	json_object *a;
	size_t nc;

	if (s->untraced_ops & (1u << VT_OP_UNMAP_UNPIN))
		return;
	/* vt_report_json() lists containers in vt_containers() order */
	nc = vt_containers(s, &cs);
	if (cs && json_object_object_get_ex(doc, "containers", &a)) {
		for (size_t i = 0; i < nc && i < json_object_array_length(a); i++) {
			json_object *o = phases_obj(s, cs[i].obj, cs[i].tgid);

			if (o)
				json_object_object_add(json_object_array_get_idx(a, i), "phases",
						       o);
		}
	}
	free(cs);
}
