/*
 * Unit test for client/ari.c: RFC 3339 parsing and formatting, the per-host spread,
 * and the RFC 9773 certID (the RFC's own example). Exit 0 when every case passes.
 */
#include "client/ari.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tests/unit/check.h"

static void test_rfc3339_parse(void)
{
	static const struct {
		const char *s;
		time_t want;   /* -1: must be refused */
	} cases[] = {
		/* RFC 3339 §5.8 examples */
		{ "1985-04-12T23:20:50.52Z", 482196050 },
		{ "1996-12-19T16:39:57-08:00", 851042397 },
		{ "1990-12-31T23:59:60Z", 662688000 },       /* leap second: next second */
		{ "1990-12-31T15:59:60-08:00", 662688000 },
		{ "1937-01-01T12:00:27.87+00:20", -1041336000 + 27 - 20 * 60 },
		/* what CAs send */
		{ "2025-01-02T03:04:05Z", 1735787045 },
		{ "2025-01-02t03:04:05z", 1735787045 },
		{ "2025-01-02 03:04:05Z", 1735787045 },
		{ "2025-01-02T03:04:05.123456789Z", 1735787045 },
		{ "2025-01-02T05:04:05+02:00", 1735787045 },
		{ "1970-01-01T00:00:00Z", 0 },
		/* malformed */
		{ "", -1 },
		{ "2025-01-02", -1 },
		{ "2025-01-02T03:04:05", -1 },          /* no offset */
		{ "2025-01-02T03:04Z", -1 },
		{ "2025-1-02T03:04:05Z", -1 },
		{ "2025-13-02T03:04:05Z", -1 },
		{ "2025-00-02T03:04:05Z", -1 },
		{ "2025-01-32T03:04:05Z", -1 },
		{ "2025-01-02T24:04:05Z", -1 },
		{ "2025-01-02T03:60:05Z", -1 },
		{ "2025-01-02T03:04:61Z", -1 },
		{ "2025-01-02T03:04:05.Z", -1 },
		{ "2025-01-02T03:04:05+0200", -1 },
		{ "2025-01-02T03:04:05Z ", -1 },
		{ "2025-01-02T03:04:05Zjunk", -1 },
		{ "2025-01-02X03:04:05Z", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = rfc3339_parse(cases[i].s);

		CHECK(t == cases[i].want, "rfc3339_parse(\"%s\") = %lld, expected %lld", cases[i].s,
		      (long long)t, (long long)cases[i].want);
	}
	CHECK(rfc3339_parse(NULL) == -1, "rfc3339_parse(NULL)");
}

static void test_rfc3339_format(void)
{
	char buf[32];
	const time_t ts[] = { 0, 482196050, 1735787045, 4102444799 };

	rfc3339_format(1735787045, buf, sizeof(buf));
	CHECK(streq(buf, "2025-01-02T03:04:05Z"), "format: %s", buf);
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		rfc3339_format(ts[i], buf, sizeof(buf));
		CHECK(rfc3339_parse(buf) == ts[i], "round trip of %lld via %s", (long long)ts[i], buf);
	}
}

static void test_spread(void)
{
	const time_t span = 3600;
	int buckets[4] = { 0 };
	char name[64];

	CHECK(spread_offset("a", "b", span) == spread_offset("a", "b", span), "deterministic");
	CHECK(spread_offset("h", "n", 0) == 0 && spread_offset("h", "n", -5) == 0, "no span");
	CHECK(spread_offset("h", "n", 1) <= 1, "span 1");
	/* the host is part of the input: two hosts spread one name differently (with
	 * overwhelming probability for these fixed inputs) */
	CHECK(spread_offset("host1", "www.example.com", span) !=
	      spread_offset("host2", "www.example.com", span), "host matters");
	/* "a\nbc" and "ab\nc" must not collide by construction */
	CHECK(spread_offset("a", "bc", 1000000) != spread_offset("ab", "c", 1000000), "separator");
	for (int i = 0; i < 400; i++) {
		time_t o;

		snprintf(name, sizeof(name), "name%d.example.com", i);
		o = spread_offset("host", name, span);
		CHECK(o >= 0 && o <= span, "offset %lld out of [0, %lld]", (long long)o,
		      (long long)span);
		if (o >= 0 && o <= span)
			buckets[o * 4 / (span + 1)]++;
	}
	/* 400 names in 4 quarters: each gets 100 ± a wide margin */
	for (int i = 0; i < 4; i++)
		CHECK(buckets[i] > 60 && buckets[i] < 140, "quarter %d got %d of 400", i, buckets[i]);
}

/* Make x a complete, self-signed certificate: OpenSSL only reads the extensions
 * of a certificate it can encode. 0 or -1. */
static int sign(X509 *x)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = X509_get_subject_name(x);
	int rc = -1;

	if (k != NULL && X509_set_version(x, X509_VERSION_3) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0) &&
	    X509_set_issuer_name(x, n) && X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, k) &&
	    X509_sign(x, k, EVP_sha256()) > 0)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

/* RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:
 * DE:01:C8:D4 and serial 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE". */
static void test_cert_id(void)
{
	static const unsigned char kid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41,
					     0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C,
					     0xDE, 0x01, 0xC8, 0xD4 };
	X509 *x = X509_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	char *id;

	if (x == NULL || aki == NULL || (aki->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(aki->keyid, kid, sizeof(kid)) ||
	    !X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_DEFAULT) ||
	    !BN_hex2bn(&bn, "87654321") || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, serial) || sign(x) != 0) {
		CHECK(0, "cannot build the RFC 9773 example certificate");
		goto out;
	}
	id = ari_cert_id(x);
	CHECK(streq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"), "certID %s", id ? id : "(null)");
	free(id);
	/* without an AKI there is no certID */
	X509_free(x);
	x = X509_new();
	if (x != NULL && X509_set_serialNumber(x, serial) && sign(x) == 0) {
		id = ari_cert_id(x);
		CHECK(id == NULL, "certID without AKI: %s", id);
		free(id);
	}
out:
	X509_free(x);
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
}

int main(void)
{
	test_rfc3339_parse();
	test_rfc3339_format();
	test_spread();
	test_cert_id();
	if (failures == 0)
		printf("test_ari: all passed\n");
	return failures != 0;
}
