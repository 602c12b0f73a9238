// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <string.h>
#include "vt.h"
#include "cli.h"

int vt_cli_parse(int argc, char **argv, unsigned accept, const char *usage, struct vt_cli *o)
{
	static const struct option all[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "sort", required_argument, NULL, 's' },
		{ "kprobe", no_argument, NULL, 'K' },
		{ "no-hold", no_argument, NULL, 'H' },
		{ "ringbuf-pages", required_argument, NULL, 'R' },
		{ "locks", no_argument, NULL, 'L' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	if (!o->interval)
		o->interval = 1.0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jp:d:bs:h", all, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'K': o->kprobe = true; break;
		case 'H': o->no_hold = true; break;
		case 'h': fputs(usage, stdout); return VT_EXIT_OK;
		case 'p':
			if (!(accept & VT_CLI_PID))
				goto unknown;
			if (!vt_parse_u64("--pid", optarg, 1, 0x7fffffff, &v))
				return VT_EXIT_USAGE;
			o->pid = v;
			break;
		case 'd':
			if (!(accept & VT_CLI_DEVICE))
				goto unknown;
			o->device = optarg;
			break;
		case 'b':
			if (!(accept & VT_CLI_BATCH))
				goto unknown;
			o->batch = true;
			break;
		case 's':
			if (!(accept & VT_CLI_SORT))
				goto unknown;
			o->sort = optarg;
			break;
		case 'L':
			if (!(accept & VT_CLI_LOCKS))
				goto unknown;
			o->locks = true;
			break;
		case 'R':
			if (!(accept & VT_CLI_RINGBUF))
				goto unknown;
			if (!vt_parse_u64("--ringbuf-pages", optarg, 1, 65536, &v))
				return VT_EXIT_USAGE;
			if (v & (v - 1)) {
				vt_err("invalid value '%s' for --ringbuf-pages: must be a power of two",
				       optarg);
				return VT_EXIT_USAGE;
			}
			o->ringbuf_pages = v;
			break;
		case 'T':
			if (!(accept & VT_CLI_HUNG))
				goto unknown;
			if (!vt_parse_secs("--threshold", optarg, 0, 86400, &o->threshold))
				return VT_EXIT_USAGE;
			break;
		case 'O':
			if (!(accept & VT_CLI_HUNG))
				goto unknown;
			if (!vt_parse_secs("--timeout", optarg, 1, 3600, &o->timeout))
				return VT_EXIT_USAGE;
			break;
		case ':':
			vt_err("option '%s' needs a value", argv[optind - 1]);
			return VT_EXIT_USAGE;
		default:
			goto unknown;
		}
	}
	if (optind < argc && (accept & VT_CLI_INTERVAL)) {
		if (!vt_parse_interval(argv[optind++], &o->interval))
			return VT_EXIT_USAGE;
		o->have_interval = true;
		if (optind < argc) {
			if (!vt_parse_u64("count", argv[optind++], 1, UINT32_MAX, &o->count))
				return VT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vt_err("unexpected argument '%s'", argv[optind]);
		return VT_EXIT_USAGE;
	}
	return -1;
unknown:
	/* For an option this command does not take, argv[optind - 1] may be its value. */
	for (const struct option *op = all; op->name; op++)
		if (op->val == c && c != '?') {
			vt_err("option --%s does not apply to %s", op->name, vt_prog);
			return VT_EXIT_USAGE;
		}
	vt_err("unknown option '%s' (see %s --help)", argv[optind - 1], vt_prog);
	return VT_EXIT_USAGE;
}
