/* SPDX-License-Identifier: GPL-2.0
 *
 * The recording writer's state, shared by lib/record.c (blocks, segments) and
 * lib/record_flight.c (the flight recorder's copy on SIGUSR1). Private to those two.
 */
#ifndef VT_RECORD_WRITER_H
#define VT_RECORD_WRITER_H

#include "record.h"

#define EV_BATCH 4096 /* events per block at most */
#define BLK_HDR	 20

struct vt_rec_writer {
	int fd;
	char *path;
	uint64_t bytes, nevents;
	unsigned char *ev; /* pending events block: u32 count, then records */
	size_t nev, evcap, batch;
	bool started;		   /* header written: blocks may follow */
	struct vt_procname *names; /* every process named in the file; the last npending of */
	size_t nnamed, npending;   /* them wait to be written */
	uint32_t last; /* the tgid named last (an event stream comes from few processes) */
	vt_rec_sym_fn sym;
	void *sym_ctx;
	/* a flight recorder (max_size > 0): the segment being written, seg_bytes of it */
	uint64_t max_size, seg_limit, seg_bytes;
	struct vt_rec_info info;
	unsigned char *snap; /* the last snapshot's blocks as written: the next segment's */
	size_t snaplen;	     /* baseline */
	bool has_base[VT_REC_SEGMENTS]; /* segment i (0: the current) starts with one */
	bool rotating;
	char *alerts; /* alerts before the start, one a line */
	size_t alerts_len;
};

int vt_rec_write_fd(int fd, const void *buf, size_t len);
/* An END block (ts, reason) written to fd (w's own: counted in its bytes). 0, or -errno. */
int vt_rec_end_block(struct vt_rec_writer *w, int fd, uint64_t ts, const char *reason);

#endif
