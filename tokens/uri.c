/*
 * RFC 7512 pkcs11: URI parsing. Our own small parser rather than p11_kit_uri_parse:
 * p11-kit silently accepts vendor and unknown attributes and keeps the last of two
 * duplicates, and we want to reject both with a message that names the attribute.
 */
#include "tokens/tokens.h"
#include "common/common.h"
#include "tokens/tok_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>
#include <openssl/crypto.h>

enum uri_part { PART_PATH, PART_QUERY };

/* Where each accepted attribute lands in struct tok_uri. */
struct uri_attr {
	const char *name;
	enum uri_part part;
	size_t off; /* offsetof the char * field; (size_t)-1 for id */
};

#define ID_FIELD ((size_t)-1)
static const struct uri_attr uri_attrs[] = {
	{ "token", PART_PATH, offsetof(struct tok_uri, token) },
	{ "manufacturer", PART_PATH, offsetof(struct tok_uri, manufacturer) },
	{ "model", PART_PATH, offsetof(struct tok_uri, model) },
	{ "serial", PART_PATH, offsetof(struct tok_uri, serial) },
	{ "object", PART_PATH, offsetof(struct tok_uri, object) },
	{ "type", PART_PATH, offsetof(struct tok_uri, type) },
	{ "id", PART_PATH, ID_FIELD },
	{ "module-path", PART_QUERY, offsetof(struct tok_uri, module_path) },
	{ "module-name", PART_QUERY, offsetof(struct tok_uri, module_name) },
	{ "pin-source", PART_QUERY, offsetof(struct tok_uri, pin_source) },
	{ "pin-value", PART_QUERY, offsetof(struct tok_uri, pin_value) },
};

/* RFC 7512 attributes that are valid but that p11acme does not use: named as such,
 * so that the message does not call them unknown. */
static const char *const uri_unsupported[] = {
	"library-manufacturer", "library-description", "library-version",
	"slot-description", "slot-manufacturer", "slot-id", NULL,
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %xx in s[0..len). Returns malloc'd bytes (NUL-terminated, *outlen without
 * it) or NULL on a malformed escape or a character no URI may hold raw. */
static unsigned char *pct_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out = malloc(len + 1);
	size_t i, n = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			out[n++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{}#", c) != NULL) {
			goto bad;
		} else {
			out[n++] = c;
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

static const struct uri_attr *uri_attr_find(const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < sizeof(uri_attrs) / sizeof(uri_attrs[0]); i++)
		if (strlen(uri_attrs[i].name) == nlen &&
		    memcmp(uri_attrs[i].name, name, nlen) == 0)
			return &uri_attrs[i];
	return NULL;
}

static int uri_unsupported_name(const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; uri_unsupported[i] != NULL; i++)
		if (strlen(uri_unsupported[i]) == nlen &&
		    memcmp(uri_unsupported[i], name, nlen) == 0)
			return 1;
	return 0;
}

static int uri_type_valid(const char *t)
{
	static const char *const types[] = { "private", "public", "cert", "secret-key", "data", NULL };
	size_t i;

	for (i = 0; types[i] != NULL; i++)
		if (strcmp(t, types[i]) == 0)
			return 1;
	return 0;
}

static int uri_is_token_attr(const struct uri_attr *a)
{
	return a->off == offsetof(struct tok_uri, token) ||
	       a->off == offsetof(struct tok_uri, manufacturer) ||
	       a->off == offsetof(struct tok_uri, model) || a->off == offsetof(struct tok_uri, serial);
}

/* Store one decoded value; the checks here are what a name alone cannot tell. */
static int uri_store(struct tok_uri *u, const struct uri_attr *a, unsigned char *val,
		     size_t vlen, char *err, size_t errlen)
{
	char **slot = NULL;

	if (a->off == ID_FIELD) {
		if (u->id != NULL)
			goto dup;
		u->id = val;
		u->id_len = vlen;
		return TOK_OK;
	}
	slot = (char **)((char *)u + a->off);
	if (*slot != NULL)
		goto dup;
	/* Token fields are fixed-width and padded; some modules pad with NULs, which
	 * p11tool then prints as %00 (tpm2-pkcs11's model). Compare without the padding. */
	if (uri_is_token_attr(a))
		while (vlen > 0 && (val[vlen - 1] == '\0' || val[vlen - 1] == ' '))
			val[--vlen] = '\0';
	if (memchr(val, '\0', vlen) != NULL) {
		snprintf(err, errlen, "attribute '%s' contains %%00", a->name);
		goto bad;
	}
	if (a->off == offsetof(struct tok_uri, type) && !uri_type_valid((char *)val)) {
		snprintf(err, errlen, "attribute 'type' has an unknown value '%s' "
			 "(use private, public, cert, secret-key or data)", (char *)val);
		goto bad;
	}
	*slot = (char *)val;
	return TOK_OK;
dup:
	snprintf(err, errlen, "attribute '%s' appears twice", a->name);
bad:
	free(val);
	return TOK_ERR_CONFIG;
}

/* Parse one "name=value" of length len in the given part of the URI. */
static int uri_attr_parse(struct tok_uri *u, const char *s, size_t len, enum uri_part part,
			  char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	const struct uri_attr *a = NULL;
	unsigned char *val = NULL;
	size_t nlen, vlen = 0;

	if (eq == NULL || eq == s) {
		snprintf(err, errlen, "malformed attribute '%.*s' (expected name=value)", (int)len, s);
		return TOK_ERR_CONFIG;
	}
	nlen = (size_t)(eq - s);
	a = uri_attr_find(s, nlen);
	if (a == NULL && uri_unsupported_name(s, nlen)) {
		snprintf(err, errlen, "attribute '%.*s' is not supported", (int)nlen, s);
		return TOK_ERR_CONFIG;
	}
	if (a == NULL) {
		snprintf(err, errlen, "unknown attribute '%.*s'", (int)nlen, s);
		return TOK_ERR_CONFIG;
	}
	if (a->part != part) {
		snprintf(err, errlen, "attribute '%s' belongs in the %s part of the URI",
			 a->name, a->part == PART_PATH ? "path (before '?')" : "query (after '?')");
		return TOK_ERR_CONFIG;
	}
	if (eq + 1 == s + len) {
		snprintf(err, errlen, "attribute '%s' has an empty value", a->name);
		return TOK_ERR_CONFIG;
	}
	val = pct_decode(eq + 1, (size_t)(s + len - eq - 1), &vlen);
	if (val == NULL) {
		/* never echo a PIN into a log */
		int show = strcmp(a->name, "pin-value") != 0;
		snprintf(err, errlen, "attribute '%s' has a malformed value '%.*s' "
			 "(bad %%xx escape or a character that must be %%-encoded)",
			 a->name, show ? (int)(s + len - eq - 1) : 3, show ? eq + 1 : "...");
		return TOK_ERR_CONFIG;
	}
	return uri_store(u, a, val, vlen, err, errlen);
}

/* Split [s, end) on sep and parse each attribute. Empty pieces are malformed. */
static int uri_part_parse(struct tok_uri *u, const char *s, const char *end, int sep,
			  enum uri_part part, char *err, size_t errlen)
{
	while (s < end) {
		const char *next = memchr(s, sep, (size_t)(end - s));
		size_t len = next != NULL ? (size_t)(next - s) : (size_t)(end - s);
		int rc;

		if (len == 0) {
			snprintf(err, errlen, "empty attribute (doubled or trailing '%c')", sep);
			return TOK_ERR_CONFIG;
		}
		rc = uri_attr_parse(u, s, len, part, err, errlen);
		if (rc != TOK_OK)
			return rc;
		if (next == NULL)
			break;
		s = next + 1;
		if (s == end) {
			snprintf(err, errlen, "empty attribute (doubled or trailing '%c')", sep);
			return TOK_ERR_CONFIG;
		}
	}
	return TOK_OK;
}

int tok_uri_parse(const char *s, struct tok_uri *out, char *err, size_t errlen)
{
	const char *path = NULL, *q = NULL, *end = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (errlen > 0)
		err[0] = '\0';
	if (s == NULL || strncasecmp(s, "pkcs11:", 7) != 0) {
		snprintf(err, errlen, "not a PKCS#11 URI (must start with 'pkcs11:')");
		return TOK_ERR_CONFIG;
	}
	path = s + 7;
	end = s + strlen(s);
	q = strchr(path, '?');
	rc = uri_part_parse(out, path, q != NULL ? q : end, ';', PART_PATH, err, errlen);
	if (rc == TOK_OK && q != NULL) {
		if (q + 1 == end) {
			snprintf(err, errlen, "empty query after '?'");
			rc = TOK_ERR_CONFIG;
		} else {
			rc = uri_part_parse(out, q + 1, end, '&', PART_QUERY, err, errlen);
		}
	}
	if (rc == TOK_OK && out->module_path != NULL && out->module_name != NULL) {
		snprintf(err, errlen, "give either module-path or module-name, not both");
		rc = TOK_ERR_CONFIG;
	}
	if (rc != TOK_OK)
		tok_uri_free(out);
	return rc;
}

void tok_uri_free(struct tok_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->model);
	free(u->serial);
	free(u->object);
	free(u->id);
	free(u->type);
	free(u->module_path);
	free(u->module_name);
	free(u->pin_source);
	if (u->pin_value != NULL)
		secret_free(u->pin_value);
	memset(u, 0, sizeof(*u));
}
