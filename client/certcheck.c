/*
 * client/certcheck.c: what a downloaded chain must be before it is committed
 * (validate.h): valid now, for exactly the names ordered, each certificate issued
 * by the next. A CA bug, a swapped response or a hostile CA must not put a
 * certificate that fails in every browser in place of one that works.
 */
#include "client/validate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client/ari.h"
#include "common/common.h"

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* "the certificate" for the leaf, "chain certificate N" for the others. */
static void cert_what(size_t i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "the certificate");
	else
		snprintf(buf, len, "chain certificate %zu", i);
}

static int validity_check(X509 *x, size_t i, time_t now, const char *url)
{
	time_t nb, na;
	char what[40], a[32], b[32];

	cert_what(i, what, sizeof(what));
	if (asn1_time_to_time(X509_get0_notBefore(x), &nb) != 0 ||
	    asn1_time_to_time(X509_get0_notAfter(x), &na) != 0) {
		log_error("%s: %s has an unreadable validity period", safe_str(url), what);
		return -1;
	}
	rfc3339_format(nb, a, sizeof(a));
	rfc3339_format(na, b, sizeof(b));
	if (na < nb) {
		log_error("%s: %s expires (%s) before it becomes valid (%s); refusing it",
			  safe_str(url), what, b, a);
		return -1;
	}
	if (nb > now + CERT_CLOCK_SKEW) {
		log_error("%s: %s is not valid before %s (is this host's clock right?); refusing it",
			  safe_str(url), what, a);
		return -1;
	}
	if (na < now) {
		log_error("%s: %s expired at %s; refusing it", safe_str(url), what, b);
		return -1;
	}
	return 0;
}

/* The leaf's DNS SANs are exactly names, each once (and nothing else). */
static int san_check(X509 *x, char *const *names, size_t n, const char *url)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	unsigned char seen[100] = { 0 };
	int rc = -1, count = 0;

	for (int j = 0; gens != NULL && j < sk_GENERAL_NAME_num(gens); j++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, j);
		const char *v;
		size_t l, i;

		if (g->type != GEN_DNS) {
			log_error("%s: the certificate names something other than DNS names", safe_str(url));
			goto out;
		}
		v = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		l = (size_t)ASN1_STRING_length(g->d.dNSName);
		for (i = 0; i < n && i < sizeof(seen); i++)
			if (strlen(names[i]) == l && strncasecmp(names[i], v, l) == 0)
				break;
		if (i == n || i >= sizeof(seen) || seen[i]++) {
			char *s = sanitize_dup(v, l, SANITIZE_FIELD_MAX);
			log_error("%s: the certificate names %s %s; refusing it", safe_str(url),
				  s != NULL ? s : "?", i < n ? "twice" : "which was not ordered");
			free(s);
			goto out;
		}
		count++;
	}
	if ((size_t)count != n) {
		log_error("%s: the certificate names %d of the %zu names ordered; refusing it",
			  safe_str(url), count, n);
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* issuer issued subject: names match and the signature verifies. */
static int issued_check(X509 *issuer, X509 *subject, size_t i, const char *url)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	char what[40];

	cert_what(i - 1, what, sizeof(what));
	if (X509_check_issued(issuer, subject) != X509_V_OK || k == NULL ||
	    X509_verify(subject, k) != 1) {
		log_openssl_errors("chain");
		log_error("%s: chain certificate %zu did not issue %s (names or signature "
			  "differ): a broken chain; refusing it", safe_str(url), i, what);
		return -1;
	}
	return 0;
}

/* The leaf: the CSR's key, the names ordered, valid now. */
static int leaf_check(X509 *x, char *const *names, size_t n_names, const EVP_PKEY *key,
		      time_t now, const char *url)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (k == NULL || EVP_PKEY_eq(k, key) != 1) {
		log_openssl_errors("certificate");
		log_error("%s: the certificate's public key is not the CSR's; refusing it",
			  safe_str(url));
		return -1;
	}
	if (san_check(x, names, n_names, url) != 0)
		return -1;
	return validity_check(x, 0, now, url);
}

int cert_chain_check(char *const *certs, size_t n_certs, char *const *names, size_t n_names,
		     const EVP_PKEY *key, time_t now, const char *url)
{
	X509 *prev = NULL, *x = NULL;
	int rc = -1;

	for (size_t i = 0; i < n_certs; i++) {
		if ((x = pem_cert(certs[i])) == NULL) {
			log_openssl_errors("certificate");
			log_error("%s: certificate %zu of the chain does not parse", safe_str(url), i);
			goto out;
		}
		/* Only the leaf's dates: CAs serve cross-signs that expired long ago
		 * (clients stop at a root they trust before reaching them). */
		if (i == 0 && leaf_check(x, names, n_names, key, now, url) != 0)
			goto out;
		if (i > 0 && issued_check(x, prev, i, url) != 0)
			goto out;
		X509_free(prev);
		prev = x;
		x = NULL;
	}
	rc = 0;
out:
	X509_free(prev);
	X509_free(x);
	return rc;
}
