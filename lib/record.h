/* SPDX-License-Identifier: GPL-2.0
 *
 * Recordings (vfio-trace record / report): one file, a fixed header then self-contained
 * blocks, each compressed with zstd and checked by a CRC-32, so a recorder killed between two
 * blocks leaves a file readable up to its last one. docs/RECORDING.md describes the format.
 * Pure: no BPF (lib/record.c writes, lib/record_read.c reads; the unit tests and the fuzzer
 * link both).
 */
#ifndef VT_RECORD_H
#define VT_RECORD_H

#include "trace.h"
#include "filter.h"

#define VT_REC_MAGIC	 "VFIOTREC" /* 8 bytes, the file's first */
/* 2: an IOMMU_UNMAP event's lat is the whole call and nested_ns its inner flushes' time (1:
 * lat net of them, nested_ns not written: read as 0) */
#define VT_REC_VERSION	 2
#define VT_REC_BLK_MAGIC "VTBK"
#define VT_REC_MAX_RAW	 (64u << 20) /* a block's uncompressed size, at most */

enum vt_rec_block {
	VT_REC_INFO = 1,  /* key=value lines: who recorded what, where, when (always first) */
	VT_REC_EVENTS,	  /* snoop's events: u32 count, then (u32 flags, struct vtr_event) */
	VT_REC_SNAPSHOT,  /* stat's cumulative totals at one moment */
	VT_REC_NAMES,	  /* processes named: struct vt_procname[] (each once, at its first
			   * event or snapshot) */
	VT_REC_END,	  /* u64 ts, then the reason in text: the recorder finished */
	VT_REC_LOCKMAX,	  /* the longest lock holds of the snapshot before it, with their
			   * stacks' symbols (record --locks) */
	VT_REC_ALERTS,	  /* alert records (lib/storm.h), one JSON object a line */
	VT_REC_BLOCK_MAX, /* a type >= this is from a newer writer: skipped */
};

#define VT_REC_EV_LIFECYCLE 1u /* an event's flags: from the lifecycle ring */

/* What the INFO block says (text values, NUL-terminated). */
struct vt_rec_info {
	char vt_version[64];
	char kernel[128];
	char host[128];
	char attach[128];     /* the attach methods used, e.g. "fentry 20, raw_tp 3" */
	char not_traced[512]; /* vt_tracer_missing() at the start */
	char options[256];    /* the recorder's options, as text */
	uint64_t start_mono;  /* CLOCK_MONOTONIC ns: times in the file are relative to it */
	uint64_t start_real;  /* CLOCK_REALTIME ns at the same moment */
	double interval;      /* seconds between snapshots */
	/* A flight recorder's segment (--max-size): how many came before it, and whether its
	 * first snapshot is the baseline (the totals when the segment began: the reader
	 * subtracts it from the others, so the segment reads as a recording of its own). */
	uint32_t segment;
	bool baseline;
	char storm[128]; /* the storm detector's settings while recording ("" before
			       * there was one, "off" with --no-storm) */
};

/* --max-size keeps the newest data in this many segment files: FILE (being written),
 * FILE.1 (the one before), ... FILE.3 (the oldest), each at most max_size / this. */
#define VT_REC_SEGMENTS 4
/* The smallest --max-size: each segment holds a few blocks of events. */
#define VT_REC_MIN_SIZE (64u << 10)

/* ---- writing ------------------------------------------------------------------------------ */
struct vt_rec_writer;
/* Create path (truncated): NULL and errno. Nothing is written before vt_rec_start().
 * max_size > 0 (at least VT_REC_MIN_SIZE): a flight recorder, path and its older segments
 * path.1 ... together at most max_size bytes (stale segments of an earlier run are removed);
 * a block that would not fit starts a new segment. */
struct vt_rec_writer *vt_rec_create(const char *path, uint64_t max_size);
/* The name of segment i (0: path itself) in buf. */
char *vt_rec_segment_path(const char *path, int i, char *buf, size_t len);
/* Kernel stack addresses in the LOCKMAX blocks are written with their symbols: sym(ctx,
 * addr, buf, len) names one (e.g. vt_tracer_ksym). */
typedef const char *(*vt_rec_sym_fn)(void *ctx, uint64_t addr, char *buf, size_t len);
void vt_rec_set_symbolizer(struct vt_rec_writer *w, vt_rec_sym_fn sym, void *ctx);
/* Everything the recorder keeps now (the segments, oldest first, their pending events
 * flushed) as one complete recording in the new file path (which must not exist), ended at
 * ts with reason "snapshot"; recording goes on. 0, or -errno. */
int vt_rec_dump(struct vt_rec_writer *w, const char *path, uint64_t ts);
/* The file header and the INFO block, then the events buffered so far. 0, or -errno. */
int vt_rec_start(struct vt_rec_writer *w, const struct vt_rec_info *info);
/* Buffered (in memory until the start); a block is written when the buffer fills or at
 * vt_rec_flush(). */
int vt_rec_event(struct vt_rec_writer *w, const struct vtr_event *e, bool lifecycle);
/* Name process tgid now (name(ctx, tgid, p) fills comm and vm, e.g. from /proc while it
 * lives) unless it is named already; written with the next flush. name returns false when it
 * cannot tell (the process is gone and nothing else names it): the process stays unnamed, for
 * a later call (its event, which carries its comm) to name. 0, or -errno. */
typedef bool (*vt_rec_name_fn)(void *ctx, uint32_t tgid, struct vt_procname *p);
int vt_rec_name(struct vt_rec_writer *w, uint32_t tgid, vt_rec_name_fn name, void *ctx);
/* The names of the snapshot's processes not named yet, the pending names and events, then the
 * snapshot, as blocks; each block one write(). 0, or -errno. */
int vt_rec_snapshot(struct vt_rec_writer *w, const struct vt_snapshot *s, vt_rec_name_fn name,
		    void *ctx);
int vt_rec_flush(struct vt_rec_writer *w);
/* The end marker (ts, reason), then close. 0, or -errno; w is freed either way. */
int vt_rec_close(struct vt_rec_writer *w, uint64_t ts, const char *reason);
/* One alert (a JSON object as text, no newline) as its own ALERTS block at once (kept until
 * the start before it). 0, or -errno. */
int vt_rec_alert(struct vt_rec_writer *w, const char *json);
/* Bytes and events written so far (over every segment); bytes in the files now. */
uint64_t vt_rec_bytes(const struct vt_rec_writer *w);
uint64_t vt_rec_events(const struct vt_rec_writer *w);
uint64_t vt_rec_kept_bytes(const struct vt_rec_writer *w);
/* One block as it is in the file (header, compressed payload), malloc'd: the writer's own,
 * exposed for the tests that build files by hand. NULL on failure. */
void *vt_rec_block(uint32_t type, const void *raw, size_t len, size_t *outlen);

/* ---- reading ------------------------------------------------------------------------------ */
struct vt_recording {
	uint32_t version; /* the file's format version */
	struct vt_rec_info info;
	struct vt_snapshot *snaps; /* in file order; names point to procs */
	size_t nsnaps;
	struct vtr_event *events; /* none with VT_REC_READ_NO_EVENTS */
	uint32_t *ev_flags;
	size_t nevents;
	uint64_t nops; /* the events in the file that are operations (not lifecycle records) */
	struct vt_procname *procs;
	size_t nprocs;
	size_t name_size;    /* the file's: sizeof(struct vt_procname), or VT_PROCNAME_V1_SIZE */
	bool ended;	     /* the end marker was read */
	uint64_t end_ts;     /* its ts */
	char end_reason[64]; /* its reason */
	size_t nblocks;
	uint64_t skipped; /* blocks of a type this version does not know */
	/* A segment's baseline (info.baseline): the totals since the recorder started when the
	 * segment began; snaps hold the totals since then, info.start_* are its time. */
	struct vt_snapshot base;
	bool has_base;
	uint64_t recorder_start_mono; /* the recorder's own start (info.start_mono before) */
	struct vt_rec_sym *syms;      /* the symbols of the lock stacks */
	size_t nsyms;
	/* report -p/--vm/-d (vt_rec_filter): the events vt_rec_each_event_of() hands over */
	struct vt_filter *filter;
	char **alerts; /* the ALERTS blocks' lines (JSON text, unchecked), in file order */
	size_t nalerts;
};

/* A kernel text address and its symbol, as the recorder resolved it. */
struct vt_rec_sym {
	uint64_t addr;
	char name[120];
};

/* flags: the events are checked and counted, not kept (a storm's events take ~150 bytes
 * each in memory: vt_rec_each_event() hands them over a block at a time) */
#define VT_REC_READ_NO_EVENTS 1u
/* Read a whole recording from memory. 0; or -1 with one sentence in err (no file name). A
 * file that ends between two blocks without the end marker reads fine (ended false). */
int vt_rec_parse(const void *buf, size_t len, unsigned flags, struct vt_recording *r, char *err,
		 size_t errlen);
/* A whole file into memory (malloc'd, its length in *len), or NULL with why in err. */
void *vt_rec_load(const char *path, size_t *len, char *err, size_t errlen);
/* Every event of a recording vt_rec_parse() accepted, in file order, one block in memory at a
 * time (a storm's events need not fit): fn(ctx, event, lifecycle). 0, or -1. */
int vt_rec_each_event(const void *buf, size_t len,
		      void (*fn)(void *ctx, const struct vtr_event *e, bool lifecycle), void *ctx);
/* The same, of the processes and device r->filter keeps (none set: every event). A
 * lifecycle record is handed over when its process is kept. */
int vt_rec_each_event_of(const struct vt_recording *r, const void *buf, size_t len,
			 void (*fn)(void *ctx, const struct vtr_event *e, bool lifecycle),
			 void *ctx);
/* Keep only what f asks for (report -p/--vm/-d), matched against the recording's own names:
 * every snapshot and the baseline filtered in place, the events by vt_rec_each_event_of(). */
void vt_rec_filter(struct vt_recording *r, struct vt_filter *f);
void vt_rec_free(struct vt_recording *r);
/* The symbol the recording gives addr (ctx: the struct vt_recording), or its hex value. */
const char *vt_rec_ksym(void *ctx, uint64_t addr, char *buf, size_t len);
/* report's alerts (lib/alert_report.c): those recorded and, where the recorder did not look
 * for storms or anew is set (report's --storm-* options), the storms cfg finds in the recorded
 * snapshots; those with from <= ts < to in time order, as JSON records (with t_s, seconds
 * after the start) or "ALERT at T s: ..." lines on stdout. buf, len: the file (its events
 * name a storm's threads). 0, or -1 (out of memory). */
int vt_rec_alerts_print(const struct vt_recording *r, const void *buf, size_t len,
			const struct vt_storm_cfg *cfg, bool anew, uint64_t from, uint64_t to,
			bool json);
/* The last snapshot taken at most at ts (CLOCK_MONOTONIC), or NULL when none. */
const struct vt_snapshot *vt_rec_snapshot_at(const struct vt_recording *r, uint64_t ts);

#endif
