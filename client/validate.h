/*
 * client/validate.h: checks of what the CA says against what was asked, before
 * anything acts on it. A hostile CA chooses the documents; these decide whether
 * the client may answer a challenge for an identifier, run a hook with it, or
 * install a certificate. Each returns 0 when the check passes, or -1 after an
 * error message that names the document and what is wrong.
 */
#ifndef P11ACME_CLIENT_VALIDATE_H
#define P11ACME_CLIENT_VALIDATE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "client/parse.h"

/* Lowercase d in place, drop one trailing dot, then check: labels of 1..63
 * letters, digits and hyphens, none starting or ending with a hyphen, at most 253
 * characters, "*." only as the first label. The same check for -d, for a CSR's
 * names and for every identifier a CA sends. 0, or -1 (not logged). */
int dns_name_normalize(char *d);

/* The order's identifiers are exactly the names ordered (type "dns", after
 * normalisation, "*." kept), none twice. what names the order for messages; with
 * what NULL nothing is logged. */
int order_idents_check(const struct acme_order *o, char *const *names, size_t n,
		       const char *what);

/* The authorization (fetched from url) is for one of the names ordered: type
 * "dns", its value a valid name after normalisation, with "*." when it is a
 * wildcard authorization. *idx gets the index of that name. */
int authz_ident_check(const struct acme_authz *z, char *const *names, size_t n,
		      const char *url, size_t *idx);

/* ---- the certificate, before it is committed (certcheck.c) ---- */

#define CERT_CLOCK_SKEW 300   /* seconds a host's clock may run behind the CA's */

/* certs[0] is the leaf, certs[1..] the chain, as PEM, each parsed once. Checks:
 * the leaf carries key (the CSR's public key); the leaf's DNS SANs are exactly
 * names, none twice; the leaf is valid at now (notBefore <= now + skew, now <=
 * notAfter, notBefore <= notAfter); each chain certificate issued the one before
 * it (names and signature). url names the download in messages. */
int cert_chain_check(char *const *certs, size_t n_certs, char *const *names, size_t n_names,
		     const EVP_PKEY *key, time_t now, const char *url);

#endif
