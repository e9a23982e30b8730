/*
 * common/csr.c: the one PKCS#10 builder (common.h), used by the client for a key
 * it generated and by the signer for a certificate key held in a token.
 */
#include "common/common.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* SAN extension with one dNSName per name. */
static int csr_add_san(X509_REQ *req, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int rc = -1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((gen = GENERAL_NAME_new()) == NULL || (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, names[i], (int)strlen(names[i])))
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, gen))
			goto out;
		gen = NULL;
	}
	if (!X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) ||
	    !X509_REQ_add_extensions(req, exts))
		goto out;
	rc = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int csr_build(EVP_PKEY *key, EVP_PKEY *pub, const char *const *names, size_t n,
	      unsigned char **der, size_t *der_len)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	unsigned char *buf = NULL;
	int len, rc = -1;

	*der = NULL;
	*der_len = 0;
	if (n == 0 || (req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    (subj = X509_NAME_new()) == NULL)
		goto out;
	/* RFC 5280 caps a CN at 64 characters; longer names go only in the SAN. */
	if (strlen(names[0]) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
					(const unsigned char *)names[0], -1, -1, 0))
		goto out;
	if (!X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, pub != NULL ? pub : key) || csr_add_san(req, names, n) < 0)
		goto out;
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		rc = -2;
		goto out;
	}
	if ((len = i2d_X509_REQ(req, &buf)) <= 0 || (*der = malloc((size_t)len)) == NULL)
		goto out;
	memcpy(*der, buf, (size_t)len);
	*der_len = (size_t)len;
	rc = 0;
out:
	OPENSSL_free(buf);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}
