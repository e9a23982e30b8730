/*
 * client/parse.c: parsers for ACME documents and HTTP headers (see parse.h).
 * Everything here treats its input as hostile: lengths are bounded, types are
 * checked, and a missing required member fails the whole document.
 */
#include "client/parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "common/common.h"

/* cJSON keeps a decoded "\u0000" inside a C string, which would silently cut it
 * (a token "abc\u0000/../x" would read as "abc"). No ACME document needs one, and
 * a raw NUL is not JSON: refuse the whole document instead. */
static cJSON *json_parse(const char *buf, size_t len)
{
	if (buf == NULL || memchr(buf, '\0', len) != NULL || memmem(buf, len, "\\u0000", 6) != NULL)
		return NULL;
	return cJSON_ParseWithLength(buf, len);
}

const char *acme_parse_why(const char *buf, size_t len)
{
	if (buf != NULL && (memchr(buf, '\0', len) != NULL || memmem(buf, len, "\\u0000", 6) != NULL))
		return "a NUL character (\\u0000) in a string, e.g. in a challenge token; refused";
	return "not valid JSON, or a required member is missing or of the wrong type";
}

/* A string member, copied; NULL when absent or not a string. */
static char *jstr(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return NULL;
	return strdup(v->valuestring);
}

/* An array of strings, copied; 0 when absent, -1 when malformed or too long. */
static int jstrarray(const cJSON *obj, const char *name, char ***out, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *it;
	size_t i = 0;
	int cnt;

	*out = NULL;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return -1;
	cnt = cJSON_GetArraySize(arr);
	if (cnt > ACME_MAX_LIST)
		return -1;
	if (cnt == 0)
		return 0;
	*out = calloc((size_t)cnt, sizeof(char *));
	if (*out == NULL)
		return -1;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || it->valuestring == NULL || i >= (size_t)cnt)
			return -1;
		if (((*out)[i] = strdup(it->valuestring)) == NULL)
			return -1;
		*n = ++i;
	}
	return 0;
}

static void strarray_free(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

static int ident_parse(const cJSON *obj, struct acme_identifier *out)
{
	if (!cJSON_IsObject(obj))
		return -1;
	out->type = jstr(obj, "type");
	out->value = jstr(obj, "value");
	return out->type != NULL && out->value != NULL ? 0 : -1;
}

static void ident_free(struct acme_identifier *id)
{
	free(id->type);
	free(id->value);
	id->type = id->value = NULL;
}

/* ---- directory ---- */

int acme_directory_parse(const char *buf, size_t len, struct acme_directory *out)
{
	cJSON *root = NULL, *meta, *v, *it;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_parse(buf, len);
	if (!cJSON_IsObject(root))
		goto out;
	out->new_nonce = jstr(root, "newNonce");
	out->new_account = jstr(root, "newAccount");
	out->new_order = jstr(root, "newOrder");
	out->revoke_cert = jstr(root, "revokeCert");
	out->key_change = jstr(root, "keyChange");
	out->renewal_info = jstr(root, "renewalInfo");
	meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
	if (cJSON_IsObject(meta)) {
		out->terms_of_service = jstr(meta, "termsOfService");
		v = cJSON_GetObjectItemCaseSensitive(meta, "externalAccountRequired");
		out->eab_required = cJSON_IsTrue(v);
		v = cJSON_GetObjectItemCaseSensitive(meta, "profiles");
		if (cJSON_IsObject(v) && cJSON_GetArraySize(v) <= ACME_MAX_LIST &&
		    cJSON_GetArraySize(v) > 0) {
			out->profiles = calloc((size_t)cJSON_GetArraySize(v), sizeof(char *));
			if (out->profiles == NULL)
				goto out;
			cJSON_ArrayForEach(it, v) {
				if (it->string == NULL ||
				    (out->profiles[out->n_profiles] = strdup(it->string)) == NULL)
					goto out;
				out->n_profiles++;
			}
		}
	}
	/* newNonce, newAccount and newOrder are what every run needs. */
	if (out->new_nonce == NULL || out->new_account == NULL || out->new_order == NULL)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		acme_directory_free(out);
	return rc;
}

void acme_directory_free(struct acme_directory *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	strarray_free(d->profiles, d->n_profiles);
	memset(d, 0, sizeof(*d));
}

/* ---- problem ---- */

static int problem_from_json(const cJSON *obj, struct acme_problem *out, int depth)
{
	const cJSON *v, *it;
	int cnt;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return -1;
	out->type = jstr(obj, "type");
	out->detail = jstr(obj, "detail");
	v = cJSON_GetObjectItemCaseSensitive(obj, "status");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1000)
		out->status = v->valueint;
	v = cJSON_GetObjectItemCaseSensitive(obj, "identifier");
	if (v != NULL && ident_parse(v, &out->ident) != 0)
		ident_free(&out->ident);
	v = cJSON_GetObjectItemCaseSensitive(obj, "subproblems");
	/* Subproblems do not nest in RFC 8555; one level is all we follow. */
	if (depth == 0 && cJSON_IsArray(v)) {
		cnt = cJSON_GetArraySize(v);
		if (cnt > ACME_MAX_SUBPROBLEMS)
			cnt = ACME_MAX_SUBPROBLEMS;
		if (cnt > 0 && (out->sub = calloc((size_t)cnt, sizeof(*out->sub))) == NULL)
			return -1;
		cJSON_ArrayForEach(it, v) {
			if (out->n_sub >= (size_t)cnt)
				break;
			if (problem_from_json(it, &out->sub[out->n_sub], 1) != 0) {
				acme_problem_free(&out->sub[out->n_sub]);
				continue;
			}
			out->n_sub++;
		}
	}
	return 0;
}

int acme_problem_parse(const char *buf, size_t len, struct acme_problem *out)
{
	cJSON *root = json_parse(buf, len);
	int rc;

	rc = problem_from_json(root, out, 0);
	cJSON_Delete(root);
	if (rc != 0)
		acme_problem_free(out);
	return rc;
}

void acme_problem_free(struct acme_problem *p)
{
	if (p == NULL)
		return;
	free(p->type);
	free(p->detail);
	ident_free(&p->ident);
	for (size_t i = 0; i < p->n_sub; i++)
		acme_problem_free(&p->sub[i]);
	free(p->sub);
	memset(p, 0, sizeof(*p));
}

int acme_problem_is(const struct acme_problem *p, const char *name)
{
	static const char prefix[] = "urn:ietf:params:acme:error:";

	if (p == NULL || p->type == NULL)
		return 0;
	if (strncmp(p->type, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	return strcmp(p->type + sizeof(prefix) - 1, name) == 0;
}

/* An optional "error" member as a heap problem; NULL when absent. */
static int error_member(const cJSON *obj, struct acme_problem **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "error");

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return -1;
	return problem_from_json(v, *out, 0);
}

static void error_free(struct acme_problem **p)
{
	acme_problem_free(*p);
	free(*p);
	*p = NULL;
}

/* ---- account ---- */

int acme_account_parse(const char *buf, size_t len, struct acme_account *out)
{
	cJSON *root = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_parse(buf, len);
	if (!cJSON_IsObject(root))
		goto out;
	out->status = jstr(root, "status");
	out->state = acme_status_of(out->status);
	out->orders = jstr(root, "orders");
	if (out->status == NULL ||
	    jstrarray(root, "contact", &out->contacts, &out->n_contacts) != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		acme_account_free(out);
	return rc;
}

void acme_account_free(struct acme_account *a)
{
	free(a->status);
	free(a->orders);
	strarray_free(a->contacts, a->n_contacts);
	memset(a, 0, sizeof(*a));
}

/* ---- status ---- */

enum acme_status acme_status_of(const char *s)
{
	static const char *const names[] = {
		[ACME_ST_PENDING] = "pending", [ACME_ST_READY] = "ready",
		[ACME_ST_PROCESSING] = "processing", [ACME_ST_VALID] = "valid",
		[ACME_ST_INVALID] = "invalid", [ACME_ST_DEACTIVATED] = "deactivated",
		[ACME_ST_EXPIRED] = "expired", [ACME_ST_REVOKED] = "revoked",
	};

	for (size_t i = 1; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum acme_status)i;
	return ACME_ST_UNKNOWN;
}

/* ---- order ---- */

int acme_order_parse(const char *buf, size_t len, struct acme_order *out)
{
	cJSON *root = NULL, *arr, *it;
	int rc = -1, cnt;

	memset(out, 0, sizeof(*out));
	root = json_parse(buf, len);
	if (!cJSON_IsObject(root))
		goto out;
	out->status = jstr(root, "status");
	out->state = acme_status_of(out->status);
	out->expires = jstr(root, "expires");
	out->finalize = jstr(root, "finalize");
	out->certificate = jstr(root, "certificate");
	if (out->status == NULL || out->finalize == NULL)
		goto out;
	if (jstrarray(root, "authorizations", &out->authzs, &out->n_authzs) != 0)
		goto out;
	arr = cJSON_GetObjectItemCaseSensitive(root, "identifiers");
	if (!cJSON_IsArray(arr))
		goto out;
	cnt = cJSON_GetArraySize(arr);
	if (cnt < 1 || cnt > ACME_MAX_LIST)
		goto out;
	if ((out->idents = calloc((size_t)cnt, sizeof(*out->idents))) == NULL)
		goto out;
	cJSON_ArrayForEach(it, arr) {
		if (out->n_idents >= (size_t)cnt)
			goto out;
		if (ident_parse(it, &out->idents[out->n_idents++]) != 0)
			goto out;
	}
	if (error_member(root, &out->error) != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		acme_order_free(out);
	return rc;
}

void acme_order_free(struct acme_order *o)
{
	free(o->status);
	free(o->expires);
	free(o->finalize);
	free(o->certificate);
	for (size_t i = 0; i < o->n_idents; i++)
		ident_free(&o->idents[i]);
	free(o->idents);
	strarray_free(o->authzs, o->n_authzs);
	error_free(&o->error);
	memset(o, 0, sizeof(*o));
}

/* ---- challenge ---- */

static int challenge_from_json(const cJSON *obj, struct acme_challenge *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return -1;
	out->type = jstr(obj, "type");
	out->url = jstr(obj, "url");
	out->status = jstr(obj, "status");
	out->state = acme_status_of(out->status);
	out->token = jstr(obj, "token");
	if (out->type == NULL || out->url == NULL || out->status == NULL)
		return -1;
	return error_member(obj, &out->error);
}

int acme_challenge_parse(const char *buf, size_t len, struct acme_challenge *out)
{
	cJSON *root = json_parse(buf, len);
	int rc = challenge_from_json(root, out);

	cJSON_Delete(root);
	if (rc != 0)
		acme_challenge_free(out);
	return rc;
}

void acme_challenge_free(struct acme_challenge *c)
{
	free(c->type);
	free(c->url);
	free(c->status);
	free(c->token);
	error_free(&c->error);
	memset(c, 0, sizeof(*c));
}

/* ---- authorization ---- */

int acme_authz_parse(const char *buf, size_t len, struct acme_authz *out)
{
	cJSON *root = NULL, *arr, *it;
	int rc = -1, cnt;

	memset(out, 0, sizeof(*out));
	root = json_parse(buf, len);
	if (!cJSON_IsObject(root))
		goto out;
	out->status = jstr(root, "status");
	out->state = acme_status_of(out->status);
	if (out->status == NULL)
		goto out;
	if (ident_parse(cJSON_GetObjectItemCaseSensitive(root, "identifier"), &out->ident) != 0)
		goto out;
	out->wildcard = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "wildcard"));
	arr = cJSON_GetObjectItemCaseSensitive(root, "challenges");
	if (!cJSON_IsArray(arr))
		goto out;
	cnt = cJSON_GetArraySize(arr);
	if (cnt > ACME_MAX_LIST)
		goto out;
	if (cnt > 0 && (out->challs = calloc((size_t)cnt, sizeof(*out->challs))) == NULL)
		goto out;
	cJSON_ArrayForEach(it, arr) {
		if (out->n_challs >= (size_t)cnt)
			goto out;
		if (challenge_from_json(it, &out->challs[out->n_challs++]) != 0)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		acme_authz_free(out);
	return rc;
}

void acme_authz_free(struct acme_authz *a)
{
	free(a->status);
	ident_free(&a->ident);
	for (size_t i = 0; i < a->n_challs; i++)
		acme_challenge_free(&a->challs[i]);
	free(a->challs);
	memset(a, 0, sizeof(*a));
}

/* ---- Link ---- */

static char *strndup_trim(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

/* Parse one link-param list after '>' up to the next top-level ',' and return the
 * rel value (malloc'd, or NULL). *pos advances past the link. */
static int link_params(const char *buf, size_t len, size_t *pos, char **rel)
{
	size_t i = *pos;

	*rel = NULL;
	while (i < len && buf[i] != ',') {
		size_t ns, ne, vs, ve;
		int quoted = 0;

		if (buf[i] == ';' || buf[i] == ' ' || buf[i] == '\t') {
			i++;
			continue;
		}
		ns = i;
		while (i < len && buf[i] != '=' && buf[i] != ';' && buf[i] != ',')
			i++;
		ne = i;
		vs = ve = i;
		if (i < len && buf[i] == '=') {
			i++;
			while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
				i++;
			if (i < len && buf[i] == '"') {
				quoted = 1;
				vs = ++i;
				while (i < len && buf[i] != '"')
					i++;
				if (i >= len) {
					free(*rel);
					*rel = NULL;
					return -1;
				}
				ve = i++;
			} else {
				vs = i;
				while (i < len && buf[i] != ';' && buf[i] != ',')
					i++;
				ve = i;
			}
		}
		(void)quoted;
		while (ne > ns && (buf[ne - 1] == ' ' || buf[ne - 1] == '\t'))
			ne--;
		if (ne - ns == 3 && strncasecmp(buf + ns, "rel", 3) == 0 && *rel == NULL) {
			if ((*rel = strndup_trim(buf + vs, ve - vs)) == NULL)
				return -1;
		}
	}
	*pos = i;
	return 0;
}

int link_parse(const char *buf, size_t len, struct link **links, size_t *n_links)
{
	size_t i = 0, us, ue;
	char *uri = NULL, *rel = NULL;
	struct link *nl;

	while (i < len) {
		while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
			i++;
		if (i >= len)
			break;
		if (buf[i] != '<')
			return -1;
		us = ++i;
		while (i < len && buf[i] != '>')
			i++;
		if (i >= len)
			return -1;
		ue = i++;
		if (link_params(buf, len, &i, &rel) != 0)
			return -1;
		if (rel == NULL)
			continue;
		if (*n_links >= ACME_MAX_LIST || (uri = strndup(buf + us, ue - us)) == NULL) {
			free(rel);
			return -1;
		}
		nl = realloc(*links, (*n_links + 1) * sizeof(**links));
		if (nl == NULL) {
			free(uri);
			free(rel);
			return -1;
		}
		*links = nl;
		nl[*n_links].uri = uri;
		nl[*n_links].rel = rel;
		(*n_links)++;
		uri = rel = NULL;
	}
	return 0;
}

void links_free(struct link *links, size_t n_links)
{
	for (size_t i = 0; i < n_links; i++) {
		free(links[i].uri);
		free(links[i].rel);
	}
	free(links);
}

/* ---- Retry-After ---- */

int retry_after_parse(const char *buf, size_t len, time_t now, long *secs)
{
	char tmp[64], *end;
	struct tm tm;
	size_t s = 0, e = len;
	time_t t;

	while (s < e && isspace((unsigned char)buf[s]))
		s++;
	while (e > s && isspace((unsigned char)buf[e - 1]))
		e--;
	if (e == s || e - s >= sizeof(tmp))
		return -1;
	memcpy(tmp, buf + s, e - s);
	tmp[e - s] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		if (parse_long(tmp, 0, LONG_MAX, secs) == 0)
			return 0;
		/* Any size is a valid delta-seconds: one beyond a long means "never"
		 * as much as LONG_MAX does, so it is clamped, not refused. */
		if (tmp[strspn(tmp, "0123456789")] != '\0')
			return -1;
		*secs = LONG_MAX;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*secs = t > now ? (long)(t - now) : 0;
	return 0;
}

/* ---- PEM chain ---- */

int pem_chain_split(const char *buf, size_t len, char ***certs, size_t *n_certs)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	size_t i = 0, n = 0;
	char **out = NULL, **no;

	*certs = NULL;
	*n_certs = 0;
	/* Each block becomes a C string: a NUL would cut it short. */
	if (memchr(buf, '\0', len) != NULL)
		return -1;
	while (i < len) {
		const char *b, *e;
		size_t bs, be;

		/* Only whitespace may separate blocks. */
		while (i < len && isspace((unsigned char)buf[i]))
			i++;
		if (i >= len)
			break;
		if (len - i < sizeof(begin) - 1 || memcmp(buf + i, begin, sizeof(begin) - 1) != 0)
			goto fail;
		bs = i;
		b = buf + i + sizeof(begin) - 1;
		e = memmem(b, len - (size_t)(b - buf), end, sizeof(end) - 1);
		if (e == NULL)
			goto fail;
		/* The body must not contain another BEGIN. */
		if (memmem(b, (size_t)(e - b), "-----", 5) != NULL)
			goto fail;
		be = (size_t)(e - buf) + sizeof(end) - 1;
		if (n >= ACME_MAX_LIST)
			goto fail;
		no = realloc(out, (n + 1) * sizeof(*out));
		if (no == NULL)
			goto fail;
		out = no;
		if ((out[n] = malloc(be - bs + 2)) == NULL)
			goto fail;
		memcpy(out[n], buf + bs, be - bs);
		out[n][be - bs] = '\n';
		out[n][be - bs + 1] = '\0';
		n++;
		i = be;
	}
	if (n == 0)
		goto fail;
	*certs = out;
	*n_certs = n;
	return 0;
fail:
	pem_chain_free(out, n);
	return -1;
}

void pem_chain_free(char **certs, size_t n_certs)
{
	strarray_free(certs, n_certs);
}
