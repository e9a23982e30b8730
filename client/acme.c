/*
 * client/acme.c: ACME steps over the one signed-POST helper (see acme.h).
 */
#include "client/acme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "client/store.h"
#include "common/common.h"
#include "common/trace.h"

#define BADNONCE_RETRIES 25  /* at a 50% rejection rate, 2^-25 per POST */
#define RATELIMIT_RETRIES 3
#define RETRY_DEFAULT_SECS 2     /* 503 or 429 without Retry-After */
/* Polls back off from POLL_FIRST_MS, doubling to POLL_MAX_MS. The backoff is also the
 * floor: a Retry-After can lengthen a pause, never shorten it. Pebble validates and
 * issues in a few ms and sends no Retry-After; a CA that answers "Retry-After: 0"
 * gets about 10 polls in the first 5 s and then one per POLL_MAX_MS, never a storm. */
#define POLL_FIRST_MS 10
#define POLL_MAX_MS 1600
#define DIR_CACHE_SECS (24 * 3600) /* a CA changes its directory rarely; 404s refresh it */

#define RETRY_DATE_MAX 253402300799L /* 9999-12-31T23:59:59Z: beyond, no date is printed */

/* 1 when waiting secs (any size, from a CA) from now would reach the deadline.
 * Compared with the time left, so that no sum can overflow. */
static int past_deadline(time_t deadline, long secs)
{
	time_t now = time(NULL);

	return deadline <= now || secs >= (long)(deadline - now);
}

/* When to try again after waiting secs, into buf; why: why p11acme stops waiting. */
static void retry_at(long secs, const char *why, char *buf, size_t len)
{
	time_t t;
	char date[64];
	struct tm tm;

	if (secs > RETRY_DATE_MAX - (long)time(NULL)) {
		snprintf(buf, len, "the CA asks to wait %ld s (beyond the year 9999)%s; giving up",
			 secs, why);
		return;
	}
	t = time(NULL) + secs;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, len, "the CA asks to wait %ld s%s; try again after %s", secs, why, date);
}

static void log_retry_at(const char *what, long secs)
{
	char note[160];

	retry_at(secs, ", past the deadline (--timeout)", note, sizeof(note));
	log_error("%s: %s", safe_str(what), note);
}

/* Signed requests go only where the directory is: a CA document that names another
 * host (hostile, or tampered with) gets no JWS of this account. */
static int acme_url_check(const struct acme *a, const char *url)
{
	if (url_same_origin(a->g->server, url))
		return 0;
	log_error("%s: the CA sent a URL on another host than its directory (%s); refusing "
		  "to send a request there", url, a->g->server);
	return -1;
}

/* ---- setup ---- */

static int nonce_fetch(struct acme *a);

/* 1 when every URL of the directory is on the directory's own host: the checks
 * each request makes later (acme_url_check), made up front for the cache. */
static int directory_all_same_origin(const struct acme_directory *d, const char *server)
{
	const char *urls[] = { d->new_nonce, d->new_account, d->new_order, d->revoke_cert,
			       d->key_change, d->renewal_info };

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (urls[i] != NULL && !url_same_origin(server, urls[i]))
			return 0;
	return 1;
}

/* Fetch g->server's directory from the CA and cache it. A Replay-Nonce, if the CA
 * sends one, goes to *nonce when nonce is not NULL and *nonce is empty. */
static int directory_fetch(struct http *h, const struct globals *g,
			   struct acme_directory *dir, char **nonce)
{
	struct http_resp r = { 0 };
	int rc = -1;

	if (http_get(h, g->server, "application/json", &r) != 0)
		goto out;
	if (r.code != 200) {
		acme_report(g->server, &r);
		goto out;
	}
	if (acme_directory_parse(r.body, r.len, dir) != 0) {
		log_error("%s: not an ACME directory", g->server);
		goto out;
	}
	/* Only a directory that passed every check is cached, so that a CA that
	 * served a bad one once is asked again next time. */
	if (directory_all_same_origin(dir, g->server))
		store_directory_save(g->config_dir, g->server, r.body, r.len);
	else
		log_debug("%s: a URL of the directory is on another host; not caching it",
			  g->server);
	/* Any nonce the CA gives is good for the next POST (RFC 8555 §7.2). */
	if (nonce != NULL && *nonce == NULL) {
		*nonce = r.nonce;
		r.nonce = NULL;
	}
	rc = 0;
out:
	http_resp_free(&r);
	return rc;
}

int acme_directory_obtain(struct http *h, const struct globals *g,
			  struct acme_directory *dir, int *cached, char **nonce)
{
	char *text = NULL;
	size_t len = 0;

	text = store_directory_load(g->config_dir, g->server, DIR_CACHE_SECS, &len);
	if (text != NULL && acme_directory_parse(text, len, dir) == 0) {
		log_debug("directory of %s (cached)", g->server);
		*cached = 1;
		free(text);
		return 0;
	}
	if (text != NULL)
		log_debug("%s: the cached directory does not parse; fetching it", g->server);
	free(text);
	*cached = 0;
	return directory_fetch(h, g, dir, nonce);
}

/* The directory member url came from, or NULL when it is not a directory URL. */
static char **dir_member(struct acme_directory *d, const char *url)
{
	char **m[] = { &d->new_nonce, &d->new_account, &d->new_order, &d->revoke_cert,
		       &d->key_change, &d->renewal_info };

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (*m[i] != NULL && strcmp(*m[i], url) == 0)
			return m[i];
	return NULL;
}

/* A URL from the cached directory failed (404, or no connection): the CA may have
 * moved it since. Fetch the directory once per run and return the URL that now
 * names the same endpoint, or NULL when there is nothing else to try. The old
 * directory stays allocated, because callers still hold pointers into it. */
static const char *dir_refresh(struct acme *a, const char *url)
{
	char **old = NULL;
	const char *now = NULL;
	size_t off;

	if (!a->dir_cached || (old = dir_member(&a->dir, url)) == NULL)
		return NULL;
	off = (size_t)((char *)old - (char *)&a->dir);
	log_warn("%s failed; the cached directory may be stale, fetching it again", url);
	a->dir_cached = 0;
	acme_directory_free(&a->dir_old);
	a->dir_old = a->dir;
	memset(&a->dir, 0, sizeof(a->dir));
	if (directory_fetch(a->http, a->g, &a->dir, &a->nonce) != 0) {
		/* Nothing better to use: keep the old one, but stop trusting the file. */
		store_directory_remove(a->g->config_dir, a->g->server);
		acme_directory_free(&a->dir);
		a->dir = a->dir_old;
		memset(&a->dir_old, 0, sizeof(a->dir_old));
		return NULL;
	}
	old = (char **)((char *)&a->dir_old + off);
	now = *(char **)((char *)&a->dir + off);
	return now != NULL && strcmp(now, *old) != 0 ? now : NULL;
}

int acme_open_net(struct acme *a, const struct globals *g)
{
	memset(a, 0, sizeof(*a));
	a->g = g;
	a->deadline = time(NULL) + (g->timeout > 0 ? g->timeout : 90);
	if ((a->http = http_new(g->ca_bundle, a->deadline)) == NULL)
		return -1;
	if (acme_directory_obtain(a->http, g, &a->dir, &a->dir_cached, &a->nonce) != 0)
		return -1;
	/* The first POST needs a nonce anyway; asking now opens the connection (TCP,
	 * TLS) while the signer is still opening the token. */
	return a->nonce != NULL ? 0 : nonce_fetch(a);
}

int acme_open_key(struct acme *a, struct signer *signer)
{
	a->signer = signer;
	if (signer_thumbprint(signer, SIGNER_KEY_ACCOUNT, &a->thumbprint) != SIGNER_OK)
		return -1;
	return 0;
}

int acme_open(struct acme *a, const struct globals *g, struct signer *signer)
{
	if (acme_open_net(a, g) != 0)
		return -1;
	return acme_open_key(a, signer);
}

void acme_close(struct acme *a)
{
	http_free(a->http);
	acme_directory_free(&a->dir);
	acme_directory_free(&a->dir_old);
	free(a->nonce);
	free(a->kid);
	free(a->thumbprint);
	memset(a, 0, sizeof(*a));
}

/* ---- problems ---- */

/* The problem p about what; note (may be NULL) follows the detail on its line. */
static void report_problem(const char *what, const struct acme_problem *p, const char *note)
{
	/* Everything here is the CA's text: each field escaped and bounded. */
	log_error("%s: %s (%s)%s%s", safe_str(what), p->detail ? safe_str(p->detail) : "no detail",
		  p->type ? safe_str(p->type) : "no type", note ? "; " : "", note ? note : "");
	for (size_t i = 0; i < p->n_sub; i++) {
		const struct acme_problem *s = &p->sub[i];
		log_error("  %s %s: %s (%s)", s->ident.type ? safe_str(s->ident.type) : "identifier",
			  s->ident.value ? safe_str(s->ident.value) : "?",
			  s->detail ? safe_str(s->detail) : "", s->type ? safe_str(s->type) : "no type");
	}
}

void acme_report_problem(const char *what, const struct acme_problem *p)
{
	report_problem(what, p, NULL);
}

void acme_report(const char *what, const struct http_resp *r)
{
	struct acme_problem p = { 0 };
	const char *note = r->retry_note[0] != '\0' ? r->retry_note : NULL;
	char *w = NULL;

	if (r->body != NULL && acme_problem_parse(r->body, r->len, &p) == 0 &&
	    (p.type != NULL || p.detail != NULL)) {
		w = xasprintf("%s: HTTP %ld", what, r->code);
		report_problem(w ? w : what, &p, note);
	} else {
		log_error("%s: HTTP %ld: unexpected response%s%s", what, r->code, note ? "; " : "",
			  note ? note : "");
	}
	free(w);
	acme_problem_free(&p);
}

int acme_resp_is(const struct http_resp *r, const char *name)
{
	struct acme_problem p = { 0 };
	int is;

	if (r->body == NULL || acme_problem_parse(r->body, r->len, &p) != 0)
		return 0;
	is = acme_problem_is(&p, name);
	acme_problem_free(&p);
	return is;
}

/* ---- the signed-POST helper ---- */

/* HEAD newNonce. A cached newNonce URL that fails is looked up in a fresh
 * directory once (which may itself have brought a nonce). */
static int nonce_fetch(struct acme *a)
{
	struct http_resp r = { 0 };
	int rc = -1, hrc;

	if (acme_url_check(a, a->dir.new_nonce) != 0)
		return -1;
	hrc = http_head(a->http, a->dir.new_nonce, &r);
	if ((hrc != 0 || r.code == 404) && dir_refresh(a, a->dir.new_nonce) != NULL) {
		if (a->nonce != NULL) {
			rc = 0;
			goto out;
		}
		http_resp_free(&r);
		hrc = http_head(a->http, a->dir.new_nonce, &r);
	}
	if (hrc != 0)
		goto out;
	if ((r.code != 200 && r.code != 204) || r.nonce == NULL) {
		log_error("%s: HTTP %ld: no Replay-Nonce", a->dir.new_nonce, r.code);
		goto out;
	}
	a->nonce = r.nonce;
	r.nonce = NULL;
	rc = 0;
out:
	http_resp_free(&r);
	return rc;
}

static int nonce_take(struct acme *a, char **nonce)
{
	if (a->nonce == NULL && nonce_fetch(a) != 0)
		return -1;
	*nonce = a->nonce;
	a->nonce = NULL;
	return 0;
}

/* How long to wait before retrying a 429/503; -1 when we must give up. */
static long retry_wait(struct acme *a, struct http_resp *r, int tries)
{
	long secs = RETRY_DEFAULT_SECS;
	char why[48];

	if (r->retry_after != NULL &&
	    retry_after_parse(r->retry_after, strlen(r->retry_after), time(NULL), &secs) != 0)
		secs = RETRY_DEFAULT_SECS;
	/* the caller reports the failure once, with this note (acme_report) */
	if (past_deadline(a->deadline, secs)) {
		retry_at(secs, ", past the deadline (--timeout)", r->retry_note,
			 sizeof(r->retry_note));
		return -1;
	}
	if (tries >= RATELIMIT_RETRIES) {
		snprintf(why, sizeof(why), " again after %d retries", RATELIMIT_RETRIES);
		retry_at(secs, why, r->retry_note, sizeof(r->retry_note));
		return -1;
	}
	return secs;
}

/* Sign url + payload with a fresh nonce and POST it; keep the response's nonce.
 * ACME_POST_FAIL (logged) when the URL is refused, there is no nonce or the signer
 * fails, and also when the transport fails (*transport_failed = 1). */
static int post_signed(struct acme *a, const char *url, const char *payload, int use_jwk,
		       const char *accept, struct http_resp *r, int *transport_failed)
{
	char *nonce = NULL, *jws = NULL;
	int hrc;

	*transport_failed = 0;
	if (acme_url_check(a, url) != 0 || nonce_take(a, &nonce) != 0)
		return ACME_POST_FAIL;
	hrc = signer_sign(a->signer, url, nonce, use_jwk ? NULL : a->kid, payload, &jws);
	free(nonce);
	if (hrc != SIGNER_OK)
		return ACME_POST_FAIL;
	hrc = http_post(a->http, url, jws, accept, r);
	free(jws);
	if (hrc != 0) {
		*transport_failed = 1;
		return ACME_POST_FAIL;
	}
	/* Every response, errors included, carries the next nonce. */
	if (r->nonce != NULL) {
		free(a->nonce);
		a->nonce = r->nonce;
		r->nonce = NULL;
	}
	return r->code >= 200 && r->code < 300 ? ACME_POST_OK : ACME_POST_PROBLEM;
}

/* post_signed with the retries that repair nothing: badNonce (the error response
 * brought a new nonce), and 429 rateLimited / 503 after Retry-After (bounded, never
 * past the deadline). */
static int post_retrying(struct acme *a, const char *url, const char *payload, int use_jwk,
			 const char *accept, struct http_resp *r, int *transport_failed)
{
	int badnonce = 0, limited = 0, rc;
	long wait;

	for (;;) {
		rc = post_signed(a, url, payload, use_jwk, accept, r, transport_failed);
		if (rc != ACME_POST_PROBLEM)
			return rc;
		if (r->code == 400 && acme_resp_is(r, "badNonce") && badnonce < BADNONCE_RETRIES) {
			badnonce++;
			log_debug("%s: badNonce, retry %d", url, badnonce);
		} else if ((r->code == 429 && acme_resp_is(r, "rateLimited")) || r->code == 503) {
			if ((wait = retry_wait(a, r, limited)) < 0)
				return ACME_POST_PROBLEM;
			limited++;
			log_info("%s: HTTP %ld, retrying in %ld s", url, r->code, wait);
			http_resp_free(r);
			sleep_ms(wait * 1000);
			continue;
		} else {
			return ACME_POST_PROBLEM;
		}
		http_resp_free(r);
	}
}

/* The session's one recovery step, for a POST that failed because of what this
 * host cached: a URL of a cached directory that the CA no longer serves (404, or no
 * connection) is looked up in a fresh directory (*url then names its successor), and
 * a cached account URL that the CA does not know is looked up by key. Each repair is
 * tried once per run. Returns 1 to send again, 0 to keep the result, -1 on a failed
 * repair (logged). */
static int session_recover(struct acme *a, const char **url, int use_jwk,
			   int transport_failed, const struct http_resp *r)
{
	const char *moved;

	if ((transport_failed || r->code == 404) && (moved = dir_refresh(a, *url)) != NULL) {
		log_debug("%s is now %s", *url, moved);
		*url = moved;
		return 1;
	}
	if (transport_failed || use_jwk || !a->kid_cached || !acme_resp_is(r, "accountDoesNotExist"))
		return 0;
	/* The CA forgot the URL, or the config dir was copied from elsewhere. */
	a->kid_cached = 0;
	log_warn("%s: the cached account URL is unknown to the CA; looking it up by key", a->kid);
	store_account_remove(a->g->config_dir, a->g->server, a->thumbprint);
	if (acme_account_find(a) != 0)
		return -1;
	a->kid_cached = 0;
	return 1;
}

int acme_post(struct acme *a, const char *url, const char *payload, int use_jwk,
	      const char *accept, struct http_resp *r)
{
	int rc, rec, transport_failed;

	memset(r, 0, sizeof(*r));
	for (;;) {
		rc = post_retrying(a, url, payload, use_jwk, accept, r, &transport_failed);
		if (rc == ACME_POST_OK || (rc == ACME_POST_FAIL && !transport_failed))
			break;
		if ((rec = session_recover(a, &url, use_jwk, transport_failed, r)) <= 0) {
			rc = rec < 0 ? ACME_POST_FAIL : rc;
			break;
		}
		http_resp_free(r);
	}
	if (rc == ACME_POST_FAIL)
		http_resp_free(r);
	return rc;
}

/* A step's POST expecting one of two success codes; reports anything else. */
static int post_expect(struct acme *a, const char *what, const char *url, const char *payload,
		       int use_jwk, const char *accept, struct http_resp *r)
{
	int rc = acme_post(a, url, payload, use_jwk, accept, r);

	if (rc == ACME_POST_PROBLEM) {
		acme_report(what, r);
		http_resp_free(r);
	}
	return rc == ACME_POST_OK ? 0 : -1;
}

/* ---- accounts ---- */

int acme_account_lookup(struct acme *a, struct acme_account *acct)
{
	struct http_resp r = { 0 };
	struct acme_account tmp = { 0 };
	int rc = -1, prc;

	prc = acme_post(a, a->dir.new_account, "{\"onlyReturnExisting\":true}", 1, NULL, &r);
	if (prc == ACME_POST_FAIL)
		goto out;
	if (prc == ACME_POST_PROBLEM) {
		if (acme_resp_is(&r, "accountDoesNotExist")) {
			rc = 1;
			goto out;
		}
		acme_report(a->dir.new_account, &r);
		goto out;
	}
	if (r.location == NULL) {
		log_error("%s: HTTP %ld without Location", a->dir.new_account, r.code);
		goto out;
	}
	if (acme_account_parse(r.body, r.len, acct ? acct : &tmp) != 0) {
		log_error("%s: malformed account object", a->dir.new_account);
		goto out;
	}
	free(a->kid);
	a->kid = r.location;
	a->kid_cached = 0;
	r.location = NULL;
	rc = 0;
out:
	acme_account_free(&tmp);
	http_resp_free(&r);
	return rc;
}

/* The account URL cached for this server and key into a->kid: 1, or 0 (none). */
static int account_cached(struct acme *a)
{
	free(a->kid);
	a->kid = store_account_load(a->g->config_dir, a->g->server, a->thumbprint);
	if (a->kid == NULL)
		return 0;
	log_debug("account %s (cached)", a->kid);
	a->kid_cached = 1;
	return 1;
}

/* 1 when the account the CA returned is valid; else 0, logged. */
static int account_usable(const struct acme *a, const struct acme_account *acct)
{
	if (acct->state == ACME_ST_VALID)
		return 1;
	log_error("%s: account is %s", a->kid, acct->status ? acct->status : "not valid");
	return 0;
}

/* acme_account_find, with what to do when the CA has no account for the key. */
static int account_find(struct acme *a, const char *none_hint)
{
	struct acme_account acct = { 0 };
	int rc = -1, lrc;

	if (account_cached(a))
		return 0;
	lrc = acme_account_lookup(a, &acct);
	if (lrc == 1) {
		log_error("%s: no account for this key (thumbprint %s); %s", a->g->server,
			  a->thumbprint, none_hint);
		goto out;
	}
	if (lrc != 0)
		goto out;
	if (!account_usable(a, &acct))
		goto out;
	if (store_account_save(a->g->config_dir, a->g->server, a->thumbprint, a->kid) != 0)
		log_warn("could not cache the account URL under %s", a->g->config_dir);
	rc = 0;
out:
	acme_account_free(&acct);
	return rc;
}

int acme_account_find(struct acme *a)
{
	return account_find(a, "run 'p11acme account register', or give issue --agree-tos");
}

int acme_account_find_or_new(struct acme *a, const struct acme_newacct *n)
{
	struct acme_account acct = { 0 };
	int rc = -1;

	if (!n->agree)
		return acme_account_find(a);
	/* newAccount without the CA's key id would be refused: find an existing one */
	if (a->dir.eab_required)
		return account_find(a, "this CA requires external account binding: run "
				    "'p11acme account register' with --eab-kid and "
				    "--eab-hmac-key-file first");
	if (account_cached(a))
		return 0;
	if (acme_account_new(a, n->contacts, n->n_contacts, NULL, NULL, 0, &acct) != 0)
		goto out;
	if (!account_usable(a, &acct))
		goto out;
	log_info("account %s is %s", a->kid, acct.status);
	rc = 0;
out:
	acme_account_free(&acct);
	return rc;
}

void acme_newacct_free(struct acme_newacct *n)
{
	for (size_t i = 0; i < n->n_contacts; i++)
		free(n->contacts[i]);
	memset(n, 0, sizeof(*n));
}

/* RFC 8555 §7.3.4: a JWS over the account JWK, MACed with the CA-issued key. */
static cJSON *eab_jws(struct acme *a, const char *eab_kid, const unsigned char *key,
		      size_t key_len)
{
	cJSON *prot = NULL, *jws = NULL;
	char *jwk = NULL, *prot_s = NULL, *p64 = NULL, *j64 = NULL, *input = NULL, *sig = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (signer_jwk(a->signer, SIGNER_KEY_ACCOUNT, &jwk) != SIGNER_OK)
		goto out;
	if ((prot = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(prot, "alg", "HS256") == NULL ||
	    cJSON_AddStringToObject(prot, "kid", eab_kid) == NULL ||
	    cJSON_AddStringToObject(prot, "url", a->dir.new_account) == NULL ||
	    (prot_s = cJSON_PrintUnformatted(prot)) == NULL)
		goto out;
	p64 = b64url_encode((const unsigned char *)prot_s, strlen(prot_s));
	j64 = b64url_encode((const unsigned char *)jwk, strlen(jwk));
	if (p64 == NULL || j64 == NULL || (input = xasprintf("%s.%s", p64, j64)) == NULL)
		goto out;
	if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)input, strlen(input),
		 mac, &mac_len) == NULL) {
		log_openssl_errors("HMAC");
		goto out;
	}
	if ((sig = b64url_encode(mac, mac_len)) == NULL)
		goto out;
	if ((jws = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(jws, "protected", p64) == NULL ||
	    cJSON_AddStringToObject(jws, "payload", j64) == NULL ||
	    cJSON_AddStringToObject(jws, "signature", sig) == NULL) {
		cJSON_Delete(jws);
		jws = NULL;
	}
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	cJSON_Delete(prot);
	free(jwk);
	free(prot_s);
	free(p64);
	free(j64);
	free(input);
	free(sig);
	return jws;
}

/* post_expect with req, serialised, as the payload. */
static int post_json(struct acme *a, const char *url, const cJSON *req, int use_jwk,
		     struct http_resp *r)
{
	char *payload = cJSON_PrintUnformatted(req);
	int rc = payload != NULL ? post_expect(a, url, url, payload, use_jwk, NULL, r) : -1;

	free(payload);
	return rc;
}

/* A "contact" array of the given URIs in req. 0 or -1. */
static int contacts_add(cJSON *req, char *const *contacts, size_t n_contacts)
{
	cJSON *arr = cJSON_AddArrayToObject(req, "contact");

	if (arr == NULL)
		return -1;
	for (size_t i = 0; i < n_contacts; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(contacts[i])))
			return -1;
	return 0;
}

int acme_account_new(struct acme *a, char *const *contacts, size_t n_contacts,
		     const char *eab_kid, const unsigned char *eab_key, size_t eab_key_len,
		     struct acme_account *acct)
{
	struct http_resp r = { 0 };
	cJSON *req = NULL, *eab;
	int rc = -1;

	if (a->dir.terms_of_service != NULL)
		log_info("agreeing to the terms of service at %s", safe_str(a->dir.terms_of_service));
	if ((req = cJSON_CreateObject()) == NULL ||
	    cJSON_AddTrueToObject(req, "termsOfServiceAgreed") == NULL ||
	    contacts_add(req, contacts, n_contacts) != 0)
		goto out;
	if (eab_kid != NULL) {
		if ((eab = eab_jws(a, eab_kid, eab_key, eab_key_len)) == NULL)
			goto out;
		cJSON_AddItemToObject(req, "externalAccountBinding", eab);
	}
	if (post_json(a, a->dir.new_account, req, 1, &r) != 0)
		goto out;
	if (r.location == NULL || acme_account_parse(r.body, r.len, acct) != 0) {
		log_error("%s: HTTP %ld: malformed account response", a->dir.new_account, r.code);
		goto out;
	}
	free(a->kid);
	a->kid = r.location;
	r.location = NULL;
	if (store_account_save(a->g->config_dir, a->g->server, a->thumbprint, a->kid) != 0)
		log_warn("could not cache the account URL under %s", a->g->config_dir);
	rc = 0;
out:
	cJSON_Delete(req);
	http_resp_free(&r);
	return rc;
}

int acme_account_update(struct acme *a, char *const *contacts, size_t n_contacts,
			struct acme_account *acct)
{
	struct http_resp r = { 0 };
	cJSON *req = NULL;
	int rc = -1;

	if ((req = cJSON_CreateObject()) == NULL || contacts_add(req, contacts, n_contacts) != 0)
		goto out;
	if (post_json(a, a->kid, req, 0, &r) != 0)
		goto out;
	acme_account_free(acct);
	if (acme_account_parse(r.body, r.len, acct) != 0) {
		log_error("%s: malformed account object", a->kid);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(req);
	http_resp_free(&r);
	return rc;
}

int acme_account_deactivate(struct acme *a)
{
	struct http_resp r = { 0 };
	struct acme_account acct = { 0 };
	int rc = -1;

	if (post_expect(a, a->kid, a->kid, "{\"status\":\"deactivated\"}", 0, NULL, &r) != 0)
		goto out;
	if (acme_account_parse(r.body, r.len, &acct) != 0 ||
	    acct.state != ACME_ST_DEACTIVATED) {
		log_error("%s: the CA did not confirm the deactivation", a->kid);
		goto out;
	}
	store_account_remove(a->g->config_dir, a->g->server, a->thumbprint);
	rc = 0;
out:
	acme_account_free(&acct);
	http_resp_free(&r);
	return rc;
}

int acme_account_keychange(struct acme *a, const char *new_thumbprint)
{
	struct http_resp r = { 0 };
	char *inner = NULL;
	int rc = -1;

	if (a->dir.key_change == NULL) {
		log_error("%s: the CA offers no keyChange", a->g->server);
		goto out;
	}
	if (signer_keychange(a->signer, a->dir.key_change, a->kid, &inner) != SIGNER_OK)
		goto out;
	if (post_expect(a, a->dir.key_change, a->dir.key_change, inner, 0, NULL, &r) != 0)
		goto out;
	/* The old key no longer names the account; the new one does. */
	store_account_remove(a->g->config_dir, a->g->server, a->thumbprint);
	if (store_account_save(a->g->config_dir, a->g->server, new_thumbprint, a->kid) != 0)
		log_warn("could not cache the account URL under %s", a->g->config_dir);
	rc = 0;
out:
	free(inner);
	http_resp_free(&r);
	return rc;
}

/* ---- orders ---- */

/* The newOrder payload (malloc'd JSON text), or NULL. */
static char *order_payload(char *const *names, size_t n_names, const char *profile,
			   const char *replaces)
{
	cJSON *req, *arr, *id;
	char *payload = NULL;

	if ((req = cJSON_CreateObject()) == NULL ||
	    (arr = cJSON_AddArrayToObject(req, "identifiers")) == NULL)
		goto out;
	for (size_t i = 0; i < n_names; i++) {
		if ((id = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, id) ||
		    cJSON_AddStringToObject(id, "type", "dns") == NULL ||
		    cJSON_AddStringToObject(id, "value", names[i]) == NULL)
			goto out;
	}
	if (profile != NULL && cJSON_AddStringToObject(req, "profile", profile) == NULL)
		goto out;
	if (replaces != NULL && cJSON_AddStringToObject(req, "replaces", replaces) == NULL)
		goto out;
	payload = cJSON_PrintUnformatted(req);
out:
	cJSON_Delete(req);
	return payload;
}

/* POST newOrder; when the CA answers alreadyReplaced (RFC 9773: that certificate
 * was replaced already, e.g. by another host sharing the account), order once
 * more without `replaces`. ACME_POST_* as acme_post. */
static int order_post(struct acme *a, char *const *names, size_t n_names,
		      const char *profile, const char *replaces, struct http_resp *r)
{
	char *payload;
	int prc;

	for (;;) {   /* twice at most: the second time without replaces */
		if ((payload = order_payload(names, n_names, profile, replaces)) == NULL)
			return ACME_POST_FAIL;
		prc = acme_post(a, a->dir.new_order, payload, 0, NULL, r);
		free(payload);
		if (prc != ACME_POST_PROBLEM || replaces == NULL ||
		    !acme_resp_is(r, "alreadyReplaced"))
			return prc;
		log_warn("%s: the CA says certificate %s was already replaced; ordering without "
			 "`replaces`", a->dir.new_order, replaces);
		http_resp_free(r);
		replaces = NULL;
	}
}

int acme_order_new(struct acme *a, char *const *names, size_t n_names, const char *profile,
		   const char *replaces, struct acme_order *o, char **order_url)
{
	struct http_resp r = { 0 };
	int rc = -1, prc;

	prc = order_post(a, names, n_names, profile, replaces, &r);
	if (prc == ACME_POST_PROBLEM)
		acme_report(a->dir.new_order, &r);
	if (prc != ACME_POST_OK)
		goto out;
	if (r.code != 201 || r.location == NULL || acme_order_parse(r.body, r.len, o) != 0) {
		log_error("%s: HTTP %ld: malformed order (%s)", a->dir.new_order, r.code,
			  r.location == NULL ? "no Location" : acme_parse_why(r.body, r.len));
		goto out;
	}
	*order_url = r.location;
	r.location = NULL;
	rc = 0;
out:
	http_resp_free(&r);
	return rc;
}

/* Sleep before the next poll: the backoff *ms, or the CA's Retry-After when that is
 * longer (see POLL_FIRST_MS); then double the backoff. -1 when the pause would pass
 * the deadline. */
static int poll_pause(struct acme *a, const char *what, const char *retry_after, long *ms)
{
	long secs, wait = *ms;

	if (retry_after != NULL &&
	    retry_after_parse(retry_after, strlen(retry_after), time(NULL), &secs) == 0) {
		if (secs > 0 && past_deadline(a->deadline, secs)) {
			log_retry_at(what, secs);
			return -1;
		}
		if (secs * 1000 > wait)   /* secs < the time left: no overflow */
			wait = secs * 1000;
	}
	if (time(NULL) + (wait + 999) / 1000 > a->deadline) {
		log_error("%s: still not done at the deadline (--timeout %d s)", safe_str(what),
			  a->g->timeout);
		return -1;
	}
	trace("pause %ld", wait);
	sleep_ms(wait);
	*ms = *ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : *ms * 2;
	return 0;
}

/* POST-as-GET url, parse with fn, keep the Retry-After. */
static int poll_once(struct acme *a, const char *url, char **retry_after,
		     int (*fn)(const char *, size_t, void *), void *out)
{
	struct http_resp r = { 0 };
	int rc = -1;

	if (post_expect(a, url, url, "", 0, NULL, &r) != 0)
		goto out;
	if (fn(r.body, r.len, out) != 0) {
		log_error("%s: malformed response: %s", url, acme_parse_why(r.body, r.len));
		goto out;
	}
	free(*retry_after);
	*retry_after = r.retry_after;
	r.retry_after = NULL;
	rc = 0;
out:
	http_resp_free(&r);
	return rc;
}

static int order_parse_cb(const char *b, size_t l, void *o)
{
	return acme_order_parse(b, l, o);
}

static int authz_parse_cb(const char *b, size_t l, void *z)
{
	return acme_authz_parse(b, l, z);
}

/* What a poll waits on. */
enum poll_obj { POLL_ORDER, POLL_AUTHZ };

/* Empty obj, fetch url into it: 1 while the order is "pending"/"processing" or the
 * authorization "pending", 0 once it has left that, -1 on a failure (logged). */
static int poll_step(struct acme *a, const char *url, char **ra, enum poll_obj w, void *obj)
{
	struct acme_order *o = obj;
	struct acme_authz *z = obj;

	if (w == POLL_ORDER) {
		acme_order_free(o);
		if (poll_once(a, url, ra, order_parse_cb, o) != 0)
			return -1;
		return o->state == ACME_ST_PENDING || o->state == ACME_ST_PROCESSING;
	}
	acme_authz_free(z);
	if (poll_once(a, url, ra, authz_parse_cb, z) != 0)
		return -1;
	return z->state == ACME_ST_PENDING;
}

/* Poll url until the object is no longer busy. With pause_first the first poll
 * waits too: ra_first (the CA's Retry-After, may be NULL), else the backoff. */
static int poll_until(struct acme *a, const char *url, int pause_first, const char *ra_first,
		      enum poll_obj w, void *obj)
{
	char *ra = NULL;
	long ms = POLL_FIRST_MS;
	int rc = -1, busy;

	if (pause_first && poll_pause(a, url, ra_first, &ms) != 0)
		return -1;
	while ((busy = poll_step(a, url, &ra, w, obj)) == 1)
		if (poll_pause(a, url, ra, &ms) != 0)
			goto out;
	if (busy == 0)
		rc = 0;
out:
	free(ra);
	return rc;
}

int acme_order_wait(struct acme *a, const char *url, struct acme_order *o)
{
	return poll_until(a, url, 0, NULL, POLL_ORDER, o);
}

int acme_order_wait_issued(struct acme *a, const char *url, const char *retry_after,
			   struct acme_order *o)
{
	/* Polling at once would nearly always see "processing" again; a short pause
	 * first makes one poll the usual case (Pebble and Boulder issue in ms). */
	return poll_until(a, url, 1, retry_after, POLL_ORDER, o);
}

/* One fetch, whatever its Retry-After. */
static int get_once(struct acme *a, const char *url, int (*fn)(const char *, size_t, void *),
		    void *out)
{
	char *ra = NULL;
	int rc = poll_once(a, url, &ra, fn, out);

	free(ra);
	return rc;
}

int acme_order_get(struct acme *a, const char *url, struct acme_order *o)
{
	return get_once(a, url, order_parse_cb, o);
}

int acme_authz_get(struct acme *a, const char *url, struct acme_authz *z)
{
	return get_once(a, url, authz_parse_cb, z);
}

int acme_authz_wait(struct acme *a, const char *url, struct acme_authz *z)
{
	/* Right after the challenge POST the CA is still validating: pause first. */
	return poll_until(a, url, 1, NULL, POLL_AUTHZ, z);
}

int acme_challenge_respond(struct acme *a, const char *url)
{
	struct http_resp r = { 0 };
	int rc;

	rc = post_expect(a, url, url, "{}", 0, NULL, &r);
	http_resp_free(&r);
	return rc;
}

int acme_order_finalize(struct acme *a, const char *finalize_url, const unsigned char *csr,
			size_t csr_len, struct acme_order *o, char **retry_after)
{
	struct http_resp r = { 0 };
	char *c64 = NULL, *payload = NULL;
	int rc = -1;

	if ((c64 = b64url_encode(csr, csr_len)) == NULL ||
	    (payload = xasprintf("{\"csr\":\"%s\"}", c64)) == NULL)
		goto out;
	if (post_expect(a, finalize_url, finalize_url, payload, 0, NULL, &r) != 0)
		goto out;
	if (acme_order_parse(r.body, r.len, o) != 0) {
		log_error("%s: malformed order", finalize_url);
		goto out;
	}
	*retry_after = r.retry_after;
	r.retry_after = NULL;
	rc = 0;
out:
	free(c64);
	free(payload);
	http_resp_free(&r);
	return rc;
}

int acme_cert_get(struct acme *a, const char *url, char **pem, struct link **links,
		  size_t *n_links)
{
	struct http_resp r = { 0 };
	int rc = -1;

	*pem = NULL;
	if (post_expect(a, url, url, "", 0, "application/pem-certificate-chain", &r) != 0)
		goto out;
	for (size_t i = 0; links != NULL && i < r.n_links; i++)
		if (link_parse(r.links[i], strlen(r.links[i]), links, n_links) != 0)
			log_warn("%s: ignoring a malformed Link header", url);
	*pem = r.body;
	r.body = NULL;
	rc = 0;
out:
	http_resp_free(&r);
	return rc;
}

int acme_revoke(struct acme *a, const unsigned char *der, size_t der_len, int reason)
{
	struct http_resp r = { 0 };
	char *c64 = NULL, *payload = NULL;
	int rc = -1;

	if (a->dir.revoke_cert == NULL) {
		log_error("%s: the CA offers no revokeCert", a->g->server);
		goto out;
	}
	if ((c64 = b64url_encode(der, der_len)) == NULL)
		goto out;
	if (reason >= 0)
		payload = xasprintf("{\"certificate\":\"%s\",\"reason\":%d}", c64, reason);
	else
		payload = xasprintf("{\"certificate\":\"%s\"}", c64);
	if (payload == NULL)
		goto out;
	rc = post_expect(a, a->dir.revoke_cert, a->dir.revoke_cert, payload, 0, NULL, &r);
out:
	free(c64);
	free(payload);
	http_resp_free(&r);
	return rc;
}

/* ---- key authorizations ---- */

char *acme_keyauth(const struct acme *a, const char *token)
{
	return xasprintf("%s.%s", token, a->thumbprint);
}

char *acme_dns_txt(const char *keyauth)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)keyauth, strlen(keyauth), md);
	return b64url_encode(md, sizeof(md));
}
