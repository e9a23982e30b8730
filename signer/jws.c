/*
 * JWK, RFC 7638 thumbprint, flattened JWS and CSR from an EVP_PKEY.
 * Pure OpenSSL + cJSON: the key may be a software key (tests) or a libp11 key that
 * signs inside the token through EVP_DigestSign. Nothing here touches PKCS#11.
 */
#include "signer/internal.h"
#include "tokens/tokens.h"
#include "common/common.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/*
 * A plain public copy of pk. libp11 keys cannot report their EC point as X/Y
 * parameters, and PKCS11_get_public_key() leaks; a DER round trip through
 * SubjectPublicKeyInfo gives a provider key whose parameters can be read.
 */
static EVP_PKEY *public_copy(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len;

	if ((len = i2d_PUBKEY(pk, &der)) <= 0) {
		log_error("signer: cannot encode the public key");
		goto out;
	}
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, len)) == NULL)
		log_error("signer: cannot decode the public key");
out:
	OPENSSL_free(der);
	log_openssl_errors("public key");
	return pub;
}

static const char *alg_of_public(EVP_PKEY *pub)
{
	char group[64];
	int bits = EVP_PKEY_get_bits(pub);

	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits >= 2048 && bits <= 4096)
			return "RS256";
		log_error("signer: RSA key of %d bits; RS256 needs 2048 to 4096", bits);
		return NULL;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		if (!EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL)) {
			log_error("signer: EC key without a named curve");
			return NULL;
		}
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return "ES256";
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			return "ES384";
		log_error("signer: EC curve %s is not supported (P-256 or P-384)", group);
		return NULL;
	}
	log_error("signer: key type %s is not supported", EVP_PKEY_get0_type_name(pub));
	return NULL;
}

const char *jws_alg(EVP_PKEY *pk)
{
	EVP_PKEY *pub = NULL;
	const char *alg = NULL;

	if ((pub = public_copy(pk)) != NULL)
		alg = alg_of_public(pub);
	EVP_PKEY_free(pub);
	log_openssl_errors("alg");
	return alg;
}

/* Add member name = base64url(bn), left-padded to pad bytes (0: minimal length). */
static int add_bn(cJSON *obj, const char *name, const BIGNUM *bn, int pad)
{
	unsigned char *buf = NULL;
	char *b64 = NULL;
	int len = pad > 0 ? pad : BN_num_bytes(bn), rc = -1;

	if (len <= 0 || (buf = malloc((size_t)len)) == NULL)
		goto out;
	if (BN_bn2binpad(bn, buf, len) != len)
		goto out;
	if ((b64 = b64url_encode(buf, (size_t)len)) == NULL)
		goto out;
	if (cJSON_AddStringToObject(obj, name, b64) == NULL)
		goto out;
	rc = 0;
out:
	free(buf);
	free(b64);
	return rc;
}

/* Members in RFC 7638 order (lexicographic), which also reads well when printed. */
static int jwk_ec(cJSON *jwk, EVP_PKEY *pub, const char *alg)
{
	BIGNUM *x = NULL, *y = NULL;
	int size = (EVP_PKEY_get_bits(pub) + 7) / 8, rc = -1;

	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		goto out;
	if (cJSON_AddStringToObject(jwk, "crv",
				    strcmp(alg, "ES256") == 0 ? "P-256" : "P-384") == NULL ||
	    cJSON_AddStringToObject(jwk, "kty", "EC") == NULL)
		goto out;
	if (add_bn(jwk, "x", x, size) < 0 || add_bn(jwk, "y", y, size) < 0)
		goto out;
	rc = 0;
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

static int jwk_rsa(cJSON *jwk, EVP_PKEY *pub)
{
	BIGNUM *n = NULL, *e = NULL;
	int rc = -1;

	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e))
		goto out;
	if (add_bn(jwk, "e", e, 0) < 0 ||
	    cJSON_AddStringToObject(jwk, "kty", "RSA") == NULL ||
	    add_bn(jwk, "n", n, 0) < 0)
		goto out;
	rc = 0;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

cJSON *jws_jwk(EVP_PKEY *pk)
{
	EVP_PKEY *pub = NULL;
	cJSON *jwk = NULL;
	const char *alg;
	int rc = -1;

	if ((pub = public_copy(pk)) == NULL || (alg = alg_of_public(pub)) == NULL)
		goto out;
	if ((jwk = cJSON_CreateObject()) == NULL)
		goto out;
	rc = alg[0] == 'E' ? jwk_ec(jwk, pub, alg) : jwk_rsa(jwk, pub);
	if (rc < 0)
		log_error("signer: cannot build the JWK of a %s key", alg);
out:
	if (rc < 0) {
		cJSON_Delete(jwk);
		jwk = NULL;
	}
	EVP_PKEY_free(pub);
	log_openssl_errors("jwk");
	return jwk;
}

/* A JWK member that is safe to paste into the canonical input unescaped. */
static const char *jwk_b64(const cJSON *jwk, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);

	if (!cJSON_IsString(v) || !b64url_valid(v->valuestring, 2048))
		return NULL;
	return v->valuestring;
}

char *jws_thumbprint(const cJSON *jwk)
{
	const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
	const char *a, *b;
	char *input = NULL, *tp = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];

	/*
	 * RFC 7638 §3.2: the required members only, in lexicographic order, no
	 * whitespace. Every value is base64url or a fixed curve name, so no escaping
	 * is needed and this fixed format is the canonical form:
	 *   EC:  {"crv":"P-256","kty":"EC","x":"<x>","y":"<y>"}
	 *   RSA: {"e":"<e>","kty":"RSA","n":"<n>"}
	 */
	if (cJSON_IsString(kty) && strcmp(kty->valuestring, "EC") == 0 &&
	    cJSON_IsString(crv) && (strcmp(crv->valuestring, "P-256") == 0 ||
				    strcmp(crv->valuestring, "P-384") == 0) &&
	    (a = jwk_b64(jwk, "x")) != NULL && (b = jwk_b64(jwk, "y")) != NULL)
		input = xasprintf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				  crv->valuestring, a, b);
	else if (cJSON_IsString(kty) && strcmp(kty->valuestring, "RSA") == 0 &&
		 (a = jwk_b64(jwk, "e")) != NULL && (b = jwk_b64(jwk, "n")) != NULL)
		input = xasprintf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
	else {
		log_error("signer: JWK is not an EC P-256/P-384 or RSA public key");
		return NULL;
	}
	if (input == NULL)
		return NULL;
	SHA256((const unsigned char *)input, strlen(input), md);
	tp = b64url_encode(md, sizeof(md));
	free(input);
	return tp;
}

/* JWS ES* wants raw r||s, each left-padded to the field size (RFC 7518 §3.4). */
static int ecdsa_der_to_raw(const unsigned char *der, size_t derlen, int half,
			    unsigned char **raw, size_t *rawlen)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	unsigned char *buf = NULL;
	int rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if ((buf = malloc(2 * (size_t)half)) == NULL)
		goto out;
	if (BN_bn2binpad(r, buf, half) != half || BN_bn2binpad(s, buf + half, half) != half)
		goto out;
	*raw = buf;
	*rawlen = 2 * (size_t)half;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	ECDSA_SIG_free(es);
	return rc;
}

/*
 * libp11 finds a private key's public half by CKA_ID. Key pairs without a unique id
 * (made by other tools) can be paired with another key's public half, and then every
 * JWK and thumbprint would be wrong. One signature, verified with the public key we
 * derived, proves the pair before anything is built from it.
 */
int jws_check_pair(EVP_PKEY *pk)
{
	static const unsigned char msg[] = "p11acme key pair check";
	EVP_MD_CTX *sctx = NULL, *vctx = NULL;
	EVP_PKEY *pub = public_copy(pk);
	unsigned char *sig = NULL;
	size_t len = 0;
	int rc = -1;

	if (pub == NULL || (sctx = EVP_MD_CTX_new()) == NULL ||
	    (vctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(sctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(sctx, NULL, &len, msg, sizeof(msg)) != 1 ||
	    (sig = malloc(len)) == NULL ||
	    EVP_DigestSign(sctx, sig, &len, msg, sizeof(msg)) != 1) {
		log_error("signer: the key cannot sign: %s", tok_last_error());
		goto out;
	}
	if (EVP_DigestVerifyInit(vctx, NULL, EVP_sha256(), NULL, pub) != 1 ||
	    EVP_DigestVerify(vctx, sig, len, msg, sizeof(msg)) != 1) {
		log_error("signer: the token pairs this private key with a public key that is "
			  "not its own; give each key pair a unique id (CKA_ID)");
		goto out;
	}
	rc = 0;
out:
	free(sig);
	EVP_MD_CTX_free(sctx);
	EVP_MD_CTX_free(vctx);
	EVP_PKEY_free(pub);
	log_openssl_errors("key pair check");
	return rc;
}

int jws_sign_bytes(EVP_PKEY *pk, const char *alg, const unsigned char *in, size_t inlen,
		   unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256();
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	*sig = NULL;
	*siglen = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, md, NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, in, inlen) != 1 ||
	    (buf = malloc(len)) == NULL ||
	    EVP_DigestSign(ctx, buf, &len, in, inlen) != 1) {
		log_error("signer: %s signature failed", alg);
		goto out;
	}
	if (alg[0] == 'E') {
		if (ecdsa_der_to_raw(buf, len, strcmp(alg, "ES384") == 0 ? 48 : 32,
				     sig, siglen) < 0) {
			log_error("signer: malformed ECDSA signature from the key");
			goto out;
		}
	} else {
		*sig = buf;
		*siglen = len;
		buf = NULL;
	}
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	log_openssl_errors("sign");
	return rc;
}

char *jws_flattened(EVP_PKEY *pk, const char *alg, const cJSON *protected_hdr,
		    const unsigned char *payload, size_t payload_len)
{
	char *hdr = NULL, *hdr64 = NULL, *pay64 = NULL, *input = NULL, *sig64 = NULL;
	char *out = NULL;
	unsigned char *sig = NULL;
	size_t siglen;
	cJSON *jws = NULL;

	if ((hdr = cJSON_PrintUnformatted(protected_hdr)) == NULL ||
	    (hdr64 = b64url_encode((const unsigned char *)hdr, strlen(hdr))) == NULL ||
	    (pay64 = b64url_encode(payload, payload_len)) == NULL ||
	    (input = xasprintf("%s.%s", hdr64, pay64)) == NULL)
		goto nomem;
	if (jws_sign_bytes(pk, alg, (unsigned char *)input, strlen(input), &sig, &siglen) < 0)
		goto out;
	if ((sig64 = b64url_encode(sig, siglen)) == NULL ||
	    (jws = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(jws, "protected", hdr64) == NULL ||
	    cJSON_AddStringToObject(jws, "payload", pay64) == NULL ||
	    cJSON_AddStringToObject(jws, "signature", sig64) == NULL ||
	    (out = cJSON_PrintUnformatted(jws)) == NULL)
		goto nomem;
	goto out;
nomem:
	log_error("signer: out of memory building a JWS");
out:
	free(hdr);
	free(hdr64);
	free(pay64);
	free(input);
	free(sig);
	free(sig64);
	cJSON_Delete(jws);
	return out;
}

char *jws_acme(EVP_PKEY *pk, const char *alg, const cJSON *jwk, const char *url,
	       const char *nonce, const char *kid, const char *payload, size_t payload_len)
{
	cJSON *hdr = NULL;
	char *out = NULL;

	/* Members in the order RFC 8555 §6.2 lists them: alg, jwk or kid, nonce, url. */
	if ((hdr = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", alg) == NULL)
		goto nomem;
	if (kid != NULL ? cJSON_AddStringToObject(hdr, "kid", kid) == NULL
			: !cJSON_AddItemToObject(hdr, "jwk", cJSON_Duplicate(jwk, 1)))
		goto nomem;
	if (cJSON_AddStringToObject(hdr, "nonce", nonce) == NULL ||
	    cJSON_AddStringToObject(hdr, "url", url) == NULL)
		goto nomem;
	out = jws_flattened(pk, alg, hdr, (const unsigned char *)payload, payload_len);
	goto out;
nomem:
	log_error("signer: out of memory building a JWS header");
out:
	cJSON_Delete(hdr);
	return out;
}

char *jws_keychange(EVP_PKEY *new_pk, const char *new_alg, const cJSON *new_jwk,
		    const cJSON *old_jwk, const char *url, const char *account_url)
{
	cJSON *hdr = NULL, *pay = NULL;
	char *paytext = NULL, *out = NULL;

	if ((hdr = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", new_alg) == NULL ||
	    !cJSON_AddItemToObject(hdr, "jwk", cJSON_Duplicate(new_jwk, 1)) ||
	    cJSON_AddStringToObject(hdr, "url", url) == NULL)
		goto nomem;
	if ((pay = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(pay, "account", account_url) == NULL ||
	    !cJSON_AddItemToObject(pay, "oldKey", cJSON_Duplicate(old_jwk, 1)) ||
	    (paytext = cJSON_PrintUnformatted(pay)) == NULL)
		goto nomem;
	out = jws_flattened(new_pk, new_alg, hdr, (unsigned char *)paytext, strlen(paytext));
	goto out;
nomem:
	log_error("signer: out of memory building a key-change JWS");
out:
	free(paytext);
	cJSON_Delete(pay);
	cJSON_Delete(hdr);
	return out;
}

static int csr_names_valid(const char *const *names, size_t n)
{
	size_t i;

	if (n == 0) {
		log_error("signer: a CSR needs at least one name");
		return 0;
	}
	for (i = 0; i < n; i++)
		if (names[i] == NULL || names[i][0] == '\0' || strlen(names[i]) > 253) {
			log_error("signer: CSR name %zu is empty or longer than 253 bytes", i);
			return 0;
		}
	return 1;
}

int jws_csr(EVP_PKEY *pk, const char *const *names, size_t n_names,
	    unsigned char **der, size_t *der_len)
{
	EVP_PKEY *pub = NULL;
	int rc = -1;

	*der = NULL;
	*der_len = 0;
	if (!csr_names_valid(names, n_names))
		return -1;
	if ((pub = public_copy(pk)) == NULL || alg_of_public(pub) == NULL)
		goto out;
	if ((rc = csr_build(pk, pub, names, n_names, der, der_len)) == -2)
		log_error("signer: signing the CSR failed");
	else if (rc != 0)
		log_error("signer: cannot build the CSR for %s", names[0]);
out:
	EVP_PKEY_free(pub);
	log_openssl_errors("csr");
	return rc == 0 ? 0 : -1;
}
