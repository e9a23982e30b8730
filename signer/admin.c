/*
 * p11acme key generate / key show. Each runs in a signer child of its own (the same
 * fork and hardening as signer_start), so the CLI process never reads the PIN or
 * loads the module. The child sends one frame: the result or an error status
 * (signer_admin_run, signer_admin_reply: also signer_key_ensure in ensure.c).
 */
#include "signer/internal.h"
#include "tokens/tokens.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

/* ---- one-shot admin children ---- */

int signer_admin_reply(int fd, int tok_status, const struct wire_field *fields, size_t nfields)
{
	int rc = signer_status_of_tok(tok_status);

	if (rc == SIGNER_OK)
		wire_send_ok(fd, fields, nfields);
	else
		wire_send_err(fd, rc);
	return rc == SIGNER_OK ? 0 : 1;
}

int signer_admin_run(const struct signer_config *cfg, signer_child_fn fn, void *arg,
		     unsigned char **buf, struct wire_msg *resp)
{
	pid_t pid = -1;
	int fd = -1, rc = SIGNER_ERR;

	if ((*buf = malloc(WIRE_MAX_FRAME + 1)) != NULL &&
	    signer_fork(cfg, fn, arg, &fd, &pid) == 0)
		rc = signer_roundtrip(fd, 0, NULL, 0, *buf, resp);
	if (fd >= 0)
		close(fd);
	signer_reap(pid);
	return rc;
}

/* ---- key generate ---- */

static int keygen_child(int fd, const struct signer_config *cfg, void *arg)
{
	struct tok_ctx *ctx = NULL;
	struct tok_opts o;
	int rc;

	signer_tok_opts(cfg, &o);
	if ((rc = tok_open(cfg->key_uri, &o, &ctx)) == TOK_OK)
		rc = tok_generate_key(ctx, cfg->key_uri, arg);
	rc = signer_admin_reply(fd, rc, NULL, 0);
	tok_close(ctx);
	return rc;
}

int signer_key_generate(const struct signer_config *cfg, const char *type)
{
	unsigned char *buf = NULL;
	struct wire_msg resp;
	int rc;

	if (cfg == NULL || cfg->key_uri == NULL || type == NULL) {
		log_error("key generate: a key URI (--key) and a type are required");
		return SIGNER_ERR_CONFIG;
	}
	rc = signer_admin_run(cfg, keygen_child, (void *)type, &buf, &resp);
	free(buf);
	return rc;
}

/* ---- key show ---- */

/* The same verdict as tok_load_key's refusal (tok_key_leak_reason). */
static int cannot_leave(const struct tok_key_info *ki)
{
	return tok_key_leak_reason(ki) == NULL;
}

static const char *tri(int v)
{
	return v < 0 ? "unknown" : v ? "yes" : "no";
}

static cJSON *tri_json(int v)
{
	return v < 0 ? cJSON_CreateNull() : cJSON_CreateBool(v);
}

static char *public_pem(EVP_PKEY *pk)
{
	BIO *b = NULL;
	char *data = NULL, *pem = NULL;
	long len;

	if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_PUBKEY(b, pk))
		goto out;
	if ((len = BIO_get_mem_data(b, &data)) <= 0 || (pem = malloc((size_t)len + 1)) == NULL)
		goto out;
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
out:
	BIO_free(b);
	log_openssl_errors("public key PEM");
	return pem;
}

static char *report_text(const char *uri, const char *alg, const char *tp, const char *pem,
			 const struct tok_key_info *ki)
{
	return xasprintf("key: %s\nlabel: %s\nid: %s\nalgorithm: %s (%s %d bits)\n"
			 "thumbprint: %s\nsensitive: %s\nextractable: %s\n"
			 "always-sensitive: %s\nnever-extractable: %s\n"
			 "generated on the token: %s\nPIN for every signature: %s\nverdict: %s%s%s\n%s",
			 uri, ki->label, ki->id_hex, alg,
			 ki->key_type == EVP_PKEY_RSA ? "RSA" : "EC", ki->bits, tp,
			 tri(ki->sensitive), tri(ki->extractable), tri(ki->always_sensitive),
			 tri(ki->never_extractable), tri(ki->local), tri(ki->always_authenticate),
			 cannot_leave(ki) ? "cannot leave the token" : "CAN LEAVE THE TOKEN",
			 cannot_leave(ki) ? "" : ": ", cannot_leave(ki) ? "" : tok_key_leak_reason(ki),
			 pem);
}

static char *report_json(const char *uri, const char *alg, const char *tp, const char *pem,
			 const cJSON *jwk, const struct tok_key_info *ki)
{
	cJSON *r = NULL, *a = NULL;
	char *out = NULL;

	if ((r = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(r, "key", uri) == NULL ||
	    cJSON_AddStringToObject(r, "label", ki->label) == NULL ||
	    cJSON_AddStringToObject(r, "id", ki->id_hex) == NULL ||
	    cJSON_AddStringToObject(r, "algorithm", alg) == NULL ||
	    cJSON_AddNumberToObject(r, "bits", ki->bits) == NULL ||
	    cJSON_AddStringToObject(r, "thumbprint", tp) == NULL ||
	    !cJSON_AddItemToObject(r, "jwk", cJSON_Duplicate(jwk, 1)) ||
	    cJSON_AddStringToObject(r, "public_key_pem", pem) == NULL ||
	    (a = cJSON_AddObjectToObject(r, "attributes")) == NULL ||
	    !cJSON_AddItemToObject(a, "sensitive", tri_json(ki->sensitive)) ||
	    !cJSON_AddItemToObject(a, "extractable", tri_json(ki->extractable)) ||
	    !cJSON_AddItemToObject(a, "always_sensitive", tri_json(ki->always_sensitive)) ||
	    !cJSON_AddItemToObject(a, "never_extractable", tri_json(ki->never_extractable)) ||
	    !cJSON_AddItemToObject(a, "local", tri_json(ki->local)) ||
	    !cJSON_AddItemToObject(a, "always_authenticate", tri_json(ki->always_authenticate)) ||
	    cJSON_AddBoolToObject(r, "can_leave_token", !cannot_leave(ki)) == NULL ||
	    cJSON_AddStringToObject(r, "verdict", cannot_leave(ki) ? "cannot leave the token"
						: "CAN LEAVE THE TOKEN") == NULL ||
	    !cJSON_AddItemToObject(r, "reason", cannot_leave(ki) ? cJSON_CreateNull() :
				   cJSON_CreateString(tok_key_leak_reason(ki))))
		goto out;
	out = cJSON_Print(r);
out:
	cJSON_Delete(r);
	return out;
}

/* Sends the report and, as a second field, "1" when the key cannot leave the token. */
static int keyshow_child(int fd, const struct signer_config *cfg, void *arg)
{
	struct tok_ctx *ctx = NULL;
	struct tok_key_info ki;
	struct tok_opts o;
	struct wire_field f[2];
	EVP_PKEY *pk = NULL;
	cJSON *jwk = NULL;
	const char *alg = NULL;
	char *tp = NULL, *pem = NULL, *report = NULL;
	int json = *(int *)arg, rc;

	/* Load an extractable key too, quietly: reporting that it can leave is the point. */
	signer_tok_opts(cfg, &o);
	o.allow_extractable = 2;
	if ((rc = tok_open(cfg->key_uri, &o, &ctx)) != TOK_OK ||
	    (rc = tok_load_key(ctx, cfg->key_uri, &pk)) != TOK_OK ||
	    (rc = tok_key_info(ctx, cfg->key_uri, &ki)) != TOK_OK)
		goto out;
	rc = TOK_ERR_CONFIG;
	if ((alg = jws_alg(pk)) == NULL || jws_check_pair(pk) < 0 || (jwk = jws_jwk(pk)) == NULL ||
	    (tp = jws_thumbprint(jwk)) == NULL || (pem = public_pem(pk)) == NULL)
		goto out;
	report = json ? report_json(cfg->key_uri, alg, tp, pem, jwk, &ki)
		      : report_text(cfg->key_uri, alg, tp, pem, &ki);
	if (report == NULL)
		goto out;
	rc = TOK_OK;
out:
	if (rc == TOK_OK) {
		f[0].p = (unsigned char *)report;
		f[0].len = strlen(report);
		f[1].p = (const unsigned char *)(cannot_leave(&ki) ? "1" : "0");
		f[1].len = 1;
	}
	rc = signer_admin_reply(fd, rc, f, 2);
	free(report);
	free(pem);
	free(tp);
	cJSON_Delete(jwk);
	tok_close(ctx);
	return rc;
}

int signer_key_show(const struct signer_config *cfg, int json)
{
	unsigned char *buf = NULL;
	struct wire_msg resp;
	int rc;

	if (cfg == NULL || cfg->key_uri == NULL) {
		log_error("key show: a key URI (--key) is required");
		return SIGNER_ERR_CONFIG;
	}
	if ((rc = signer_admin_run(cfg, keyshow_child, &json, &buf, &resp)) != SIGNER_OK)
		goto out;
	if (resp.nfields != 2 || resp.f[1].len != 1) {
		log_error("key show: malformed response from the signer");
		rc = SIGNER_ERR;
		goto out;
	}
	fwrite(resp.f[0].p, 1, resp.f[0].len, stdout);
	if (json)
		fputc('\n', stdout);
	fflush(stdout);
	if (resp.f[1].p[0] == '1')
		rc = SIGNER_OK;
	else if (cfg->allow_extractable) {
		log_warn("%s: the key can leave the token (allowed by --allow-extractable-key)",
			 cfg->key_uri);
		rc = SIGNER_OK;
	} else {
		log_error("%s: the key CAN LEAVE THE TOKEN", cfg->key_uri);
		rc = SIGNER_ERR_CONFIG;
	}
out:
	free(buf);
	return rc;
}
