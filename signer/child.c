/*
 * The signer process: the only process that reads the PIN and holds token sessions
 * and key handles. It opens its keys after the fork, reports readiness, then answers
 * typed requests until the parent closes the socket. It builds every JWS itself
 * from typed fields, so a compromised parent can have requests signed, but never
 * arbitrary bytes (no raw-signature oracle for other protocols).
 */
#include "signer/internal.h"
#include "tokens/tokens.h"
#include "common/common.h"
#include "common/trace.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct child {
	int fd;
	const struct signer_config *cfg;
	char *pin[SIGNER_KEY__MAX];      /* relogin: the PIN of each owned context */
	char *first_tp[SIGNER_KEY__MAX]; /* relogin: the thumbprints the keys had at start */
	struct tok_ctx *ctx[SIGNER_KEY__MAX];   /* owned when owns_ctx[i]; else shares an earlier slot's */
	int owns_ctx[SIGNER_KEY__MAX];
	EVP_PKEY *pk[SIGNER_KEY__MAX];          /* owned by ctx, or by us for a software key */
	EVP_PKEY *soft;                         /* the software account key (softkey.c), or NULL */
	const char *alg[SIGNER_KEY__MAX];
	cJSON *jwk[SIGNER_KEY__MAX];
	char *thumbprint[SIGNER_KEY__MAX];
	unsigned char buf[WIRE_MAX_FRAME + 1];
};

int signer_status_of_tok(int tok_status)
{
	if (tok_status == TOK_OK)
		return SIGNER_OK;
	if (tok_status == TOK_ERR_PIN)
		return SIGNER_ERR_PIN;
	return tok_status == TOK_ERR_CONFIG ? SIGNER_ERR_CONFIG : SIGNER_ERR;
}

void signer_tok_opts(const struct signer_config *cfg, struct tok_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->module = cfg->module;
	o->module_args = cfg->module_args;
	o->pin_source = cfg->pin_source;
	o->allow_extractable = cfg->allow_extractable;
	o->pin_marker_dir = cfg->pin_marker_dir;
}

static const char *slot_uri(const struct signer_config *cfg, int slot)
{
	if (slot == SIGNER_KEY_ACCOUNT)
		return cfg->key_uri;
	return slot == SIGNER_KEY_NEW ? cfg->new_key_uri : cfg->cert_key_uri;
}

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Two URIs name the same token when their token and module attributes agree. Keys on
 * one token share one tok_ctx: two libp11 contexts on one module in one process
 * break each other (docs/PKCS11-NOTES.md), and a second login would be pointless.
 */
static int same_token(const char *u1, const char *u2)
{
	struct tok_uri a, b;
	char err[256];
	int same = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (tok_uri_parse(u1, &a, err, sizeof(err)) != TOK_OK ||
	    tok_uri_parse(u2, &b, err, sizeof(err)) != TOK_OK)
		goto out;
	same = str_eq(a.token, b.token) && str_eq(a.serial, b.serial) &&
	       str_eq(a.model, b.model) && str_eq(a.manufacturer, b.manufacturer) &&
	       str_eq(a.module_path, b.module_path) && str_eq(a.module_name, b.module_name);
out:
	tok_uri_free(&a);
	tok_uri_free(&b);
	return same;
}

/* The key checks every slot gets, whatever its backend. */
static int key_ready(struct child *c, int slot, const char *shown)
{
	if ((c->alg[slot] = jws_alg(c->pk[slot])) == NULL || jws_check_pair(c->pk[slot]) < 0 ||
	    (c->jwk[slot] = jws_jwk(c->pk[slot])) == NULL ||
	    (c->thumbprint[slot] = jws_thumbprint(c->jwk[slot])) == NULL) {
		log_error("signer: %s: unusable key", shown);
		return SIGNER_ERR_CONFIG;
	}
	return SIGNER_OK;
}

/* Load the key of slot from its open context (alg, JWK, thumbprint). */
static int open_key_in(struct child *c, int slot, const char *uri)
{
	int rc;

	if ((rc = tok_load_key(c->ctx[slot], uri, &c->pk[slot])) != TOK_OK)
		return signer_status_of_tok(rc);
	return key_ready(c, slot, uri);
}

/* The account slot from a key file instead of a token (account migrate). */
static int open_soft_key(struct child *c, const char *path)
{
	int rc;

	if ((rc = softkey_load(path, &c->soft)) != SIGNER_OK)
		return rc;
	c->pk[SIGNER_KEY_ACCOUNT] = c->soft;
	return key_ready(c, SIGNER_KEY_ACCOUNT, path);
}

static int open_key(struct child *c, const struct signer_config *cfg, int slot)
{
	struct tok_opts o;
	const char *uri = slot_uri(cfg, slot);
	int i, rc;

	if (slot == SIGNER_KEY_ACCOUNT && cfg->account_key_file != NULL)
		return open_soft_key(c, cfg->account_key_file);
	for (i = 0; i < slot; i++)
		if (c->ctx[i] != NULL && same_token(slot_uri(cfg, i), uri))
			break;
	if (i < slot) {
		c->ctx[slot] = c->ctx[i];
	} else {
		signer_tok_opts(cfg, &o);
		if ((rc = tok_open(uri, &o, &c->ctx[slot])) != TOK_OK)
			return signer_status_of_tok(rc);
		c->owns_ctx[slot] = 1;
	}
	return open_key_in(c, slot, uri);
}

static void close_keys(struct child *c)
{
	int i;

	for (i = 0; i < SIGNER_KEY__MAX; i++) {
		cJSON_Delete(c->jwk[i]);
		free(c->thumbprint[i]);
		secret_free(c->pin[i]);
		free(c->first_tp[i]);
	}
	/* tok_close frees the EVP_PKEYs first, then slots and module, as libp11 needs. */
	for (i = SIGNER_KEY__MAX - 1; i >= 0; i--)
		if (c->owns_ctx[i])
			tok_close(c->ctx[i]);
	EVP_PKEY_free(c->soft);
}

/* Keep what logging in again needs: each owned context's PIN, each key's thumbprint. */
static int keep_for_relogin(struct child *c)
{
	int i;

	for (i = 0; i < SIGNER_KEY__MAX; i++) {
		if (c->owns_ctx[i])
			c->pin[i] = tok_pin_copy(c->ctx[i]);
		if (c->thumbprint[i] != NULL && (c->first_tp[i] = strdup(c->thumbprint[i])) == NULL)
			return SIGNER_ERR;
	}
	return SIGNER_OK;
}

/* Drop the keys and tokens (after a failure), keeping PINs and first thumbprints. */
static void drop_tokens(struct child *c)
{
	int i;

	for (i = 0; i < SIGNER_KEY__MAX; i++) {
		cJSON_Delete(c->jwk[i]);
		free(c->thumbprint[i]);
		c->jwk[i] = NULL;
		c->thumbprint[i] = NULL;
		c->pk[i] = NULL;
		c->alg[i] = NULL;
	}
	for (i = SIGNER_KEY__MAX - 1; i >= 0; i--) {
		if (c->owns_ctx[i])
			tok_close(c->ctx[i]);
		c->ctx[i] = NULL;
		c->owns_ctx[i] = 0;
	}
}

/*
 * A long-lived signer after a failed signature: the token may have been reset or
 * removed and put back, or a remote token's connection dropped. Open every token
 * again, logging in with the PIN kept from the first login (the PIN source is not
 * read again: an env: source is gone, an fd: source consumed), and insist that each
 * key is the one it was: a token swapped meanwhile must not sign for the account.
 */
static int relogin(struct child *c)
{
	struct tok_opts o;
	const char *uri;
	int slot, i, rc;

	log_warn("signer: a token operation failed; opening the token again");
	drop_tokens(c);
	for (slot = 0; slot < SIGNER_KEY__MAX; slot++) {
		if ((uri = slot_uri(c->cfg, slot)) == NULL)
			continue;
		for (i = 0; i < slot && !(c->ctx[i] != NULL && same_token(slot_uri(c->cfg, i), uri));
		     i++)
			;
		if (i < slot) {
			c->ctx[slot] = c->ctx[i];
		} else {
			signer_tok_opts(c->cfg, &o);
			o.pin = c->pin[slot];
			if ((rc = tok_open(uri, &o, &c->ctx[slot])) != TOK_OK)
				return signer_status_of_tok(rc);
			c->owns_ctx[slot] = 1;
		}
		if ((rc = open_key_in(c, slot, uri)) != SIGNER_OK)
			return rc;
		if (strcmp(c->thumbprint[slot], c->first_tp[slot]) != 0) {
			log_error("signer: %s is now another key; refusing to sign with it", uri);
			drop_tokens(c);
			return SIGNER_ERR;
		}
	}
	log_info("signer: logged in to the token again");
	return SIGNER_OK;
}

static int send_ready(struct child *c)
{
	struct wire_field f[SIGNER_KEY__MAX];
	int i;

	for (i = 0; i < SIGNER_KEY__MAX; i++) {
		f[i].p = (const unsigned char *)(c->alg[i] != NULL ? c->alg[i] : "");
		f[i].len = strlen((const char *)f[i].p);
	}
	return wire_send_ok(c->fd, f, SIGNER_KEY__MAX);
}

static int send_str(struct child *c, const char *s)
{
	struct wire_field f = { (const unsigned char *)s, strlen(s) };

	return wire_send_ok(c->fd, &f, 1);
}

/* The key slot named by field 0 of a request, when it holds a key; else -1 (logged). */
static int req_slot(struct child *c, const struct wire_msg *m)
{
	int slot;

	if (m->nfields != 1 || m->f[0].len != 1) {
		log_error("signer: malformed key selector");
		return -1;
	}
	slot = m->f[0].p[0];
	if (slot >= SIGNER_KEY__MAX || c->pk[slot] == NULL) {
		log_error("signer: key %d is not configured", slot);
		return -1;
	}
	return slot;
}

static int op_alg_jwk_thumbprint(struct child *c, const struct wire_msg *m)
{
	char *json = NULL;
	int slot, rc = SIGNER_ERR;

	if ((slot = req_slot(c, m)) < 0)
		goto out;
	if (m->op == WIRE_OP_ALG)
		rc = send_str(c, c->alg[slot]);
	else if (m->op == WIRE_OP_THUMBPRINT)
		rc = send_str(c, c->thumbprint[slot]);
	else if ((json = cJSON_PrintUnformatted(c->jwk[slot])) != NULL)
		rc = send_str(c, json);
	rc = rc == 0 ? SIGNER_OK : SIGNER_ERR;
out:
	free(json);
	return rc;
}

/* An ACME payload is a JSON object, or empty for POST-as-GET. */
static int payload_valid(const struct wire_field *f)
{
	cJSON *j = NULL;
	int ok;

	if (f->len == 0)
		return 1;
	j = cJSON_ParseWithLength((const char *)f->p, f->len);
	ok = cJSON_IsObject(j);
	cJSON_Delete(j);
	return ok;
}

/* The account key's JWS; a long-lived signer logs in again once when it fails. */
static char *sign_account(struct child *c, const char *url, const char *nonce,
			  const char *kid, const struct wire_field *payload)
{
	char *jws = NULL;

	if (c->pk[SIGNER_KEY_ACCOUNT] != NULL)
		jws = jws_acme(c->pk[SIGNER_KEY_ACCOUNT], c->alg[SIGNER_KEY_ACCOUNT],
			       c->jwk[SIGNER_KEY_ACCOUNT], url, nonce, kid,
			       (const char *)payload->p, payload->len);
	if (jws == NULL && c->cfg->relogin && relogin(c) == SIGNER_OK)
		jws = jws_acme(c->pk[SIGNER_KEY_ACCOUNT], c->alg[SIGNER_KEY_ACCOUNT],
			       c->jwk[SIGNER_KEY_ACCOUNT], url, nonce, kid,
			       (const char *)payload->p, payload->len);
	return jws;
}

static int op_sign(struct child *c, const struct wire_msg *m)
{
	char *url = NULL, *nonce = NULL, *kid = NULL, *jws = NULL;
	int rc = SIGNER_ERR;

	if (m->nfields != 3 && m->nfields != 4) {
		log_error("signer: SIGN needs url, nonce, payload and an optional kid");
		goto out;
	}
	if ((url = wire_strdup(m, 0)) == NULL || url[0] == '\0' ||
	    (nonce = wire_strdup(m, 1)) == NULL || nonce[0] == '\0' ||
	    (m->nfields == 4 && ((kid = wire_strdup(m, 3)) == NULL || kid[0] == '\0'))) {
		log_error("signer: SIGN: empty or malformed url, nonce or kid");
		goto out;
	}
	if (!payload_valid(&m->f[2])) {
		log_error("signer: SIGN: the payload is not a JSON object");
		goto out;
	}
	jws = sign_account(c, url, nonce, kid, &m->f[2]);
	if (jws != NULL && send_str(c, jws) == 0)
		rc = SIGNER_OK;
out:
	free(url);
	free(nonce);
	free(kid);
	free(jws);
	return rc;
}

static int op_keychange(struct child *c, const struct wire_msg *m)
{
	char *url = NULL, *account = NULL, *jws = NULL;
	int rc = SIGNER_ERR;

	if (c->pk[SIGNER_KEY_NEW] == NULL) {
		log_error("signer: KEYCHANGE: no new key is configured (--new-key)");
		rc = SIGNER_ERR_CONFIG;
		goto out;
	}
	if (m->nfields != 2 || (url = wire_strdup(m, 0)) == NULL || url[0] == '\0' ||
	    (account = wire_strdup(m, 1)) == NULL || account[0] == '\0') {
		log_error("signer: KEYCHANGE needs url and account url");
		goto out;
	}
	jws = jws_keychange(c->pk[SIGNER_KEY_NEW], c->alg[SIGNER_KEY_NEW],
			    c->jwk[SIGNER_KEY_NEW], c->jwk[SIGNER_KEY_ACCOUNT], url, account);
	if (jws == NULL && c->cfg->relogin && relogin(c) == SIGNER_OK)
		jws = jws_keychange(c->pk[SIGNER_KEY_NEW], c->alg[SIGNER_KEY_NEW],
				    c->jwk[SIGNER_KEY_NEW], c->jwk[SIGNER_KEY_ACCOUNT], url,
				    account);
	if (jws != NULL && send_str(c, jws) == 0)
		rc = SIGNER_OK;
out:
	free(url);
	free(account);
	free(jws);
	return rc;
}

static int op_csr(struct child *c, const struct wire_msg *m)
{
	char *names[WIRE_MAX_FIELDS] = { NULL };
	unsigned char *der = NULL;
	size_t i, derlen;
	struct wire_field f;
	int rc = SIGNER_ERR;

	if (c->pk[SIGNER_KEY_CERT] == NULL) {
		log_error("signer: CSR: no certificate key is configured (--cert-key)");
		rc = SIGNER_ERR_CONFIG;
		goto out;
	}
	for (i = 0; i < m->nfields; i++)
		if ((names[i] = wire_strdup(m, i)) == NULL) {
			log_error("signer: CSR: malformed name");
			goto out;
		}
	if (jws_csr(c->pk[SIGNER_KEY_CERT], (const char *const *)names, m->nfields,
		    &der, &derlen) < 0)
		goto out;
	f.p = der;
	f.len = derlen;
	if (wire_send_ok(c->fd, &f, 1) == 0)
		rc = SIGNER_OK;
out:
	for (i = 0; i < WIRE_MAX_FIELDS; i++)
		free(names[i]);
	free(der);
	return rc;
}

static int dispatch(struct child *c, const struct wire_msg *m)
{
	/* A relogin that failed left no keys: try again before anything else. */
	if (c->cfg->relogin && c->pk[SIGNER_KEY_ACCOUNT] == NULL && relogin(c) != SIGNER_OK)
		return SIGNER_ERR;
	switch (m->op) {
	case WIRE_OP_ALG:
	case WIRE_OP_JWK:
	case WIRE_OP_THUMBPRINT:
		return op_alg_jwk_thumbprint(c, m);
	case WIRE_OP_SIGN:
		return op_sign(c, m);
	case WIRE_OP_KEYCHANGE:
		return op_keychange(c, m);
	case WIRE_OP_CSR:
		return op_csr(c, m);
	default:
		log_error("signer: unknown operation %u", m->op);
		return SIGNER_ERR;
	}
}

/*
 * Serve until the parent closes its end. A bad request gets an error response and
 * the loop goes on: the next message is framed by the socket, not by this one.
 * Returns 0 at EOF, 1 when the socket itself fails.
 */
static int serve(struct child *c)
{
	struct wire_msg m;
	const char *why = NULL;
	size_t len;
	int r, rc;

	for (;;) {
		r = wire_recv(c->fd, c->buf, sizeof(c->buf), &len);
		if (r == 0)
			return 0;
		if (r == -1)
			return 1;
		if (r == -2) {
			log_error("signer: request larger than %u bytes", WIRE_MAX_FRAME);
			rc = SIGNER_ERR;
		} else if (wire_decode(c->buf, len, &m, &why) < 0) {
			log_error("signer: malformed request: %s", why);
			rc = SIGNER_ERR;
		} else
			rc = dispatch(c, &m);
		log_openssl_errors("signer");
		if (rc != SIGNER_OK && wire_send_err(c->fd, rc) < 0)
			return 1;
	}
}

int signer_child_main(int fd, const struct signer_config *cfg, void *arg)
{
	struct child *c = NULL;
	int slot, rc = SIGNER_ERR, status = 1;

	(void)arg;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("signer: out of memory");
		wire_send_err(fd, SIGNER_ERR);
		return 1;
	}
	c->fd = fd;
	c->cfg = cfg;
	if (cfg->key_uri == NULL && cfg->account_key_file == NULL) {
		log_error("signer: no account key URI (--key)");
		rc = SIGNER_ERR_CONFIG;
		goto out;
	}
	trace("token-open");
	for (slot = 0; slot < SIGNER_KEY__MAX; slot++)
		if ((slot_uri(cfg, slot) != NULL ||
		     (slot == SIGNER_KEY_ACCOUNT && cfg->account_key_file != NULL)) &&
		    (rc = open_key(c, cfg, slot)) != SIGNER_OK)
			goto out;
	log_openssl_errors("signer start");
	trace("token-ready");
	if (cfg->relogin && (rc = keep_for_relogin(c)) != SIGNER_OK)
		goto out;
	if (send_ready(c) < 0)
		goto out;
	status = serve(c);
out:
	log_openssl_errors("signer");
	if (rc != SIGNER_OK)
		wire_send_err(fd, rc);
	close_keys(c);
	free(c);
	return status;
}
