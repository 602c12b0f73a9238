// SPDX-License-Identifier: GPL-2.0
/* Errors, option parsing and clocks shared by every command. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

bool vt_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return true;
bad:
	vt_err("invalid value '%s' for %s: expected a whole number from %llu to %llu", s ? s : "",
	       opt, (unsigned long long)min, (unsigned long long)max);
	return false;
}

bool vt_parse_secs(const char *opt, const char *s, double min, double max, double *secs)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
		vt_err("invalid value '%s' for %s: expected seconds from %g to %g", s, opt, min, max);
		return false;
	}
	*secs = v;
	return true;
}

bool vt_parse_interval(const char *s, double *secs)
{
	return vt_parse_secs("interval", s, 0.01, 86400, secs);
}

uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
