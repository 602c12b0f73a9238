// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload: drive the VFIO type1 DMA-unmap path through the vfio_dmatest test module with
 * exact, known counts, so that tracers (vfio-trace, tracefs) can be checked against them.
 *
 * One process per container (forked), each with --devices devices and --threads cycle threads.
 * The parent coordinates (--ready-file, --hold, --go-file, --done-file), reads the module's
 * per-device sysfs counters before and after, and prints one JSON document.
 * `vfio-workload --help` documents the CLI and the JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../kmod/vfio_dmatest.h"
#include "wl.h"

const char *const scenario_names[SC__N] = {
	[SC_SINGLE] = "single", [SC_RATE] = "rate", [SC_STORM] = "storm", [SC_SMALL] = "small",
	[SC_LARGE] = "large", [SC_MULTIDEV] = "multidev", [SC_MULTICONTAINER] = "multicontainer",
	[SC_THREADS] = "threads", [SC_NOPIN] = "nopin", [SC_RETRY] = "retry",
	[SC_NOCB_PIN] = "nocb-pin", [SC_LIFECYCLE] = "lifecycle",
	[SC_DEADLOCK] = "deadlock", [SC_SLOW_NOTIFY] = "slow-notify",
};

static const char usage_text[] =
"usage: vfio-workload SCENARIO [options]\n"
"       vfio-workload --help\n"
"\n"
"Drives VFIO_IOMMU_MAP_DMA -> DMATEST_PIN -> VFIO_IOMMU_UNMAP_DMA cycles on the vfio_dmatest\n"
"test module's devices (tests/kmod) and prints ONE JSON document with its exact counters, what\n"
"the kernel and the module must therefore have done, and the module's own sysfs counters.\n"
"Needs root, vfio + vfio_iommu_type1 and vfio_dmatest loaded with enough devices\n"
"(ndev >= containers * devices, or ndev_nocb for --nocb).\n"
"\n"
"Scenarios (defaults in brackets; every option below overrides them):\n"
"  single          one map, one pin (marker checked), one unmap  [iterations 1, map-size 1M,\n"
"                  pin-pages 4, --verify]\n"
"  rate            cycles at a steady --rate per thread  [rate 50, iterations 100, 64K, 1 pin]\n"
"  storm           back-to-back cycles as fast as possible  [iterations 500, 64K, 1 pin]\n"
"  small           many small vfio_dma, removed by ONE UNMAP_DMA over the whole range\n"
"                  [maps 256, map-size 4K, pin-pages 1, iterations 4, --unmap range]\n"
"  large           few large vfio_dma  [maps 4, map-size 16M, pin-pages 64, iterations 4]\n"
"  multidev        several devices in one container; each notify calls every device\n"
"                  [devices 3, maps 4, iterations 50]\n"
"  multicontainer  several containers, one forked process each  [containers 3, maps 2,\n"
"                  iterations 50]\n"
"  threads         threads map and pin concurrently; UNMAP_DMA serialized per container\n"
"                  [threads 4, maps 2, iterations 50 per thread]\n"
"  nopin           maps and unmaps without pins: no notify  [pin-pages 0 (required), maps 2,\n"
"                  iterations 100]\n"
"  retry           fault mode: --fault-k armed on the first device before each UNMAP_DMA, so\n"
"                  the first pinned vfio_dma is notified fault-k+1 times  [fault-k 3, maps 2,\n"
"                  iterations 10]\n"
"  nocb-pin        pins through a device WITHOUT dma_unmap (vfio_dmatest_nocb.N) in a container\n"
"                  with no dma_unmap device: every pin fails with EINVAL (counted, expected)\n"
"                  [--nocb, iterations 10]\n"
"  lifecycle       per cycle: open --fds fds of every device (first open registers it with\n"
"                  type1), map + pin, close them all (close_device unpins, last close\n"
"                  unregisters), then UNMAP_DMA (no notify left)  [iterations 20, fds 1]\n"
"  deadlock        DEADLOCKS THE KERNEL (for vfio-trace hung; a VM you can power off): two\n"
"                  threads each map + pin one vfio_dma, then unmap at the same moment without\n"
"                  the unmap mutex; --delay-us (default 200000) widens the window. --json is\n"
"                  written when they unmap ({unmap_tids, pid, ...}); the process never ends\n"
"                  on an affected kernel (exits 4 after --duration, default 60 s, threads stuck)\n"
"  slow-notify     finite lock waits: an unmap whose first notify round sleeps 2 x --delay-us\n"
"                  (default 2000000; devices 0 and 2, device 0 faults once), a device open\n"
"                  (register) waiting for device_list_lock and a pin waiting for iommu->lock\n"
"                  behind it; all finish. Needs ndev >= 3. --json: tids, then status ok\n"
"\n"
"A cycle (all but lifecycle): MAP_DMA --maps vfio_dma of --map-size at consecutive IOVAs\n"
"(thread t, map j: iova 0x100000000 + (t*maps + j) * map-size, all backed by one pre-faulted\n"
"buffer per container), pin --pin-pages pages at the start of each (<= 512 pages per\n"
"DMATEST_PIN; vfio_dma j of thread t pinned by device (t*maps + j) % devices, by device 0 when\n"
"--fault-k is set), optionally DMATEST_UNPIN them (--unpin), then UNMAP_DMA (one per vfio_dma\n"
"or one over the range, --unmap) under the container's unmap mutex. Device fds are opened at\n"
"setup and closed at teardown (lifecycle: per cycle).\n"
"\n"
"Options:\n"
"  --devices N       devices per container (1..64); container i uses vfio_dmatest.(i*N+k)\n"
"  --first-dev N     add N to every device number (default 0)\n"
"  --driver NAME     vfio_dmatest (default) or vfio_dmatest2 (the second test module: another\n"
"                    driver, another dma_unmap function): devices NAME.N\n"
"  --leave-mapped N  after the cycles map N more vfio_dma (no pins) and never unmap them: the\n"
"                    kernel removes them when the container goes, as at a VM's exit\n"
"  --containers N    containers, each in its own forked process (1..64)\n"
"  --threads N       cycle threads per container (1..64)\n"
"  --iterations N    cycles per thread (0 = until --duration)\n"
"  --duration SECS   run cycles for SECS (iterations then 0 unless also given: a cap)\n"
"  --rate N          cycles per second per thread (any scenario; rate's default 50)\n"
"  --maps N          vfio_dma per cycle per thread (threads*maps <= 65535)\n"
"  --map-size BYTES  size of each vfio_dma, page multiple; suffixes K M G\n"
"  --pin-pages N     pages pinned per vfio_dma (0 = no pins; <= map-size/page)\n"
"  --unmap each|range  one UNMAP_DMA per vfio_dma, or one over the cycle's whole range\n"
"  --unpin           DMATEST_UNPIN every pin before the UNMAP_DMA (no notify)\n"
"  --delay-us N      module knob: sleep N us in every dma_unmap callback (<= 5000000)\n"
"  --fault-k K       module knob (<= 9): armed on the first device before each UNMAP_DMA; its\n"
"                    next K callbacks keep their pins, so type1 notifies again (retries)\n"
"  --nocb            use vfio_dmatest_nocb.N devices (no dma_unmap): pins fail with EINVAL\n"
"  --fds N           device fds opened per device per lifecycle cycle (1..16)\n"
"  --verify          pin with the marker flag and check the marker in memory (1 thread)\n"
"  --hold SECS       sleep after setup (before --go-file) and after the cycles (before\n"
"                    teardown), so a tracer can be started/stopped around them\n"
"  --ready-file PATH create PATH once every container is set up (device fds open)\n"
"  --go-file PATH    wait until PATH exists before starting the cycles\n"
"  --go-timeout SECS give up waiting for --go-file after SECS (default 600)\n"
"  --done-file PATH  create PATH once every container finished its cycles (before teardown)\n"
"  --json FILE       write the JSON there (default stdout)\n"
"  --no-module-stats do not read or check /sys/bus/platform/devices/<dev>/dmatest_stats\n"
"  --name VALUE      ignored: there so the command line carries a QEMU-like '--name\n"
"                    guest=NAME,...' that vfio-trace reads as the VM name (any bytes)\n"
"  --uuid VALUE      ignored: QEMU's -uuid, which vfio-trace export labels series with\n"
"  -q, --quiet       no progress lines on stderr\n"
"  -h, --help        this text\n"
"\n"
"JSON (one document):\n"
"  tool, schema (1), scenario, kernel, pid, status (ok|error), interrupted, errors [..], wall_s,\n"
"  params {scenario, devices, first_dev, containers, threads, iterations, duration_s, rate,\n"
"    maps, map_size, pin_pages, unmap, unpin, delay_us, fault_k, nocb, fds, verify, hold_s,\n"
"    page_size, iova_base},\n"
"  totals {every container counter and every device counter, summed},\n"
"  containers [{index, pid, status, error?, interrupted, elapsed_s, late_cycles, groups [N..],\n"
"    counters {cycles, map_dma_ok, map_dma_err, bytes_mapped, unmap_dma_ok, unmap_dma_err,\n"
"      unmap_bytes_requested, unmap_bytes_unmapped, vfio_dma_removed, vfio_dma_pinned_unmapped,\n"
"      notifies_expected, notify_bytes_expected, retries_expected, teardowns_expected,\n"
"      teardown_dma_expected, teardown_bytes_expected},\n"
"    devices [{name, group, dma_unmap (bool),\n"
"      counters {device_fd_opens, device_fd_closes, register_calls_expected,\n"
"        unregister_calls_expected, register_expected, unregister_expected, pin_ioctls, pin_ok,\n"
"        pin_err, pin_einval, pages_pinned, unpin_ioctls, pages_unpinned_ioctl,\n"
"        pages_unpinned_close, unpin_calls_expected, pages_unpinned_expected,\n"
"        dma_unmap_calls_expected, dma_unmap_bytes_expected, unpinned_in_cb_expected,\n"
"        faults_expected, knob_sets},\n"
"      expect_module {the module counters' expected deltas, in dmatest_stats names}}]}],\n"
"  module {<device>: {before {..}, after {..}, delta {..}}}  (sysfs dmatest_stats),\n"
"  module_check {ok, mismatches [..]}: delta == expect_module for every device, fault_k 0.\n"
"Counting rules: register_calls_* count every first open / last close (the type1 functions are\n"
"called for any device); register_/unregister_expected only devices with dma_unmap (they join\n"
"device_list). A notify = one vfio_notify_dma_unmap round for one vfio_dma with pins; it calls\n"
"dma_unmap(dma->iova, dma->size) of every device registered in the container at that moment.\n"
"retries_expected = notifies repeated on the same vfio_dma. vfio_dma_removed = vfio_remove_dma\n"
"calls. The model is checked against the returned unmap size after every UNMAP_DMA.\n"
"\n"
"Exit: 0 ok; 1 an unexpected error (one 'vfio-workload: ... error:' line on stderr; the JSON is\n"
"still printed) or a module counter mismatch; 2 bad usage; 3 stopped early by SIGINT/SIGTERM\n"
"(cycles cut short, teardown done, counters and JSON still exact).\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vfio-workload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static uint64_t parse_u64(const char *opt, const char *s, bool suffix, uint64_t max)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		usage_error("%s: invalid number '%s'", opt, s ? s : "");
	v = strtoull(s, &end, 0);
	if (suffix && *end && !end[1]) {
		switch (*end) {
		case 'k': case 'K': mul = 1ULL << 10; end++; break;
		case 'm': case 'M': mul = 1ULL << 20; end++; break;
		case 'g': case 'G': mul = 1ULL << 30; end++; break;
		}
	}
	if (errno || *end || end == s)
		usage_error("%s: invalid number '%s'", opt, s);
	if (v > max / mul)
		usage_error("%s: %s is too large (max %llu)", opt, s, (unsigned long long)max);
	return v * mul;
}

static double parse_secs(const char *opt, const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0)
		usage_error("%s: invalid number of seconds '%s'", opt, s);
	if (v > max)
		usage_error("%s: %s is too large (max %g)", opt, s, max);
	return v;
}

enum {
	O_DEVICES = 256, O_CONTAINERS, O_ITERATIONS, O_DURATION, O_MAPS, O_MAP_SIZE, O_PIN_PAGES,
	O_THREADS, O_RATE, O_DELAY, O_FAULT, O_NOCB, O_JSON, O_HOLD, O_READY, O_GO, O_GO_TIMEOUT,
	O_DONE, O_UNMAP, O_UNPIN, O_FDS, O_VERIFY, O_FIRST_DEV, O_NO_MODSTATS, O_DRIVER,
	O_LEAVE_MAPPED, O_NAME, O_UUID,
};

/* which options were given explicitly: scenario defaults fill in the others */
struct given {
	bool devices, containers, iterations, maps, map_size, pin_pages, threads, rate, fault_k,
		unmap_mode, fds, nocb, verify;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option lopts[] = {
		{ "devices", required_argument, NULL, O_DEVICES },
		{ "containers", required_argument, NULL, O_CONTAINERS },
		{ "iterations", required_argument, NULL, O_ITERATIONS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "maps", required_argument, NULL, O_MAPS },
		{ "map-size", required_argument, NULL, O_MAP_SIZE },
		{ "pin-pages", required_argument, NULL, O_PIN_PAGES },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "delay-us", required_argument, NULL, O_DELAY },
		{ "fault-k", required_argument, NULL, O_FAULT },
		{ "nocb", no_argument, NULL, O_NOCB },
		{ "json", required_argument, NULL, O_JSON },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "go-file", required_argument, NULL, O_GO },
		{ "go-timeout", required_argument, NULL, O_GO_TIMEOUT },
		{ "done-file", required_argument, NULL, O_DONE },
		{ "unmap", required_argument, NULL, O_UNMAP },
		{ "unpin", no_argument, NULL, O_UNPIN },
		{ "fds", required_argument, NULL, O_FDS },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "first-dev", required_argument, NULL, O_FIRST_DEV },
		{ "driver", required_argument, NULL, O_DRIVER },
		{ "leave-mapped", required_argument, NULL, O_LEAVE_MAPPED },
		{ "no-module-stats", no_argument, NULL, O_NO_MODSTATS },
		{ "name", required_argument, NULL, O_NAME },
		{ "uuid", required_argument, NULL, O_UUID },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct given g = { 0 };
	const char *scen = NULL;
	long ps = sysconf(_SC_PAGESIZE);
	int ch;

	memset(o, 0, sizeof(*o));
	o->driver = "vfio_dmatest";
	o->go_timeout = 600;
	o->module_stats = true;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":qh", lopts, NULL)) != -1) {
		switch (ch) {
		case O_DEVICES: o->devices = parse_u64("--devices", optarg, false, WL_MAX_DEVICES); g.devices = true; break;
		case O_CONTAINERS: o->containers = parse_u64("--containers", optarg, false, WL_MAX_CONTAINERS); g.containers = true; break;
		case O_ITERATIONS: o->iterations = parse_u64("--iterations", optarg, false, UINT64_MAX); g.iterations = true; break;
		case O_DURATION: o->duration = parse_secs("--duration", optarg, 86400); break;
		case O_MAPS: o->maps = parse_u64("--maps", optarg, false, WL_MAX_MAPS); g.maps = true; break;
		case O_MAP_SIZE: o->map_size = parse_u64("--map-size", optarg, true, 1ULL << 40); g.map_size = true; break;
		case O_PIN_PAGES: o->pin_pages = parse_u64("--pin-pages", optarg, false, 1U << 28); g.pin_pages = true; break;
		case O_THREADS: o->threads = parse_u64("--threads", optarg, false, WL_MAX_THREADS); g.threads = true; break;
		case O_RATE: o->rate = parse_u64("--rate", optarg, false, 1000000); g.rate = true; break;
		case O_DELAY: o->delay_us = parse_u64("--delay-us", optarg, false, 5000000); break;
		case O_FAULT: o->fault_k = parse_u64("--fault-k", optarg, false, DMATEST_FAULT_MAX); g.fault_k = true; break;
		case O_NOCB: o->nocb = true; g.nocb = true; break;
		case O_JSON: o->json_path = optarg; break;
		case O_HOLD: o->hold = parse_secs("--hold", optarg, 86400); break;
		case O_READY: o->ready_file = optarg; break;
		case O_GO: o->go_file = optarg; break;
		case O_GO_TIMEOUT: o->go_timeout = parse_secs("--go-timeout", optarg, 86400); break;
		case O_DONE: o->done_file = optarg; break;
		case O_UNMAP:
			if (!strcmp(optarg, "each"))
				o->unmap_mode = UNMAP_EACH;
			else if (!strcmp(optarg, "range"))
				o->unmap_mode = UNMAP_RANGE;
			else
				usage_error("--unmap: '%s' is not 'each' or 'range'", optarg);
			g.unmap_mode = true;
			break;
		case O_UNPIN: o->unpin = true; break;
		case O_FDS: o->fds = parse_u64("--fds", optarg, false, WL_MAX_FDS); g.fds = true; break;
		case O_VERIFY: o->verify = true; g.verify = true; break;
		case O_FIRST_DEV: o->first_dev = parse_u64("--first-dev", optarg, false, 1024); break;
		case O_DRIVER:
			if (strcmp(optarg, "vfio_dmatest") && strcmp(optarg, "vfio_dmatest2"))
				usage_error("--driver: vfio_dmatest or vfio_dmatest2, not '%s'\n", optarg);
			o->driver = optarg;
			break;
		case O_LEAVE_MAPPED:
			o->leave_mapped = parse_u64("--leave-mapped", optarg, false, 4096);
			break;
		case O_NO_MODSTATS: o->module_stats = false; break;
		case O_NAME: case O_UUID: break;	/* only for /proc/PID/cmdline */
		case 'q': o->quiet = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("missing SCENARIO (one of single rate storm small large multidev "
			    "multicontainer threads nopin retry nocb-pin lifecycle deadlock slow-notify)");
	if (argc - optind > 1)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	scen = argv[optind];
	o->scenario = SC__N;
	for (int i = 0; i < SC__N; i++)
		if (!strcmp(scen, scenario_names[i]))
			o->scenario = i;
	if (o->scenario == SC__N)
		usage_error("unknown scenario '%s' (single rate storm small large multidev "
			    "multicontainer threads nopin retry nocb-pin lifecycle deadlock slow-notify)", scen);

	/* scenario defaults for what was not given */
#define DEF(field, val) do { if (!g.field) o->field = (val); } while (0)
	DEF(devices, 1);
	DEF(containers, 1);
	DEF(threads, 1);
	DEF(maps, 1);
	DEF(map_size, 64 << 10);
	DEF(pin_pages, 1);
	DEF(fds, 1);
	DEF(unmap_mode, UNMAP_EACH);
	DEF(iterations, o->duration > 0 ? 0 : 100);
	switch (o->scenario) {
	case SC_SINGLE:
		DEF(iterations, o->duration > 0 ? 0 : 1);
		DEF(map_size, 1 << 20);
		DEF(pin_pages, 4);
		DEF(verify, o->threads == 1);
		break;
	case SC_RATE:
		DEF(rate, 50);
		break;
	case SC_STORM:
		DEF(iterations, o->duration > 0 ? 0 : 500);
		break;
	case SC_SMALL:
		DEF(maps, 256);
		DEF(map_size, ps);
		DEF(iterations, o->duration > 0 ? 0 : 4);
		DEF(unmap_mode, UNMAP_RANGE);
		break;
	case SC_LARGE:
		DEF(maps, 4);
		DEF(map_size, 16 << 20);
		DEF(pin_pages, 64);
		DEF(iterations, o->duration > 0 ? 0 : 4);
		break;
	case SC_MULTIDEV:
		DEF(devices, 3);
		DEF(maps, 4);
		DEF(iterations, o->duration > 0 ? 0 : 50);
		break;
	case SC_MULTICONTAINER:
		DEF(containers, 3);
		DEF(maps, 2);
		DEF(iterations, o->duration > 0 ? 0 : 50);
		break;
	case SC_THREADS:
		DEF(threads, 4);
		DEF(maps, 2);
		DEF(iterations, o->duration > 0 ? 0 : 50);
		break;
	case SC_NOPIN:
		DEF(pin_pages, 0);
		DEF(maps, 2);
		break;
	case SC_RETRY:
		DEF(fault_k, 3);
		DEF(maps, 2);
		DEF(iterations, o->duration > 0 ? 0 : 10);
		break;
	case SC_NOCB_PIN:
		DEF(nocb, true);
		DEF(iterations, o->duration > 0 ? 0 : 10);
		break;
	case SC_LIFECYCLE:
		DEF(iterations, o->duration > 0 ? 0 : 20);
		break;
	case SC_DEADLOCK:
	case SC_SLOW_NOTIFY:
		/* one container, two vfio_dma (threads * maps), one page pinned in each */
		DEF(threads, 2);
		DEF(devices, o->scenario == SC_DEADLOCK ? 1 : 3);
		if (!o->delay_us)
			o->delay_us = o->scenario == SC_DEADLOCK ? 200000 : 2000000;
		break;
	default:
		break;
	}
#undef DEF

	/* validation: one line, exit 2 */
	if (!o->devices || !o->containers || !o->threads)
		usage_error("--devices, --containers and --threads must be >= 1");
	if (!o->maps && o->scenario != SC_LIFECYCLE)
		usage_error("--maps must be >= 1 (0 only for lifecycle)");
	if ((uint64_t)o->threads * o->maps > WL_MAX_MAPS)
		usage_error("--threads * --maps must be <= %u (type1 dma_entry_limit)", WL_MAX_MAPS);
	if (!o->map_size || o->map_size % ps)
		usage_error("--map-size must be a positive multiple of the page size (%ld)", ps);
	if ((uint64_t)o->threads * o->maps * o->map_size > (1ULL << 46))
		usage_error("--threads * --maps * --map-size is larger than the IOVA space used (64T)");
	if (o->pin_pages > o->map_size / ps)
		usage_error("--pin-pages %u does not fit in --map-size %llu (%llu pages)", o->pin_pages,
			    (unsigned long long)o->map_size, (unsigned long long)(o->map_size / ps));
	if (!o->iterations && !(o->duration > 0))
		usage_error("--iterations 0 needs --duration");
	if (o->scenario == SC_RATE && !(o->rate > 0))
		usage_error("rate needs --rate > 0");
	if (o->scenario == SC_NOPIN && o->pin_pages)
		usage_error("nopin maps without pins: --pin-pages must be 0");
	if (o->scenario == SC_RETRY && !o->fault_k)
		usage_error("retry needs --fault-k >= 1");
	if (o->scenario == SC_NOCB_PIN && (!o->nocb || !o->pin_pages))
		usage_error("nocb-pin needs --nocb and --pin-pages >= 1");
	if (o->fault_k && (!o->pin_pages || o->nocb))
		usage_error("--fault-k needs pins (--pin-pages >= 1) on devices with dma_unmap (no --nocb)");
	if (o->scenario == SC_LIFECYCLE && (o->threads != 1 || o->delay_us || o->fault_k))
		usage_error("lifecycle runs one thread and no module knobs (--threads 1, no --delay-us/--fault-k)");
	if (o->scenario != SC_LIFECYCLE && g.fds)
		usage_error("--fds is for lifecycle only");
	if (!o->fds)
		usage_error("--fds must be >= 1");
	if (o->verify && o->threads != 1)
		usage_error("--verify needs --threads 1 (the threads share one buffer)");
	if (o->verify && !o->pin_pages)
		usage_error("--verify needs pins (--pin-pages >= 1)");
	if ((o->scenario == SC_DEADLOCK || o->scenario == SC_SLOW_NOTIFY) &&
	    (o->containers != 1 || o->threads != 2 || o->maps != 1 || o->pin_pages != 1 || o->nocb ||
	     o->fault_k || (o->scenario == SC_SLOW_NOTIFY && o->devices != 3) ||
	     (o->scenario == SC_DEADLOCK && o->devices != 1)))
		usage_error("%s takes only --delay-us, --map-size, --duration and the file options",
			    scenario_names[o->scenario]);
	if (o->first_dev + (uint64_t)o->containers * o->devices > 1024)
		usage_error("device numbers beyond 1024");
}

/* ---- parent ------------------------------------------------------------------------------- */

static volatile sig_atomic_t parent_stop;
static pid_t child_pids[WL_MAX_CONTAINERS];
static unsigned nchildren;

static void on_signal_child(int sig)
{
	(void)sig;
	wl_stop = 1;
}

static void on_signal_parent(int sig)
{
	(void)sig;
	parent_stop = 1;
	for (unsigned i = 0; i < nchildren; i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGTERM);
}

static void install(void (*h)(int))
{
	struct sigaction sa = { .sa_handler = h };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* one byte from a child, -1 on EOF/error */
static int read_byte(int fd)
{
	unsigned char b;

	for (;;) {
		ssize_t r = read(fd, &b, 1);

		if (r == 1)
			return b;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static char *read_rest(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	buf[len] = 0;
	return buf;
}

static void sleep_s(double s, volatile sig_atomic_t *stop)
{
	double end = now_s() + s;

	while (!*stop) {
		double left = end - now_s();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "vfio-workload: error: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static void progress(const struct options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	fputs("vfio-workload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The child: one container. Protocol on `wfd`: 'R' (set up) or 'E' (setup failed), then 'D'
 * (cycles done), then the container's JSON, then EOF. On `rfd` it waits for 'G' (go); EOF means
 * abort (tear down without cycles). */
static __attribute__((noreturn)) void child_main(const struct options *o, unsigned index,
						  int wfd, int rfd)
{
	struct wcontainer *c = calloc(1, sizeof(*c));
	bool ok, go = false;
	const char *js;

	install(on_signal_child);
	if (!c) {
		fprintf(stderr, "vfio-workload: container %u: error: out of memory\n", index);
		_exit(1);
	}
	ok = wc_setup(c, o, index) == 0;
	write_all(wfd, ok ? "R" : "E", 1);
	if (ok)
		go = read_byte(rfd) == 'G';
	if (go && !wl_stop)
		wc_run(c);
	write_all(wfd, "D", 1);
	if (go && o->hold > 0)
		sleep_s(o->hold, &wl_stop);
	wc_teardown(c);
	js = json_object_to_json_string_ext(wc_to_json(c), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	write_all(wfd, js, strlen(js));
	_exit(atomic_load(&c->failed) ? 1 : 0);
}

static json_object *params_json(const struct options *o)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "scenario", json_object_new_string(scenario_names[o->scenario]));
	json_object_object_add(p, "devices", json_object_new_int(o->devices));
	json_object_object_add(p, "first_dev", json_object_new_int(o->first_dev));
	json_object_object_add(p, "driver", json_object_new_string(o->driver));
	json_object_object_add(p, "leave_mapped", json_object_new_int(o->leave_mapped));
	json_object_object_add(p, "containers", json_object_new_int(o->containers));
	json_object_object_add(p, "threads", json_object_new_int(o->threads));
	json_object_object_add(p, "iterations", json_object_new_int64(o->iterations));
	json_object_object_add(p, "duration_s", json_object_new_double(o->duration));
	json_object_object_add(p, "rate", json_object_new_double(o->rate));
	json_object_object_add(p, "maps", json_object_new_int(o->maps));
	json_object_object_add(p, "map_size", json_object_new_int64(o->map_size));
	json_object_object_add(p, "pin_pages", json_object_new_int(o->pin_pages));
	json_object_object_add(p, "unmap", json_object_new_string(o->unmap_mode == UNMAP_RANGE ? "range" : "each"));
	json_object_object_add(p, "unpin", json_object_new_boolean(o->unpin));
	json_object_object_add(p, "delay_us", json_object_new_int(o->delay_us));
	json_object_object_add(p, "fault_k", json_object_new_int(o->fault_k));
	json_object_object_add(p, "nocb", json_object_new_boolean(o->nocb));
	json_object_object_add(p, "fds", json_object_new_int(o->fds));
	json_object_object_add(p, "verify", json_object_new_boolean(o->verify));
	json_object_object_add(p, "hold_s", json_object_new_double(o->hold));
	json_object_object_add(p, "page_size", json_object_new_int(sysconf(_SC_PAGESIZE)));
	json_object_object_add(p, "iova_base", json_object_new_int64(WL_IOVA_BASE));
	return p;
}

static int64_t jget(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void add_into(json_object *tot, json_object *cnt)
{
	json_object_object_foreach(cnt, k, v) {
		json_object_object_add(tot, k, json_object_new_int64(jget(tot, k) + json_object_get_int64(v)));
	}
}

static void device_name(const struct options *o, unsigned i, unsigned k, char *buf, size_t n)
{
	snprintf(buf, n, "%s.%u", o->nocb ? "vfio_dmatest_nocb" : o->driver,
		 o->first_dev + i * o->devices + k);
}

static int emit(const struct options *o, json_object *doc)
{
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE |
						       JSON_C_TO_STRING_SPACED);
	char tmp[4096];
	FILE *f;

	if (!o->json_path) {
		printf("%s\n", s);
		return fflush(stdout) ? -1 : 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", o->json_path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) || rename(tmp, o->json_path)) {
		fprintf(stderr, "vfio-workload: error: cannot write %s: %s\n", o->json_path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	int c2p[WL_MAX_CONTAINERS][2], p2c[WL_MAX_CONTAINERS][2];
	json_object *doc, *conts, *totals, *errors, *module, *mcheck, *mism;
	json_object *before[WL_MAX_CONTAINERS][WL_MAX_DEVICES] = { { NULL } };
	bool failed = false, all_ready = true, go = false, interrupted = false;
	char err[600], name[64];
	struct utsname un;
	double t0;

	parse_args(argc, argv, &o);
	if (o.scenario == SC_DEADLOCK || o.scenario == SC_SLOW_NOTIFY) {
		install(on_signal_child);
		return hang_main(&o);
	}
	t0 = now_s();
	errors = json_object_new_array();
	setvbuf(stderr, NULL, _IOLBF, 0);
	progress(&o, "%s: %u container(s) x %u device(s), %u thread(s), %llu iteration(s)%s",
		 scenario_names[o.scenario], o.containers, o.devices, o.threads,
		 (unsigned long long)o.iterations, o.duration > 0 ? " (or until --duration)" : "");

	if (o.module_stats)
		for (unsigned i = 0; i < o.containers; i++)
			for (unsigned k = 0; k < o.devices; k++) {
				device_name(&o, i, k, name, sizeof(name));
				before[i][k] = modstats_read(name, err, sizeof(err));
				if (!before[i][k]) {
					fprintf(stderr, "vfio-workload: error: %s (is vfio_dmatest loaded with "
						"enough devices?)\n", err);
					return 1;
				}
			}

	install(on_signal_parent);
	fflush(NULL);
	for (unsigned i = 0; i < o.containers; i++) {
		pid_t pid;

		if (pipe(c2p[i]) || pipe(p2c[i])) {
			fprintf(stderr, "vfio-workload: error: pipe: %s\n", strerror(errno));
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "vfio-workload: error: fork: %s\n", strerror(errno));
			failed = true;
			close(c2p[i][0]); close(c2p[i][1]); close(p2c[i][0]); close(p2c[i][1]);
			break;
		}
		if (pid == 0) {
			for (unsigned j = 0; j < i; j++) {
				close(c2p[j][0]);
				close(p2c[j][1]);
			}
			close(c2p[i][0]);
			close(p2c[i][1]);
			child_main(&o, i, c2p[i][1], p2c[i][0]);
		}
		close(c2p[i][1]);
		close(p2c[i][0]);
		child_pids[nchildren++] = pid;
	}

	for (unsigned i = 0; i < nchildren; i++)
		if (read_byte(c2p[i][0]) != 'R')
			all_ready = false;
	if (all_ready && !failed && !parent_stop) {
		progress(&o, "set up (device fds open)%s", o.go_file ? ", waiting for the go file" : "");
		go = true;
		if (o.ready_file && touch(o.ready_file))
			go = false;
		if (go && o.hold > 0)
			sleep_s(o.hold, &parent_stop);
		if (go && o.go_file) {
			double end = now_s() + o.go_timeout;

			while (access(o.go_file, F_OK) && !parent_stop) {
				if (now_s() > end) {
					fprintf(stderr, "vfio-workload: error: %s did not appear within %gs\n",
						o.go_file, o.go_timeout);
					json_object_array_add(errors, json_object_new_string("go file timeout"));
					go = false;
					break;
				}
				sleep_s(0.02, &parent_stop);
			}
		}
		if (parent_stop)
			go = false;
	}
	for (unsigned i = 0; i < nchildren; i++) {
		if (go)
			write_all(p2c[i][1], "G", 1);
		close(p2c[i][1]);
	}
	if (!go)
		failed = true;
	for (unsigned i = 0; i < nchildren; i++)
		read_byte(c2p[i][0]);	/* 'D' (or EOF if the child died) */
	if (go) {
		progress(&o, "cycles done");
		if (o.done_file && touch(o.done_file))
			failed = true;
	}

	doc = json_object_new_object();
	conts = json_object_new_array();
	totals = json_object_new_object();
	for (unsigned i = 0; i < o.containers; i++) {
		json_object *cj = NULL;
		char *txt = NULL;
		int st = 0;

		if (i < nchildren) {
			txt = read_rest(c2p[i][0]);
			close(c2p[i][0]);
			while (waitpid(child_pids[i], &st, 0) < 0 && errno == EINTR)
				;
			child_pids[i] = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				snprintf(err, sizeof(err), "container %u: process %s %d", i,
					 WIFEXITED(st) ? "exited with" : "killed by signal",
					 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				json_object_array_add(errors, json_object_new_string(err));
				failed = true;
			}
			cj = txt && *txt ? json_tokener_parse(txt) : NULL;
			free(txt);
		}
		if (!cj) {
			snprintf(err, sizeof(err), "container %u: no report", i);
			fprintf(stderr, "vfio-workload: error: %s\n", err);
			json_object_array_add(errors, json_object_new_string(err));
			failed = true;
			continue;
		}
		{
			json_object *v, *devs;

			if (json_object_object_get_ex(cj, "error", &v)) {
				snprintf(err, sizeof(err), "container %u: %s", i, json_object_get_string(v));
				json_object_array_add(errors, json_object_new_string(err));
				failed = true;
			}
			if (json_object_object_get_ex(cj, "interrupted", &v) && json_object_get_boolean(v))
				interrupted = true;
			if (json_object_object_get_ex(cj, "counters", &v))
				add_into(totals, v);
			if (json_object_object_get_ex(cj, "devices", &devs))
				for (size_t k = 0; k < json_object_array_length(devs); k++) {
					json_object *dj = json_object_array_get_idx(devs, k), *dc;

					if (json_object_object_get_ex(dj, "counters", &dc)) {
						add_into(totals, dc);
						json_object_object_add(dj, "expect_module", expect_module(dc));
					}
				}
		}
		json_object_array_add(conts, cj);
	}

	/* the module's counters after, their delta and the comparison with the expectation */
	module = json_object_new_object();
	mcheck = json_object_new_object();
	mism = json_object_new_array();
	if (o.module_stats) {
		for (size_t i = 0; i < json_object_array_length(conts); i++) {
			json_object *cj = json_object_array_get_idx(conts, i), *devs, *idx;
			unsigned ci;

			if (!json_object_object_get_ex(cj, "index", &idx) ||
			    !json_object_object_get_ex(cj, "devices", &devs))
				continue;
			ci = json_object_get_int(idx);
			for (size_t k = 0; k < json_object_array_length(devs) && k < o.devices; k++) {
				json_object *dj = json_object_array_get_idx(devs, k), *exp, *after, *delta, *m;
				const char *dn = json_object_get_string(json_object_object_get(dj, "name"));

				after = modstats_read(dn, err, sizeof(err));
				if (!after) {
					fprintf(stderr, "vfio-workload: error: %s\n", err);
					json_object_array_add(errors, json_object_new_string(err));
					failed = true;
					continue;
				}
				delta = modstats_delta(before[ci][k], after);
				m = json_object_new_object();
				json_object_object_add(m, "before", json_object_get(before[ci][k]));
				json_object_object_add(m, "after", after);
				json_object_object_add(m, "delta", delta);
				json_object_object_add(module, dn, m);
				exp = json_object_object_get(dj, "expect_module");
				json_object_object_foreach(exp, key, ev) {
					int64_t want = json_object_get_int64(ev), got = jget(delta, key);

					if (want != got) {
						snprintf(err, sizeof(err), "%s %s: module %lld, workload expects %lld",
							 dn, key, (long long)got, (long long)want);
						json_object_array_add(mism, json_object_new_string(err));
					}
				}
				if (jget(after, "fault_k")) {
					snprintf(err, sizeof(err), "%s fault_k: %lld left armed", dn,
						 (long long)jget(after, "fault_k"));
					json_object_array_add(mism, json_object_new_string(err));
				}
			}
		}
		if (json_object_array_length(mism)) {
			fprintf(stderr, "vfio-workload: error: module counters differ from the workload's: %s%s\n",
				json_object_get_string(json_object_array_get_idx(mism, 0)),
				json_object_array_length(mism) > 1 ? " (more in module_check)" : "");
			failed = true;
		}
	}
	json_object_object_add(mcheck, "checked", json_object_new_boolean(o.module_stats));
	json_object_object_add(mcheck, "ok", json_object_new_boolean(o.module_stats &&
								     !json_object_array_length(mism)));
	json_object_object_add(mcheck, "mismatches", mism);

	json_object_object_add(doc, "tool", json_object_new_string("vfio-workload"));
	json_object_object_add(doc, "schema", json_object_new_int(1));
	json_object_object_add(doc, "scenario", json_object_new_string(scenario_names[o.scenario]));
	json_object_object_add(doc, "kernel", json_object_new_string(uname(&un) ? "" : un.release));
	json_object_object_add(doc, "pid", json_object_new_int(getpid()));
	json_object_object_add(doc, "status", json_object_new_string(failed ? "error" : "ok"));
	if (parent_stop)
		interrupted = true;
	json_object_object_add(doc, "interrupted", json_object_new_boolean(interrupted));
	json_object_object_add(doc, "errors", errors);
	json_object_object_add(doc, "wall_s", json_object_new_double(now_s() - t0));
	json_object_object_add(doc, "params", params_json(&o));
	json_object_object_add(doc, "totals", totals);
	json_object_object_add(doc, "containers", conts);
	json_object_object_add(doc, "module", module);
	json_object_object_add(doc, "module_check", mcheck);
	if (emit(&o, doc))
		failed = true;
	progress(&o, "%s: %s, %.2fs", scenario_names[o.scenario],
		 failed ? "FAILED" : interrupted ? "interrupted" : "ok", now_s() - t0);
	return failed ? 1 : interrupted ? 3 : 0;
}
