#include "common/common.h"

#include <stdlib.h>
#include <string.h>

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *encode(const unsigned char *in, size_t len, const char *alpha, int pad)
{
	size_t outlen = 4 * ((len + 2) / 3) + 1, i, o = 0;
	char *out;

	if (len > ((size_t)-1) / 2)
		return NULL;
	out = malloc(outlen);
	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

char *b64url_encode(const unsigned char *data, size_t len)
{
	return encode(data, len, b64url_alphabet, 0);
}

char *b64_encode(const unsigned char *data, size_t len)
{
	return encode(data, len, b64_alphabet, 1);
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

unsigned char *b64url_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s), i, o = 0;
	unsigned acc = 0;
	int bits = 0;
	unsigned char *out;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return NULL;
	out = malloc(len * 3 / 4 + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		int v = b64url_value(s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

int b64url_valid(const char *s, size_t maxlen)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= maxlen || b64url_value(s[i]) < 0)
			return 0;
	return 1;
}

unsigned char *b64any_decode(const char *s, size_t *outlen)
{
	char *t = strdup(s);
	unsigned char *out = NULL;

	if (t == NULL)
		return NULL;
	/* The two alphabets differ only in these two characters. */
	for (char *p = t; *p != '\0'; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	out = b64url_decode(t, outlen);
	secret_free(t);   /* an HMAC key, usually */
	return out;
}
