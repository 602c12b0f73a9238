// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: names other people choose (VM names, comm, device and driver names) on
 * their way to a terminal and into JSON (lib/escape.c). Whatever the bytes, the escaped text
 * holds no control byte (C0, DEL) and fits its buffer, and the JSON made valid is valid UTF-8
 * with no raw control byte either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "vt.h"

/* A strict UTF-8 check: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
	while (n) {
		unsigned c = s[0], len, cp, min;

		if (c < 0x80) {
			s++, n--;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (!len || len > n || c > 0xf4)
			return 0;
		cp = c & (0x7f >> len);
		for (unsigned i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += len, n -= len;
	}
	return 1;
}

static void no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char small[VT_ESC_SIZE(16)], big[VT_ESC_SIZE(256)];
	const char *src = (const char *)data;
	size_t n = size > 256 ? 256 : size;
	json_object *o;
	char *lines, *json;

	no_controls(vt_esc(small, sizeof(small), src, n < 16 ? n : 16));
	no_controls(vt_esc(big, sizeof(big), src, n));
	no_controls(vt_esc_cols(big, sizeof(big), src, n, size ? data[0] % 40 : 8));
	if (vt_esc_width(src, n) > 4 * n)
		abort();
	lines = vt_esc_lines(src, size);
	if (lines) {
		for (char *p = lines; *p; p++)
			if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
				abort();
		free(lines);
	}
	/* a name in a JSON document, serialized by json-c, then made valid */
	o = json_object_new_object();
	json_object_object_add(o, "vm", json_object_new_string_len(src, (int)n));
	json = vt_json_utf8(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (json) {
		if (!valid_utf8((const unsigned char *)json, strlen(json)))
			abort();
		no_controls(json);
		free(json);
	}
	return 0;
}
