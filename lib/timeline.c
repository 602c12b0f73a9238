// SPDX-License-Identifier: GPL-2.0
/*
 * A recording as a timeline in the Trace Event Format (the JSON that Perfetto UI and
 * chrome://tracing open): see lib/timeline.h for what becomes what. Every event is its own
 * json-c object (json-c escapes the names, vt_json_utf8() makes them valid UTF-8), written as
 * it is made: a storm's million events never exist as one JSON tree in memory, only as the
 * compact items below.
 *
 * Times are microseconds since the recording's start, written with their nanoseconds as
 * three exact decimals (json_object_new_double_s), so a slice that ends when its parent ends
 * ends at the same number in the file, not at a neighbouring double.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "timeline.h"
#include "report.h"

enum item_kind { ITEM_SLICE, ITEM_INSTANT, ITEM_ALERT };

#define NO_NAME UINT32_MAX

/* One slice, instant or alert: about a third of a struct vtr_event. */
struct item {
	uint64_t start, end; /* CLOCK_MONOTONIC ns; an instant: both its ts */
	uint64_t container, iova, size, aux;
	int64_t ret;
	uint32_t pid, tgid;
	uint32_t track; /* the trace's tid: pid, or a lock's track of it (lock_track) */
	uint32_t seq;	/* file order: the last tie-break */
	uint32_t name;	/* device or lock name (an alert: its name), interned; NO_NAME */
	uint32_t comm;	/* the thread's comm, interned */
	uint16_t op, retries;
	uint8_t kind;
	json_object *args; /* an alert's */
};

/* The strings of the items, each kept once: a storm names the same few devices, locks and
 * threads a million times. Open addressing on an FNV-1a hash, at most half full. */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slot; /* index + 1, 0 free */
	size_t mask;
};

struct vt_timeline {
	const struct vt_recording *r;
	uint64_t from, to;
	struct item *it;
	size_t n, cap;
	struct strtab names;
	bool nomem;
};

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static int strtab_grow(struct strtab *t)
{
	size_t slots = t->mask ? (t->mask + 1) * 2 : 64;
	uint32_t *slot = calloc(slots, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = fnv1a(t->s[i], strlen(t->s[i])) & (slots - 1);

		while (slot[h])
			h = (h + 1) & (slots - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = slots - 1;
	return 0;
}

/* The index of s[0..len) (cut at a NUL), added when new; NO_NAME when out of memory. */
static uint32_t intern(struct strtab *t, const char *s, size_t len)
{
	size_t h;
	char *copy;

	len = strnlen(s, len);
	if ((t->n + 1) * 2 > t->mask + 1 && strtab_grow(t))
		return NO_NAME;
	for (h = fnv1a(s, len) & t->mask; t->slot[h]; h = (h + 1) & t->mask) {
		const char *o = t->s[t->slot[h] - 1];

		if (!strncmp(o, s, len) && !o[len])
			return t->slot[h] - 1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **a = realloc(t->s, cap * sizeof(*a));

		if (!a)
			return NO_NAME;
		t->s = a;
		t->cap = cap;
	}
	copy = strndup(s, len);
	if (!copy)
		return NO_NAME;
	t->s[t->n] = copy;
	t->slot[h] = ++t->n;
	return t->n - 1;
}

struct vt_timeline *vt_timeline_new(const struct vt_recording *r, uint64_t from, uint64_t to)
{
	struct vt_timeline *t = calloc(1, sizeof(*t));

	if (t) {
		t->r = r;
		t->from = from;
		t->to = to;
	}
	return t;
}

static struct item *add(struct vt_timeline *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		struct item *a = realloc(t->it, cap * sizeof(*a));

		if (!a) {
			t->nomem = true;
			return NULL;
		}
		t->it = a;
		t->cap = cap;
	}
	memset(&t->it[t->n], 0, sizeof(t->it[0]));
	t->it[t->n].seq = t->n;
	return &t->it[t->n++];
}

static bool in_window(const struct vt_timeline *t, uint64_t ts)
{
	return ts >= t->from && ts < t->to;
}

int vt_timeline_alert(struct vt_timeline *t, uint64_t ts, uint32_t tgid, uint32_t tid,
		      const char *name, json_object *args)
{
	struct item *it;

	if (!in_window(t, ts)) {
		json_object_put(args);
		return 0;
	}
	it = add(t);
	if (!it) {
		json_object_put(args);
		return -ENOMEM;
	}
	it->kind = ITEM_ALERT;
	it->start = it->end = ts;
	it->tgid = tgid;
	it->pid = it->track = tid;
	it->name = intern(&t->names, name, strlen(name));
	it->comm = NO_NAME;
	it->args = args;
	return 0;
}

static json_object *hex(uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%#" PRIx64, v);
	return json_object_new_string(s);
}

static json_object *text(const char *s, size_t cap)
{
	return json_object_new_string_len(s, strnlen(s, cap));
}

/* The lifecycle records that are alerts, as the live commands raise them (lib/rings.c). */
static void lifecycle_alert(struct vt_timeline *t, const struct vtr_event *e)
{
	json_object *a;
	char name[64];

	if (e->op == VT_OP_RETRY) {
		a = json_object_new_object();
		json_object_object_add(a, "container", hex(e->container));
		json_object_object_add(a, "iova", hex(e->iova));
		json_object_object_add(a, "size", json_object_new_uint64(e->size));
		json_object_object_add(a, "retries", json_object_new_int(e->retries));
		json_object_object_add(a, "comm", text(e->comm, sizeof(e->comm)));
		vt_timeline_alert(t, e->ts, e->tgid, e->pid, "RETRY STORM", a);
	} else if (e->op == VT_OP_DEADLOCK) {
		a = json_object_new_object();
		json_object_object_add(a, "container", hex(e->container));
		json_object_object_add(a, "comm", text(e->comm, sizeof(e->comm)));
		json_object_object_add(a, "other_comm", text(e->dev, sizeof(e->dev)));
		vt_timeline_alert(t, e->ts, e->tgid, e->pid, "DEADLOCK", a);
	} else if (e->op > VT_EV_PROC) {
		/* a newer writer's record (past the module and process records): shown, named
		 * by what it says */
		a = json_object_new_object();
		json_object_object_add(a, "record_type", json_object_new_int(e->op));
		json_object_object_add(a, "container", hex(e->container));
		snprintf(name, sizeof(name), "alert %.*s", (int)strnlen(e->dev, sizeof(e->dev)),
			 e->dev);
		vt_timeline_alert(t, e->ts, e->tgid, e->pid, e->dev[0] ? name : "alert", a);
	}
}

/* Lock holds, waits and drops do not nest in the calls, nor in each other: on 6.1 the notify
 * takes device_list_lock before it lets go of iommu->lock (hand over hand), so the two holds
 * overlap. Each thread's operations on a lock get a track of their own, a tid no thread has
 * (pid_max is at most 2^22): on it the holds of that lock, the waits for it and its drops
 * follow each other, or nest (a callback's unpin takes iommu->lock inside an unmap's drop). */
#define LOCK_TRACK_STEP (1u << 22)

static uint32_t lock_track(uint32_t tid, const char *lock)
{
	unsigned k = !strcmp(lock, "iommu->lock") ? 1 : !strcmp(lock, "device_list_lock") ? 2 : 3;

	return tid % LOCK_TRACK_STEP + k * LOCK_TRACK_STEP;
}

static bool on_lock_track(int op)
{
	return op == VT_OP_LOCK_HOLD || op == VT_OP_LOCK_WAIT || op == VT_OP_LOCK_DROP;
}

static bool timed(const struct vtr_event *e)
{
	return e->op < VT_OP_MAX && !(vt_op_flags(e->op) & VT_OPF_UNTIMED) &&
	       e->op != VT_OP_DEADLOCK && e->lat != VT_LAT_NONE && e->lat <= e->ts;
}

void vt_timeline_event(void *timeline, const struct vtr_event *e, bool lifecycle)
{
	struct vt_timeline *t = timeline;
	struct item *it;
	bool summed, net_only;

	if (lifecycle) {
		lifecycle_alert(t, e);
		return;
	}
	if (e->op >= VT_OP_MAX || !in_window(t, e->ts) || !(it = add(t)))
		return;
	/* The walk's time is not an interval but a sum of lookups made between the IOMMU unmaps
	 * and the unpins: an instant at its end carrying the sum (walk_ns), not a slice that would
	 * overlap the others. An IOMMU unmap's event is the whole call, a slice with the flushes
	 * made inside it nested in it (nested_flush_ns; unmap_ns, what its row counts, is the rest)
	 * -- but in a recording of format version 1, whose unmaps carry only that net time: an
	 * instant with unmap_ns there, as that version's timeline drew it. */
	net_only = e->op == VT_OP_IOMMU_UNMAP && t->r && t->r->version < 2;
	summed = e->op == VT_OP_IOVA_WALK || net_only;
	it->kind = timed(e) && !summed ? ITEM_SLICE : ITEM_INSTANT;
	it->start = it->kind == ITEM_SLICE ? e->ts - e->lat : e->ts;
	it->end = e->ts;
	it->container = e->container;
	it->iova = e->iova;
	it->size = e->size;
	it->aux = summed && timed(e) ? e->lat : e->op == VT_OP_IOMMU_UNMAP ? e->nested_ns : e->aux;
	it->ret = e->ret;
	it->pid = it->track = e->pid;
	it->tgid = e->tgid;
	it->op = e->op;
	it->retries = e->retries;
	it->name = e->dev[0] ? intern(&t->names, e->dev, sizeof(e->dev)) : NO_NAME;
	it->comm = intern(&t->names, e->comm, sizeof(e->comm));
	if (on_lock_track(e->op) && it->name != NO_NAME)
		it->track = lock_track(e->pid, t->names.s[it->name]);
}

size_t vt_timeline_count(const struct vt_timeline *t)
{
	return t->n;
}

/* Where an operation sits in the calls of one thread, outermost first: the tie-break of two
 * slices with the same start and end (a notify to one device and that device's callback both
 * begin at the callback's entry and end at its exit), so that the parent comes first in the
 * file, as viewers expect. */
static int depth(const struct item *it)
{
	static const int rank[VT_OP_MAX] = {
		[VT_OP_UNMAP] = 0,	[VT_OP_MAP] = 0,	 [VT_OP_TEARDOWN] = 0,
		[VT_OP_LOCK_WAIT] = 1,	[VT_OP_LOCK_DROP] = 1,	 [VT_OP_LOCK_HOLD] = 2,
		[VT_OP_REMOVE_DMA] = 3, [VT_OP_NOTIFY] = 3,	 [VT_OP_UNMAP_UNPIN] = 4,
		[VT_OP_CALLBACK] = 4,	[VT_OP_PIN] = 5,	 [VT_OP_UNPIN] = 5,
		[VT_OP_RETRY] = 6,	[VT_OP_REGISTER] = 6,	 [VT_OP_UNREGISTER] = 6,
		[VT_OP_DEADLOCK] = 6,	[VT_OP_IOMMU_UNMAP] = 5, [VT_OP_UNPIN_REMOTE] = 5,
		[VT_OP_IOVA_WALK] = 5,	/* a sum over the walk: an instant at its end */
		[VT_OP_IOTLB_SYNC] = 6, /* also inside an iommu_unmap, a slice around it */
	};

	return it->kind == ITEM_ALERT ? -1 : rank[it->op];
}

#define CMP(a, b)                                  \
	do {                                       \
		if ((a) != (b))                    \
			return (a) < (b) ? -1 : 1; \
	} while (0)

/* By process, thread, start; then the longer (the parent) first. */
static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	CMP(a->tgid, b->tgid);
	CMP(a->track, b->track);
	CMP(a->start, b->start);
	CMP(b->end, a->end);
	CMP(depth(a), depth(b));
	CMP(a->seq, b->seq);
	return 0;
}

/* ns since the recording's start as microseconds, exactly: "-12.345", "1234.567". */
static json_object *usec(int64_t ns)
{
	uint64_t a = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	char s[40];

	snprintf(s, sizeof(s), "%s%" PRIu64 ".%03u", ns < 0 ? "-" : "", a / 1000,
		 (unsigned)(a % 1000));
	return json_object_new_double_s(ns / 1e3, s);
}

/* One event of the trace: ",\n" before all but the first. */
static int emit(FILE *f, json_object *o, bool *first)
{
	const char *raw = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	char *u = raw ? vt_json_utf8(raw) : NULL;
	int rc = u ? 0 : -ENOMEM;

	if (u && fprintf(f, "%s%s", *first ? "" : ",\n", u) < 0)
		rc = -(errno ? errno : EIO);
	*first = false;
	free(u);
	json_object_put(o);
	return rc;
}

static json_object *meta(const char *what, uint32_t tgid, uint32_t tid, bool thread,
			 const char *name)
{
	json_object *o = json_object_new_object(), *a = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(what));
	json_object_object_add(o, "ph", json_object_new_string("M"));
	json_object_object_add(o, "pid", json_object_new_int64(tgid));
	if (thread)
		json_object_object_add(o, "tid", json_object_new_int64(tid));
	json_object_object_add(a, "name", json_object_new_string(name));
	json_object_object_add(o, "args", a);
	return o;
}

/* A track's name (the thread's comm; a lock track's: the comm and the lock) and its place:
 * the lock tracks of a thread right after it. */
static int thread_meta(FILE *f, const struct vt_timeline *t, const struct item *it, bool *first)
{
	unsigned k = it->track / LOCK_TRACK_STEP;
	json_object *o = json_object_new_object(), *a = json_object_new_object();
	char name[128];
	int rc;

	if (k)
		snprintf(name, sizeof(name), "%s: %s", t->names.s[it->comm],
			 it->name != NO_NAME ? t->names.s[it->name] : "lock");
	else
		snprintf(name, sizeof(name), "%s", t->names.s[it->comm]);
	rc = emit(f, meta("thread_name", it->tgid, it->track, true, name), first);
	json_object_object_add(o, "name", json_object_new_string("thread_sort_index"));
	json_object_object_add(o, "ph", json_object_new_string("M"));
	json_object_object_add(o, "pid", json_object_new_int64(it->tgid));
	json_object_object_add(o, "tid", json_object_new_int64(it->track));
	json_object_object_add(a, "sort_index",
			       json_object_new_int64((int64_t)(it->pid % LOCK_TRACK_STEP) * 4 + k));
	json_object_object_add(o, "args", a);
	if (!rc)
		rc = emit(f, o, first);
	else
		json_object_put(o);
	return rc;
}

/* The process's name: its VM's, else its comm (the recording's names, else the event's). */
static json_object *process_meta(const struct vt_timeline *t, const struct item *it)
{
	const struct vt_recording *r = t->r;
	char name[192];

	snprintf(name, sizeof(name), "%s", it->comm != NO_NAME ? t->names.s[it->comm] : "?");
	for (size_t i = 0; r && i < r->nprocs; i++)
		if (r->procs[i].tgid == it->tgid) {
			const struct vt_procname *p = &r->procs[i];

			if (p->vm[0])
				snprintf(name, sizeof(name), "%.*s (%.*s)",
					 (int)strnlen(p->vm, sizeof(p->vm)), p->vm,
					 (int)strnlen(p->comm, sizeof(p->comm)), p->comm);
			else
				snprintf(name, sizeof(name), "%.*s",
					 (int)strnlen(p->comm, sizeof(p->comm)), p->comm);
			break;
		}
	return meta("process_name", it->tgid, 0, false, name);
}

static json_object *item_args(const struct vt_timeline *t, const struct item *it)
{
	json_object *a = json_object_new_object();
	unsigned flags = vt_op_flags(it->op);

	if (it->track != it->pid)
		json_object_object_add(a, "thread", json_object_new_int64(it->pid));
	if (it->container)
		json_object_object_add(a, "container", hex(it->container));
	if (it->name != NO_NAME)
		json_object_object_add(a, flags & VT_OPF_LOCK ? "lock" : "device",
				       json_object_new_string(t->names.s[it->name]));
	json_object_object_add(a, "iova", hex(it->iova));
	json_object_object_add(a, flags & VT_OPF_PAGES ? "pages" : "size",
			       json_object_new_uint64(it->size));
	if (it->kind == ITEM_SLICE)
		json_object_object_add(a, "latency_ns",
				       json_object_new_uint64(it->end - it->start));
	json_object_object_add(a, "ret", json_object_new_int64(it->ret));
	if (it->op == VT_OP_UNMAP) {
		json_object_object_add(a, "notifies", json_object_new_int(it->retries));
		json_object_object_add(a, "requested", json_object_new_uint64(it->aux));
	} else if (it->op == VT_OP_NOTIFY || it->op == VT_OP_RETRY) {
		json_object_object_add(a, "retries", json_object_new_int(it->retries));
	} else if (it->op == VT_OP_TEARDOWN) {
		json_object_object_add(a, "mappings", json_object_new_uint64(it->aux));
	} else if (it->op == VT_OP_IOVA_WALK) {
		json_object_object_add(a, "walk_ns", json_object_new_uint64(it->aux));
	} else if (it->op == VT_OP_IOMMU_UNMAP && it->kind == ITEM_SLICE) {
		uint64_t gross = it->end - it->start;

		json_object_object_add(a, "nested_flush_ns", json_object_new_uint64(it->aux));
		json_object_object_add(
			a, "unmap_ns",
			json_object_new_uint64(it->aux < gross ? gross - it->aux : 0));
	} else if (it->op == VT_OP_IOMMU_UNMAP) {
		json_object_object_add(a, "unmap_ns", json_object_new_uint64(it->aux));
	}
	return a;
}

static json_object *item_json(const struct vt_timeline *t, const struct item *it)
{
	json_object *o = json_object_new_object();
	uint64_t origin = t->r ? t->r->info.start_mono : 0;
	char name[128];

	if (it->kind == ITEM_ALERT) {
		json_object_object_add(o, "name",
				       json_object_new_string(it->name != NO_NAME ?
								      t->names.s[it->name] :
								      "alert"));
		json_object_object_add(o, "cat", json_object_new_string("alert"));
	} else {
		/* a device's operations name the device, a lock's the lock */
		if (it->name != NO_NAME)
			snprintf(name, sizeof(name), "%s %s", vt_op_name(it->op),
				 t->names.s[it->name]);
		else
			snprintf(name, sizeof(name), "%s", vt_op_name(it->op));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "cat", json_object_new_string(vt_op_name(it->op)));
	}
	json_object_object_add(o, "ph", json_object_new_string(it->kind == ITEM_SLICE ? "X" : "i"));
	/* before the start (an event buffered then), negative: the difference wraps, the cast
	 * reads it back */
	json_object_object_add(o, "ts", usec((int64_t)(it->start - origin)));
	if (it->kind == ITEM_SLICE)
		json_object_object_add(o, "dur", usec(it->end - it->start));
	else /* an alert concerns its whole process; a retry, a register, its thread */
		json_object_object_add(o, "s",
				       json_object_new_string(it->kind == ITEM_ALERT ? "p" : "t"));
	json_object_object_add(o, "pid", json_object_new_int64(it->tgid));
	json_object_object_add(o, "tid", json_object_new_int64(it->track));
	if (it->kind == ITEM_ALERT)
		json_object_object_add(
			o, "args", it->args ? json_object_get(it->args) : json_object_new_object());
	else
		json_object_object_add(o, "args", item_args(t, it));
	return o;
}

static json_object *other_data(const struct vt_timeline *t)
{
	json_object *o = json_object_new_object();
	const struct vt_rec_info *in = t->r ? &t->r->info : NULL;

	json_object_object_add(o, "source", json_object_new_string("vfio-trace report"));
	if (!in)
		return o;
	json_object_object_add(o, "vfio_trace_version", json_object_new_string(in->vt_version));
	json_object_object_add(o, "kernel", json_object_new_string(in->kernel));
	json_object_object_add(o, "host", json_object_new_string(in->host));
	json_object_object_add(o, "start_realtime_ns", json_object_new_uint64(in->start_real));
	json_object_object_add(o, "time_origin",
			       json_object_new_string("ts 0 is the recording's start"));
	return o;
}

int vt_timeline_write(struct vt_timeline *t, FILE *f)
{
	json_object *o = other_data(t);
	const char *raw = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	char *u = raw ? vt_json_utf8(raw) : NULL;
	bool first = true;
	int rc = 0;

	if (t->nomem || !u) {
		free(u);
		json_object_put(o);
		return -ENOMEM;
	}
	if (t->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(t->it, t->n, sizeof(t->it[0]), item_cmp);
	errno = 0; /* a write's error, if any, is the one to report */
	if (fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":%s,\"traceEvents\":[\n", u) < 0)
		rc = -(errno ? errno : EIO);
	free(u);
	json_object_put(o);
	for (size_t i = 0; !rc && i < t->n; i++) {
		const struct item *it = &t->it[i], *prev = i ? &t->it[i - 1] : NULL;

		/* named once, at the first item of the process and of the thread */
		if (!prev || prev->tgid != it->tgid)
			rc = emit(f, process_meta(t, it), &first);
		if (!rc && it->comm != NO_NAME &&
		    (!prev || prev->tgid != it->tgid || prev->track != it->track))
			rc = thread_meta(f, t, it, &first);
		if (!rc)
			rc = emit(f, item_json(t, it), &first);
	}
	if (!rc && (fprintf(f, "\n]}\n") < 0 || fflush(f)))
		rc = -(errno ? errno : EIO);
	return rc;
}

void vt_timeline_free(struct vt_timeline *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		json_object_put(t->it[i].args);
	for (size_t i = 0; i < t->names.n; i++)
		free(t->names.s[i]);
	free(t->names.s);
	free(t->names.slot);
	free(t->it);
	free(t);
}

/* The STORM alerts the recorder raised (its ALERTS blocks): instants across their process.
 * RETRY_STORM and DEADLOCK are there too, but the lifecycle records they came from are the
 * timeline's already (lifecycle_alert). A line that is not an alert object is skipped. */
static int storm_alerts(struct vt_timeline *t, const struct vt_recording *r)
{
	for (size_t i = 0; i < r->nalerts; i++) {
		json_object *a = json_tokener_parse(r->alerts[i]), *v;
		uint64_t ts;
		int64_t pid;

		if (!a || !json_object_is_type(a, json_type_object) ||
		    !json_object_object_get_ex(a, "alert", &v) ||
		    strcmp(json_object_get_string(v), "STORM") ||
		    !json_object_object_get_ex(a, "ts_ns", &v)) {
			json_object_put(a);
			continue;
		}
		ts = (uint64_t)json_object_get_int64(v);
		pid = json_object_object_get_ex(a, "pid", &v) ? json_object_get_int64(v) : 0;
		if (pid < 0 || pid > UINT32_MAX)
			pid = 0;
		if (vt_timeline_alert(t, ts, (uint32_t)pid, 0, "STORM", a)) /* owns a */
			return -1;
	}
	return 0;
}

int vt_chrome_trace(const struct vt_recording *r, const void *buf, size_t len, uint64_t from,
		    uint64_t to, const char *path, char *err, size_t errlen)
{
	struct vt_timeline *t = vt_timeline_new(r, from, to);
	FILE *f;
	int rc;

	if (!t || vt_rec_each_event_of(r, buf, len, vt_timeline_event, t) || storm_alerts(t, r) ||
	    t->nomem) {
		snprintf(err, errlen, "out of memory reading the events");
		vt_timeline_free(t);
		return -1;
	}
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "cannot create it: %s", strerror(errno));
		vt_timeline_free(t);
		return -1;
	}
	rc = vt_timeline_write(t, f);
	if (fclose(f) && !rc)
		rc = -errno;
	vt_timeline_free(t);
	if (rc)
		snprintf(err, errlen, "cannot write it: %s", strerror(-rc));
	return rc ? -1 : 0;
}
