// SPDX-License-Identifier: GPL-2.0
/*
 * Writing a recording (docs/RECORDING.md): the file header, then blocks of
 *   "VTBK" | u32 type | u32 raw length | u32 compressed length | u32 CRC-32 | zstd payload
 * (little-endian; the CRC covers the 16 bytes before it and the payload). Each block is one
 * write(), so a recorder killed between two leaves whole blocks behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "record.h"

#define EV_BATCH  4096 /* events per block at most */
#define ZSTD_LVL  3
#define BLK_HDR	  20
#define MAX_NAMED 4096 /* processes the writer remembers having named */

struct vt_rec_writer {
	int fd;
	uint64_t bytes, nevents;
	unsigned char *ev; /* pending events block: u32 count, then records */
	size_t nev, evcap;
	bool started;		   /* header written: blocks may follow */
	uint32_t named[MAX_NAMED]; /* tgids named in the file, or pending */
	size_t nnamed, npending;   /* the last npending of them wait in pending[] */
	struct vt_procname pending[64];
	uint32_t last; /* the tgid named last (an event stream comes from few processes) */
	char *alerts;  /* alerts before the start, one a line */
	size_t alerts_len;
};

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

static int write_all(struct vt_rec_writer *w, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
		w->bytes += n;
	}
	return 0;
}

static int put_block(struct vt_rec_writer *w, uint32_t type, const void *raw, size_t len)
{
	size_t n;
	void *b = vt_rec_block(type, raw, len, &n);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = write_all(w, b, n);
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
	/* what the binary records are laid out as: a reader with other sizes refuses them */
	fprintf(f, "event_size=%zu\nrow_size=%zu\ndevice_size=%zu\nname_size=%zu\n",
		sizeof(struct vtr_event), sizeof(struct vt_row), sizeof(struct vt_dev),
		sizeof(struct vt_procname));
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

struct vt_rec_writer *vt_rec_create(const char *path)
{
	struct vt_rec_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->evcap = EV_BATCH;
	w->ev = malloc(4 + w->evcap * ev_size());
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->ev && w->fd >= 0)
		return w;
	err = w->ev ? errno : ENOMEM;
	if (w->fd >= 0)
		close(w->fd);
	free(w->ev);
	free(w);
	errno = err;
	return NULL;
}

int vt_rec_start(struct vt_rec_writer *w, const struct vt_rec_info *info)
{
	unsigned char hdr[16] = VT_REC_MAGIC;
	int rc;

	put32(hdr + 8, VT_REC_VERSION);
	put32(hdr + 12, 0); /* flags */
	rc = write_all(w, hdr, sizeof(hdr));
	if (!rc)
		rc = info_block(w, info);
	w->started = !rc;
	return rc ? rc : vt_rec_flush(w);
}

/* The pending names, as one NAMES block (once there is a header). */
static int put_names(struct vt_rec_writer *w)
{
	int rc;

	if (!w->npending || !w->started)
		return 0;
	rc = put_block(w, VT_REC_NAMES, w->pending, w->npending * sizeof(*w->pending));
	w->npending = 0;
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
	put32(w->ev, w->nev);
	rc = put_block(w, VT_REC_EVENTS, w->ev, 4 + w->nev * ev_size());
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
	if (++w->nev >= EV_BATCH)
		return vt_rec_flush(w);
	return 0;
}

static bool named(struct vt_rec_writer *w, uint32_t tgid)
{
	for (size_t i = 0; i < w->nnamed; i++)
		if (w->named[i] == tgid)
			return true;
	return false;
}

int vt_rec_name(struct vt_rec_writer *w, uint32_t tgid, vt_rec_name_fn name, void *ctx)
{
	struct vt_procname *p;

	if (!tgid || tgid == w->last || w->nnamed == MAX_NAMED || named(w, tgid))
		return 0;
	w->last = tgid;
	if (w->npending == sizeof(w->pending) / sizeof(w->pending[0])) {
		int rc = put_names(w);

		if (rc || w->npending) /* before the start: the rest is named at a snapshot */
			return rc;
	}
	w->named[w->nnamed++] = tgid;
	p = &w->pending[w->npending++];
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	name(ctx, tgid, p);
	return 0;
}

int vt_rec_snapshot(struct vt_rec_writer *w, const struct vt_snapshot *s, vt_rec_name_fn name,
		    void *ctx)
{
	size_t len = 8 + 4 + 4 + 4 + 8 * VT_LOSS_MAX + 4 + 4 + s->n * sizeof(struct vt_row) +
		     s->ndevs * sizeof(struct vt_dev);
	unsigned char *b, *p;
	int rc = 0;

	if (!w->started)
		return -EINVAL;
	for (size_t i = 0; name && !rc && i < s->n; i++)
		rc = vt_rec_name(w, s->rows[i].key.tgid, name, ctx);
	if (!rc)
		rc = vt_rec_flush(w);
	if (rc)
		return rc;
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
	rc = put_block(w, VT_REC_SNAPSHOT, b, len);
	free(b);
	return rc;
}

int vt_rec_close(struct vt_rec_writer *w, uint64_t ts, const char *reason)
{
	char b[8 + 64];
	size_t l = strnlen(reason, 63);
	int rc = vt_rec_flush(w);

	memcpy(b, &ts, 8);
	memcpy(b + 8, reason, l);
	if (!rc && w->started)
		rc = put_block(w, VT_REC_END, b, 8 + l);
	if (close(w->fd) && !rc)
		rc = -errno;
	free(w->alerts);
	free(w->ev);
	free(w);
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
