// SPDX-License-Identifier: GPL-2.0
/*
 * Names chosen by other people (QEMU -name, comm, device and driver names) reach the admin's
 * terminal and JSON consumers: text gets them escaped the way `ls -b` / systemd-escape do,
 * JSON gets valid UTF-8. See vt.h.
 */
#include <stdlib.h>
#include <string.h>
#include "vt.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code point; 0 when s does
 * not start one (overlong forms, surrogates, beyond U+10FFFF, a cut sequence). */
static int utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	int len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points a terminal acts on or that rearrange what is shown: C0/C1 controls, DEL, the
 * line/paragraph separators and the bidi controls ("Trojan Source"). */
static bool cp_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f || c == 0x2028 ||
	       c == 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* One unit of output for the input at s: how many input bytes it takes, into out (<= 16
 * bytes, NUL-terminated), and the columns it takes. */
static size_t esc_unit(const unsigned char *s, size_t n, char *out, int *cols, bool backslash)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t c;
	int len = utf8_seq(s, n, &c);

	*cols = 1;
	if (len == 1 && c == '\\' && backslash) {
		strcpy(out, "\\\\");
		*cols = 2;
		return 1;
	}
	if (len && !cp_unsafe(c)) {
		memcpy(out, s, len);
		out[len] = 0;
		return len;
	}
	if (!len)
		len = 1; /* not UTF-8: this byte alone */
	for (int i = 0; i < len; i++) {
		out[4 * i] = '\\';
		out[4 * i + 1] = 'x';
		out[4 * i + 2] = hex[s[i] >> 4];
		out[4 * i + 3] = hex[s[i] & 15];
	}
	out[4 * len] = 0;
	*cols = 4 * len;
	return len;
}

static char *esc(char *dst, size_t size, const char *src, size_t srclen, int cols, bool backslash)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = strnlen((const char *)s, srclen), o = 0;
	int used = 0;

	if (!size)
		return dst;
	while (n) {
		char unit[20];
		int w;
		size_t k = esc_unit(s, n, unit, &w, backslash), ul = strlen(unit);

		if (o + ul >= size || (cols >= 0 && used + w > cols))
			break; /* a whole character or escape, never half of one */
		memcpy(dst + o, unit, ul);
		o += ul;
		used += w;
		s += k;
		n -= k;
	}
	while (cols >= 0 && used < cols && o + 1 < size) {
		dst[o++] = ' ';
		used++;
	}
	dst[o] = 0;
	return dst;
}

char *vt_esc_cols(char *dst, size_t size, const char *src, size_t srclen, int cols)
{
	return esc(dst, size, src, srclen, cols, true);
}

char *vt_esc(char *dst, size_t size, const char *src, size_t srclen)
{
	return esc(dst, size, src, srclen, -1, true);
}

size_t vt_esc_width(const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = strnlen((const char *)s, srclen), cols = 0;

	while (n) {
		char unit[20];
		int w;
		size_t k = esc_unit(s, n, unit, &w, true);

		cols += w;
		s += k;
		n -= k;
	}
	return cols;
}

char *vt_esc_lines(const char *src, size_t len)
{
	char *out = malloc(len * 4 + 1), *o = out;
	const char *end = src + len;

	if (!out)
		return NULL;
	while (src < end) {
		const char *nl = memchr(src, '\n', end - src);
		size_t l = nl ? (size_t)(nl - src) : (size_t)(end - src);

		/* NUL bytes inside a line: escape around them */
		while (l) {
			size_t part = strnlen(src, l);

			/* our own messages, names in them already escaped: keep '\\' */
			esc(o, part * 4 + 1, src, part, -1, false);
			o += strlen(o);
			if (part < l) {
				memcpy(o, "\\x00", 4);
				o += 4;
				part++;
			}
			src += part;
			l -= part;
		}
		if (nl) {
			*o++ = '\n';
			src = nl + 1;
		}
	}
	*o = 0;
	return out;
}

char *vt_json_utf8(const char *json)
{
	const unsigned char *s = (const unsigned char *)json;
	size_t n = strlen(json), o = 0;
	char *out = malloc(n * 6 + 1); /* worst case: every byte becomes \u00XX */

	if (!out)
		return NULL;
	while (n) {
		uint32_t c;
		int len = utf8_seq(s, n, &c);

		if (!len) {
			/* Not UTF-8 (only inside strings: json-c writes the rest as ASCII). */
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			len = 1;
		} else if (c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
			/* Valid JSON raw, but a terminal acts on them: escape, same meaning. */
			o += sprintf(out + o, "\\u%04x", c);
		} else {
			memcpy(out + o, s, len);
			o += len;
		}
		s += len;
		n -= len;
	}
	out[o] = 0;
	return out;
}
