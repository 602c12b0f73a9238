// SPDX-License-Identifier: GPL-2.0
/*
 * --btf FILE: the kernel's types from a file instead of /sys/kernel/btf, for kernels built
 * without BTF. One BTF file (raw, or an ELF's .BTF section: libbpf's btf__parse) holding
 * vmlinux's types and the VFIO modules' in one id space, as pahole writes it from the
 * kernel's DWARF (man vfio-trace, --btf):
 *
 *     pahole --btf_encode_detached=vfio.btf vmlinux vfio.ko vfio_iommu_type1.ko
 *
 * The BPF backend gives it to libbpf as the CO-RE target (bpf_object_open_opts
 * .btf_custom_path, which then looks in no module BTF: the modules' types must be in the
 * file), the ftrace backend computes its fetch offsets from it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "vt.h"

/* The structs the tracers read, and whose types they are: a file without one of them is not
 * the file vfio-trace needs (vmlinux alone, or another kernel's modules only). */
static const struct {
	const char *name, *from;
} needed[] = {
	{ "task_struct", "vmlinux" },
	{ "device", "vmlinux" },
	{ "vfio_device", "vfio" },
	{ "vfio_device_ops", "vfio" },
	{ "vfio_iommu", "vfio_iommu_type1" },
	{ "vfio_dma", "vfio_iommu_type1" },
};

struct btf *vt_btf_file_load(const char *path)
{
	char shown[VT_ESC_SIZE(128)];
	struct btf *btf;

	libbpf_print_fn_t print;
	char why[128];
	int err;

	vt_esc(shown, sizeof(shown), path, 128);
	/* libbpf's own lines about a file that is not ELF or BTF: this one line says it */
	print = libbpf_set_print(NULL);
	btf = btf__parse(path, NULL);
	err = errno;
	libbpf_set_print(print);
	if (!btf) {
		/* libbpf's own codes (LIBBPF_ERRNO__FORMAT, ...) name no system error */
		if (err >= __LIBBPF_ERRNO__START)
			snprintf(why, sizeof(why), "neither raw BTF nor ELF with a .BTF section");
		else
			libbpf_strerror(err, why, sizeof(why));
		vt_err("--btf %s: cannot read BTF from it (%s)", shown, why);
		errno = err;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (btf__find_by_name_kind(btf, needed[i].name, BTF_KIND_STRUCT) < 0) {
			vt_err("--btf %s: no struct %s in it: the file needs the types of vmlinux, "
			       "vfio and vfio_iommu_type1 (%s's is missing; man vfio-trace, --btf)",
			       shown, needed[i].name, needed[i].from);
			btf__free(btf);
			errno = EINVAL;
			return NULL;
		}
	return btf;
}

int vt_btf_file_check(const char *path)
{
	struct btf *btf = vt_btf_file_load(path);

	if (!btf)
		return -EINVAL;
	btf__free(btf);
	return 0;
}
