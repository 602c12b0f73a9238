// SPDX-License-Identifier: GPL-2.0
/*
 * What the ftrace backend can and must leave alone: whether it can trace this host at all
 * (doctor, and its own start), and the tracefs instances and kprobe event groups of runs that
 * were killed before they could remove them (SIGKILL, a crash), named vfio_trace_<pid>: the
 * next start, and doctor --cleanup, remove those whose vfio-trace is gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tracefs.h>
#include "ftrace.h"

/* ---- cleanup of earlier runs ------------------------------------------------------------ */

/* Is pid a running vfio-trace (its comm)? Not ours: a pid reused by another program makes its
 * leftovers removable. */
static bool run_alive(long pid)
{
	char path[64], comm[32] = "";
	FILE *fp;

	if (kill((pid_t)pid, 0) && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fp = fopen(path, "r");
	if (!fp)
		return false;
	if (!fgets(comm, sizeof(comm), fp))
		comm[0] = 0;
	fclose(fp);
	return !strncmp(comm, "vfio-trace", 10);
}

/* A name of ours whose run is gone (all: any but this process's). */
static bool stale(const char *name, bool all)
{
	char *end;
	long pid;

	if (strncmp(name, VT_FT_PREFIX, strlen(VT_FT_PREFIX)))
		return false;
	pid = strtol(name + strlen(VT_FT_PREFIX), &end, 10);
	if (*end || pid <= 0 || pid == getpid())
		return false;
	return all || !run_alive(pid);
}

int vt_ftrace_cleanup(bool all, FILE *report)
{
	char **inst = tracefs_instances(NULL); /* all: stale() tells ours */
	char **sys = tracefs_event_systems(NULL);
	int removed = 0;

	/* instances first: an event enabled in one cannot be removed */
	for (int i = 0; inst && inst[i]; i++) {
		struct tracefs_instance *ti;

		if (!stale(inst[i], all))
			continue;
		ti = tracefs_instance_alloc(NULL, inst[i]);
		if (ti && !tracefs_instance_destroy(ti)) {
			removed++;
			if (report)
				fprintf(report, "removed tracefs instance %s\n", inst[i]);
		}
		tracefs_instance_free(ti);
	}
	for (int i = 0; sys && sys[i]; i++) {
		struct tracefs_dynevent **evs;
		int n = 0;

		if (!stale(sys[i], all))
			continue;
		evs = tracefs_dynevent_get_all(TRACEFS_DYNEVENT_KPROBE | TRACEFS_DYNEVENT_KRETPROBE,
					       sys[i]);
		for (int j = 0; evs && evs[j]; j++)
			n += !tracefs_dynevent_destroy(evs[j], true);
		tracefs_dynevent_list_free(evs);
		if (n) {
			removed++;
			if (report)
				fprintf(report, "removed %d kprobe events of group %s\n", n,
					sys[i]);
		}
	}
	tracefs_list_free(inst);
	tracefs_list_free(sys);
	return removed;
}

const char *vt_ftrace_blocker(const char *btf_path)
{
	if (!tracefs_tracing_dir() || access(tracefs_tracing_dir(), W_OK))
		return "tracefs is not mounted or not writable (run as root)";
	if (!tracefs_file_exists(NULL, "kprobe_events"))
		return "this kernel has no kprobe events (CONFIG_KPROBE_EVENTS)";
	/* an iommufd-only host (VMs on /dev/iommu + the VFIO device cdev) may never load
	 * type1: iommufd's events are then enough (lib/ftrace.c) */
	if (access("/sys/module/vfio_iommu_type1", F_OK) &&
	    access("/sys/module/iommufd/initstate", F_OK))
		return "neither vfio_iommu_type1 nor iommufd is loaded: no VFIO container or IOAS "
		       "is in use on this host (modprobe vfio_iommu_type1)";
	if (!btf_path && !access("/sys/module/vfio_iommu_type1", F_OK) &&
	    access("/sys/kernel/btf/vfio_iommu_type1", R_OK))
		return "vfio_iommu_type1 has no module BTF (/sys/kernel/btf/vfio_iommu_type1): the "
		       "kprobe events' offsets come from it (or give --btf FILE)";
	return NULL;
}
