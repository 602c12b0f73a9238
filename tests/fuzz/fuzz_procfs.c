// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what vfio-trace parses from /proc/<pid> of processes other people run:
 * cmdline (QEMU's -name → the VM name, -uuid → its UUID: NUL-separated, the last argument
 * perhaps without its NUL) and stat (the start time, after a comm that may hold ')' and spaces). Through the
 * public functions only (lib/report.c), whatever their internals become.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char vm[64], uuid[37], *stat;

	/* libFuzzer's buffer ends exactly at size: any read past it is caught */
	vt_qemu_vm_name((const char *)data, size, vm, size ? 1 + data[0] % sizeof(vm) : sizeof(vm));
	if (strnlen(vm, sizeof(vm)) == sizeof(vm))
		abort();
	if (vt_qemu_vm_uuid((const char *)data, size, uuid, sizeof(uuid)) && strlen(uuid) != 36)
		abort();
	stat = malloc(size + 1);
	if (!stat)
		return 0;
	memcpy(stat, data, size);
	stat[size] = 0;
	(void)vt_proc_stat_start(stat);
	free(stat);
	return 0;
}
