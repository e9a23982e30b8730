/*
 * The signer service's security boundary: what a signing request means, and
 * whether this client may have it signed. Pure (no I/O), so the fuzz target runs it.
 *
 * The client is not trusted to say what a request is for. It sends (url, nonce,
 * payload, kid?), and it could lie about any label it sent besides, e.g. call a
 * newOrder a POST-as-GET, or use a URL that differs from the directory's newOrder
 * URL only in spelling (case, port, a query) yet reaches the same endpoint. So the
 * operation is derived from what the CA acts on:
 *
 *  - the form of the JWS: a CA accepts a "jwk" header only at newAccount and
 *    revokeCert (RFC 8555 6.2); every other endpoint needs "kid";
 *  - the exact set of member names of the payload, each request kind having its
 *    own (an allow list: anything else is refused). A payload whose shape could mean
 *    two things takes the stricter reading: {"status":"deactivated"} may be an
 *    account or an authorization deactivation, and both need `account`.
 *
 * The URL is only checked to be on the service's own CA (scheme, host and port), so
 * that the account key never signs for another server. Parser differences between
 * cJSON here and the CA's JSON decoder are closed off: duplicate or case-variant
 * members, NUL escapes and trailing data are refused, and what is signed is this
 * side's re-serialisation of the payload it checked, not the client's bytes.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char *const op_names[] = {
	[REQ_UNKNOWN] = "unknown",
	[REQ_ACCOUNT_LOOKUP] = "account-lookup",
	[REQ_NEW_ACCOUNT] = "new-account",
	[REQ_ACCOUNT_UPDATE] = "account-update",
	[REQ_DEACTIVATE] = "deactivate",
	[REQ_KEY_CHANGE] = "key-change",
	[REQ_KEY_CHANGE_INNER] = "key-change-inner",
	[REQ_NEW_ORDER] = "new-order",
	[REQ_FINALIZE] = "finalize",
	[REQ_REVOKE] = "revoke",
	[REQ_CHALLENGE] = "challenge",
	[REQ_READ] = "read",
	[REQ_ALG] = "alg",
	[REQ_JWK] = "jwk",
	[REQ_THUMBPRINT] = "thumbprint",
	[REQ_CSR] = "csr",
	[REQ_OTHER] = "other",
};

const char *req_op_name(int op)
{
	if (op < 0 || (size_t)op >= sizeof(op_names) / sizeof(op_names[0]) || !op_names[op])
		return "unknown";
	return op_names[op];
}

void decision_free(struct decision *d)
{
	size_t i;

	for (i = 0; i < d->n_names; i++)
		free(d->names[i]);
	free(d->url);
	free(d->payload);
	memset(d, 0, sizeof(*d));
}

static int deny(struct decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int deny(struct decision *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	d->allow = 0;
	return -1;
}

/* ---- URLs ---- */

/* scheme://host:port of an http(s) URL, lowercase, default port filled in, into out.
 * Refuses userinfo, fragments, backslashes, spaces, control and non-ASCII bytes,
 * and a URL without a path: characters some parsers read differently. 0 or -1. */
int url_origin(const char *url, char *out, size_t outlen)
{
	const char *p, *auth, *end;
	char host[256];
	size_t hl, i;
	int https;

	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\' ||
		    *p == '#')
			return -1;
	if (strncasecmp(url, "https://", 8) == 0)
		https = 1;
	else if (strncasecmp(url, "http://", 7) == 0)
		https = 0;
	else
		return -1;
	auth = url + (https ? 8 : 7);
	end = auth + strcspn(auth, "/?");
	if (*end != '/' || end == auth || (size_t)(end - auth) >= sizeof(host))
		return -1;
	hl = (size_t)(end - auth);
	for (i = 0; i < hl; i++) {
		if (!(isalnum((unsigned char)auth[i]) || strchr(".-:[]", auth[i]) != NULL))
			return -1;   /* no '@' (userinfo), no '%' */
		host[i] = (char)tolower((unsigned char)auth[i]);
	}
	host[hl] = '\0';
	/* A port after the host (not inside an IPv6 literal's brackets). */
	p = strrchr(host, ':');
	if (p != NULL && strchr(p, ']') == NULL)
		snprintf(out, outlen, "%s://%s", https ? "https" : "http", host);
	else
		snprintf(out, outlen, "%s://%s:%d", https ? "https" : "http", host,
			 https ? 443 : 80);
	return 0;
}

static int url_on_ca(const struct enforce_ctx *e, const char *url)
{
	char o[300];

	return url_origin(url, o, sizeof(o)) == 0 && strcmp(o, e->origin) == 0;
}

/* ---- JSON strictness ---- */

/* No raw NUL and no \u0000 escape anywhere: cJSON ends a string there, other
 * decoders keep going, so the two would read different names. */
static int payload_bytes_ok(const unsigned char *p, size_t len)
{
	size_t i;

	if (memchr(p, '\0', len) != NULL)
		return 0;
	for (i = 0; i + 6 <= len; i++)
		if (p[i] == '\\' && p[i + 1] == 'u' && p[i + 2] == '0' && p[i + 3] == '0' &&
		    p[i + 4] == '0' && p[i + 5] == '0')
			return 0;
	return 1;
}

/* No two members of any object whose names are equal ignoring case: Go's decoder
 * (Pebble, Boulder) takes the last duplicate and matches names case-insensitively,
 * cJSON takes the first exact match. */
static int members_unique(const cJSON *j)
{
	const cJSON *a, *b;

	for (a = j->child; a != NULL; a = a->next) {
		if (cJSON_IsObject(j))
			for (b = a->next; b != NULL; b = b->next)
				if (a->string == NULL || b->string == NULL ||
				    strcasecmp(a->string, b->string) == 0)
					return 0;
		if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && !members_unique(a))
			return 0;
	}
	return 1;
}

/* Every member name of obj is one of allowed (NULL-terminated), exactly. */
static int members_within(const cJSON *obj, const char *const *allowed)
{
	const cJSON *m;
	size_t i;

	for (m = obj->child; m != NULL; m = m->next) {
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], m->string) != 0; i++)
			;
		if (allowed[i] == NULL)
			return 0;
	}
	return 1;
}

static int has(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name) != NULL;
}

static int nmembers(const cJSON *obj)
{
	return cJSON_GetArraySize(obj);
}

static int is_string_member(const cJSON *obj, const char *name)
{
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* ---- names ---- */

static int add_name(struct decision *d, const char *raw, size_t len)
{
	char *n;
	size_t i;

	if (d->n_names >= ENFORCE_MAX_NAMES)
		return deny(d, "user %s: more than %d names in one request", d->user,
			    ENFORCE_MAX_NAMES);
	if (len == 0 || len > 253 || (n = malloc(len + 1)) == NULL)
		return deny(d, "user %s: request not recognised (empty or long name)", d->user);
	for (i = 0; i < len; i++)
		n[i] = (char)tolower((unsigned char)raw[i]);
	n[len] = '\0';
	for (i = 0; i < d->n_names; i++)
		if (strcmp(d->names[i], n) == 0) {   /* a CSR's CN is also a SAN */
			free(n);
			return 0;
		}
	d->names[d->n_names++] = n;
	if (memchr(raw, '\0', len) != NULL || !dns_name_valid(n, 1))
		return deny(d, "user %s: request not recognised (not a DNS name: '%.80s')",
			    d->user, memchr(raw, '\0', len) ? "(NUL)" : n);
	return 0;
}

/* Every name is granted perm by some section; else the first that is not. */
static int names_allowed(const struct enforce_ctx *e, struct decision *d, unsigned perm,
			 const char *verb)
{
	size_t i;

	if (d->n_names == 0)
		return deny(d, "user %s: request not recognised (no names)", d->user);
	for (i = 0; i < d->n_names; i++)
		if (!policy_allows(e->rules, perm, d->names[i]))
			return deny(d, "user %s may not %s %s", d->user, verb, d->names[i]);
	d->allow = 1;
	return 0;
}

/* The subject CNs and SAN dNSNames of a certificate or CSR. Any other SAN type
 * (IP address, e-mail, URI, ...) is refused: a policy lists DNS names only. */
static int x509_names(struct decision *d, const X509_NAME *subj, GENERAL_NAMES *san)
{
	const ASN1_STRING *s;
	const GENERAL_NAME *gn;
	int i = -1, k;

	while (subj != NULL && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
		s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		if (add_name(d, (const char *)ASN1_STRING_get0_data(s),
			     (size_t)ASN1_STRING_length(s)) < 0)
			return -1;
	}
	for (k = 0; k < sk_GENERAL_NAME_num(san); k++) {
		gn = sk_GENERAL_NAME_value(san, k);
		if (gn->type != GEN_DNS)
			return deny(d, "user %s: request not recognised (a name that is not a "
				    "DNS name)", d->user);
		s = gn->d.dNSName;
		if (add_name(d, (const char *)ASN1_STRING_get0_data(s),
			     (size_t)ASN1_STRING_length(s)) < 0)
			return -1;
	}
	return 0;
}

static unsigned char *b64_member(const cJSON *obj, const char *name, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(v) || !b64url_valid(v->valuestring, WIRE_MAX_FRAME))
		return NULL;
	return b64url_decode(v->valuestring, len);
}

/* Names of every SAN extension of a CSR (a CSR may carry several). */
static int csr_names(struct decision *d, X509_REQ *req)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *san = NULL;
	X509_EXTENSION *ext;
	int i, rc;

	rc = x509_names(d, X509_REQ_get_subject_name(req), NULL);
	for (i = 0; rc == 0 && i < sk_X509_EXTENSION_num(exts); i++) {
		ext = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name)
			continue;
		if ((san = X509V3_EXT_d2i(ext)) == NULL) {
			rc = deny(d, "user %s: request not recognised (bad CSR SAN)", d->user);
			break;
		}
		rc = x509_names(d, NULL, san);
		GENERAL_NAMES_free(san);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* ---- what each request kind needs ---- */

static const char *const m_order[] = { "identifiers", "notBefore", "notAfter", "replaces",
				       "profile", NULL };
static const char *const m_ident[] = { "type", "value", NULL };
static const char *const m_revoke[] = { "certificate", "reason", NULL };
static const char *const m_new_account[] = { "termsOfServiceAgreed", "contact",
					     "externalAccountBinding", "onlyReturnExisting",
					     NULL };
static const char *const m_account_update[] = { "contact", "termsOfServiceAgreed",
						"externalAccountBinding", NULL };
static const char *const m_jws[] = { "protected", "payload", "signature", NULL };

/* The section that grants perm (for names[0] when there are names), for the audit. */
static void granted(const struct enforce_ctx *e, struct decision *d, unsigned perm)
{
	char label[300] = "";
	size_t i, j;

	for (i = 0; i < e->rules->n && label[0] == '\0'; i++) {
		if ((e->rules->sec[i]->allow & perm) == 0)
			continue;
		for (j = 0; d->n_names > 0 && j < e->rules->sec[i]->n_names; j++)
			if (policy_pattern_match(e->rules->sec[i]->names[j], d->names[0]))
				break;
		if (d->n_names == 0 || j < e->rules->sec[i]->n_names)
			policy_section_label(e->rules->sec[i], label, sizeof(label));
	}
	snprintf(d->reason, sizeof(d->reason), "granted by %s (allow = %s)",
		 label[0] ? label : "?", policy_perm_word(perm));
}

static int need_perm(const struct enforce_ctx *e, struct decision *d, unsigned perm,
		     const char *what)
{
	if ((e->rules->allow & perm) == 0)
		return deny(d, "user %s may not %s", d->user, what);
	d->allow = 1;
	granted(e, d, perm);
	return 0;
}

static int check_order(const struct enforce_ctx *e, struct decision *d, const cJSON *p)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(p, "identifiers"), *id, *m;

	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0)
		return deny(d, "user %s: request not recognised (newOrder without identifiers)",
			    d->user);
	for (m = p->child; m != NULL; m = m->next)
		if (m != ids && !cJSON_IsString(m))
			return deny(d, "user %s: request not recognised (newOrder member %s)",
				    d->user, m->string);
	cJSON_ArrayForEach(id, ids) {
		if (!cJSON_IsObject(id) || !members_within(id, m_ident) || nmembers(id) != 2 ||
		    !is_string_member(id, "type") || !is_string_member(id, "value"))
			return deny(d, "user %s: request not recognised (malformed identifier)",
				    d->user);
		if (strcmp(cJSON_GetObjectItemCaseSensitive(id, "type")->valuestring, "dns") != 0)
			return deny(d, "user %s: request not recognised (identifier type is not "
				    "dns)", d->user);
		m = cJSON_GetObjectItemCaseSensitive(id, "value");
		if (add_name(d, m->valuestring, strlen(m->valuestring)) < 0)
			return -1;
	}
	if (names_allowed(e, d, POLICY_ORDER, "order") < 0)
		return -1;
	granted(e, d, POLICY_ORDER);
	return 0;
}

static int check_finalize(const struct enforce_ctx *e, struct decision *d, const cJSON *p)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	X509_REQ *req = NULL;
	size_t len = 0;
	int rc = -1;

	if ((der = b64_member(p, "csr", &len)) == NULL) {
		deny(d, "user %s: request not recognised (csr is not base64url)", d->user);
		goto out;
	}
	q = der;
	if ((req = d2i_X509_REQ(NULL, &q, (long)len)) == NULL || q != der + len) {
		deny(d, "user %s: request not recognised (csr is not one DER CSR)", d->user);
		goto out;
	}
	if (csr_names(d, req) == 0 && names_allowed(e, d, POLICY_ORDER, "order") == 0) {
		granted(e, d, POLICY_ORDER);
		rc = 0;
	}
out:
	X509_REQ_free(req);
	free(der);
	return rc;
}

static int check_revoke(const struct enforce_ctx *e, struct decision *d, const cJSON *p)
{
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(p, "reason");
	unsigned char *der = NULL;
	const unsigned char *q;
	GENERAL_NAMES *san = NULL;
	X509 *cert = NULL;
	size_t len = 0;
	int crit = -1, rc = -1;

	if (reason != NULL && (!cJSON_IsNumber(reason) || reason->valuedouble < 0 ||
			       reason->valuedouble > 10 ||
			       reason->valuedouble != (double)reason->valueint)) {
		deny(d, "user %s: request not recognised (revocation reason)", d->user);
		goto out;
	}
	if ((der = b64_member(p, "certificate", &len)) == NULL ||
	    (q = der, cert = d2i_X509(NULL, &q, (long)len)) == NULL || q != der + len) {
		deny(d, "user %s: request not recognised (certificate is not one DER "
		     "certificate)", d->user);
		goto out;
	}
	san = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (san == NULL && crit != -1) {   /* -2: several SAN extensions; else bad one */
		deny(d, "user %s: request not recognised (certificate SAN)", d->user);
		goto out;
	}
	if (x509_names(d, X509_get_subject_name(cert), san) == 0 &&
	    names_allowed(e, d, POLICY_REVOKE, "revoke") == 0) {
		granted(e, d, POLICY_REVOKE);
		rc = 0;
	}
out:
	GENERAL_NAMES_free(san);
	X509_free(cert);
	free(der);
	return rc;
}

/* Types of the account members (the CA checks their content; the policy only
 * needs to know that this is an account operation). */
static int account_members_typed(const cJSON *p)
{
	const cJSON *m, *c;

	for (m = p->child; m != NULL; m = m->next) {
		if (strcmp(m->string, "contact") == 0) {
			if (!cJSON_IsArray(m))
				return 0;
			cJSON_ArrayForEach(c, m)
				if (!cJSON_IsString(c))
					return 0;
		} else if (strcmp(m->string, "externalAccountBinding") == 0) {
			if (!cJSON_IsObject(m))
				return 0;
		} else if (!cJSON_IsBool(m)) {
			return 0;
		}
	}
	return 1;
}

/* jwk form: newAccount or revokeCert (a CA takes "jwk" nowhere else). */
static int classify_jwk(const cJSON *p)
{
	const cJSON *ore = cJSON_GetObjectItemCaseSensitive(p, "onlyReturnExisting");

	if (has(p, "certificate"))
		return members_within(p, m_revoke) ? REQ_REVOKE : REQ_UNKNOWN;
	if (!members_within(p, m_new_account) || !account_members_typed(p))
		return REQ_UNKNOWN;
	/* onlyReturnExisting: true means the CA must not create an account, whatever
	 * else the payload holds; only the bare lookup is the harmless kind, though. */
	if (nmembers(p) == 1 && cJSON_IsTrue(ore))
		return REQ_ACCOUNT_LOOKUP;
	return REQ_NEW_ACCOUNT;
}

/* kid form: everything but newAccount. */
static int classify_kid(const cJSON *p)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(p, "status");

	if (nmembers(p) == 0)
		return REQ_CHALLENGE;
	if (has(p, "identifiers"))
		return members_within(p, m_order) ? REQ_NEW_ORDER : REQ_UNKNOWN;
	if (has(p, "csr"))
		return nmembers(p) == 1 ? REQ_FINALIZE : REQ_UNKNOWN;
	if (has(p, "certificate"))
		return members_within(p, m_revoke) ? REQ_REVOKE : REQ_UNKNOWN;
	if (st != NULL)
		return nmembers(p) == 1 && cJSON_IsString(st) &&
		       strcmp(st->valuestring, "deactivated") == 0 ? REQ_DEACTIVATE : REQ_UNKNOWN;
	if (has(p, "protected"))
		return members_within(p, m_jws) && nmembers(p) == 3 &&
		       is_string_member(p, "protected") && is_string_member(p, "payload") &&
		       is_string_member(p, "signature") ? REQ_KEY_CHANGE : REQ_UNKNOWN;
	if (members_within(p, m_account_update) && account_members_typed(p))
		return REQ_ACCOUNT_UPDATE;
	return REQ_UNKNOWN;
}

static int permit(const struct enforce_ctx *e, struct decision *d, const cJSON *p)
{
	switch (d->op) {
	case REQ_ACCOUNT_LOOKUP:
		d->allow = 1;
		snprintf(d->reason, sizeof(d->reason), "an account lookup: every client");
		return 0;
	case REQ_NEW_ACCOUNT: return need_perm(e, d, POLICY_ACCOUNT, "create an account");
	case REQ_ACCOUNT_UPDATE: return need_perm(e, d, POLICY_ACCOUNT, "update the account");
	case REQ_DEACTIVATE:
		return need_perm(e, d, POLICY_ACCOUNT,
				 "deactivate the account or an authorization");
	case REQ_KEY_CHANGE: return need_perm(e, d, POLICY_ACCOUNT, "change the account key");
	case REQ_CHALLENGE:
	case REQ_READ:
		return need_perm(e, d, POLICY_ORDER, "read or answer challenges (allow = order)");
	case REQ_NEW_ORDER: return check_order(e, d, p);
	case REQ_FINALIZE: return check_finalize(e, d, p);
	case REQ_REVOKE: return check_revoke(e, d, p);
	default:
		return deny(d, "user %s: request not recognised (payload shape)", d->user);
	}
}

/* Parse the payload the strict way; NULL (denied, reason set) when it is not one
 * plain JSON object. */
static cJSON *payload_parse(struct decision *d, const struct wire_field *f)
{
	cJSON *j = NULL;
	char *copy = NULL;
	const char *end = NULL;

	if (!payload_bytes_ok(f->p, f->len) || (copy = malloc(f->len + 1)) == NULL) {
		deny(d, "user %s: request not recognised (NUL in the payload)", d->user);
		return NULL;
	}
	memcpy(copy, f->p, f->len);
	copy[f->len] = '\0';
	j = cJSON_ParseWithOpts(copy, &end, 1);
	free(copy);
	if (!cJSON_IsObject(j) || !members_unique(j)) {
		deny(d, "user %s: request not recognised (%s)", d->user,
		     j == NULL ? "not JSON" : cJSON_IsObject(j) ? "duplicate members" :
		     "not a JSON object");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int enforce_sign(const struct enforce_ctx *e, const struct wire_msg *m,
			struct decision *d)
{
	char *nonce = NULL, *kid = NULL;
	cJSON *p = NULL;
	int rc = -1;

	if ((m->nfields != 3 && m->nfields != 4) || (d->url = wire_strdup(m, 0)) == NULL ||
	    (nonce = wire_strdup(m, 1)) == NULL ||
	    (m->nfields == 4 && (kid = wire_strdup(m, 3)) == NULL)) {
		deny(d, "user %s: request not recognised (malformed SIGN)", d->user);
		goto out;
	}
	if (!url_on_ca(e, d->url) || (kid != NULL && !url_on_ca(e, kid))) {
		deny(d, "user %s: URL is not on the service's CA %s", d->user, e->origin);
		goto out;
	}
	if (!b64url_valid(nonce, 1024)) {
		deny(d, "user %s: request not recognised (nonce)", d->user);
		goto out;
	}
	if (m->f[2].len == 0) {
		d->op = kid != NULL ? REQ_READ : REQ_UNKNOWN;
	} else {
		if ((p = payload_parse(d, &m->f[2])) == NULL)
			goto out;
		d->op = kid != NULL ? classify_kid(p) : classify_jwk(p);
	}
	if (permit(e, d, p) < 0)
		goto out;
	d->payload = p != NULL ? cJSON_PrintUnformatted(p) : strdup("");
	if (d->payload == NULL) {
		deny(d, "out of memory");
		d->error = 1;
		goto out;
	}
	rc = 0;
out:
	free(nonce);
	free(kid);
	cJSON_Delete(p);
	return rc;
}

static int enforce_keychange(const struct enforce_ctx *e, const struct wire_msg *m,
			     struct decision *d)
{
	char *acct = NULL;
	int rc = -1;

	d->op = REQ_KEY_CHANGE_INNER;
	if (m->nfields != 2 || (d->url = wire_strdup(m, 0)) == NULL ||
	    (acct = wire_strdup(m, 1)) == NULL)
		deny(d, "user %s: request not recognised (malformed KEYCHANGE)", d->user);
	else if (!url_on_ca(e, d->url) || !url_on_ca(e, acct))
		deny(d, "user %s: URL is not on the service's CA %s", d->user, e->origin);
	else
		rc = need_perm(e, d, POLICY_ACCOUNT, "change the account key");
	free(acct);
	return rc;
}

static int dispatch(const struct enforce_ctx *e, const struct wire_msg *m,
		    struct decision *d)
{
	switch (m->op) {
	case WIRE_OP_ALG:
	case WIRE_OP_JWK:
	case WIRE_OP_THUMBPRINT:
		/* The public key: every client the policy knows may have it. */
		d->op = m->op == WIRE_OP_ALG ? REQ_ALG : m->op == WIRE_OP_JWK ? REQ_JWK :
			REQ_THUMBPRINT;
		d->allow = 1;
		snprintf(d->reason, sizeof(d->reason), "public key: every client");
		return 0;
	case WIRE_OP_SIGN:
		return enforce_sign(e, m, d);
	case WIRE_OP_KEYCHANGE:
		return enforce_keychange(e, m, d);
	case WIRE_OP_CSR:
		d->op = REQ_CSR;
		return deny(d, "user %s: the signer service holds no certificate key "
			    "(the client makes its own)", d->user);
	default:
		d->op = REQ_OTHER;
		return deny(d, "user %s: request not recognised (operation %u)", d->user, m->op);
	}
}

int enforce_request(const struct enforce_ctx *e, const struct wire_msg *m,
		    struct decision *d)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->user = e->user;
	rc = dispatch(e, m, d);
	/* d2i failures on hostile input leave errors that must not leak into later calls. */
	ERR_clear_error();
	return rc;
}
