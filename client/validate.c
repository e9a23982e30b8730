/*
 * client/validate.c: identifiers of orders and authorizations (validate.h).
 */
#include "client/validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* One label of n characters at p: LDH, 1..63, no hyphen at either end. */
static int label_valid(const char *p, size_t n)
{
	if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return 0;
	return 1;
}

int dns_name_normalize(char *d)
{
	size_t len = strlen(d);
	char *p = d, *dot;

	for (char *q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || strlen(p) > 253)
		return -1;
	for (;;) {
		dot = strchr(p, '.');
		if (!label_valid(p, dot != NULL ? (size_t)(dot - p) : strlen(p)))
			return -1;
		if (dot == NULL)
			return 0;
		p = dot + 1;
	}
}

/* The index of name in names, or -1. */
static long name_index(const char *name, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (long)i;
	return -1;
}

/* A normalised copy of a CA's dns identifier value (with "*." when wildcard),
 * or NULL when it is not a valid name. */
static char *ident_name(const struct acme_identifier *id, int wildcard)
{
	char *v;

	if (id->type == NULL || id->value == NULL || strcmp(id->type, "dns") != 0)
		return NULL;
	if ((v = xasprintf("%s%s", wildcard ? "*." : "", id->value)) == NULL)
		return NULL;
	if (dns_name_normalize(v) != 0) {
		free(v);
		return NULL;
	}
	return v;
}

int order_idents_check(const struct acme_order *o, char *const *names, size_t n,
		       const char *what)
{
	unsigned char seen[ACME_MAX_LIST] = { 0 };
	char *v = NULL;
	long i;

	if (o->n_idents != n) {
		if (what != NULL)
			log_error("%s: the order lists %zu identifiers, %zu were ordered; refusing it",
				  safe_str(what), o->n_idents, n);
		return -1;
	}
	for (size_t k = 0; k < o->n_idents; k++) {
		/* An order's identifier keeps "*." (only authorizations drop it). */
		v = ident_name(&o->idents[k], 0);
		i = v != NULL ? name_index(v, names, n) : -1;
		free(v);
		if (i < 0 || i >= ACME_MAX_LIST || seen[i]++) {
			if (what != NULL)
				log_error("%s: the order lists identifier %s %s, which was not "
					  "ordered (or twice); refusing it", safe_str(what),
					  safe_str(o->idents[k].type), safe_str(o->idents[k].value));
			return -1;
		}
	}
	return 0;
}

int authz_ident_check(const struct acme_authz *z, char *const *names, size_t n,
		      const char *url, size_t *idx)
{
	char *v = NULL;
	long i = -1;

	/* RFC 8555 §7.1.4: the value never carries "*."; "wildcard" says so. */
	if (z->ident.value != NULL && strncmp(z->ident.value, "*.", 2) != 0 &&
	    (v = ident_name(&z->ident, z->wildcard)) != NULL)
		i = name_index(v, names, n);
	free(v);
	if (i < 0) {
		log_error("%s: an authorization for %s %s%s, which was not ordered; refusing to "
			  "answer any challenge of this order", safe_str(url),
			  safe_str(z->ident.type), z->wildcard ? "*." : "", safe_str(z->ident.value));
		return -1;
	}
	*idx = (size_t)i;
	return 0;
}
