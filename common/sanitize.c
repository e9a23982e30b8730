/*
 * common/sanitize.c: the one sanitiser for text that came from outside (a CA's
 * problem details, URLs, identifiers) before it reaches a terminal, a log or the
 * journal (common.h). A hostile CA can otherwise retitle or clear a terminal with
 * escape sequences, forge log lines with newlines, or flood the log with a
 * 900 KB detail.
 */
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAFE_RING 8

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when s does not
 * start one. C1 controls (U+0080..U+009F: 8-bit CSI and friends) count as invalid,
 * because terminals act on them too. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;    /* no UTF-16 surrogates */
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;    /* nothing above U+10FFFF */
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	if (c == 0xC2 && s[1] <= 0x9F)
		return 0;     /* C1 control */
	return need;
}

/* Append what stands for the byte or sequence at s; returns the input bytes used. */
static size_t escape_one(const unsigned char *s, size_t n, char *out, size_t *o)
{
	static const char hex[] = "0123456789abcdef";
	size_t u;

	if (s[0] >= 0x20 && s[0] < 0x7F) {
		out[(*o)++] = (char)s[0];
		return 1;
	}
	if (s[0] >= 0x80 && (u = utf8_len(s, n)) > 0) {
		memcpy(out + *o, s, u);
		*o += u;
		return u;
	}
	out[(*o)++] = '\\';
	switch (s[0]) {
	case '\n': out[(*o)++] = 'n'; break;
	case '\r': out[(*o)++] = 'r'; break;
	case '\t': out[(*o)++] = 't'; break;
	default:
		out[(*o)++] = 'x';
		out[(*o)++] = hex[s[0] >> 4];
		out[(*o)++] = hex[s[0] & 15];
	}
	return 1;
}

size_t sanitize_into(char *out, size_t outlen, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	if (outlen == 0)
		return 0;
	if (s == NULL) {
		snprintf(out, outlen, "(none)");
		return strlen(out);
	}
	/* Each input byte takes at most 4 output bytes; keep room for the cut note. */
	while (i < len && i < max && o + 4 + SANITIZE_NOTE_MAX < outlen) {
		size_t u = p[i] >= 0x80 ? utf8_len(p + i, len - i) : 0;

		if (u > 0 && i + u > max)
			break;    /* never cut a character in two */
		i += escape_one(p + i, len - i, out, &o);
	}
	out[o] = '\0';
	if (i < len)
		snprintf(out + o, outlen - o, "...(%zu bytes cut)", len - i);
	return strlen(out);
}

char *sanitize_dup(const char *s, size_t len, size_t max)
{
	size_t cap = (len < max ? len : max) * 4 + SANITIZE_NOTE_MAX + 8;
	char *out = malloc(cap);

	if (out != NULL)
		sanitize_into(out, cap, s, len, max);
	return out;
}

const char *safe_str(const char *s)
{
	static _Thread_local char ring[SAFE_RING][SANITIZE_FIELD_MAX * 4 + SANITIZE_NOTE_MAX + 8];
	static _Thread_local unsigned next;
	char *out = ring[next++ % SAFE_RING];

	sanitize_into(out, sizeof(ring[0]), s, s != NULL ? strlen(s) : 0, SANITIZE_FIELD_MAX);
	return out;
}

int text_is_safe(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t u;

	for (size_t i = 0; i < len; i += u) {
		u = 1;
		if (p[i] == '\n' || (p[i] >= 0x20 && p[i] < 0x7F))
			continue;
		if (p[i] < 0x80 || (u = utf8_len(p + i, len - i)) == 0)
			return 0;
	}
	return 1;
}
