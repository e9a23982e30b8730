/*
 * client/certkey.c: certificate keys, CSRs and certificate checks (certkey.h).
 */
#include "client/certkey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/common.h"

#define CSR_FILE_MAX 65536
#define CERT_FILE_MAX (1024 * 1024)

int certkey_type_valid(const char *type)
{
	static const char *const types[] = { "ec256", "ec384", "rsa2048", "rsa3072", "rsa4096" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	return 0;
}

EVP_PKEY *certkey_generate(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strcmp(type, "ec256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "rsa2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "rsa3072") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else if (strcmp(type, "rsa4096") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (k == NULL) {
		log_openssl_errors("keygen");
		log_error("could not generate a %s certificate key", type);
	}
	return k;
}

char *certkey_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data = NULL, *out = NULL;
	long n;

	if (b == NULL || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		log_openssl_errors("PEM_write_bio_PrivateKey");
		goto out;
	}
	n = BIO_get_mem_data(b, &data);
	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
out:
	BIO_free(b); /* secmem BIO: cleansed on free */
	return out;
}

int certkey_csr(EVP_PKEY *key, char *const *names, size_t n, unsigned char **der,
		size_t *der_len)
{
	if (csr_build(key, NULL, (const char *const *)names, n, der, der_len) == 0)
		return 0;
	log_openssl_errors("CSR");
	log_error("could not build the certificate signing request");
	return -1;
}

static int push_name(char ***names, size_t *n, const char *s, size_t len)
{
	char **nn;

	if (*n >= 100 || memchr(s, '\0', len) != NULL)
		return -1;
	if ((nn = realloc(*names, (*n + 1) * sizeof(char *))) == NULL)
		return -1;
	*names = nn;
	if ((nn[*n] = strndup(s, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static X509_REQ *csr_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;

	return d2i_X509_REQ(NULL, &p, (long)len);
}

/* The CSR in path (PEM or DER) when its signature verifies, else NULL (logged;
 * *unreadable set when the file could not be read). */
static X509_REQ *csr_read(const char *path, int *unreadable)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pub = NULL;

	if ((buf = file_read(path, CSR_FILE_MAX, &len, FILE_REGULAR)) == NULL) {
		log_error("%s: cannot read the CSR: %s; name a regular file holding a PEM or DER "
			  "certificate signing request", path, file_error(path, errno, FILE_REGULAR));
		*unreadable = 1;
		return NULL;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	if (req == NULL)
		req = csr_from_der((unsigned char *)buf, len);
	if (req == NULL || (pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		log_openssl_errors("CSR");
		log_error("%s: not a valid certificate signing request", path);
		X509_REQ_free(req);
		req = NULL;
	}
	EVP_PKEY_free(pub);
	BIO_free(b);
	free(buf);
	return req;
}

/* The dNSNames of every SAN extension of req. 0, or -1 on a malformed name. */
static int csr_san_names(X509_REQ *req, char ***names, size_t *n)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	int rc = 0;

	for (int i = 0; rc == 0 && exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_alt_name)
			continue;
		/* One at a time: a CSR may carry several SAN extensions. */
		GENERAL_NAMES_free(gens);
		gens = X509V3_EXT_d2i(e);
		for (int j = 0; rc == 0 && gens != NULL && j < sk_GENERAL_NAME_num(gens); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, j);
			if (g->type == GEN_DNS)
				rc = push_name(names, n, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
					       (size_t)ASN1_STRING_length(g->d.dNSName));
		}
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* The subject CN of req as its one name, when it has one. 0, or -1 when malformed. */
static int csr_cn_name(X509_REQ *req, char ***names, size_t *n)
{
	X509_NAME *s = X509_REQ_get_subject_name(req);
	int idx = X509_NAME_get_index_by_NID(s, NID_commonName, -1);
	ASN1_STRING *cn;

	if (idx < 0)
		return 0;
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(s, idx));
	return push_name(names, n, (const char *)ASN1_STRING_get0_data(cn),
			 (size_t)ASN1_STRING_length(cn));
}

int csr_load(const char *path, unsigned char **der, size_t *der_len, char ***names,
	     size_t *n_names)
{
	X509_REQ *req = NULL;
	unsigned char *p = NULL;
	int rc = -1, l, unreadable = 0;

	*der = NULL;
	*names = NULL;
	*n_names = 0;
	if ((req = csr_read(path, &unreadable)) == NULL) {
		rc = unreadable ? -2 : -1;
		goto out;
	}
	if (csr_san_names(req, names, n_names) != 0 ||
	    (*n_names == 0 && csr_cn_name(req, names, n_names) != 0)) {
		log_error("%s: malformed names in the CSR", path);
		goto out;
	}
	if (*n_names == 0) {
		log_error("%s: the CSR names no domain", path);
		goto out;
	}
	if ((l = i2d_X509_REQ(req, &p)) <= 0)
		goto out;
	*der = p;
	*der_len = (size_t)l;
	rc = 0;
out:
	if (rc != 0) {
		for (size_t i = 0; i < *n_names; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n_names = 0;
	}
	X509_REQ_free(req);
	return rc;
}

static X509 *cert_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = NULL;

	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

EVP_PKEY *csr_pubkey(const unsigned char *csr, size_t csr_len)
{
	X509_REQ *req = csr_from_der(csr, csr_len);
	EVP_PKEY *k = req != NULL ? X509_REQ_get_pubkey(req) : NULL;

	if (k == NULL) {
		log_openssl_errors("CSR");
		log_error("cannot read the CSR's public key");
	}
	X509_REQ_free(req);
	return k;
}

char *cert_issuer_cn(const char *cert_pem)
{
	X509 *x = cert_from_pem(cert_pem);
	char buf[256], *cn = NULL;

	if (x == NULL)
		return NULL;
	if (X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, buf,
				      sizeof(buf)) > 0)
		cn = strdup(buf);
	X509_free(x);
	return cn;
}

int cert_load_der(const char *path, unsigned char **der, size_t *der_len)
{
	char *buf = NULL;
	size_t len = 0;
	X509 *x = NULL;
	const unsigned char *p;
	unsigned char *out = NULL;
	int l, rc = -1;

	if ((buf = file_read(path, CERT_FILE_MAX, &len, FILE_REGULAR)) == NULL) {
		log_error("%s: %s", path, file_error(path, errno, FILE_REGULAR));
		return -1;
	}
	x = cert_from_pem(buf);
	if (x == NULL) {
		p = (const unsigned char *)buf;
		x = d2i_X509(NULL, &p, (long)len);
	}
	if (x == NULL || (l = i2d_X509(x, &out)) <= 0) {
		log_openssl_errors("certificate");
		log_error("%s: not a certificate", path);
		goto out;
	}
	*der = out;
	*der_len = (size_t)l;
	rc = 0;
out:
	X509_free(x);
	free(buf);
	return rc;
}
