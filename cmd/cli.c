// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <string.h>
#include "vt.h"
#include "cli.h"
#include "record.h"
#include "storm.h"

/* -p 1,2 and -p 1 -p 2 alike. */
static bool parse_pids(const char *arg, struct vt_filter *f)
{
	char tok[32], shown[VT_ESC_SIZE(64)];
	const char *p = arg;
	uint64_t v;

	for (;;) {
		size_t l = strcspn(p, ",");

		if (l >= sizeof(tok) || !l) {
			vt_err("invalid value '%s' for --pid: expected PID[,PID...]",
			       vt_esc(shown, sizeof(shown), arg, 64));
			return false;
		}
		memcpy(tok, p, l);
		tok[l] = 0;
		if (!vt_parse_u64("--pid", tok, 1, 0x7fffffff, &v))
			return false;
		if (f->npids == VT_MAX_PIDS) {
			vt_err("too many PIDs for --pid (at most %d)", VT_MAX_PIDS);
			return false;
		}
		f->pids[f->npids++] = v;
		if (!p[l])
			return true;
		p += l + 1;
	}
}

/* A name to match (-d, --vm): not empty, not longer than any name can be. */
static bool parse_name(const char *opt, const char *arg, const char **out)
{
	char shown[VT_ESC_SIZE(64)];
	size_t l = strlen(arg);

	if (!l || l > VT_MAX_NAME) {
		vt_err("invalid value '%s%s' for %s: expected a name of 1 to %d bytes",
		       vt_esc(shown, sizeof(shown), arg, 64), l > 64 ? "..." : "", opt,
		       VT_MAX_NAME);
		return false;
	}
	*out = arg;
	return true;
}

/* --backend bpf|ftrace|auto (lib/trace.h enum vt_backend_kind, in the same order). */
static bool parse_backend(const char *arg, int *out)
{
	static const char *const names[] = { "bpf", "ftrace", "auto" };
	char shown[VT_ESC_SIZE(64)];

	for (int i = 0; i < 3; i++)
		if (!strcmp(arg, names[i])) {
			*out = i;
			return true;
		}
	vt_err("invalid value '%s' for --backend: expected bpf, ftrace or auto",
	       vt_esc(shown, sizeof(shown), arg, 64));
	return false;
}

/* Long options without a short one. */
enum { OPT_STORM_RATE = 256, OPT_STORM_BYTES, OPT_STORM_P99, OPT_NO_STORM, OPT_SYSLOG, OPT_PHASES };

/* An option whose value is seconds: the spec bit that takes it, its range, its field. */
struct secs_opt {
	int c;
	unsigned accept;
	const char *name;
	double min, max;
	double *field;
};

int vt_cli_parse(int argc, char **argv, unsigned accept, const char *usage, struct vt_cli *o)
{
	static const struct option all[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "sort", required_argument, NULL, 's' },
		{ "kprobe", no_argument, NULL, 'K' },
		{ "backend", required_argument, NULL, 'B' },
		{ "btf", required_argument, NULL, 'Y' },
		{ "no-hold", no_argument, NULL, 'H' },
		{ "ringbuf-pages", required_argument, NULL, 'R' },
		{ "locks", no_argument, NULL, 'L' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "vm", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'D' },
		{ "max-size", required_argument, NULL, 'z' },
		{ "interval", required_argument, NULL, 'I' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'U' },
		{ "chrome-trace", required_argument, NULL, 'C' },
		{ "heatmap", required_argument, NULL, 'G' },
		{ "listen", required_argument, NULL, 'l' },
		{ "textfile", required_argument, NULL, 't' },
		{ "forget", required_argument, NULL, 'f' },
		{ "max-series", required_argument, NULL, 'm' },
		{ "health", required_argument, NULL, 'a' },
		{ "detail", no_argument, NULL, 'e' },
		{ "pin-modules", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "storm-rate", required_argument, NULL, OPT_STORM_RATE },
		{ "storm-bytes", required_argument, NULL, OPT_STORM_BYTES },
		{ "storm-p99", required_argument, NULL, OPT_STORM_P99 },
		{ "no-storm", no_argument, NULL, OPT_NO_STORM },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "phases", no_argument, NULL, OPT_PHASES },
		{ 0 },
	};
	const struct secs_opt secs_opts[] = {
		{ 'T', VT_CLI_HUNG, "--threshold", 0, 86400, &o->threshold },
		{ 'O', VT_CLI_HUNG, "--timeout", 1, 3600, &o->timeout },
		{ 'D', VT_CLI_RECORD, "--duration", 0.01, 31536000, &o->duration },
		{ 'I', VT_CLI_RECORD, "--interval", 0.01, 86400, &o->interval },
		{ 'F', VT_CLI_WINDOW, "--from", 0, 31536000, &o->from },
		{ 'U', VT_CLI_WINDOW, "--to", 0, 31536000, &o->to },
		{ 'I', VT_CLI_EXPORT, "--interval", 0.1, 3600, &o->interval },
		{ 'f', VT_CLI_EXPORT, "--forget", 0, 86400 * 30, &o->forget },
		{ 'a', VT_CLI_EXPORT, "--health", 0, 86400, &o->health },
	};
	const struct secs_opt *so, *secs_end = secs_opts + sizeof(secs_opts) / sizeof(secs_opts[0]);
	char shown[VT_ESC_SIZE(64)];
	uint64_t v;
	int c;

	if (!o->interval)
		o->interval = 1.0;
	if (!o->storm.window)
		vt_storm_cfg_default(&o->storm);
	optind = 0; /* glibc: a full restart, even after a parse that stopped mid-cluster */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jp:d:bs:hvo:", all, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'K': o->kprobe = true; break;
		case 'B':
			/* the tracing commands' (report reads a file; hung has its own probe) */
			if (accept & (VT_CLI_WINDOW | VT_CLI_HUNG))
				goto unknown;
			if (!parse_backend(optarg, &o->backend))
				return VT_EXIT_USAGE;
			break;
		case 'Y':
			if (accept & (VT_CLI_WINDOW | VT_CLI_HUNG))
				goto unknown;
			/* read now: a bad file is a usage error before anything attaches */
			if (vt_btf_file_check(optarg))
				return VT_EXIT_USAGE;
			o->btf_path = optarg;
			break;
		case 'H': o->no_hold = true; break;
		case 'v': vt_verbose++; break;
		case 'h': fputs(usage, stdout); return VT_EXIT_OK;
		case 'p':
			if (!(accept & VT_CLI_PID))
				goto unknown;
			if (!parse_pids(optarg, &o->filter))
				return VT_EXIT_USAGE;
			break;
		case 'M':
			if (!(accept & VT_CLI_PID))
				goto unknown;
			if (!parse_name("--vm", optarg, &o->filter.vm))
				return VT_EXIT_USAGE;
			break;
		case 'd':
			if (!(accept & VT_CLI_DEVICE))
				goto unknown;
			if (!parse_name("--device", optarg, &o->filter.device))
				return VT_EXIT_USAGE;
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
		case 'O':
		case 'D':
		case 'I':
		case 'F':
		case 'U':
		case 'f':
		case 'a':
			/* the entry of this option for a command that takes it (--interval: record's
			 * and export's ranges differ) */
			for (so = secs_opts;
			     so < secs_end && (so->c != c || !(accept & so->accept)); so++)
				;
			if (so == secs_end)
				goto unknown;
			if (!vt_parse_secs(so->name, optarg, so->min, so->max, so->field))
				return VT_EXIT_USAGE;
			o->have_from |= c == 'F';
			o->have_to |= c == 'U';
			o->have_interval |= c == 'I';
			break;
		case 'l':
		case 't':
		case 'm':
		case 'e':
		case 'P':
			if (!(accept & VT_CLI_EXPORT))
				goto unknown;
			if (c == 'm' &&
			    !vt_parse_u64("--max-series", optarg, 1, 10000000, &o->max_series))
				return VT_EXIT_USAGE;
			o->listen = c == 'l' ? optarg : o->listen;
			o->textfile = c == 't' ? optarg : o->textfile;
			o->detail |= c == 'e';
			o->pin_modules |= c == 'P';
			break;
		case 'C':
		case 'G':
			if (!(accept & VT_CLI_WINDOW))
				goto unknown;
			*(c == 'C' ? &o->chrome_trace : &o->heatmap) = optarg;
			break;
		case OPT_STORM_RATE:
		case OPT_STORM_BYTES:
		case OPT_STORM_P99:
		case OPT_NO_STORM:
			if (!(accept & VT_CLI_STORM))
				goto unknown;
			if (c == OPT_STORM_RATE &&
			    !vt_parse_u64("--storm-rate", optarg, 0, 1000000000, &v))
				return VT_EXIT_USAGE;
			if (c == OPT_STORM_RATE)
				o->storm.rate = v;
			if (c == OPT_STORM_BYTES &&
			    !vt_parse_size("--storm-bytes", optarg, 0, 1ull << 50, &o->storm.bytes))
				return VT_EXIT_USAGE;
			if (c == OPT_STORM_P99 &&
			    !vt_parse_u64("--storm-p99", optarg, 0, 1000000000, &v))
				return VT_EXIT_USAGE;
			if (c == OPT_STORM_P99)
				o->storm.p99_ns = v * 1000;
			o->storm.off |= c == OPT_NO_STORM;
			o->storm_given |= c != OPT_NO_STORM;
			break;
		case OPT_SYSLOG:
			if (!(accept & VT_CLI_SYSLOG))
				goto unknown;
			o->syslog = true;
			break;
		case OPT_PHASES:
			if (!(accept & VT_CLI_PHASES))
				goto unknown;
			o->phases = true;
			break;
		case 'o':
			if (!(accept & VT_CLI_RECORD))
				goto unknown;
			o->output = optarg;
			break;
		case 'z':
			if (!(accept & VT_CLI_RECORD))
				goto unknown;
			if (!vt_parse_size("--max-size", optarg, VT_REC_MIN_SIZE, 1ull << 50,
					   &o->max_size))
				return VT_EXIT_USAGE;
			break;
		case ':':
			/* a short option, maybe at the end of a cluster (-jp); getopt sets optopt for
			 * a long one too (its value) */
			if (optopt && strncmp(argv[optind - 1], "--", 2))
				vt_err("option '-%c' needs a value", optopt);
			else
				vt_err("option '%s' needs a value",
				       vt_esc(shown, sizeof(shown), argv[optind - 1], 64));
			return VT_EXIT_USAGE;
		default: goto unknown;
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
	if (accept & VT_CLI_WINDOW) {
		o->args = argv + optind;
		o->nargs = argc - optind;
		return -1;
	}
	if (optind < argc) {
		vt_err("unexpected argument '%s'", vt_esc(shown, sizeof(shown), argv[optind], 64));
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
	/* An unknown short option inside a cluster (-zj): optind has not moved past it yet,
	 * so argv[optind - 1] is not where it is; getopt names it in optopt. */
	if (optopt) {
		char ch = optopt;

		vt_err("unknown option '-%s' (see %s --help)", vt_esc(shown, sizeof(shown), &ch, 1),
		       vt_prog);
	} else {
		vt_err("unknown option '%s' (see %s --help)",
		       vt_esc(shown, sizeof(shown), argv[optind - 1], 64), vt_prog);
	}
	return VT_EXIT_USAGE;
}
