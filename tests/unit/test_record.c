// SPDX-License-Identifier: GPL-2.0
/* Unit tests of recordings (lib/record.c, lib/record_read.c): what is written reads back the
 * same, a file cut between blocks reads up to its last one, and every bad file is refused
 * with its one sentence. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "record.h"

#define NEV 5000 /* more than one events block, all before the start */

static char path[] = "/tmp/vt-test-record-XXXXXX";

static bool name(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	snprintf(p->comm, sizeof(p->comm), "qemu-%u", tgid);
	snprintf(p->vm, sizeof(p->vm), "vm%u", tgid);
	snprintf(p->uuid, sizeof(p->uuid), "00000000-0000-0000-0000-%012u", tgid);
	return true;
}

static void fill_snap(struct vt_snapshot *s, uint64_t ts, uint64_t k)
{
	static struct vt_row rows[2];
	static struct vt_dev devs[1];

	memset(s, 0, sizeof(*s));
	memset(rows, 0, sizeof(rows));
	rows[0].key = (struct vtr_key){ .obj = 0x1000, .tgid = 42, .op = VT_OP_UNMAP };
	rows[0].st.count = 10 * k;
	rows[0].st.bytes = 4096 * k;
	rows[0].st.hist[17] = 10 * k;
	rows[1].key = (struct vtr_key){
		.obj = 0x2000, .tgid = 43, .op = VT_OP_CALLBACK, .kind = VT_KIND_DEVICE
	};
	rows[1].st.count = 3 * k;
	devs[0].vdev = 0x2000;
	snprintf(devs[0].d.name, sizeof(devs[0].d.name), "vfio_dmatest.0");
	s->ts = ts;
	s->rows = rows;
	s->n = 2;
	s->devs = devs;
	s->ndevs = 1;
	s->losses[VT_LOSS_RINGBUF] = k;
}

/* A recording: NEV events (every 10th from the lifecycle ring), two snapshots, the end. Its
 * bytes in *buf; the size before the end marker in *cut. */
static size_t make(unsigned char **buf, size_t *cut)
{
	struct vt_rec_info in = { .start_mono = 1000, .start_real = 5000, .interval = 1 };
	struct vt_rec_writer *w;
	struct vt_snapshot s;
	char load_err[160];
	size_t len;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(in.kernel, sizeof(in.kernel), "6.1.0-test");
	snprintf(in.attach, sizeof(in.attach), "fentry 3");
	w = vt_rec_create(path, 0);
	assert_non_null(w);
	for (int i = 0; i < NEV; i++) {
		struct vtr_event e = { .ts = 1000 + i, .op = VT_OP_CALLBACK, .size = i };

		assert_int_equal(vt_rec_event(w, &e, i % 10 == 0), 0);
	}
	/* named at its events, before the start: once, written after the header */
	assert_int_equal(vt_rec_name(w, 77, name, NULL), 0);
	assert_int_equal(vt_rec_name(w, 77, name, NULL), 0);
	assert_int_equal(vt_rec_start(w, &in), 0);
	assert_int_equal(vt_rec_name(w, 77, name, NULL), 0);
	fill_snap(&s, 2000, 1);
	assert_int_equal(vt_rec_snapshot(w, &s, name, NULL), 0);
	fill_snap(&s, 3000, 2);
	assert_int_equal(vt_rec_snapshot(w, &s, name, NULL), 0);
	assert_int_equal(vt_rec_events(w), NEV - NEV / 10);
	*cut = vt_rec_bytes(w);
	assert_int_equal(vt_rec_close(w, 3500, "signal"), 0);
	*buf = vt_rec_load(path, &len, load_err, sizeof(load_err));
	assert_non_null(*buf);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return len;
}

/* vt_rec_each_event's callback: the events in order, each the i-th written */
static void each(void *ctx, const struct vtr_event *e, bool lifecycle)
{
	int *i = ctx;

	assert_int_equal(e->size, *i);
	assert_int_equal(lifecycle, *i % 10 == 0);
	(*i)++;
}

static void test_roundtrip(void **state)
{
	struct vt_recording r;
	unsigned char *b;
	size_t cut, len = make(&b, &cut);
	char err[256];

	assert_int_equal(vt_rec_parse(b, len, 0, &r, err, sizeof(err)), 0);
	assert_string_equal(r.info.kernel, "6.1.0-test");
	assert_string_equal(r.info.attach, "fentry 3");
	assert_int_equal(r.info.start_mono, 1000);
	assert_int_equal(r.info.start_real, 5000);
	assert_int_equal(r.nevents, NEV);
	for (int i = 0; i < NEV; i++) {
		assert_int_equal(r.events[i].size, i);
		assert_int_equal(r.ev_flags[i], i % 10 == 0 ? VT_REC_EV_LIFECYCLE : 0);
	}
	assert_int_equal(r.nsnaps, 2);
	assert_int_equal(r.snaps[1].ts, 3000);
	assert_int_equal(r.snaps[1].n, 2);
	assert_int_equal(r.snaps[1].rows[0].st.count, 20);
	assert_int_equal(r.snaps[1].rows[0].st.hist[17], 20);
	assert_int_equal(r.snaps[1].losses[VT_LOSS_RINGBUF], 2);
	assert_string_equal(r.snaps[1].devs[0].d.name, "vfio_dmatest.0");
	/* each process named once: at its events, or in the first snapshot that has it */
	assert_int_equal(r.nprocs, 3);
	assert_string_equal(r.procs[0].vm, "vm77");
	assert_string_equal(r.procs[1].vm, "vm42");
	assert_string_equal(r.procs[2].comm, "qemu-43");
	assert_string_equal(r.procs[1].uuid, "00000000-0000-0000-0000-000000000042");
	assert_true(r.ended);
	assert_string_equal(r.end_reason, "signal");
	assert_int_equal(r.end_ts, 3500);
	assert_null(vt_rec_snapshot_at(&r, 1999));
	assert_int_equal(vt_rec_snapshot_at(&r, 2999)->ts, 2000);
	assert_int_equal(vt_rec_snapshot_at(&r, 3000)->ts, 3000);
	assert_int_equal(r.nops, NEV - NEV / 10);
	vt_rec_free(&r);
	/* one block at a time, as report snoop reads them */
	int n = 0;

	assert_int_equal(vt_rec_each_event(b, len, each, &n), 0);
	assert_int_equal(n, NEV);
	/* without the events: the same but them */
	assert_int_equal(vt_rec_parse(b, len, VT_REC_READ_NO_EVENTS, &r, err, sizeof(err)), 0);
	assert_int_equal(r.nevents, 0);
	assert_null(r.events);
	assert_int_equal(r.nops, NEV - NEV / 10);
	assert_int_equal(r.nsnaps, 2);
	vt_rec_free(&r);
	free(b);
}

/* Cut between two blocks (a killed recorder): read up to the last one, not ended. */
static void test_cut_short(void **state)
{
	struct vt_recording r;
	unsigned char *b;
	size_t cut, len = make(&b, &cut);
	char err[256];

	assert_true(cut < len);
	assert_int_equal(vt_rec_parse(b, cut, 0, &r, err, sizeof(err)), 0);
	assert_false(r.ended);
	assert_int_equal(r.nsnaps, 2);
	vt_rec_free(&r);
	free(b);
}

static void expect_bad(const unsigned char *b, size_t len, const char *words)
{
	struct vt_recording r;
	char err[256];

	assert_int_equal(vt_rec_parse(b, len, 0, &r, err, sizeof(err)), -1);
	if (!strstr(err, words))
		fail_msg("'%s' does not say '%s'", err, words);
	assert_null(r.snaps);
	assert_null(r.events);
}

static void test_bad_files(void **state)
{
	unsigned char *b;
	size_t cut, len = make(&b, &cut);

	expect_bad(b, 0, "not a vfio-trace recording");
	expect_bad(b, 12, "truncated in its header");
	expect_bad(b, 16, "no header block");
	expect_bad(b, len - 1, "truncated inside block");
	expect_bad(b, cut + 7, "truncated: 7 bytes left");
	b[len - 3] ^= 0x40; /* in the end block's payload */
	expect_bad(b, len, "fails its checksum");
	b[len - 3] ^= 0x40;
	b[0] = 'X';
	expect_bad(b, len, "not a vfio-trace recording");
	b[0] = 'V';
	b[8] = VT_REC_VERSION + 1;
	expect_bad(b, len, "format version 3 is newer");
	b[8] = VT_REC_VERSION;
	b[16] = 'X'; /* the first block's magic */
	expect_bad(b, len, "no block at byte 16");
	free(b);
}

/* A block type from a newer writer is skipped; one this version knows but malformed is not. */
static void test_unknown_and_malformed(void **state)
{
	unsigned char *b, *c;
	size_t len, blen;
	void *blk = vt_rec_block(VT_REC_BLOCK_MAX + 7, "new", 3, &blen);
	struct vt_recording r;
	char err[256];

	make(&b, &len); /* without its end marker */
	c = malloc(len + blen);
	memcpy(c, b, len);
	memcpy(c + len, blk, blen);
	assert_int_equal(vt_rec_parse(c, len + blen, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.skipped, 1);
	vt_rec_free(&r);
	free(blk);
	blk = vt_rec_block(VT_REC_SNAPSHOT, "short", 5, &blen);
	c = realloc(c, len + blen);
	memcpy(c + len, blk, blen);
	expect_bad(c, len + blen, "is malformed");
	free(blk);
	free(c);
	free(b);
}

static size_t slurp(const char *file, unsigned char **buf)
{
	char err[256];
	size_t len;

	*buf = vt_rec_load(file, &len, err, sizeof(err));
	assert_non_null(*buf);
	return len;
}

static uint64_t unmaps(const struct vt_snapshot *s)
{
	struct vtr_stat st;

	vt_snapshot_sum(s, VT_OP_UNMAP, 0, 0, &st);
	return st.count;
}

/* A flight recorder (--max-size 64K): 40 snapshots with events between them make it rotate;
 * the files stay within the bound; each segment reads alone, its baseline plus its own totals
 * are the recorder's; a dump reads as one recording of everything kept, its windows adding
 * up; a stale segment of an earlier run is gone. */
static void test_flight(void **state)
{
	struct vt_rec_info in = { .start_mono = 1000, .start_real = 5000, .interval = 1 };
	char dir[] = "/tmp/vt-test-flight-XXXXXX", file[128], seg[160], dumpf[160];
	struct vt_rec_writer *w;
	struct vt_recording r, d;
	struct vt_snapshot s;
	unsigned char *b;
	uint64_t total = 0, kept = 0;
	size_t len, nsnaps = 0;
	char err[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/rec", dir);
	vt_rec_segment_path(file, 3, seg, sizeof(seg));
	f = fopen(seg, "w"); /* stale */
	fclose(f);
	assert_null(vt_rec_create(file, 1000)); /* below VT_REC_MIN_SIZE */
	w = vt_rec_create(file, 64 << 10);
	assert_non_null(w);
	assert_int_equal(access(seg, F_OK), -1);
	/* events kept while the tracer attaches, more than a segment holds in one block */
	for (int i = 0; i < 3000; i++) {
		struct vtr_event e = { .ts = 1000 + i,
				       .op = VT_OP_UNMAP,
				       .size = (uint64_t)i * 2654435761u };

		assert_int_equal(vt_rec_event(w, &e, false), 0);
	}
	assert_int_equal(vt_rec_start(w, &in), 0);
	for (int k = 1; k <= 40; k++) {
		for (int i = 0; i < 300; i++) {
			/* not too compressible: a pseudo-random size */
			struct vtr_event e = { .ts = 1000 + k * 1000 + i,
					       .op = VT_OP_UNMAP,
					       .size = (uint64_t)k * 2654435761u * (i + 1) };

			assert_int_equal(vt_rec_event(w, &e, false), 0);
		}
		fill_snap(&s, 1000 + k * 1000 + 999, k);
		assert_int_equal(vt_rec_snapshot(w, &s, name, NULL), 0);
		if (k == 37) {
			snprintf(dumpf, sizeof(dumpf), "%s/dump", dir);
			assert_int_equal(vt_rec_dump(w, dumpf, 39000), 0);
			assert_int_equal(vt_rec_dump(w, dumpf, 39000), -EEXIST);
		}
	}
	assert_int_equal(vt_rec_close(w, 50000, "signal"), 0);
	for (int i = 0; i < VT_REC_SEGMENTS; i++) {
		struct stat st;

		vt_rec_segment_path(file, i, seg, sizeof(seg));
		assert_int_equal(stat(seg, &st), 0); /* it rotated at least 3 times */
		kept += st.st_size;
		len = slurp(seg, &b);
		assert_int_equal(vt_rec_parse(b, len, 0, &r, err, sizeof(err)), 0);
		assert_true(r.has_base);
		assert_true(r.info.segment >= (unsigned)(VT_REC_SEGMENTS - 1 - i));
		assert_string_equal(r.end_reason, i ? "rotated" : "signal");
		assert_int_equal(r.info.start_mono, r.base.ts);
		assert_true(r.nsnaps > 0);
		/* the baseline and the segment's own totals: the recorder's, at its last snapshot */
		assert_int_equal(unmaps(&r.base) + unmaps(&r.snaps[r.nsnaps - 1]),
				 10 * ((r.snaps[r.nsnaps - 1].ts - 999 - 1000) / 1000));
		assert_string_equal(r.procs[0].comm, "qemu-42");
		if (!i)
			total = unmaps(&r.base) + unmaps(&r.snaps[r.nsnaps - 1]);
		nsnaps += r.nsnaps;
		vt_rec_free(&r);
		free(b);
	}
	assert_true(kept <= 64 << 10);
	assert_int_equal(total, 400);
	/* the dump at k = 37: every snapshot of the four segments then, once */
	len = slurp(dumpf, &b);
	assert_int_equal(vt_rec_parse(b, len, 0, &d, err, sizeof(err)), 0);
	assert_true(d.has_base && d.ended);
	assert_string_equal(d.end_reason, "snapshot");
	assert_int_equal(unmaps(&d.base) + unmaps(&d.snaps[d.nsnaps - 1]), 370);
	for (size_t i = 0; i < d.nsnaps; i++) /* one snapshot a second, none twice */
		assert_int_equal(d.snaps[i].ts, d.snaps[0].ts + i * 1000);
	assert_true(d.nsnaps + 3 >= nsnaps - 3);
	vt_rec_free(&d);
	free(b);
	unlink(dumpf);
	for (int i = 0; i < VT_REC_SEGMENTS; i++)
		unlink(vt_rec_segment_path(file, i, seg, sizeof(seg)));
	rmdir(dir);
}

/* A recording made before names had a UUID (name_size 164) reads, its uuids empty; another
 * name size is refused. */
static void test_names_before_uuid(void **state)
{
	char info[512];
	struct {
		uint32_t tgid;
		char comm[32], vm[128];
	} old = { 42, "qemu", "web" };
	size_t o = 0, n, l;
	unsigned char file[4096];
	void *b;
	struct vt_recording r;
	char err[160];
	const uint32_t version = 1, flags = 0;

	assert_int_equal(sizeof(old), VT_PROCNAME_V1_SIZE);
	for (int bad = 0; bad < 2; bad++) {
		o = 0;
		memcpy(file, "VFIOTREC", 8);
		memcpy(file + 8, &version, 4);
		memcpy(file + 12, &flags, 4);
		o = 16;
		l = snprintf(info, sizeof(info), "name_size=%zu\nstart_monotonic_ns=1\n",
			     bad ? (size_t)VT_PROCNAME_V1_SIZE + 1 : (size_t)VT_PROCNAME_V1_SIZE);
		b = vt_rec_block(VT_REC_INFO, info, l, &n);
		memcpy(file + o, b, n);
		o += n;
		free(b);
		b = vt_rec_block(VT_REC_NAMES, &old, sizeof(old), &n);
		memcpy(file + o, b, n);
		o += n;
		free(b);
		if (bad) {
			assert_int_not_equal(vt_rec_parse(file, o, 0, &r, err, sizeof(err)), 0);
			assert_non_null(strstr(err, "name_size"));
			continue;
		}
		assert_int_equal(vt_rec_parse(file, o, 0, &r, err, sizeof(err)), 0);
		assert_int_equal(r.nprocs, 1);
		assert_int_equal(r.procs[0].tgid, 42);
		assert_string_equal(r.procs[0].vm, "web");
		assert_string_equal(r.procs[0].uuid, "");
		vt_rec_free(&r);
	}
}

/* A snapshot's row of a process that has gone, read before the process's first event: left
 * unnamed (not "?"), so that the event, which carries the comm, names it. */
static bool gone(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	return false;
}

static bool named_by_event(void *ctx, uint32_t tgid, struct vt_procname *p)
{
	snprintf(p->comm, sizeof(p->comm), "%s", (const char *)ctx);
	return true;
}

static void test_name_deferred(void **state)
{
	struct vt_rec_info in = { .start_mono = 1000, .start_real = 5000, .interval = 1 };
	char file[] = "/tmp/vt-rec-deferred-XXXXXX";
	struct vt_recording r;
	struct vt_snapshot s;
	struct vt_rec_writer *w;
	unsigned char *b;
	char err[160];
	size_t len;
	char load_err[160];
	int fd = mkstemp(file);

	assert_true(fd >= 0);
	close(fd);
	w = vt_rec_create(file, 0);
	assert_non_null(w);
	assert_int_equal(vt_rec_start(w, &in), 0);
	fill_snap(&s, 2000, 1); /* rows of processes 42 and 43 */
	assert_int_equal(vt_rec_snapshot(w, &s, gone, NULL), 0);
	assert_int_equal(vt_rec_name(w, 42, named_by_event, "workload"), 0);
	assert_int_equal(vt_rec_name(w, 42, named_by_event, "again"), 0); /* named once */
	assert_int_equal(vt_rec_close(w, 3000, "signal"), 0);
	b = vt_rec_load(file, &len, load_err, sizeof(load_err));
	assert_non_null(b);
	unlink(file);
	assert_int_equal(vt_rec_parse(b, len, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.nprocs, 1);
	assert_int_equal(r.procs[0].tgid, 42);
	assert_string_equal(r.procs[0].comm, "workload");
	vt_rec_free(&r);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_bad_files),     cmocka_unit_test(test_unknown_and_malformed),
		cmocka_unit_test(test_flight),	      cmocka_unit_test(test_names_before_uuid),
		cmocka_unit_test(test_name_deferred),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
