// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload's command line: the scenarios, --help's text (the CLI and the JSON) and the
 * options with each scenario's defaults, checked (a bad one: one line and exit 2).
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
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../kmod/vfio_dmatest.h"
#include "wl.h"

const char *const scenario_names[SC__N] = {
	[SC_SINGLE] = "single",
	[SC_RATE] = "rate",
	[SC_STORM] = "storm",
	[SC_SMALL] = "small",
	[SC_LARGE] = "large",
	[SC_MULTIDEV] = "multidev",
	[SC_MULTICONTAINER] = "multicontainer",
	[SC_THREADS] = "threads",
	[SC_NOPIN] = "nopin",
	[SC_RETRY] = "retry",
	[SC_NOCB_PIN] = "nocb-pin",
	[SC_LIFECYCLE] = "lifecycle",
	[SC_DEADLOCK] = "deadlock",
	[SC_SLOW_NOTIFY] = "slow-notify",
	[SC_PCI] = "pci",
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
	"  pci             a vfio-pci device with a REAL IOMMU domain (lab: run-vm --iommu), no test\n"
	"                  module: its group in a TYPE1v2 container; per cycle MAP_DMA --maps vfio_dma\n"
	"                  of --map-size backed by anonymous 4 KiB pages (MADV_NOHUGEPAGE) at\n"
	"                  0x100000000 and --huge-maps of --huge-size backed by 2 MiB hugetlbfs pages\n"
	"                  (MAP_HUGETLB; reserve vm.nr_hugepages) at 0x200000000, then one UNMAP_DMA\n"
	"                  each; --leave-mapped N maps N more of each kind and exits with them\n"
	"                  mapped (the kernel removes them at close, as at a VM's exit). No pins, no\n"
	"                  notifies; JSON adds backing {anon, hugetlb} with per-kind counts\n"
	"                  (--duration: cycles for that long, bench/phases-guest.sh's storm)\n"
	"                  [maps 4, map-size 64K, huge-maps 2, huge-size 4M, iterations 10]\n"
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
	"  --driver NAME     vfio_dmatest (default), vfio_dmatest2 (the second test module: another\n"
	"                    driver, another dma_unmap function) or vfio_dtnotrace (a third,\n"
	"                    its dma_unmap notrace): devices NAME.N\n"
	"  --leave-mapped N  after the cycles map N more vfio_dma (no pins) and never unmap them: the\n"
	"                    kernel removes them when the container goes, as at a VM's exit\n"
	"                    (<= 1048576; pci <= 4096; type1 refuses more than its dma_entry_limit,\n"
	"                    65535 by default: /sys/module/vfio_iommu_type1/parameters/)\n"
	"  --containers N    containers, each in its own forked process (1..256)\n"
	"  --threads N       cycle threads per container (1..64)\n"
	"  --iterations N    cycles per thread (0 = until --duration)\n"
	"  --duration SECS   run cycles for SECS (iterations then 0 unless also given: a cap)\n"
	"  --rate N          cycles per second per thread (any scenario; rate's default 50)\n"
	"  --maps N          vfio_dma per cycle per thread (threads*maps <= 65535)\n"
	"  --map-size BYTES  size of each vfio_dma, page multiple; suffixes K M G\n"
	"  --pin-pages N     pages pinned per vfio_dma (0 = no pins; <= map-size/page)\n"
	"  --unmap each|range  one UNMAP_DMA per vfio_dma, or one over the cycle's whole range\n"
	"  --unpin           DMATEST_UNPIN every pin before the UNMAP_DMA (no notify)\n"
	"  --bad-unmaps      type1: before each UNMAP_DMA two the kernel refuses with EINVAL, one\n"
	"                    inside vfio_dma_do_unmap (iova + 1: off the IOMMU page size), one in\n"
	"                    the ioctl's own check before it (an unknown flag); counted: unmap_dma_err\n"
	"  --delay-us N      module knob: sleep N us in every dma_unmap callback (<= 5000000)\n"
	"  --fault-k K       module knob (<= 9): armed on the first device before each UNMAP_DMA; its\n"
	"                    next K callbacks keep their pins, so type1 notifies again (retries)\n"
	"  --nocb            use vfio_dmatest_nocb.N devices (no dma_unmap): pins fail with EINVAL\n"
	"  --iommufd         the VFIO device cdev + iommufd instead of a type1 container: per\n"
	"                    container /dev/iommu with one IOAS (IOMMU_IOAS_ALLOC), each device\n"
	"                    /dev/vfio/devices/vfioN bound (VFIO_DEVICE_BIND_IOMMUFD) and attached\n"
	"                    (VFIO_DEVICE_ATTACH_IOMMUFD_PT), IOMMU_IOAS_MAP/IOMMU_IOAS_UNMAP for\n"
	"                    MAP_DMA/UNMAP_DMA; same counters and model (a vfio_dma is an IOAS area,\n"
	"                    a notify iommufd_access_notify_unmap, register_* the bind + attach;\n"
	"                    the last close adds one dma_unmap(0, ULONG_MAX) per dma_unmap device,\n"
	"                    detach_unmaps_expected). With pins, --unmap range takes <= 100 maps\n"
	"                    (iommufd's limit of 100 notifies per IOMMU_IOAS_UNMAP).\n"
	"                    Needs CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV; not deadlock,\n"
	"                    slow-notify or --fds > 1\n"
	"  --past-limit      with --iommufd --unmap range and pins: 101..200 maps, no --fault-k.\n"
	"                    Each cycle's IOMMU_IOAS_UNMAP fails with EDEADLOCK after 100 areas\n"
	"                    (and a kernel WARN; counted: unmap_dma_err, unmap_edeadlock), a second\n"
	"                    one unmaps the rest (it must report (maps - 100) * map-size bytes)\n"
	"  --pci BDF         pci: the device (default: the one device bound to vfio-pci)\n"
	"  --huge-maps N     pci: hugetlbfs-backed vfio_dma per cycle (0..4096)\n"
	"  --huge-size BYTES pci: size of each, a multiple of 2M; suffixes K M G\n"
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
	"    maps, map_size, pin_pages, unmap, unpin, delay_us, fault_k, nocb, iommufd, fds, verify,\n"
	"    hold_s, page_size, iova_base},\n"
	"  totals {every container counter and every device counter, summed},\n"
	"  containers [{index, pid, status, error?, interrupted, elapsed_s, teardown_s (the closes\n"
	"    that let the container go), late_cycles, groups [N..],\n"
	"    counters {cycles, map_dma_ok, map_dma_err, bytes_mapped, unmap_dma_ok, unmap_dma_err,\n"
	"      unmap_bytes_requested, unmap_bytes_unmapped, vfio_dma_removed, vfio_dma_pinned_unmapped,\n"
	"      notifies_expected, notify_bytes_expected, retries_expected, teardowns_expected,\n"
	"      teardown_dma_expected, teardown_bytes_expected},\n"
	"    devices [{name, group, cdev (N of /dev/vfio/devices/vfioN with --iommufd, else -1),\n"
	"      dma_unmap (bool),\n"
	"      counters {device_fd_opens, device_fd_closes, register_calls_expected,\n"
	"        unregister_calls_expected, register_expected, unregister_expected, pin_ioctls, pin_ok,\n"
	"        pin_err, pin_einval, pages_pinned, unpin_ioctls, pages_unpinned_ioctl,\n"
	"        pages_unpinned_close, unpin_calls_expected, pages_unpinned_expected,\n"
	"        dma_unmap_calls_expected, dma_unmap_bytes_expected, unpinned_in_cb_expected,\n"
	"        faults_expected, knob_sets, detach_unmaps_expected},\n"
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
		case 'k':
		case 'K':
			mul = 1ULL << 10;
			end++;
			break;
		case 'm':
		case 'M':
			mul = 1ULL << 20;
			end++;
			break;
		case 'g':
		case 'G':
			mul = 1ULL << 30;
			end++;
			break;
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
	O_DEVICES = 256,
	O_CONTAINERS,
	O_ITERATIONS,
	O_DURATION,
	O_MAPS,
	O_MAP_SIZE,
	O_PIN_PAGES,
	O_THREADS,
	O_RATE,
	O_DELAY,
	O_FAULT,
	O_NOCB,
	O_JSON,
	O_HOLD,
	O_READY,
	O_GO,
	O_GO_TIMEOUT,
	O_DONE,
	O_UNMAP,
	O_UNPIN,
	O_BAD_UNMAPS,
	O_FDS,
	O_VERIFY,
	O_FIRST_DEV,
	O_NO_MODSTATS,
	O_DRIVER,
	O_LEAVE_MAPPED,
	O_NAME,
	O_UUID,
	O_IOMMUFD,
	O_PAST_LIMIT,
	O_PCI,
	O_HUGE_MAPS,
	O_HUGE_SIZE,
};

/* which options were given explicitly: scenario defaults fill in the others */
struct given {
	bool devices, containers, iterations, maps, map_size, pin_pages, threads, rate, fault_k,
		unmap_mode, fds, nocb, verify, huge_maps, huge_size;
};

void parse_args(int argc, char **argv, struct options *o)
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
		{ "iommufd", no_argument, NULL, O_IOMMUFD },
		{ "past-limit", no_argument, NULL, O_PAST_LIMIT },
		{ "pci", required_argument, NULL, O_PCI },
		{ "huge-maps", required_argument, NULL, O_HUGE_MAPS },
		{ "huge-size", required_argument, NULL, O_HUGE_SIZE },
		{ "json", required_argument, NULL, O_JSON },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "go-file", required_argument, NULL, O_GO },
		{ "go-timeout", required_argument, NULL, O_GO_TIMEOUT },
		{ "done-file", required_argument, NULL, O_DONE },
		{ "unmap", required_argument, NULL, O_UNMAP },
		{ "unpin", no_argument, NULL, O_UNPIN },
		{ "bad-unmaps", no_argument, NULL, O_BAD_UNMAPS },
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
		case O_DEVICES:
			o->devices = parse_u64("--devices", optarg, false, WL_MAX_DEVICES);
			g.devices = true;
			break;
		case O_CONTAINERS:
			o->containers = parse_u64("--containers", optarg, false, WL_MAX_CONTAINERS);
			g.containers = true;
			break;
		case O_ITERATIONS:
			o->iterations = parse_u64("--iterations", optarg, false, UINT64_MAX);
			g.iterations = true;
			break;
		case O_DURATION: o->duration = parse_secs("--duration", optarg, 86400); break;
		case O_MAPS:
			o->maps = parse_u64("--maps", optarg, false, WL_MAX_MAPS);
			g.maps = true;
			break;
		case O_MAP_SIZE:
			o->map_size = parse_u64("--map-size", optarg, true, 1ULL << 40);
			g.map_size = true;
			break;
		case O_PIN_PAGES:
			o->pin_pages = parse_u64("--pin-pages", optarg, false, 1U << 28);
			g.pin_pages = true;
			break;
		case O_THREADS:
			o->threads = parse_u64("--threads", optarg, false, WL_MAX_THREADS);
			g.threads = true;
			break;
		case O_RATE:
			o->rate = parse_u64("--rate", optarg, false, 1000000);
			g.rate = true;
			break;
		case O_DELAY: o->delay_us = parse_u64("--delay-us", optarg, false, 5000000); break;
		case O_FAULT:
			o->fault_k = parse_u64("--fault-k", optarg, false, DMATEST_FAULT_MAX);
			g.fault_k = true;
			break;
		case O_NOCB:
			o->nocb = true;
			g.nocb = true;
			break;
		case O_IOMMUFD: o->iommufd = true; break;
		case O_PAST_LIMIT: o->past_limit = true; break;
		case O_PCI: o->pci = optarg; break;
		case O_HUGE_MAPS:
			o->huge_maps = parse_u64("--huge-maps", optarg, false, 4096);
			g.huge_maps = true;
			break;
		case O_HUGE_SIZE:
			o->huge_size = parse_u64("--huge-size", optarg, true, 1ULL << 40);
			g.huge_size = true;
			break;
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
		case O_BAD_UNMAPS: o->bad_unmaps = true; break;
		case O_FDS:
			o->fds = parse_u64("--fds", optarg, false, WL_MAX_FDS);
			g.fds = true;
			break;
		case O_VERIFY:
			o->verify = true;
			g.verify = true;
			break;
		case O_FIRST_DEV:
			o->first_dev = parse_u64("--first-dev", optarg, false, 1024);
			break;
		case O_DRIVER:
			if (strcmp(optarg, "vfio_dmatest") && strcmp(optarg, "vfio_dmatest2") &&
			    strcmp(optarg, "vfio_dtnotrace"))
				usage_error("--driver: vfio_dmatest, vfio_dmatest2 or "
					    "vfio_dtnotrace, not '%s'\n",
					    optarg);
			o->driver = optarg;
			break;
		case O_LEAVE_MAPPED:
			o->leave_mapped =
				parse_u64("--leave-mapped", optarg, false, WL_MAX_LEAVE_MAPPED);
			break;
		case O_NO_MODSTATS: o->module_stats = false; break;
		case O_NAME:
		case O_UUID: break; /* only for /proc/PID/cmdline */
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
		usage_error(
			"missing SCENARIO (one of single rate storm small large multidev "
			"multicontainer threads nopin retry nocb-pin lifecycle deadlock slow-notify pci)");
	if (argc - optind > 1)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	scen = argv[optind];
	o->scenario = SC__N;
	for (int i = 0; i < SC__N; i++)
		if (!strcmp(scen, scenario_names[i]))
			o->scenario = i;
	if (o->scenario == SC__N)
		usage_error(
			"unknown scenario '%s' (single rate storm small large multidev "
			"multicontainer threads nopin retry nocb-pin lifecycle deadlock slow-notify pci)",
			scen);

		/* scenario defaults for what was not given */
#define DEF(field, val)                   \
	do {                              \
		if (!g.field)             \
			o->field = (val); \
	} while (0)
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
	case SC_RATE: DEF(rate, 50); break;
	case SC_STORM: DEF(iterations, o->duration > 0 ? 0 : 500); break;
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
	case SC_LIFECYCLE: DEF(iterations, o->duration > 0 ? 0 : 20); break;
	case SC_DEADLOCK:
	case SC_SLOW_NOTIFY:
		/* one container, two vfio_dma (threads * maps), one page pinned in each */
		DEF(threads, 2);
		DEF(devices, o->scenario == SC_DEADLOCK ? 1 : 3);
		if (!o->delay_us)
			o->delay_us = o->scenario == SC_DEADLOCK ? 200000 : 2000000;
		break;
	case SC_PCI:
		DEF(pin_pages, 0);
		DEF(maps, 4);
		DEF(huge_maps, 2);
		DEF(huge_size, 4 << 20);
		DEF(iterations, o->duration > 0 ? 0 : 10);
		break;
	default: break;
	}
#undef DEF

	/* validation: one line, exit 2 */
	if (!o->devices || !o->containers || !o->threads)
		usage_error("--devices, --containers and --threads must be >= 1");
	if (!o->maps && o->scenario != SC_LIFECYCLE)
		usage_error("--maps must be >= 1 (0 only for lifecycle)");
	if ((uint64_t)o->threads * o->maps > WL_MAX_MAPS)
		usage_error("--threads * --maps must be <= %u (type1 dma_entry_limit)",
			    WL_MAX_MAPS);
	if (!o->map_size || o->map_size % ps)
		usage_error("--map-size must be a positive multiple of the page size (%ld)", ps);
	if ((uint64_t)o->threads * o->maps * o->map_size > (1ULL << 46))
		usage_error(
			"--threads * --maps * --map-size is larger than the IOVA space used (64T)");
	if (o->pin_pages > o->map_size / ps)
		usage_error("--pin-pages %u does not fit in --map-size %llu (%llu pages)",
			    o->pin_pages, (unsigned long long)o->map_size,
			    (unsigned long long)(o->map_size / ps));
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
		usage_error(
			"--fault-k needs pins (--pin-pages >= 1) on devices with dma_unmap (no --nocb)");
	if (o->scenario == SC_LIFECYCLE && (o->threads != 1 || o->delay_us || o->fault_k))
		usage_error(
			"lifecycle runs one thread and no module knobs (--threads 1, no --delay-us/--fault-k)");
	if (o->scenario != SC_LIFECYCLE && g.fds)
		usage_error("--fds is for lifecycle only");
	if (!o->fds)
		usage_error("--fds must be >= 1");
	if (o->verify && o->threads != 1)
		usage_error("--verify needs --threads 1 (the threads share one buffer)");
	if (o->verify && !o->pin_pages)
		usage_error("--verify needs pins (--pin-pages >= 1)");
	if ((o->scenario == SC_DEADLOCK || o->scenario == SC_SLOW_NOTIFY) &&
	    (o->containers != 1 || o->threads != 2 || o->maps != 1 || o->pin_pages != 1 ||
	     o->nocb || o->fault_k || (o->scenario == SC_SLOW_NOTIFY && o->devices != 3) ||
	     (o->scenario == SC_DEADLOCK && o->devices != 1)))
		usage_error("%s takes only --delay-us, --map-size, --duration and the file options",
			    scenario_names[o->scenario]);
	if (o->iommufd && (o->scenario == SC_DEADLOCK || o->scenario == SC_SLOW_NOTIFY))
		usage_error("%s is a type1 scenario: not with --iommufd",
			    scenario_names[o->scenario]);
	if (o->iommufd && o->fds > 1)
		usage_error("--iommufd opens a device cdev once at a time: --fds 1");
	/* iopt_unmap_iova_range resets its notify count only at a gap between areas: one
	 * IOMMU_IOAS_UNMAP over contiguous pinned areas fails with -EDEADLOCK (and a WARN) after
	 * 100 notifies, a case the model does not follow (yet) */
	if (o->past_limit &&
	    (!o->iommufd || o->unmap_mode != UNMAP_RANGE || !o->pin_pages || o->unpin || o->nocb ||
	     o->fault_k || o->scenario == SC_LIFECYCLE || o->maps <= 100 || o->maps > 200))
		usage_error(
			"--past-limit needs --iommufd --unmap range, pins, no --unpin, --nocb or "
			"--fault-k, not lifecycle, and 101..200 --maps");
	if (o->iommufd && o->unmap_mode == UNMAP_RANGE && o->pin_pages && !o->unpin && !o->nocb &&
	    o->scenario != SC_LIFECYCLE && o->maps + o->fault_k > 100 && !o->past_limit)
		usage_error(
			"--iommufd --unmap range: --maps + --fault-k must be <= 100 with pins "
			"(iommufd gives up after 100 notifies in one IOMMU_IOAS_UNMAP: -EDEADLOCK)");
	if (o->bad_unmaps && (o->iommufd || o->scenario == SC_PCI))
		usage_error("--bad-unmaps is for type1 containers of the test module only");
	if (o->scenario != SC_PCI && (o->pci || g.huge_maps || g.huge_size))
		usage_error("--pci, --huge-maps and --huge-size are for the pci scenario only");
	if (o->scenario == SC_PCI &&
	    (o->devices != 1 || o->containers != 1 || o->threads != 1 || o->pin_pages ||
	     o->iommufd || o->nocb || o->fault_k || o->delay_us || o->unmap_mode != UNMAP_EACH ||
	     o->unpin || o->verify || o->rate > 0 || o->hold > 0 || o->go_file || o->ready_file ||
	     o->done_file))
		usage_error("pci takes only --pci, --maps, --map-size, --huge-maps, --huge-size, "
			    "--iterations, --duration, --leave-mapped, --json and --quiet");
	if (o->scenario == SC_PCI && (!o->huge_size || o->huge_size % (2 << 20)))
		usage_error("--huge-size must be a positive multiple of 2M");
	if (o->scenario == SC_PCI &&
	    (uint64_t)(o->maps + o->leave_mapped) * o->map_size > (1ULL << 32))
		usage_error(
			"pci: (--maps + --leave-mapped) * --map-size must be <= 4G (its IOVA window)");
	if (o->scenario == SC_PCI &&
	    (uint64_t)(o->huge_maps + (o->huge_maps ? o->leave_mapped : 0)) * o->huge_size >
		    (1ULL << 32))
		usage_error("pci: (--huge-maps + --leave-mapped) * --huge-size must be <= 4G");
	/* pci backs each vfio_dma with memory of its own; the others share one buffer */
	if (o->scenario == SC_PCI && o->leave_mapped > 4096)
		usage_error("pci: --leave-mapped must be <= 4096");
	if ((uint64_t)o->leave_mapped * o->map_size > (1ULL << 40))
		usage_error("--leave-mapped * --map-size must be <= 1T (the IOVA window)");
	if (o->first_dev + (uint64_t)o->containers * o->devices > 1024)
		usage_error("device numbers beyond 1024");
}
