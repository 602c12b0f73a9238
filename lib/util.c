// SPDX-License-Identifier: GPL-2.0
/* Errors, option parsing, clocks, stopping and stdout checks shared by every command. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "vt.h"

int vt_verbose;
const char *vt_prog = "vfio-trace";

static void vt_vmsg(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", vt_prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vmsg("", fmt, ap);
	va_end(ap);
}

void vt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void vt_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!vt_verbose)
		return;
	va_start(ap, fmt);
	vt_vmsg("debug: ", fmt, ap);
	va_end(ap);
}

/* Only decimal digits, with one '.' between digits when frac: strtoull and strtod would
 * also take leading blanks, a sign (" -1" is 2^64 - 1), hex (0x10), exponents, inf, nan. */
static bool plain_number(const char *s, bool frac)
{
	const char *p = s;
	bool dot = false;

	if (!s || !*s)
		return false;
	for (; *p; p++) {
		if (*p == '.' && frac && !dot && p != s && p[1]) {
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return false;
	}
	return true;
}

bool vt_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end, shown[VT_ESC_SIZE(64)];
	unsigned long long v;

	errno = 0;
	if (!plain_number(s, false))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return true;
bad:
	vt_err("invalid value '%s' for %s: expected a whole number from %llu to %llu",
	       vt_esc(shown, sizeof(shown), s, 64), opt, (unsigned long long)min,
	       (unsigned long long)max);
	return false;
}

bool vt_parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMG";
	char num[32], *u, shown[VT_ESC_SIZE(64)];
	size_t n = strlen(s);
	int shift = 0;

	snprintf(num, sizeof(num), "%s", s);
	u = n && n < sizeof(num) && (num[n - 1] & ~0x20) ? strchr(units, num[n - 1] & ~0x20) : NULL;
	if (u) {
		shift = 10 * (int)(u - units + 1);
		num[n - 1] = 0;
	}
	if (n < sizeof(num) && plain_number(num, false)) {
		unsigned long long v;
		char *end;

		errno = 0;
		v = strtoull(num, &end, 10);
		if (!errno && !*end && v <= (max >> shift) && (v << shift) >= min) {
			*out = v << shift;
			return true;
		}
	}
	vt_err("invalid value '%s' for %s: expected bytes (K, M, G: KiB, MiB, GiB) from %llu "
	       "to %llu",
	       vt_esc(shown, sizeof(shown), s, 64), opt, (unsigned long long)min,
	       (unsigned long long)max);
	return false;
}

bool vt_parse_secs(const char *opt, const char *s, double min, double max, double *secs)
{
	char *end, shown[VT_ESC_SIZE(64)];
	double v = 0;

	errno = 0;
	end = NULL;
	if (plain_number(s, true))
		v = strtod(s, &end);
	if (!end || errno || *end || !isfinite(v) || v < min || v > max) {
		vt_err("invalid value '%s' for %s: expected seconds from %g to %g (digits, a '.')",
		       vt_esc(shown, sizeof(shown), s, 64), opt, min, max);
		return false;
	}
	*secs = v;
	return true;
}

bool vt_parse_interval(const char *s, double *secs)
{
	return vt_parse_secs("interval", s, 0.01, 86400, secs);
}

void vt_malloc_tune(void)
{
	/* Every interval allocates snapshots of 1.3 KiB a row (2.7 MiB at 2,048 rows) and frees
	 * them: above glibc's default mmap threshold each is a fresh mmap whose pages fault in
	 * again, and each free gives the heap back. Kept in the heap instead, an interval of top at
	 * 256 containers costs ~25-35 % less CPU (bench/top-interval); the peak RSS is the same. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

volatile int vt_stop;
volatile uint64_t vt_stop_ns;
static int out_errno;

static void on_signal(int sig)
{
	if (vt_stop) {
		/* The second one: now, whatever the command is doing; die of it (a shell sees
		 * 128 + sig, and stops a script on SIGINT), so unblock it inside its handler. */
		sigset_t set;

		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	vt_stop_ns = vt_now_ns(); /* clock_gettime is async-signal-safe */
	vt_stop = VT_STOP_SIGNAL;
}

void vt_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool vt_out_check(void)
{
	int err;

	if (out_errno || vt_stop == VT_STOP_OUTPUT)
		return false;
	errno = 0;
	if (fflush(stdout) != EOF && !ferror(stdout))
		return true;
	err = errno ? errno : EIO;
	if (err != EPIPE) {
		out_errno = err;
		vt_err("cannot write the output: %s", strerror(err));
	}
	if (!vt_stop_ns)
		vt_stop_ns = vt_now_ns();
	vt_stop = VT_STOP_OUTPUT;
	return false;
}

bool vt_out_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO };

	if (vt_stop == VT_STOP_OUTPUT)
		return true;
	/* A pipe whose reader exited polls POLLERR (a tty hung up: POLLHUP) before any write. */
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) {
		if (!vt_stop_ns)
			vt_stop_ns = vt_now_ns();
		vt_stop = VT_STOP_OUTPUT;
		return true;
	}
	return false;
}

int vt_exit_code(int rc)
{
	if (!out_errno && vt_stop != VT_STOP_OUTPUT)
		vt_out_check();
	return out_errno ? VT_EXIT_FAIL : rc;
}
