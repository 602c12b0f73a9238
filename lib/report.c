// SPDX-License-Identifier: GPL-2.0
/*
 * Views over a snapshot shared by the commands: the JSON report (stat's final document,
 * top --json), number formatting, and process identity (comm, QEMU VM name).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "trace.h"
#include "report.h"

json_object *vt_json_stat(const struct vtr_stat *s, int op)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_uint64(s->count));
	json_object_object_add(o, "errors", json_object_new_uint64(s->errors));
	if (op == VT_OP_PIN)
		json_object_object_add(o, "einval", json_object_new_uint64(s->einval));
	json_object_object_add(o, vt_op_flags(op) & VT_OPF_PAGES ? "pages" : "bytes",
			       json_object_new_uint64(s->bytes));
	if (op == VT_OP_TEARDOWN)
		json_object_object_add(o, "mappings", json_object_new_uint64(s->items));
	if (op == VT_OP_IOMMU_UNMAP) /* what the IOMMU driver unmapped in 4 KiB pages */
		json_object_object_add(o, "bytes_4k", json_object_new_uint64(s->items));
	if (vt_op_flags(op) & VT_OPF_UNTIMED)
		return o;
	json_object_object_add(o, "latency_ns", vt_json_latency(s, false));
	return o;
}

json_object *vt_json_latency(const struct vtr_stat *s, bool buckets)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "avg",
			       json_object_new_uint64(s->count ? s->lat_sum / s->count : 0));
	json_object_object_add(l, "p50", json_object_new_uint64(vt_hist_percentile(s->hist, 50)));
	json_object_object_add(l, "p99", json_object_new_uint64(vt_hist_percentile(s->hist, 99)));
	json_object_object_add(l, "max", json_object_new_uint64(s->lat_max));
	json_object_object_add(l, "sum", json_object_new_uint64(s->lat_sum));
	if (buckets)
		json_object_object_add(l, "buckets", vt_json_buckets(s));
	return l;
}

json_object *vt_json_buckets(const struct vtr_stat *st)
{
	json_object *b = json_object_new_array();

	for (int s = 0; s < VT_HIST_SLOTS; s++) {
		json_object *x;

		if (!st->hist[s])
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "low_ns", json_object_new_uint64(vt_hist_slot_low(s)));
		json_object_object_add(x, "high_ns",
				       json_object_new_uint64(vt_hist_slot_low(s + 1)));
		json_object_object_add(x, "count", json_object_new_uint64(st->hist[s]));
		json_object_array_add(b, x);
	}
	return b;
}

static json_object *ops_object(const struct vt_snapshot *s, const int *ops, int nops, uint64_t obj,
			       uint32_t tgid)
{
	json_object *o = json_object_new_object();
	struct vtr_stat st;

	for (int i = 0; i < nops; i++) {
		json_object *j;

		if (s->untraced_ops & (1u << ops[i]))
			continue;
		vt_snapshot_sum(s, ops[i], obj, tgid, &st);
		j = vt_json_stat(&st, ops[i]);
		if (s->untimed_ops & (1u << ops[i]))
			json_object_object_del(j, "latency_ns");
		json_object_object_add(o, vt_op_name(ops[i]), j);
	}
	return o;
}

static const char *const loss_names[VT_LOSS_MAX] = {
	[VT_LOSS_STATS_FULL] = "stats_full",
	[VT_LOSS_TASK_FULL] = "inflight_full",
	[VT_LOSS_RINGBUF] = "snoop_ringbuf_full",
	[VT_LOSS_LIFECYCLE] = "lifecycle_ringbuf_full",
	[VT_LOSS_NO_ENTRY] = "exit_without_entry",
	[VT_LOSS_DEVICES_FULL] = "devices_full",
	[VT_LOSS_LOCKS_FULL] = "locks_full",
	[VT_LOSS_STACK] = "stack_not_captured",
	[VT_LOSS_HOLD_FULL] = "module_loader_not_held",
};

const char *vt_loss_name(int i)
{
	return loss_names[i];
}

/* Distinct (container, process) pairs of container rows, in first-seen order: *out is
 * allocated (free() it), as many as there are. */
size_t vt_containers(const struct vt_snapshot *s, struct vt_container **outp)
{
	struct vt_container *out = malloc((s->n ? s->n : 1) * sizeof(*out));
	size_t n = 0;

	*outp = out;
	for (size_t i = 0; out && i < s->n; i++) {
		const struct vtr_key *k = &s->rows[i].key;
		size_t j;

		if (k->kind != VT_KIND_CONTAINER)
			continue;
		for (j = 0; j < n; j++)
			if (out[j].obj == k->obj && out[j].tgid == k->tgid)
				break;
		if (j == n) {
			out[n].obj = k->obj;
			out[n].tgid = k->tgid;
			n++;
		}
	}
	return n;
}

json_object *vt_report_json(const struct vt_snapshot *s, double secs, const char *not_traced)
{
	json_object *o = json_object_new_object(), *a, *x;
	int all_ops[VT_OP_MAX], container_ops[VT_OP_MAX], device_ops[VT_OP_MAX];
	int nall = vt_ops_with(0, all_ops), ncont = vt_ops_with(VT_OPF_CONTAINER, container_ops);
	int ndev = vt_ops_with(VT_OPF_DEVICE, device_ops);
	struct vt_container *cs;
	size_t nc;

	json_object_object_add(o, "type", json_object_new_string("total"));
	json_object_object_add(o, "seconds", json_object_new_double(secs));
	json_object_object_add(o, "ops", ops_object(s, all_ops, nall, 0, 0));

	a = json_object_new_array();
	nc = vt_containers(s, &cs);
	for (size_t i = 0; i < nc; i++) {
		char id[32], comm[32], vm[128];

		x = json_object_new_object();
		snprintf(id, sizeof(id), "%#llx", (unsigned long long)cs[i].obj);
		json_object_object_add(x, "container", json_object_new_string(id));
		json_object_object_add(x, "pid", json_object_new_int64(cs[i].tgid));
		vt_snapshot_ident(s, cs[i].tgid, comm, sizeof(comm), vm, sizeof(vm));
		json_object_object_add(x, "comm", json_object_new_string(comm));
		json_object_object_add(x, "vm", vm[0] ? json_object_new_string(vm) : NULL);
		json_object_object_add(x, "ops",
				       ops_object(s, container_ops, ncont, cs[i].obj, cs[i].tgid));
		json_object_array_add(a, x);
	}
	free(cs);
	json_object_object_add(o, "containers", a);

	a = json_object_new_array();
	for (size_t i = 0; i < s->ndevs; i++) {
		const struct vt_dev *d = &s->devs[i];
		char id[32];

		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(d->d.name));
		json_object_object_add(x, "driver", json_object_new_string(d->d.driver));
		snprintf(id, sizeof(id), "%#llx", (unsigned long long)d->d.container);
		json_object_object_add(x, "container",
				       d->d.container ? json_object_new_string(id) : NULL);
		json_object_object_add(x, "registered", json_object_new_boolean(d->d.registered));
		json_object_object_add(x, "has_dma_unmap",
				       json_object_new_boolean(d->d.dma_unmap != 0));
		json_object_object_add(x, "ops", ops_object(s, device_ops, ndev, d->vdev, 0));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "devices", a);

	x = json_object_new_object();
	for (int i = 0; i < VT_LOSS_MAX; i++)
		json_object_object_add(x, loss_names[i], json_object_new_uint64(s->losses[i]));
	json_object_object_add(o, "lost", x);
	json_object_object_add(o, "not_traced",
			       json_object_new_string(not_traced ? not_traced : ""));
	return o;
}

/* json-c escapes control characters but copies other bytes as they are: names that are not
 * UTF-8 (comm, QEMU -name) would make the line invalid JSON for a strict parser. */
void vt_json_print(FILE *f, json_object *o, bool pretty)
{
	const char *raw = json_object_to_json_string_ext(
		o, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
			   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *u = vt_json_utf8(raw ? raw : "null");

	fprintf(f, "%s\n", u ? u : "null");
	free(u);
	if (f == stdout)
		vt_out_check();
	else
		fflush(f);
}

char *vt_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

void vt_snapshot_ident(const struct vt_snapshot *s, uint32_t pid, char *comm, size_t clen, char *vm,
		       size_t vlen)
{
	if (!s->procs_known) {
		vt_proc_ident(pid, comm, clen, vm, vlen);
		return;
	}
	snprintf(comm, clen, "?");
	vm[0] = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].tgid == pid) {
			snprintf(comm, clen, "%.*s", (int)sizeof(s->procs[i].comm),
				 s->procs[i].comm);
			snprintf(vm, vlen, "%.*s", (int)sizeof(s->procs[i].vm), s->procs[i].vm);
		}
}

/* comm, and the VM name when the process is QEMU (-name guest=NAME,... or -name NAME). */
void vt_proc_ident(uint32_t pid, char *comm, size_t clen, char *vm, size_t vlen)
{
	char path[64], buf[8192];
	FILE *f;
	size_t n;

	snprintf(comm, clen, "?");
	vm[0] = 0;
	if (!pid)
		return;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (f) {
		/* comm may hold a newline itself: drop only the one the kernel adds */
		n = fread(buf, 1, sizeof(buf) - 1, f);
		if (n && buf[n - 1] == '\n')
			n--;
		if (n)
			snprintf(comm, clen, "%.*s", (int)n, buf);
		fclose(f);
	}
	n = vt_proc_cmdline(pid, buf, sizeof(buf));
	vt_qemu_vm_name(buf, n, vm, vlen);
}

void vt_event_proc_ident(const struct vtr_proc *pr, char *comm, size_t clen, char *vm, size_t vlen)
{
	snprintf(comm, clen, "%.*s", (int)sizeof(pr->e.comm), pr->e.comm);
	vt_qemu_vm_name(pr->cmdline, pr->len, vm, vlen);
}

size_t vt_proc_cmdline(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return n;
}

uint64_t vt_proc_stat_start(const char *stat)
{
	unsigned long long start = 0;
	const char *p = strrchr(stat, ')');

	/* comm (field 2) is in parentheses and may hold anything, ')' and spaces included: the
	 * fields after it start after the last ')'. Field 22 is the 20th after it. */
	if (!p || sscanf(p + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return start ? start : 1; /* started at tick 0: still a process */
}

uint64_t vt_proc_start(uint32_t pid)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return vt_proc_stat_start(buf);
}

bool vt_proc_record(uint32_t tgid, struct vtr_proc *p)
{
	char comm[32], vm[8];
	char buf[VT_CMDLINE_MAX + 1];
	uint64_t start = vt_proc_start(tgid);
	size_t n;

	memset(p, 0, sizeof(*p));
	p->e.op = VT_EV_PROC;
	p->e.tgid = tgid;
	if (!start)
		return false;
	vt_proc_ident(tgid, comm, sizeof(comm), vm, sizeof(vm));
	if (strcmp(comm, "?"))
		snprintf(p->e.comm, sizeof(p->e.comm), "%.*s", (int)sizeof(p->e.comm) - 1, comm);
	n = vt_proc_cmdline(tgid, buf, sizeof(buf));
	memcpy(p->cmdline, buf, n);
	p->len = (uint32_t)n;
	p->start = start;
	/* the PID may have been taken by another process while it was read */
	return vt_proc_start(tgid) == start;
}

static struct vt_ident *ident_set(struct vt_ident_cache *c, uint32_t pid)
{
	return c->e[(pid * 2654435761u >> 8) % VT_IDENT_SETS];
}

struct vt_ident *vt_ident_find(struct vt_ident_cache *c, uint32_t pid)
{
	struct vt_ident *set = ident_set(c, pid);

	for (int w = 0; pid && w < VT_IDENT_WAYS; w++)
		if (set[w].tgid == pid) {
			set[w].used = ++c->tick;
			return &set[w];
		}
	return NULL;
}

struct vt_ident *vt_ident_put(struct vt_ident_cache *c, uint32_t pid, uint64_t start,
			      const char *comm, const char *vm)
{
	struct vt_ident *set = ident_set(c, pid), *e = vt_ident_find(c, pid);

	if (!pid)
		return NULL;
	for (int w = 0; !e && w < VT_IDENT_WAYS; w++)
		if (!set[w].tgid)
			e = &set[w];
	if (!e) { /* a full set: replace its least recently used way */
		e = &set[0];
		for (int w = 1; w < VT_IDENT_WAYS; w++)
			if (set[w].used < e->used)
				e = &set[w];
	}
	e->tgid = pid;
	e->start = start;
	e->used = ++c->tick;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	snprintf(e->vm, sizeof(e->vm), "%s", vm);
	return e;
}

void vt_ident_get(struct vt_ident_cache *c, uint32_t pid, char *comm, size_t clen, char *vm,
		  size_t vlen)
{
	struct vt_ident *e = vt_ident_find(c, pid);
	uint64_t start = pid ? vt_proc_start(pid) : 0;

	if (e && (!start || start == e->start)) { /* the same process, alive or exited */
		snprintf(comm, clen, "%s", e->comm);
		snprintf(vm, vlen, "%s", e->vm);
		return;
	}
	/* new, or the PID now names another process: read it (and check it did not exit
	 * and get replaced while we read) */
	c->reads++;
	vt_proc_ident(pid, comm, clen, vm, vlen);
	if (start && strcmp(comm, "?") && vt_proc_start(pid) == start)
		vt_ident_put(c, pid, start, comm, vm);
}

size_t vt_ident_count(const struct vt_ident_cache *c)
{
	size_t n = 0;

	for (int s = 0; s < VT_IDENT_SETS; s++)
		for (int w = 0; w < VT_IDENT_WAYS; w++)
			n += c->e[s][w].tgid != 0;
	return n;
}

/*
 * The guest name in one -name value, as QEMU's option parser reads it: parameters separated
 * by ',' (a doubled ",," is a comma inside a value), "guest=NAME" or, first and without '=',
 * the implied guest name. false when it names none.
 */
static bool qemu_guest(const char *v, size_t n, char *vm, size_t vlen)
{
	const char *p = v, *end = v + n;
	bool first = true, found = false;

	while (p < end) {
		const char *key = p, *val;
		size_t klen = 0, o = 0;
		bool guest;

		while (key + klen < end && key[klen] != '=' && key[klen] != ',')
			klen++;
		if (key + klen < end && key[klen] == '=') {
			guest = klen == 5 && !memcmp(key, "guest", 5);
			val = key + klen + 1;
		} else {
			guest = first; /* the implied key */
			val = key;
		}
		/* the value, up to a single ',' */
		for (p = val; p < end; p++) {
			if (*p == ',') {
				if (p + 1 < end && p[1] == ',') {
					p++;
				} else {
					break;
				}
			}
			if (guest && o + 1 < vlen)
				vm[o++] = *p;
		}
		if (guest) {
			vm[o] = 0;
			found = true;
		}
		if (p < end)
			p++; /* the separating ',' */
		first = false;
	}
	return found;
}

/* cmdline is NUL-separated; its last argument may lack the NUL (a truncated read): nothing
 * here reads at or past cmdline + len. QEMU keeps the last -name it is given. */
bool vt_qemu_vm_name(const char *cmdline, size_t len, char *vm, size_t vlen)
{
	const char *p = cmdline, *end = cmdline + len;
	char tmp[256];
	bool found = false;

	vm[0] = 0;
	while (p < end) {
		size_t plen = strnlen(p, end - p);
		const char *next = p + plen + 1;

		if (((plen == 5 && !memcmp(p, "-name", 5)) ||
		     (plen == 6 && !memcmp(p, "--name", 6))) &&
		    next < end &&
		    qemu_guest(next, strnlen(next, end - next), tmp,
			       sizeof(tmp) < vlen ? sizeof(tmp) : vlen)) {
			snprintf(vm, vlen, "%s", tmp);
			found = true;
		}
		p = next;
	}
	return found;
}

/* The VM's UUID (QEMU -uuid, which libvirt always sets): the last -uuid whose value is a UUID
 * (8-4-4-4-12 hex digits), lower-cased; "" when none. */
bool vt_qemu_vm_uuid(const char *cmdline, size_t len, char *uuid, size_t ulen)
{
	const char *p = cmdline, *end = cmdline + len;
	bool found = false;

	if (ulen)
		uuid[0] = 0;
	while (p < end) {
		size_t plen = strnlen(p, end - p);
		const char *next = p + plen + 1;

		if (((plen == 5 && !memcmp(p, "-uuid", 5)) ||
		     (plen == 6 && !memcmp(p, "--uuid", 6))) &&
		    next < end && strnlen(next, end - next) == 36 && ulen > 36) {
			char v[37];
			bool ok = true;

			for (int i = 0; i < 36 && ok; i++) {
				char c = next[i];

				if (i == 8 || i == 13 || i == 18 || i == 23)
					ok = c == '-';
				else
					ok = (c >= '0' && c <= '9') ||
					     ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
				v[i] = (c >= 'A' && c <= 'F') ? c | 0x20 : c;
			}
			v[36] = 0;
			if (ok) {
				memcpy(uuid, v, 37);
				found = true;
			}
		}
		p = next;
	}
	return found;
}
