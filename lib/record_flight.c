// SPDX-License-Identifier: GPL-2.0
/*
 * The flight recorder's copy (record --max-size, SIGUSR1; docs/RECORDING.md): its segment
 * files, oldest first, joined into one complete recording while recording goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "record.h"
#include "record_writer.h"

/* Copy the blocks of segment file path to fd, leaving out its end marker and, for a later
 * segment (not first), its INFO block and, with base, its baseline (base: the first SNAPSHOT and the
 * LOCKMAX after it), which the segment before ends with. */
static int copy_segment(int fd, const char *path, bool first, bool base)
{
	unsigned char hdr[BLK_HDR], *buf = NULL;
	FILE *f = fopen(path, "rbe");
	bool base_done = !base || first, after_base = false;
	int rc = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (fread(hdr, 1, 16, f) != 16 || memcmp(hdr, VT_REC_MAGIC, 8))
		rc = -EIO;
	else if (first)
		rc = vt_rec_write_fd(fd, hdr, 16);
	while (!rc && fread(hdr, 1, BLK_HDR, f) == BLK_HDR) {
		uint32_t type = hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24;
		uint32_t clen = hdr[12] | hdr[13] << 8 | hdr[14] << 16 | (uint32_t)hdr[15] << 24;
		bool skip = type == VT_REC_END || (!first && type == VT_REC_INFO);
		unsigned char *nb = realloc(buf, BLK_HDR + (size_t)clen);

		if (!base_done && type == VT_REC_SNAPSHOT) {
			skip = base_done = after_base = true;
		} else {
			skip |= after_base && type == VT_REC_LOCKMAX;
			after_base = false;
		}
		if (!nb) {
			rc = -ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf, hdr, BLK_HDR);
		if (fread(buf + BLK_HDR, 1, clen, f) != clen)
			break; /* a block being written when the recorder was killed */
		if (!skip)
			rc = vt_rec_write_fd(fd, buf, BLK_HDR + clen);
	}
	free(buf);
	fclose(f);
	return rc;
}

int vt_rec_dump(struct vt_rec_writer *w, const char *path, uint64_t ts)
{
	char seg[4096];
	bool first = true;
	int rc = vt_rec_flush(w), fd;

	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (int i = w->max_size ? VT_REC_SEGMENTS - 1 : 0; !rc && i >= 0; i--) {
		vt_rec_segment_path(w->path, i, seg, sizeof(seg));
		if (access(seg, F_OK))
			continue;
		rc = copy_segment(fd, seg, first, w->has_base[i]);
		first = false;
	}
	if (!rc)
		rc = vt_rec_end_block(w, fd, ts, "snapshot");
	if (close(fd) && !rc)
		rc = -errno;
	if (rc)
		unlink(path);
	return rc;
}

uint64_t vt_rec_kept_bytes(const struct vt_rec_writer *w)
{
	char seg[4096];
	struct stat st;
	uint64_t n = 0;

	for (int i = 0; i < VT_REC_SEGMENTS; i++)
		if (!stat(vt_rec_segment_path(w->path, i, seg, sizeof(seg)), &st))
			n += st.st_size;
	return n;
}
