/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VT_REPORT_H
#define VT_REPORT_H

#include <json-c/json.h>
#include "trace.h"

struct vt_container {
	uint64_t obj;
	uint32_t tgid;
};

json_object *vt_json_stat(const struct vtr_stat *s, int op);
/* Every non-empty histogram bucket: [{low_ns, high_ns, count}]. */
json_object *vt_json_buckets(const struct vtr_stat *st);
/* A latency, spelled the same in every command's JSON: an object named for what it times with
 * the unit, "<what>_ns" (latency_ns, hold_ns, wait_ns), holding {avg, p50, p99, max, sum} in
 * ns, and the buckets when asked for. */
json_object *vt_json_latency(const struct vtr_stat *s, bool buckets);
/* The whole snapshot as one document: totals per op, per container+process, per device,
 * losses, and what this kernel does not let vfio-trace see. */
json_object *vt_report_json(const struct vt_snapshot *s, double secs, const char *not_traced);
void vt_json_print(FILE *f, json_object *o, bool pretty);
size_t vt_containers(const struct vt_snapshot *s, struct vt_container **out);
const char *vt_loss_name(int i);
char *vt_fmt_ns(char *buf, size_t len, uint64_t ns);
/* comm and VM name of pid as s knows them: from a recording's names (procs_known), else
 * from /proc (vt_proc_ident). */
void vt_snapshot_ident(const struct vt_snapshot *s, uint32_t pid, char *comm, size_t clen, char *vm,
		       size_t vlen);
void vt_proc_ident(uint32_t pid, char *comm, size_t clen, char *vm, size_t vlen);
/* The same from a VT_EV_PROC record: what the process was at its first device (its leader's
 * comm, the -name of the command line the kernel side read), even if it has exited since. */
void vt_event_proc_ident(const struct vtr_proc *pr, char *comm, size_t clen, char *vm, size_t vlen);
bool vt_qemu_vm_name(const char *cmdline, size_t len, char *vm, size_t vlen);
/* /proc/<pid>/cmdline (NUL-separated) into buf, cut at len - 1 bytes and NUL-terminated: the
 * bytes read, 0 when the process is gone or unreadable. */
size_t vt_proc_cmdline(uint32_t pid, char *buf, size_t len);
/* QEMU's -uuid in a NUL-separated cmdline, lower-cased; "" (false) when none. ulen >= 37. */
bool vt_qemu_vm_uuid(const char *cmdline, size_t len, char *uuid, size_t ulen);
/* When process pid started (/proc/<pid>/stat field 22, clock ticks since boot); 0 when it
 * is gone or unreadable. A PID is reused; (pid, start time) is not. */
uint64_t vt_proc_start(uint32_t pid);
/* The VT_EV_PROC record of process tgid (comm, start, its first VT_CMDLINE_MAX bytes of
 * command line) read from /proc, for a backend that cannot read it in the process's own
 * context as bpf/vfio_trace.bpf.c proc_event() does (the ftrace backend). false when the
 * process is gone (p: op and tgid only, len 0). */
bool vt_proc_record(uint32_t tgid, struct vtr_proc *p);
/* The start time in the text of a /proc/<pid>/stat (NUL-terminated); 0 when malformed. */
uint64_t vt_proc_stat_start(const char *stat);

/* The names of processes seen, kept after they exit: set-associative, VT_IDENT_SETS x
 * VT_IDENT_WAYS entries at most (the least recently used way of a full set is replaced), so
 * a host that runs through many processes cannot grow it. An entry is trusted only while
 * the live process has the start time it was cached with: a reused PID is named anew. */
#define VT_IDENT_SETS 256
#define VT_IDENT_WAYS 4
struct vt_ident {
	uint32_t tgid;	/* 0: free */
	uint64_t start; /* vt_proc_start() when cached */
	uint64_t used;	/* cache tick of the last use (LRU within a set) */
	char comm[32], vm[128];
};
struct vt_ident_cache {
	struct vt_ident e[VT_IDENT_SETS][VT_IDENT_WAYS];
	uint64_t tick;
	uint64_t reads; /* names read from /proc (tests) */
};
/* comm and VM name of pid: the cached ones while the same process lives (no /proc read
 * beyond its stat), read and cached for a new or reused PID, the cached ones of a process
 * that has exited, else "?" and "". */
void vt_ident_get(struct vt_ident_cache *c, uint32_t pid, char *comm, size_t clen, char *vm,
		  size_t vlen);
/* Cache names read elsewhere for pid (started at start). The entry, or NULL. */
struct vt_ident *vt_ident_put(struct vt_ident_cache *c, uint32_t pid, uint64_t start,
			      const char *comm, const char *vm);
/* The cached entry of pid whatever its start time, or NULL. */
struct vt_ident *vt_ident_find(struct vt_ident_cache *c, uint32_t pid);
size_t vt_ident_count(const struct vt_ident_cache *c);

#endif
