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
/* The whole snapshot as one document: totals per op, per container+process, per device,
 * losses, and what this kernel does not let vfio-trace see. */
json_object *vt_report_json(const struct vt_snapshot *s, double secs, const char *not_traced);
void vt_json_print(FILE *f, json_object *o, bool pretty);
size_t vt_containers(const struct vt_snapshot *s, struct vt_container **out);
const char *vt_loss_name(int i);
char *vt_fmt_ns(char *buf, size_t len, uint64_t ns);
void vt_proc_ident(uint32_t pid, char *comm, size_t clen, char *vm, size_t vlen);
bool vt_qemu_vm_name(const char *cmdline, size_t len, char *vm, size_t vlen);

#endif
