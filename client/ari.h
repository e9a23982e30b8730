/*
 * client/ari.h: RFC 9773 ACME Renewal Information (ari.c): certID, renewalInfo
 * fetch, window placement, and the facts of the live certificate that the renew
 * command decides on.
 *
 * Functions return 0, or -1 after logging, unless said otherwise.
 */
#ifndef P11ACME_CLIENT_ARI_H
#define P11ACME_CLIENT_ARI_H

#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "client/http.h"

/* What renew needs from the live certificate. */
struct cert_info {
	time_t not_before, not_after;
	char *cert_id;   /* RFC 9773 certID, or NULL when the cert has no AKI */
};
/* Load live/<name>/cert.pem (path given). Returns 0, 1 when the file does not
 * exist (not logged), or -1 after logging. */
int cert_info_load(const char *path, struct cert_info *ci);
void cert_info_free(struct cert_info *ci);
/* An ASN1_TIME (a certificate's notBefore/notAfter) as time_t. 0 or -1. */
int asn1_time_to_time(const ASN1_TIME *a, time_t *out);

/* RFC 9773 §4.1 certID: base64url(AKI keyIdentifier) "." base64url(serial DER
 * content octets), malloc'd. NULL when the certificate has no AKI keyIdentifier
 * (not logged) or on allocation failure. */
char *ari_cert_id(X509 *x);

/* A suggested renewal window (RFC 9773 §4.2). */
struct ari_window {
	time_t start, end;
	char *explanation;  /* explanationURL, or NULL */
	long retry_after;   /* seconds from the response's Retry-After, 0 when absent */
};
/* GET <renewal_info>/<cert_id> (unauthenticated) and parse the window. A window
 * whose end is not after its start is refused (-1). */
int ari_fetch(struct http *h, const char *renewal_info, const char *cert_id,
	      struct ari_window *w);
void ari_window_free(struct ari_window *w);

/* RFC 3339 date-time ("2025-01-02T03:04:05Z", fractions and offsets allowed) to
 * time_t; -1 when malformed. */
time_t rfc3339_parse(const char *s);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void rfc3339_format(time_t t, char *buf, size_t len);

/* Deterministic offset in [0, span] from SHA-256(host "\n" name), so that a fleet
 * running renew at the same moment spreads over a window instead of renewing at
 * once, while one host always picks the same moment for one name. */
time_t spread_offset(const char *host, const char *name, time_t span);

#endif
