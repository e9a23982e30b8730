/*
 * client/acme.h: the ACME protocol (RFC 8555), one step per function.
 *
 * Every step has the same shape: build the payload, send it through acme_post()
 * (the only place that signs, keeps the nonce and retries), check the status,
 * parse the body into a typed struct (parse.h), return.
 *
 * Return convention for the steps: 0 on success; -1 after a message was logged.
 */
#ifndef P11ACME_CLIENT_ACME_H
#define P11ACME_CLIENT_ACME_H

#include <stddef.h>
#include <time.h>

#include "client/client.h"
#include "client/http.h"
#include "client/parse.h"

struct acme {
	const struct globals *g;
	struct http *http;
	struct signer *signer;
	struct acme_directory dir;
	struct acme_directory dir_old; /* replaced by a refresh; kept, as callers may
					* still point into it */
	int dir_cached;    /* dir came from the cache (no refresh yet this run) */
	char *nonce;       /* the nonce pool: one unused nonce, or NULL */
	char *kid;         /* account URL once known */
	int kid_cached;    /* kid came from the cache and was not checked yet */
	char *thumbprint;  /* account key's RFC 7638 thumbprint */
	time_t deadline;   /* from --timeout */
};

/* HTTP client, directory and thumbprint. signer may not be NULL. The directory
 * comes from CONFIG_DIR/accounts/<host>/directory.json when fetched less than a
 * day ago, else from the CA (and is cached). A directory URL that then answers 404
 * or cannot be reached makes acme_post() fetch the directory once and retry. */
int acme_open(struct acme *a, const struct globals *g, struct signer *signer);
void acme_close(struct acme *a);

/* acme_open in two halves. acme_open_net needs no signer: HTTP client, directory,
 * and a nonce (HEAD newNonce unless the directory fetch brought one), so that the
 * TLS connection is open before the first signature is needed. acme_open_key then
 * sets the signer and asks it for the thumbprint (waiting until it is ready). On
 * failure, acme_close what was opened. */
int acme_open_net(struct acme *a, const struct globals *g);
int acme_open_key(struct acme *a, struct signer *signer);

/* g->server's directory into *dir without a signer: from the cache when less than a
 * day old (*cached = 1), else from the CA through h, then cached (*cached = 0). A
 * Replay-Nonce from the CA goes to *nonce when nonce is not NULL and *nonce empty.
 * 0, or -1 after logging. */
int acme_directory_obtain(struct http *h, const struct globals *g,
			  struct acme_directory *dir, int *cached, char **nonce);

/* Result of acme_post(). */
enum acme_post_rc {
	ACME_POST_OK = 0,       /* 2xx */
	ACME_POST_PROBLEM = 1,  /* the CA answered with an error; r holds it */
	ACME_POST_FAIL = -1,    /* transport, signer or deadline failure; logged */
};

/* The one signed-POST helper. payload is JSON text, or "" for POST-as-GET. With
 * use_jwk the JWS carries the account JWK, else kid = a->kid. Retries badNonce with
 * the error response's nonce, and waits out Retry-After on 429 rateLimited and 503
 * (bounded, and never past the deadline). A failure that this host's caches explain
 * goes through the session's one recovery step (acme.c session_recover): a moved
 * directory URL, a stale cached account URL; each is repaired once per run. */
int acme_post(struct acme *a, const char *url, const char *payload, int use_jwk,
	      const char *accept, struct http_resp *r);

/* Log "<what>: HTTP <code>: <detail> (<type>)" and each subproblem with its
 * identifier. */
void acme_report(const char *what, const struct http_resp *r);
void acme_report_problem(const char *what, const struct acme_problem *p);
/* 1 when r carries the problem urn:ietf:params:acme:error:<name>. */
int acme_resp_is(const struct http_resp *r, const char *name);

/* ---- accounts ---- */

#define ACME_MAX_CONTACTS 10

/* What a new account is registered with: contacts ("mailto:ADDR", malloc'd) and
 * whether the user agreed to the CA's terms of service (account register, issue
 * --agree-tos). Free with acme_newacct_free. */
struct acme_newacct {
	char *contacts[ACME_MAX_CONTACTS];
	size_t n_contacts;
	int agree;
};

void acme_newacct_free(struct acme_newacct *n);

/* POST the account URL with a new contact list (RFC 8555 §7.3.2); *acct gets the
 * account as the CA now has it. */
int acme_account_update(struct acme *a, char *const *contacts, size_t n_contacts,
			struct acme_account *acct);

/* newAccount with onlyReturnExisting. Sets a->kid. Returns 0, -1 (logged), or 1
 * when the CA has no account for this key (not logged). acct may be NULL. */
int acme_account_lookup(struct acme *a, struct acme_account *acct);
/* Cached account URL (per server and thumbprint) first, else lookup; caches the
 * result. Returns 0, -1 (logged; also when no account exists). */
int acme_account_find(struct acme *a);
/* acme_account_find; but when n->agree and no account URL is cached, newAccount
 * with n's contacts (which finds the key's account, or creates it) in place of the
 * lookup, so that a first issuance needs no separate `account register`. At a CA
 * that requires external account binding, only the lookup (account register does
 * EAB). */
int acme_account_find_or_new(struct acme *a, const struct acme_newacct *n);
/* newAccount with contacts ("mailto:..." already) and optional EAB, agreeing to the
 * CA's terms of service (logged, with their URL). Sets a->kid and caches it. */
int acme_account_new(struct acme *a, char *const *contacts, size_t n_contacts,
		     const char *eab_kid, const unsigned char *eab_key, size_t eab_key_len,
		     struct acme_account *acct);
int acme_account_deactivate(struct acme *a);
/* keyChange to SIGNER_KEY_NEW; updates the cache. */
int acme_account_keychange(struct acme *a, const char *new_thumbprint);

/* ---- orders ---- */

/* newOrder for names, with the profile and the RFC 9773 `replaces` certID when not
 * NULL. When the CA answers alreadyReplaced, orders once more without `replaces`. */
int acme_order_new(struct acme *a, char *const *names, size_t n_names, const char *profile,
		   const char *replaces, struct acme_order *o, char **order_url);
/* Fetch the order once (POST-as-GET), in whatever state it is. */
int acme_order_get(struct acme *a, const char *url, struct acme_order *o);
/* Poll until the order leaves "pending"/"processing"; o holds the last state.
 * The first poll is at once; the pauses after it back off from 10 ms to 1.6 s, and
 * a Retry-After can lengthen a pause but never shorten it (no poll storms). */
int acme_order_wait(struct acme *a, const char *url, struct acme_order *o);
/* The same after a finalize that left the order "processing": waits retry_after
 * (the finalize response's Retry-After, may be NULL), else a short pause, before
 * the first poll, then backs off. Bounded by the deadline. */
int acme_order_wait_issued(struct acme *a, const char *url, const char *retry_after,
			   struct acme_order *o);
/* POST the CSR; o gets the order, *retry_after the response's Retry-After (malloc'd,
 * NULL when absent; set only on success). */
int acme_order_finalize(struct acme *a, const char *finalize_url, const unsigned char *csr,
			size_t csr_len, struct acme_order *o, char **retry_after);
int acme_authz_get(struct acme *a, const char *url, struct acme_authz *z);
/* Poll until the authorization leaves "pending": a first pause (the CA is
 * validating), then the backoff of acme_order_wait. */
int acme_authz_wait(struct acme *a, const char *url, struct acme_authz *z);
/* Tell the CA to validate a challenge (POST {}). */
int acme_challenge_respond(struct acme *a, const char *url);
/* Download a certificate chain (PEM). links gets the response's Link values. */
int acme_cert_get(struct acme *a, const char *url, char **pem, struct link **links,
		  size_t *n_links);
int acme_revoke(struct acme *a, const unsigned char *der, size_t der_len, int reason);

/* "token.thumbprint" (malloc'd). */
char *acme_keyauth(const struct acme *a, const char *token);
/* base64url(SHA-256(keyauth)) for dns-01 (malloc'd). */
char *acme_dns_txt(const char *keyauth);

#endif
