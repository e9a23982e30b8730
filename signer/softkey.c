/*
 * The software-key backend of the signer: an account key that lives in a file (PEM or
 * JWK), as other ACME clients keep it. Used by `account migrate` to sign with the old
 * key while the account moves into a token. The file is read here, in the signer
 * child, and nowhere else: the process that talks to the network never holds it, and
 * nothing copies it. The buffer that held the file is wiped before it is freed.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define SOFTKEY_MAX 65536 /* an RSA 4096 JWK is about 3.3 KB */

/* Read the whole file, refusing what is not a regular file. malloc'd (len + NUL). */
static char *softkey_read(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SOFTKEY_MAX ||
	    st.st_size == 0) {
		log_error("%s: not a key file (a regular, non-empty file of at most %d bytes)",
			  path, SOFTKEY_MAX);
		goto out;
	}
	if (st.st_mode & 077)
		log_warn("%s is readable by %s (mode %04o): anyone who could read it may have "
			 "copied the key; the move below makes such copies useless", path,
			 (st.st_mode & 007) ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		log_error("%s: %s", path, n < 0 ? strerror(errno) : "short read");
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	close(fd);
	return buf;
}

/* PEM_read's passphrase callback: encrypted keys are refused, never prompted for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

static EVP_PKEY *softkey_pem(const char *path, const char *text, size_t len)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pk = NULL;
	int asked = 0;

	if (bio == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &asked);
	BIO_free(bio);
	if (pk == NULL)
		log_error("%s: %s", path, asked ? "the key is encrypted with a passphrase; decrypt it "
			  "first (openssl pkey -in FILE -out PLAIN)" : "no PEM private key in the file");
	return pk;
}

/* Push JWK member name (base64url) as a BIGNUM parameter. 0 or -1. */
static int jwk_bn(OSSL_PARAM_BLD *bld, const cJSON *jwk, const char *name, const char *param,
		  BIGNUM **bn)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
	unsigned char *raw = NULL;
	size_t len = 0;
	int rc = -1;

	if (!cJSON_IsString(v) || (raw = b64url_decode(v->valuestring, &len)) == NULL || len == 0)
		goto out;
	if ((*bn = BN_secure_new()) == NULL || BN_bin2bn(raw, (int)len, *bn) == NULL)
		goto out;
	rc = OSSL_PARAM_BLD_push_BN(bld, param, *bn) ? 0 : -1;
out:
	if (raw != NULL)
		OPENSSL_cleanse(raw, len);
	free(raw);
	return rc;
}

/* RFC 7518 §6.3: n, e, d, and the CRT members when all five are there. */
static int jwk_rsa_params(OSSL_PARAM_BLD *bld, const cJSON *jwk, BIGNUM **bn)
{
	static const char *const need[][2] = {
		{ "n", OSSL_PKEY_PARAM_RSA_N }, { "e", OSSL_PKEY_PARAM_RSA_E },
		{ "d", OSSL_PKEY_PARAM_RSA_D },
	};
	static const char *const crt[][2] = {
		{ "p", OSSL_PKEY_PARAM_RSA_FACTOR1 }, { "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },
		{ "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 }, { "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 },
		{ "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	size_t i;

	for (i = 0; i < 3; i++)
		if (jwk_bn(bld, jwk, need[i][0], need[i][1], &bn[i]) < 0)
			return -1;
	if (cJSON_GetObjectItemCaseSensitive(jwk, "p") == NULL)
		return 0;
	for (i = 0; i < 5; i++)
		if (jwk_bn(bld, jwk, crt[i][0], crt[i][1], &bn[3 + i]) < 0)
			return -1;
	return 0;
}

/* RFC 7518 §6.2: crv, x, y (the public point, uncompressed), d. */
static int jwk_ec_params(OSSL_PARAM_BLD *bld, const cJSON *jwk, BIGNUM **bn,
			 unsigned char *point, size_t *point_len)
{
	const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
	const char *xy[2] = { "x", "y" };
	unsigned char *raw = NULL;
	size_t size, len = 0, i;
	int rc = -1;

	if (!cJSON_IsString(crv))
		return -1;
	if (strcmp(crv->valuestring, "P-256") == 0)
		size = 32;
	else if (strcmp(crv->valuestring, "P-384") == 0)
		size = 48;
	else {
		log_error("EC curve %s is not supported (P-256 or P-384)", crv->valuestring);
		return -1;
	}
	point[0] = 0x04;
	for (i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, xy[i]);

		free(raw);
		raw = NULL;
		if (!cJSON_IsString(v) || (raw = b64url_decode(v->valuestring, &len)) == NULL ||
		    len != size)
			goto out;
		memcpy(point + 1 + i * size, raw, size);
	}
	*point_len = 1 + 2 * size;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     size == 32 ? "prime256v1" : "secp384r1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, *point_len))
		goto out;
	rc = jwk_bn(bld, jwk, "d", OSSL_PKEY_PARAM_PRIV_KEY, &bn[0]);
out:
	free(raw);
	return rc;
}

/* Wipe the members' text (the private ones included) before cJSON frees it. */
static void jwk_cleanse(cJSON *jwk)
{
	cJSON *m;

	cJSON_ArrayForEach(m, jwk)
		if (cJSON_IsString(m) && m->valuestring != NULL)
			OPENSSL_cleanse(m->valuestring, strlen(m->valuestring));
}

static EVP_PKEY *softkey_jwk(const char *path, const char *text, size_t len)
{
	cJSON *jwk = cJSON_ParseWithLength(text, len);
	const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *bn[8] = { NULL };
	unsigned char point[1 + 2 * 48];
	size_t point_len = 0, i;
	int ok = -1, rsa = cJSON_IsString(kty) && strcmp(kty->valuestring, "RSA") == 0;

	if (bld == NULL || !cJSON_IsString(kty))
		goto out;
	if (rsa)
		ok = jwk_rsa_params(bld, jwk, bn);
	else if (strcmp(kty->valuestring, "EC") == 0)
		ok = jwk_ec_params(bld, jwk, bn, point, &point_len);
	else
		log_error("%s: JWK key type %s is not supported (RSA or EC)", path, kty->valuestring);
	if (ok < 0 || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
		pk = NULL;
out:
	if (pk == NULL)
		log_error("%s: not a usable private JWK (RFC 7517)", path);
	jwk_cleanse(jwk);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	cJSON_Delete(jwk);
	return pk;
}

int softkey_load(const char *path, EVP_PKEY **out)
{
	char *text = NULL;
	size_t len = 0, i;

	*out = NULL;
	if ((text = softkey_read(path, &len)) == NULL)
		return SIGNER_ERR_CONFIG;
	for (i = 0; i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' ||
				text[i] == '\r'); i++)
		;
	if (text[i] == '{')
		*out = softkey_jwk(path, text, len);
	else if (strstr(text, "-----BEGIN") != NULL)
		*out = softkey_pem(path, text, len);
	else
		log_error("%s: neither a PEM private key nor a JWK", path);
	OPENSSL_cleanse(text, len);
	free(text);
	log_openssl_errors("software key");
	return *out != NULL ? SIGNER_OK : SIGNER_ERR_CONFIG;
}
