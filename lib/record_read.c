// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a recording (docs/RECORDING.md). Whatever the bytes, the reader never reads past
 * what it was given, never allocates more than a block says (and a block at most
 * VT_REC_MAX_RAW), and says in one sentence what is wrong with a bad file (fuzzed:
 * tests/fuzz/fuzz_record.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "record.h"

#define BLK_HDR 20

static uint32_t get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* One "key=value" of the INFO text into r->info; false for a record layout this build does
 * not share (what, into err). */
static bool info_line(struct vt_recording *r, const char *k, const char *v, char *err,
		      size_t errlen)
{
	static const struct {
		const char *key;
		size_t off, len;
	} text[] = {
#define T(k, f) { k, offsetof(struct vt_rec_info, f), sizeof(((struct vt_rec_info *)0)->f) }
		T("vfio_trace_version", vt_version),
		T("kernel", kernel),
		T("host", host),
		T("attach", attach),
		T("not_traced", not_traced),
		T("options", options),
		T("storm", storm),
#undef T
	};
	const struct {
		const char *key;
		unsigned long long want;
	} sizes[] = {
		{ "event_size", sizeof(struct vtr_event) },
		{ "row_size", sizeof(struct vt_row) },
		{ "device_size", sizeof(struct vt_dev) },

		{ "hist_slots", VT_HIST_SLOTS },
		{ "losses", VT_LOSS_MAX },
		{ "lockmax_size", sizeof(struct vt_lockmax) },
	};
	char ops[1024] = "";

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (!strcmp(k, text[i].key)) {
			snprintf((char *)&r->info + text[i].off, text[i].len, "%s", v);
			return true;
		}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!strcmp(k, sizes[i].key)) {
			if (strtoull(v, NULL, 10) == sizes[i].want)
				return true;
			bad(err, errlen,
			    "its records have another layout (%s %.20s, this vfio-trace "
			    "%llu): recorded by an incompatible vfio-trace",
			    k, v, sizes[i].want);
			return false;
		}
	if (!strcmp(k, "name_size")) { /* the names with or without their uuid */
		r->name_size = strtoull(v, NULL, 10);
		if (r->name_size == sizeof(struct vt_procname) ||
		    r->name_size == VT_PROCNAME_V1_SIZE)
			return true;
		bad(err, errlen,
		    "its records have another layout (name_size %.20s, this vfio-trace %zu): "
		    "recorded by an incompatible vfio-trace",
		    v, sizeof(struct vt_procname));
		return false;
	}
	if (!strcmp(k, "start_monotonic_ns"))
		r->info.start_mono = strtoull(v, NULL, 10);
	else if (!strcmp(k, "start_realtime_ns"))
		r->info.start_real = strtoull(v, NULL, 10);
	else if (!strcmp(k, "interval_s"))
		r->info.interval = strtod(v, NULL);
	else if (!strcmp(k, "segment"))
		r->info.segment = strtoul(v, NULL, 10);
	else if (!strcmp(k, "baseline"))
		r->info.baseline = !strcmp(v, "1");
	else if (!strcmp(k, "ops")) {
		size_t o = 0;

		for (int op = 0; op < VT_OP_MAX; op++)
			o += snprintf(ops + o, sizeof(ops) - o, "%s%s", op ? "," : "",
				      vt_op_name(op));
		/* operations are only ever appended to the table: a recording of an older
		 * vfio-trace names a prefix of ours, and its rows mean the same */
		size_t vl = strlen(v);

		if (strncmp(v, ops, vl) || (ops[vl] && ops[vl] != ',')) {
			bad(err, errlen, "its operations (%.60s) are not this vfio-trace's", v);
			return false;
		}
	}
	return true; /* a key this version does not know: a newer writer's addition */
}

static int parse_info(struct vt_recording *r, char *txt, size_t len, char *err, size_t errlen)
{
	char *p = txt, *end = txt + len;

	while (p < end) {
		char *nl = memchr(p, '\n', end - p), *eq;

		if (!nl)
			nl = end;
		*nl = 0;
		eq = strchr(p, '=');
		if (eq) {
			*eq = 0;
			if (!info_line(r, p, eq + 1, err, errlen))
				return -1;
		}
		p = nl + 1;
	}
	if (!r->info.start_mono)
		return bad(err, errlen, "its header block has no start time");
	return 0;
}

static void *grow(void *a, size_t n, size_t add, size_t size)
{
	if (add > ((size_t)-1 / 2) / size - n)
		return NULL;
	return realloc(a, (n + add) * size);
}

static int parse_events(struct vt_recording *r, const unsigned char *b, size_t len, bool keep)
{
	size_t rec = 4 + sizeof(struct vtr_event);
	uint32_t n = len >= 4 ? get32(b) : 0;
	struct vtr_event *ev;
	uint32_t *fl;

	if (len < 4 || (len - 4) / rec != n || (len - 4) % rec)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		r->nops += !(get32(b + 4 + i * rec) & VT_REC_EV_LIFECYCLE);
	if (!keep)
		return 0;
	ev = grow(r->events, r->nevents, n, sizeof(*ev));
	if (!ev)
		return -1;
	r->events = ev;
	fl = grow(r->ev_flags, r->nevents, n, sizeof(*fl));
	if (!fl)
		return -1;
	r->ev_flags = fl;
	for (uint32_t i = 0; i < n; i++) {
		fl[r->nevents] = get32(b + 4 + i * rec);
		memcpy(&ev[r->nevents], b + 8 + i * rec, sizeof(*ev));
		if (r->version < 2) /* the struct's tail padding then: whatever was there */
			ev[r->nevents].nested_ns = 0;
		r->nevents++;
	}
	return 0;
}

static int parse_snapshot(struct vt_recording *r, const unsigned char *b, size_t len)
{
	struct vt_snapshot *s, *a;
	uint32_t nloss, nrows, ndevs;
	size_t off;

	if (len < 20)
		return -1;
	nloss = get32(b + 16);
	if (nloss > VT_LOSS_MAX || len < 20 + 8ull * nloss + 8)
		return -1;
	off = 20 + 8 * nloss;
	nrows = get32(b + off);
	ndevs = get32(b + off + 4);
	off += 8;
	if ((len - off) / sizeof(struct vt_row) < nrows ||
	    len - off - nrows * sizeof(struct vt_row) != (uint64_t)ndevs * sizeof(struct vt_dev))
		return -1;
	a = grow(r->snaps, r->nsnaps, 1, sizeof(*a));
	if (!a)
		return -1;
	r->snaps = a;
	s = &a[r->nsnaps];
	memset(s, 0, sizeof(*s));
	memcpy(&s->ts, b, 8);
	s->untraced_ops = get32(b + 8);
	s->untimed_ops = get32(b + 12);
	memcpy(s->losses, b + 20, 8 * nloss);
	s->rows = malloc((nrows ? nrows : 1) * sizeof(*s->rows));
	s->devs = malloc((ndevs ? ndevs : 1) * sizeof(*s->devs));
	if (!s->rows || !s->devs) {
		vt_snapshot_free(s);
		return -1;
	}
	if (nrows)
		memcpy(s->rows, b + off, nrows * sizeof(*s->rows));
	if (ndevs)
		memcpy(s->devs, b + off + nrows * sizeof(*s->rows), ndevs * sizeof(*s->devs));
	s->n = s->cap = nrows;
	s->ndevs = ndevs;
	for (size_t i = 0; i < s->ndevs; i++) { /* names are printed as C strings */
		s->devs[i].d.name[sizeof(s->devs[i].d.name) - 1] = 0;
		s->devs[i].d.driver[sizeof(s->devs[i].d.driver) - 1] = 0;
	}
	s->procs_known = true;
	r->nsnaps++;
	return 0;
}

/* Each name as the file lays it out (name_size: with its uuid, or from before uuid was). */
static int parse_names(struct vt_recording *r, const unsigned char *b, size_t len)
{
	size_t sz = r->name_size ? r->name_size : sizeof(struct vt_procname), n = len / sz;
	struct vt_procname *p;

	if (len % sz)
		return -1;
	p = grow(r->procs, r->nprocs, n, sizeof(*p));
	if (!p)
		return -1;
	r->procs = p;
	for (size_t i = 0; i < n; i++) {
		struct vt_procname *q = &p[r->nprocs + i];

		memset(q, 0, sizeof(*q));
		memcpy(q, b + i * sz, sz);
		q->comm[sizeof(q->comm) - 1] = 0;
		q->vm[sizeof(q->vm) - 1] = 0;
		q->uuid[sizeof(q->uuid) - 1] = 0;
	}
	r->nprocs += n;
	return 0;
}

/* The lock maxima of the snapshot before (ignored without one) and their symbols. */
static int parse_lockmax(struct vt_recording *r, const unsigned char *b, size_t len)
{
	uint32_t n = len >= 8 ? get32(b) : 0, nsyms = len >= 8 ? get32(b + 4) : 0;
	const size_t lm = sizeof(struct vt_lockmax), sy = sizeof(struct vt_rec_sym);
	struct vt_snapshot *s = r->nsnaps ? &r->snaps[r->nsnaps - 1] : NULL;
	struct vt_rec_sym *syms;

	if (len < 8 || n > (len - 8) / lm || nsyms > (len - 8 - n * lm) / sy ||
	    len != 8 + n * lm + nsyms * sy)
		return -1;
	if (s && n && !s->lockmax) {
		s->lockmax = malloc(n * lm);
		if (!s->lockmax)
			return -1;
		memcpy(s->lockmax, b + 8, n * lm);
		s->nlockmax = n;
		for (uint32_t i = 0; i < n; i++) {
			struct vt_lockmax *m = &s->lockmax[i];

			if (m->nstack < 0 || m->nstack > 32)
				m->nstack = 0;
			m->m.comm[sizeof(m->m.comm) - 1] = 0;
		}
	}
	syms = grow(r->syms, r->nsyms, nsyms, sy);
	if (!syms)
		return -1;
	r->syms = syms;
	memcpy(syms + r->nsyms, b + 8 + n * lm, nsyms * sy);
	for (uint32_t i = 0; i < nsyms; i++)
		syms[r->nsyms + i].name[sizeof(syms->name) - 1] = 0;
	r->nsyms += nsyms;
	return 0;
}

/* The alert lines, kept as text: report parses them (a line that is not JSON is skipped
 * there). */
static int parse_alerts(struct vt_recording *r, const unsigned char *b, size_t len)
{
	const unsigned char *p = b, *end = b + len;

	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', end - p);
		size_t l = (nl ? nl : end) - p;
		char **a, *line;

		if (l && !(r->nalerts & (r->nalerts - 1))) { /* full at 0, 1, 2, 4, ... */
			a = grow(r->alerts, r->nalerts, r->nalerts ? r->nalerts : 1, sizeof(*a));
			if (!a)
				return -1;
			r->alerts = a;
		}
		if (l) {
			line = malloc(l + 1);
			if (!line)
				return -1;
			memcpy(line, p, l);
			line[l] = 0;
			r->alerts[r->nalerts++] = line;
		}
		p += l + 1;
	}
	return 0;
}

static int parse_block(struct vt_recording *r, uint32_t type, unsigned char *b, size_t len,
		       unsigned flags, char *err, size_t errlen)
{
	switch (type) {
	case VT_REC_INFO: return parse_info(r, (char *)b, len, err, errlen);
	case VT_REC_EVENTS: return parse_events(r, b, len, !(flags & VT_REC_READ_NO_EVENTS));
	case VT_REC_SNAPSHOT: return parse_snapshot(r, b, len);
	case VT_REC_NAMES: return parse_names(r, b, len);
	case VT_REC_LOCKMAX: return parse_lockmax(r, b, len);
	case VT_REC_ALERTS: return parse_alerts(r, b, len);
	case VT_REC_END:
		if (len < 8)
			return -1;
		memcpy(&r->end_ts, b, 8);
		snprintf(r->end_reason, sizeof(r->end_reason), "%.*s", (int)(len - 8), b + 8);
		r->ended = true;
		return 0;
	}
	r->skipped++;
	return 0;
}

/* The block at *off (the n-th), checked and decompressed into *b (malloc'd, *raw bytes);
 * *off moves past it. 0, or -1 with the sentence in err. */
static int next_block(const unsigned char *p, size_t len, size_t *off, size_t n, uint32_t *type,
		      unsigned char **b, uint32_t *raw, char *err, size_t errlen)
{
	size_t o = *off, got;
	uint32_t clen;

	if (len - o < BLK_HDR)
		return bad(err, errlen,
			   "truncated: %zu bytes left at byte %zu, less than a block header "
			   "(block %zu)",
			   len - o, o, n);
	if (memcmp(p + o, VT_REC_BLK_MAGIC, 4))
		return bad(err, errlen, "corrupted: no block at byte %zu (block %zu)", o, n);
	*type = get32(p + o + 4);
	*raw = get32(p + o + 8);
	clen = get32(p + o + 12);
	if (clen > len - o - BLK_HDR)
		return bad(err, errlen,
			   "truncated inside block %zu (at byte %zu: %u bytes announced, %zu "
			   "there)",
			   n, o, clen, len - o - BLK_HDR);
	if ((uint32_t)crc32(crc32(0, p + o, 16), p + o + BLK_HDR, clen) != get32(p + o + 16))
		return bad(err, errlen, "corrupted: block %zu at byte %zu fails its checksum", n,
			   o);
	if (*raw > VT_REC_MAX_RAW)
		return bad(err, errlen, "corrupted: block %zu at byte %zu claims %u bytes", n, o,
			   *raw);
	*b = malloc(*raw ? *raw : 1);
	if (!*b)
		return bad(err, errlen, "out of memory for block %zu", n);
	got = ZSTD_decompress(*b, *raw, p + o + BLK_HDR, clen);
	if (ZSTD_isError(got) || got != *raw) {
		free(*b);
		return bad(err, errlen, "corrupted: block %zu at byte %zu does not decompress", n,
			   o);
	}
	*off = o + BLK_HDR + clen;
	return 0;
}

/*
 * A flight recorder's segment begins with the totals of the segment before: every later
 * snapshot less that baseline, and the segment's time starting at it, read as a recording of
 * its own (windows add up inside it, and its totals are what happened in it).
 */
static int rebase(struct vt_recording *r)
{
	struct vt_snapshot *d = calloc(r->nsnaps, sizeof(*d));
	const struct vt_snapshot *base = &r->snaps[0];

	if (!d)
		return -1;
	for (size_t i = 1; i < r->nsnaps; i++)
		if (vt_snapshot_diff(&r->snaps[i], base, &d[i - 1])) {
			for (size_t j = 0; j < i; j++)
				vt_snapshot_free(&d[j]);
			free(d);
			return -1;
		}
	if (base->ts > r->info.start_mono)
		r->info.start_real += base->ts - r->info.start_mono;
	r->info.start_mono = base->ts;
	r->base = *base;
	r->has_base = true;
	for (size_t i = 1; i < r->nsnaps; i++)
		vt_snapshot_free(&r->snaps[i]);
	free(r->snaps);
	r->snaps = d;
	r->nsnaps--;
	return 0;
}

static int parse(const unsigned char *p, size_t len, unsigned flags, struct vt_recording *r,
		 char *err, size_t errlen)
{
	size_t off = 16;
	uint32_t version;

	if (len < 8 || memcmp(p, VT_REC_MAGIC, 8))
		return bad(err, errlen, "not a vfio-trace recording (no %s magic)", VT_REC_MAGIC);
	if (len < 16)
		return bad(err, errlen, "truncated in its header (%zu bytes)", len);
	version = get32(p + 8);
	if (version > VT_REC_VERSION)
		return bad(
			err, errlen,
			"format version %u is newer than this vfio-trace reads (%d): use a newer "
			"vfio-trace",
			version, VT_REC_VERSION);
	if (version < 1)
		return bad(err, errlen, "format version %u is not one vfio-trace ever wrote",
			   version);
	r->version = version;
	while (off < len) {
		size_t at = off;
		uint32_t type, raw;
		unsigned char *b;

		if (next_block(p, len, &off, r->nblocks + 1, &type, &b, &raw, err, errlen))
			return -1;
		if (!r->nblocks && type != VT_REC_INFO) {
			free(b);
			return bad(err, errlen,
				   "corrupted: its first block is not the header block");
		}
		if (parse_block(r, type, b, raw, flags, err, errlen)) {
			free(b);
			if (type != VT_REC_INFO || !err[0])
				bad(err, errlen, "corrupted: block %zu at byte %zu is malformed",
				    r->nblocks + 1, at);
			return -1;
		}
		free(b);
		r->nblocks++;
		if (r->ended)
			break; /* nothing after the end marker counts */
	}
	if (!r->nblocks)
		return bad(err, errlen, "truncated: no header block");
	r->recorder_start_mono = r->info.start_mono;
	if (r->info.baseline && r->nsnaps && rebase(r))
		return bad(err, errlen, "out of memory reading its snapshots");
	for (size_t i = 0; i < r->nsnaps; i++) {
		r->snaps[i].procs = r->procs;
		r->snaps[i].nprocs = r->nprocs;
	}
	return 0;
}

int vt_rec_parse(const void *buf, size_t len, unsigned flags, struct vt_recording *r, char *err,
		 size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (errlen)
		err[0] = 0;
	if (!parse(buf, len, flags, r, err, errlen))
		return 0;
	vt_rec_free(r);
	return -1;
}

void *vt_rec_load(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		bad(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	do {
		if (len == cap) {
			char *b = cap < (4ull << 30) ? realloc(buf, cap = cap ? cap * 2 : 1 << 20) :
						       NULL;

			if (!b) {
				free(buf);
				fclose(f);
				bad(err, errlen, "out of memory reading it");
				return NULL;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		bad(err, errlen, "%s", strerror(errno));
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*lenp = len;
	return buf;
}

int vt_rec_each_event(const void *buf, size_t len,
		      void (*fn)(void *ctx, const struct vtr_event *e, bool lifecycle), void *ctx)
{
	const size_t rec = 4 + sizeof(struct vtr_event);
	size_t off = 16, n = 0;
	char err[160];
	/* version 1 wrote no nested_ns (the struct's tail padding then) */
	bool no_nested = len < 16 || get32((const unsigned char *)buf + 8) < 2;

	while (off < len) {
		uint32_t type, raw;
		unsigned char *b;

		if (next_block(buf, len, &off, ++n, &type, &b, &raw, err, sizeof(err)))
			return -1;
		/* a block's own count must match its size (as vt_rec_parse checks) */
		if (type == VT_REC_EVENTS && raw >= 4 && (raw - 4) % rec == 0 &&
		    (raw - 4) / rec == get32(b)) {
			for (size_t i = 0; i < (raw - 4) / rec; i++) {
				struct vtr_event e;

				memcpy(&e, b + 8 + i * rec, sizeof(e));
				if (no_nested)
					e.nested_ns = 0;
				fn(ctx, &e, get32(b + 4 + i * rec) & VT_REC_EV_LIFECYCLE);
			}
		}
		free(b);
		if (type == VT_REC_END)
			break;
	}
	return 0;
}

void vt_rec_free(struct vt_recording *r)
{
	for (size_t i = 0; i < r->nsnaps; i++)
		vt_snapshot_free(&r->snaps[i]);
	free(r->snaps);
	free(r->events);
	free(r->ev_flags);
	free(r->procs);
	free(r->syms);
	if (r->has_base)
		vt_snapshot_free(&r->base);
	for (size_t i = 0; i < r->nalerts; i++)
		free(r->alerts[i]);
	free(r->alerts);
	memset(r, 0, sizeof(*r));
}

const char *vt_rec_ksym(void *ctx, uint64_t addr, char *buf, size_t len)
{
	const struct vt_recording *r = ctx;

	for (size_t i = 0; i < r->nsyms; i++)
		if (r->syms[i].addr == addr) {
			snprintf(buf, len, "%s", r->syms[i].name);
			return buf;
		}
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

const struct vt_snapshot *vt_rec_snapshot_at(const struct vt_recording *r, uint64_t ts)
{
	const struct vt_snapshot *s = NULL;

	for (size_t i = 0; i < r->nsnaps && r->snaps[i].ts <= ts; i++)
		s = &r->snaps[i];
	return s;
}

struct filtered {
	const struct vt_recording *r;
	void (*fn)(void *ctx, const struct vtr_event *e, bool lifecycle);
	void *ctx;
};

static void filtered_event(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	struct filtered *f = ctx;
	struct vt_filter *flt = f->r->filter;

	if (vt_filter_event(flt, e, lifecycle) ||
	    (lifecycle && (!vt_filter_procs(flt) || vt_filter_proc(flt, e->tgid))))
		f->fn(f->ctx, e, lifecycle);
}

int vt_rec_each_event_of(const struct vt_recording *r, const void *buf, size_t len,
			 void (*fn)(void *ctx, const struct vtr_event *e, bool lifecycle),
			 void *ctx)
{
	struct filtered f = { r, fn, ctx };

	if (!r->filter)
		return vt_rec_each_event(buf, len, fn, ctx);
	r->filter->dev_container = 0; /* each pass learns it anew, in file order */
	return vt_rec_each_event(buf, len, filtered_event, &f);
}

void vt_rec_filter(struct vt_recording *r, struct vt_filter *f)
{
	f->names = r->procs;
	f->nnames = r->nprocs;
	for (size_t i = 0; i < r->nsnaps; i++)
		vt_snapshot_filter(&r->snaps[i], f);
	if (r->has_base)
		vt_snapshot_filter(&r->base, f);
	r->filter = f;
}
