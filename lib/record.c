// SPDX-License-Identifier: GPL-2.0
/*
 * Writing a recording (docs/RECORDING.md): the file header, then blocks of
 *   "VTBK" | u32 type | u32 raw length | u32 compressed length | u32 CRC-32 | zstd payload
 * (little-endian; the CRC covers the 16 bytes before it and the payload). Each block is one
 * write(), so a recorder killed between two leaves whole blocks behind.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>
#include "record.h"
#include "record_writer.h"

#define ZSTD_LVL  3
#define MAX_NAMED 4096 /* processes the writer remembers having named */
#define END_ROOM  128  /* a segment keeps room for its end marker */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

void *vt_rec_block(uint32_t type, const void *raw, size_t len, size_t *outlen)
{
	size_t bound = ZSTD_compressBound(len), c;
	unsigned char *b;
	uint32_t crc;

	if (len > VT_REC_MAX_RAW)
		return NULL;
	b = malloc(BLK_HDR + bound);
	if (!b)
		return NULL;
	c = ZSTD_compress(b + BLK_HDR, bound, raw, len, ZSTD_LVL);
	if (ZSTD_isError(c)) {
		free(b);
		return NULL;
	}
	memcpy(b, VT_REC_BLK_MAGIC, 4);
	put32(b + 4, type);
	put32(b + 8, len);
	put32(b + 12, c);
	crc = crc32(0, b, 16);
	crc = crc32(crc, b + BLK_HDR, c);
	put32(b + 16, crc);
	*outlen = BLK_HDR + c;
	return b;
}

int vt_rec_write_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_all(struct vt_rec_writer *w, const void *buf, size_t len)
{
	int rc = vt_rec_write_fd(w->fd, buf, len);

	if (!rc) {
		w->bytes += len;
		w->seg_bytes += len;
	}
	return rc;
}

static int rotate(struct vt_rec_writer *w);

/* One block, whole, in the segment being written: a flight recorder starts a new segment
 * when it would not fit (what is left over for the end marker included). */
static int put_raw(struct vt_rec_writer *w, const void *b, size_t n)
{
	if (w->max_size && !w->rotating && w->seg_bytes + n + END_ROOM > w->seg_limit) {
		int rc = rotate(w);

		if (rc)
			return rc;
		if (w->seg_bytes + n + END_ROOM > w->seg_limit)
			return -EFBIG; /* --max-size too small for one block */
	}
	return write_all(w, b, n);
}

static int put_block(struct vt_rec_writer *w, uint32_t type, const void *raw, size_t len)
{
	size_t n;
	void *b = vt_rec_block(type, raw, len, &n);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = put_raw(w, b, n);
	free(b);
	return rc;
}

static size_t ev_size(void)
{
	return 4 + sizeof(struct vtr_event);
}

static int info_block(struct vt_rec_writer *w, const struct vt_rec_info *in)
{
	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	fprintf(f, "vfio_trace_version=%s\nkernel=%s\nhost=%s\nattach=%s\nnot_traced=%s\n",
		in->vt_version, in->kernel, in->host, in->attach, in->not_traced);
	if (in->storm[0])
		fprintf(f, "storm=%s\n", in->storm);
	fprintf(f, "options=%s\nstart_monotonic_ns=%llu\nstart_realtime_ns=%llu\ninterval_s=%.9g\n",
		in->options, (unsigned long long)in->start_mono, (unsigned long long)in->start_real,
		in->interval);
	if (w->max_size)
		fprintf(f, "max_size=%llu\nsegment=%u\nbaseline=%d\n",
			(unsigned long long)w->max_size, in->segment, in->baseline);
	/* what the binary records are laid out as: a reader with other sizes refuses them */
	fprintf(f, "event_size=%zu\nrow_size=%zu\ndevice_size=%zu\nname_size=%zu\n",
		sizeof(struct vtr_event), sizeof(struct vt_row), sizeof(struct vt_dev),
		sizeof(struct vt_procname));
	fprintf(f, "lockmax_size=%zu\n", sizeof(struct vt_lockmax));
	fprintf(f, "hist_slots=%d\nlosses=%d\nops=", VT_HIST_SLOTS, VT_LOSS_MAX);
	for (int op = 0; op < VT_OP_MAX; op++)
		fprintf(f, "%s%s", op ? "," : "", vt_op_name(op));
	fputc('\n', f);
	if (fclose(f)) {
		free(txt);
		return -ENOMEM;
	}
	rc = put_block(w, VT_REC_INFO, txt, len);
	free(txt);
	return rc;
}

char *vt_rec_segment_path(const char *path, int i, char *buf, size_t len)
{
	if (i)
		snprintf(buf, len, "%s.%d", path, i);
	else
		snprintf(buf, len, "%s", path);
	return buf;
}

static void free_writer(struct vt_rec_writer *w)
{
	free(w->alerts);
	free(w->ev);
	free(w->names);
	free(w->snap);
	free(w->path);
	free(w);
}

struct vt_rec_writer *vt_rec_create(const char *path, uint64_t max_size)
{
	struct vt_rec_writer *w = calloc(1, sizeof(*w));
	char seg[4096];
	int err;

	if (!w)
		return NULL;
	if (max_size && max_size < VT_REC_MIN_SIZE) {
		free(w);
		errno = EINVAL;
		return NULL;
	}
	w->max_size = max_size;
	w->seg_limit = max_size / VT_REC_SEGMENTS;
	w->batch = EV_BATCH;
	/* a flight recorder's events block fits a quarter of a segment, even incompressible
	 * (but holds 64 events at least) */
	while (max_size && w->batch > 64 &&
	       ZSTD_compressBound(4 + w->batch * ev_size()) + BLK_HDR > w->seg_limit / 4)
		w->batch /= 2;
	w->evcap = w->batch;
	w->ev = malloc(4 + w->evcap * ev_size());
	w->path = strdup(path);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->ev && w->path && w->fd >= 0) {
		/* an earlier flight recording's older segments are not this one's */
		for (int i = 1; i < VT_REC_SEGMENTS; i++)
			unlink(vt_rec_segment_path(path, i, seg, sizeof(seg)));
		return w;
	}
	err = w->ev && w->path ? errno : ENOMEM;
	if (w->fd >= 0)
		close(w->fd);
	free_writer(w);
	errno = err;
	return NULL;
}

void vt_rec_set_symbolizer(struct vt_rec_writer *w, vt_rec_sym_fn sym, void *ctx)
{
	w->sym = sym;
	w->sym_ctx = ctx;
}

static int file_header(struct vt_rec_writer *w)
{
	unsigned char hdr[16] = VT_REC_MAGIC;

	put32(hdr + 8, VT_REC_VERSION);
	put32(hdr + 12, 0); /* flags */
	return write_all(w, hdr, sizeof(hdr));
}

int vt_rec_start(struct vt_rec_writer *w, const struct vt_rec_info *info)
{
	int rc = file_header(w);

	w->info = *info;
	w->info.segment = 0;
	w->info.baseline = false;
	if (!rc)
		rc = info_block(w, &w->info);
	w->started = !rc;
	return rc ? rc : vt_rec_flush(w);
}

/* The names from the first-th on, as one NAMES block. */
static int names_block(struct vt_rec_writer *w, size_t first)
{
	if (first >= w->nnamed)
		return 0;
	return put_block(w, VT_REC_NAMES, w->names + first,
			 (w->nnamed - first) * sizeof(*w->names));
}

/* The pending names, as one NAMES block (once there is a header). */
static int put_names(struct vt_rec_writer *w)
{
	int rc;

	if (!w->npending || !w->started)
		return 0;
	rc = names_block(w, w->nnamed - w->npending);
	w->npending = 0;
	return rc;
}

int vt_rec_end_block(struct vt_rec_writer *w, int fd, uint64_t ts, const char *reason)
{
	char b[8 + 64];
	size_t l = strnlen(reason, 63), n;
	void *blk;
	int rc;

	memcpy(b, &ts, 8);
	memcpy(b + 8, reason, l);
	blk = vt_rec_block(VT_REC_END, b, 8 + l, &n);
	if (!blk)
		return -ENOMEM;
	rc = vt_rec_write_fd(fd, blk, n);
	if (!rc && fd == w->fd)
		w->bytes += n, w->seg_bytes += n;
	free(blk);
	return rc;
}

/*
 * A new segment: the current one ends ("rotated") and becomes path.1, path.1 becomes path.2,
 * ..., the oldest goes first (the files never hold more than max_size together), and the new
 * path starts like a recording of its own: the header, INFO, every name known, then the last
 * snapshot as its baseline. A recorder killed at any point leaves whole segments behind.
 */
static int rotate(struct vt_rec_writer *w)
{
	char a[4096], b[4096], next[4112];
	int rc, fd;

	rc = vt_rec_end_block(w, w->fd, vt_now_ns(), "rotated");
	if (close(w->fd) && !rc)
		rc = -errno;
	w->fd = -1;
	if (rc)
		return rc;
	unlink(vt_rec_segment_path(w->path, VT_REC_SEGMENTS - 1, a, sizeof(a)));
	snprintf(next, sizeof(next), "%s.next", w->path);
	fd = open(next, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	w->fd = fd;
	w->seg_bytes = 0;
	w->rotating = true;
	w->info.segment++;
	w->info.baseline = w->snaplen > 0;
	rc = file_header(w);
	if (!rc)
		rc = info_block(w, &w->info);
	if (!rc)
		rc = names_block(w, 0);
	w->npending = 0; /* all of them are in the new segment */
	if (!rc && w->snaplen)
		rc = write_all(w, w->snap, w->snaplen);
	w->rotating = false;
	for (int i = VT_REC_SEGMENTS - 1; !rc && i > 0; i--) {
		vt_rec_segment_path(w->path, i - 1, a, sizeof(a));
		if (rename(a, vt_rec_segment_path(w->path, i, b, sizeof(b))) && errno != ENOENT)
			rc = -errno;
		w->has_base[i] = w->has_base[i - 1];
	}
	w->has_base[0] = w->info.baseline;
	if (!rc && rename(next, w->path))
		rc = -errno;
	if (!rc && w->seg_bytes + END_ROOM > w->seg_limit)
		rc = -EFBIG; /* the names and a snapshot alone fill a segment */
	return rc;
}

/* The alerts raised before the start, as one block. */
static int put_alerts(struct vt_rec_writer *w)
{
	int rc;

	if (!w->alerts_len || !w->started)
		return 0;
	rc = put_block(w, VT_REC_ALERTS, w->alerts, w->alerts_len);
	free(w->alerts);
	w->alerts = NULL;
	w->alerts_len = 0;
	return rc;
}

int vt_rec_alert(struct vt_rec_writer *w, const char *json)
{
	size_t l = strlen(json);
	char *a;

	if (w->started && !w->alerts_len) {
		int rc;

		a = malloc(l + 1);
		if (!a)
			return -ENOMEM;
		memcpy(a, json, l);
		a[l] = '\n';
		rc = put_block(w, VT_REC_ALERTS, a, l + 1);
		free(a);
		return rc;
	}
	a = realloc(w->alerts, w->alerts_len + l + 1);
	if (!a)
		return -ENOMEM;
	memcpy(a + w->alerts_len, json, l);
	a[w->alerts_len + l] = '\n';
	w->alerts = a;
	w->alerts_len += l + 1;
	return put_alerts(w);
}

int vt_rec_flush(struct vt_rec_writer *w)
{
	int rc = put_alerts(w);

	if (!rc)
		rc = put_names(w);

	if (rc || !w->nev || !w->started)
		return rc;
	/* in blocks of at most batch events (those kept before the start can be many): each
	 * block's count goes in the 4 bytes before its first record, the end of a record
	 * written already */
	for (size_t i = 0; !rc && i < w->nev; i += w->batch) {
		size_t n = w->nev - i < w->batch ? w->nev - i : w->batch;
		unsigned char *b = w->ev + i * ev_size();

		put32(b, n);
		rc = put_block(w, VT_REC_EVENTS, b, 4 + n * ev_size());
	}
	w->nev = 0;
	return rc;
}

int vt_rec_event(struct vt_rec_writer *w, const struct vtr_event *e, bool lifecycle)
{
	unsigned char *p;

	if (w->nev == w->evcap) { /* before the start: kept until there is a header */
		p = w->evcap < VT_REC_MAX_RAW / 2 / ev_size() ?
			    realloc(w->ev, 4 + 2 * w->evcap * ev_size()) :
			    NULL;
		if (!p)
			return -ENOMEM;
		w->ev = p;
		w->evcap *= 2;
	}
	p = w->ev + 4 + w->nev * ev_size();
	put32(p, lifecycle ? VT_REC_EV_LIFECYCLE : 0);
	memcpy(p + 4, e, sizeof(*e));
	w->nevents += !lifecycle;
	if (++w->nev >= w->batch && w->started)
		return vt_rec_flush(w);
	return 0;
}

static bool named(struct vt_rec_writer *w, uint32_t tgid)
{
	for (size_t i = 0; i < w->nnamed; i++)
		if (w->names[i].tgid == tgid)
			return true;
	return false;
}

int vt_rec_name(struct vt_rec_writer *w, uint32_t tgid, vt_rec_name_fn name, void *ctx)
{
	struct vt_procname *p;

	if (!tgid || tgid == w->last || w->nnamed == MAX_NAMED || named(w, tgid))
		return 0;
	w->last = tgid;
	if (w->nnamed % 64 == 0) { /* room for 64 more */
		p = realloc(w->names, (w->nnamed + 64) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->names = p;
	}
	p = &w->names[w->nnamed];
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	if (!name(ctx, tgid, p)) {
		w->last = 0;
		return 0;
	}
	w->nnamed++;
	w->npending++;
	return 0;
}

/* The snapshot's lock maxima, each stack frame with its symbol (the file is read where these
 * addresses mean nothing): u32 n, u32 nsyms, struct vt_lockmax[n], struct vt_rec_sym[nsyms]. */
static void *lockmax_raw(struct vt_rec_writer *w, const struct vt_snapshot *s, size_t *len)
{
	size_t nsyms = 0, max = 0;
	struct vt_rec_sym *syms;
	unsigned char *b;

	for (size_t i = 0; i < s->nlockmax; i++)
		max += s->lockmax[i].nstack > 0 ? s->lockmax[i].nstack : 0;
	syms = calloc(max ? max : 1, sizeof(*syms));
	if (!syms)
		return NULL;
	for (size_t i = 0; i < s->nlockmax; i++)
		for (int f = 0; f < s->lockmax[i].nstack && f < VT_LOCK_STACK_DEPTH; f++) {
			uint64_t a = s->lockmax[i].stack[f];
			size_t j = 0;

			while (j < nsyms && syms[j].addr != a)
				j++;
			if (j < nsyms)
				continue;
			syms[nsyms].addr = a;
			if (w->sym)
				w->sym(w->sym_ctx, a, syms[nsyms].name, sizeof(syms[nsyms].name));
			else
				snprintf(syms[nsyms].name, sizeof(syms[nsyms].name), "0x%llx",
					 (unsigned long long)a);
			nsyms++;
		}
	*len = 8 + s->nlockmax * sizeof(struct vt_lockmax) + nsyms * sizeof(*syms);
	b = malloc(*len);
	if (b) {
		put32(b, s->nlockmax);
		put32(b + 4, nsyms);
		memcpy(b + 8, s->lockmax, s->nlockmax * sizeof(struct vt_lockmax));
		memcpy(b + 8 + s->nlockmax * sizeof(struct vt_lockmax), syms,
		       nsyms * sizeof(*syms));
	}
	free(syms);
	return b;
}

/* The snapshot's blocks (and its lock maxima's), as they go into the file, in *out. */
static int snapshot_blocks(struct vt_rec_writer *w, const struct vt_snapshot *s,
			   unsigned char **out, size_t *outlen)
{
	size_t len = 8 + 4 + 4 + 4 + 8 * VT_LOSS_MAX + 4 + 4 + s->n * sizeof(struct vt_row) +
		     s->ndevs * sizeof(struct vt_dev);
	unsigned char *b, *p, *blk, *lm = NULL;
	size_t n, lmn = 0, lmlen;

	b = p = malloc(len);
	if (!b)
		return -ENOMEM;
	memcpy(p, &s->ts, 8);
	put32(p + 8, s->untraced_ops);
	put32(p + 12, s->untimed_ops);
	put32(p + 16, VT_LOSS_MAX);
	memcpy(p + 20, s->losses, 8 * VT_LOSS_MAX);
	p += 20 + 8 * VT_LOSS_MAX;
	put32(p, s->n);
	put32(p + 4, s->ndevs);
	p += 8;
	if (s->n)
		memcpy(p, s->rows, s->n * sizeof(struct vt_row));
	p += s->n * sizeof(struct vt_row);
	if (s->ndevs)
		memcpy(p, s->devs, s->ndevs * sizeof(struct vt_dev));
	blk = vt_rec_block(VT_REC_SNAPSHOT, b, len, &n);
	free(b);
	if (blk && s->nlockmax) {
		b = lockmax_raw(w, s, &lmlen);
		lm = b ? vt_rec_block(VT_REC_LOCKMAX, b, lmlen, &lmn) : NULL;
		free(b);
		p = lm ? realloc(blk, n + lmn) : NULL;
		if (!p) {
			free(blk);
			blk = NULL;
		} else {
			blk = p;
			memcpy(blk + n, lm, lmn);
		}
		free(lm);
	}
	if (!blk)
		return -ENOMEM;
	*out = blk;
	*outlen = n + lmn;
	return 0;
}

int vt_rec_snapshot(struct vt_rec_writer *w, const struct vt_snapshot *s, vt_rec_name_fn name,
		    void *ctx)
{
	unsigned char *b;
	size_t len;
	int rc = 0;

	if (!w->started)
		return -EINVAL;
	for (size_t i = 0; name && !rc && i < s->n; i++)
		rc = vt_rec_name(w, s->rows[i].key.tgid, name, ctx);
	if (!rc)
		rc = vt_rec_flush(w);
	if (!rc)
		rc = snapshot_blocks(w, s, &b, &len);
	if (rc)
		return rc;
	rc = put_raw(w, b, len);
	/* a flight recorder keeps it: the next segment's baseline, should this one end */
	if (!rc && w->max_size) {
		free(w->snap);
		w->snap = b;
		w->snaplen = len;
		return 0;
	}
	free(b);
	return rc;
}

int vt_rec_close(struct vt_rec_writer *w, uint64_t ts, const char *reason)
{
	int rc = w->fd >= 0 ? vt_rec_flush(w) : -EIO;

	if (!rc && w->started)
		rc = vt_rec_end_block(w, w->fd, ts, reason);
	if (w->fd >= 0 && close(w->fd) && !rc)
		rc = -errno;
	free_writer(w);
	return rc;
}

uint64_t vt_rec_bytes(const struct vt_rec_writer *w)
{
	return w->bytes;
}

uint64_t vt_rec_events(const struct vt_rec_writer *w)
{
	return w->nevents;
}
