// SPDX-License-Identifier: GPL-2.0
/*
 * bench/progstats: one line per BPF program loaded in the kernel, for the per-event cost:
 *   id <TAB> name <TAB> attach <TAB> run_cnt <TAB> run_time_ns
 * attach is "fentry:FUNC" / "fexit:FUNC" ... from the program's tracing link when it has one
 * (the link's target BTF id resolved in vmlinux or module BTF), else "-". run_cnt/run_time_ns
 * count only while kernel.bpf_stats_enabled=1. Static: runs in the busybox lab guest.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAXP 4096
static struct {
	__u32 prog_id;
	char what[160];
} att[MAXP];
static int natt;

static const char *attach_type_name(__u32 t)
{
	switch (t) {
	case BPF_TRACE_FENTRY: return "fentry";
	case BPF_TRACE_FEXIT: return "fexit";
	case BPF_MODIFY_RETURN: return "fmod_ret";
	case BPF_TRACE_RAW_TP: return "raw_tp";
	default: return "tracing";
	}
}

static struct btf *vmlinux;

static void target_name(__u32 obj_id, __u32 btf_id, char *buf, size_t len)
{
	struct bpf_btf_info bi;
	char name[64] = "";
	__u32 bl = sizeof(bi);
	struct btf *b = NULL;
	int fd;

	snprintf(buf, len, "btf%u:%u", obj_id, btf_id);
	fd = bpf_btf_get_fd_by_id(obj_id);
	if (fd < 0)
		return;
	memset(&bi, 0, sizeof(bi));
	bi.name = (__u64)(unsigned long)name;
	bi.name_len = sizeof(name);
	if (bpf_obj_get_info_by_fd(fd, &bi, &bl)) {
		close(fd);
		return;
	}
	close(fd);
	if (!strcmp(name, "vmlinux")) {
		if (!vmlinux)
			vmlinux = btf__load_vmlinux_btf();
		b = vmlinux;
	} else {
		if (!vmlinux)
			vmlinux = btf__load_vmlinux_btf();
		b = btf__load_from_kernel_by_id_split(obj_id, vmlinux);
	}
	if (!b)
		return;
	const struct btf_type *t = btf__type_by_id(b, btf_id);
	if (t)
		snprintf(buf, len, "%s", btf__name_by_offset(b, t->name_off));
	if (b != vmlinux)
		btf__free(b);
}

int main(void)
{
	__u32 id = 0;

	libbpf_set_print(NULL);
	while (!bpf_link_get_next_id(id, &id) && natt < MAXP) {
		struct bpf_link_info li;
		__u32 l = sizeof(li);
		int fd = bpf_link_get_fd_by_id(id);
		char tgt[128];

		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		if (!bpf_obj_get_info_by_fd(fd, &li, &l) && li.type == BPF_LINK_TYPE_TRACING) {
			target_name(li.tracing.target_obj_id, li.tracing.target_btf_id, tgt,
				    sizeof(tgt));
			att[natt].prog_id = li.prog_id;
			snprintf(att[natt].what, sizeof(att[natt].what), "%s:%s",
				 attach_type_name(li.tracing.attach_type), tgt);
			natt++;
		}
		close(fd);
	}
	id = 0;
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info pi;
		__u32 l = sizeof(pi);
		const char *what = "-";
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		if (bpf_obj_get_info_by_fd(fd, &pi, &l)) {
			close(fd);
			continue;
		}
		close(fd);
		for (int i = 0; i < natt; i++)
			if (att[i].prog_id == pi.id)
				what = att[i].what;
		printf("%u\t%s\t%s\t%llu\t%llu\n", pi.id, pi.name[0] ? pi.name : "-", what,
		       (unsigned long long)pi.run_cnt, (unsigned long long)pi.run_time_ns);
	}
	return 0;
}
