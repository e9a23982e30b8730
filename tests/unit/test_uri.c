/*
 * Unit test for tok_uri_parse (RFC 7512). Exit 0 when every case passes; each failure
 * is printed.
 */
#include "tokens/tokens.h"
#include "tokens/tok_int.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

static void test_full_uri(void)
{
	struct tok_uri u;
	char err[256];
	const char *s = "pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
			"serial=2f32a3b00cd2dc99;object=acct;id=%01%ff%0A;type=private"
			"?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/pin";

	CHECK(tok_uri_parse(s, &u, err, sizeof(err)) == TOK_OK, "full URI: %s", err);
	CHECK(streq(u.token, "My Token"), "token %%20 decoded: %s", u.token);
	CHECK(streq(u.manufacturer, "SoftHSM project"), "manufacturer");
	CHECK(streq(u.model, "SoftHSM v2"), "model");
	CHECK(streq(u.serial, "2f32a3b00cd2dc99"), "serial");
	CHECK(streq(u.object, "acct"), "object");
	CHECK(streq(u.type, "private"), "type");
	CHECK(u.id_len == 3 && u.id[0] == 0x01 && u.id[1] == 0xff && u.id[2] == 0x0a,
	      "id decoded to 3 raw bytes (len %zu)", u.id_len);
	CHECK(streq(u.module_path, "/usr/lib/softhsm/libsofthsm2.so"), "module-path");
	CHECK(streq(u.pin_source, "file:/etc/pin"), "pin-source");
	CHECK(u.pin_value == NULL && u.module_name == NULL, "absent attributes are NULL");
	tok_uri_free(&u);
	CHECK(u.token == NULL && u.id == NULL, "tok_uri_free clears");
}

static void test_valid_small(void)
{
	struct tok_uri u;
	char err[256];

	CHECK(tok_uri_parse("pkcs11:", &u, err, sizeof(err)) == TOK_OK, "bare pkcs11: %s", err);
	CHECK(u.token == NULL && u.object == NULL, "bare URI has no attributes");
	tok_uri_free(&u);
	CHECK(tok_uri_parse("PKCS11:object=a", &u, err, sizeof(err)) == TOK_OK,
	      "scheme is case-insensitive: %s", err);
	tok_uri_free(&u);
	CHECK(tok_uri_parse("pkcs11:id=AB", &u, err, sizeof(err)) == TOK_OK, "plain id: %s", err);
	CHECK(u.id_len == 2 && memcmp(u.id, "AB", 2) == 0, "plain id chars are bytes");
	tok_uri_free(&u);
	CHECK(tok_uri_parse("pkcs11:id=%00%01", &u, err, sizeof(err)) == TOK_OK, "id with %%00: %s", err);
	CHECK(u.id_len == 2 && u.id[0] == 0 && u.id[1] == 1, "id may hold NUL bytes");
	tok_uri_free(&u);
	/* p11tool's URI for tpm2-pkcs11: the model is padded with NULs */
	CHECK(tok_uri_parse("pkcs11:model=SW%20%20%20TPM%00%00%00%00;manufacturer=IBM%20%20;"
			    "serial=0000000000000000;token=tpm%20", &u, err, sizeof(err)) == TOK_OK,
	      "NUL-padded model: %s", err);
	CHECK(streq(u.model, "SW   TPM") && streq(u.manufacturer, "IBM") && streq(u.token, "tpm"),
	      "token fields lose trailing NUL and blank padding: '%s' '%s' '%s'", u.model,
	      u.manufacturer, u.token);
	tok_uri_free(&u);
	CHECK(tok_uri_parse("pkcs11:object=k%20", &u, err, sizeof(err)) == TOK_OK, "object: %s", err);
	CHECK(streq(u.object, "k "), "an object label keeps its blanks");
	tok_uri_free(&u);
	CHECK(tok_uri_parse("pkcs11:object=a%3bb%3Dc?module-name=softhsm2&pin-value=12%2634", &u,
			    err, sizeof(err)) == TOK_OK, "escaped separators: %s", err);
	CHECK(streq(u.object, "a;b=c"), "object %%3b %%3D decoded: %s", u.object);
	CHECK(streq(u.module_name, "softhsm2"), "module-name");
	CHECK(streq(u.pin_value, "12&34"), "pin-value %%26 decoded");
	tok_uri_free(&u);
	CHECK(tok_uri_parse("pkcs11:?pin-source=env:PIN", &u, err, sizeof(err)) == TOK_OK,
	      "query only: %s", err);
	CHECK(streq(u.pin_source, "env:PIN"), "pin-source env");
	tok_uri_free(&u);
}

/* Each bad URI must fail with TOK_ERR_CONFIG, and the message must contain want. */
static void expect_bad(const char *s, const char *want)
{
	struct tok_uri u;
	char err[256];
	int rc = tok_uri_parse(s, &u, err, sizeof(err));

	CHECK(rc == TOK_ERR_CONFIG, "'%s' must be rejected (rc %d)", s, rc);
	CHECK(rc == TOK_OK || strstr(err, want) != NULL,
	      "'%s': message '%s' should name '%s'", s, err, want);
	tok_uri_free(&u);
}

static void test_invalid(void)
{
	expect_bad("token=x", "pkcs11:");
	expect_bad("http://example.com", "pkcs11:");
	expect_bad("pkcs11:token=a;token=b", "'token' appears twice");
	expect_bad("pkcs11:id=%01;object=k;id=%02", "'id' appears twice");
	expect_bad("pkcs11:object=k?pin-source=a&pin-source=b", "'pin-source' appears twice");
	expect_bad("pkcs11:tokne=x", "unknown attribute 'tokne'");
	expect_bad("pkcs11:x-vendor=1", "unknown attribute 'x-vendor'");
	expect_bad("pkcs11:object=k?module=x", "unknown attribute 'module'");
	expect_bad("pkcs11:slot-id=1", "'slot-id' is not supported");
	expect_bad("pkcs11:object=%4", "'object' has a malformed value");
	expect_bad("pkcs11:object=%zz", "'object' has a malformed value");
	expect_bad("pkcs11:id=%g1", "'id' has a malformed value");
	expect_bad("pkcs11:object=a b", "'object' has a malformed value");
	expect_bad("pkcs11:object=%00x", "'object' contains %00");
	expect_bad("pkcs11:model=SW%00TPM%00", "'model' contains %00");
	expect_bad("pkcs11:object=k%00", "'object' contains %00");
	expect_bad("pkcs11:object", "malformed attribute 'object'");
	expect_bad("pkcs11:=x", "malformed attribute '=x'");
	expect_bad("pkcs11:object=", "'object' has an empty value");
	expect_bad("pkcs11:object=a;;id=1", "empty attribute");
	expect_bad("pkcs11:object=a;", "empty attribute");
	expect_bad("pkcs11:object=a?", "empty query");
	expect_bad("pkcs11:object=a?module-path=/x&", "empty attribute");
	expect_bad("pkcs11:type=secret", "'type' has an unknown value 'secret'");
	expect_bad("pkcs11:pin-source=file:/x", "'pin-source' belongs in the query");
	expect_bad("pkcs11:object=a?token=b", "'token' belongs in the path");
	expect_bad("pkcs11:?module-path=/a&module-name=b", "either module-path or module-name");
}

/* A malformed pin-value must not be echoed into the message (it goes to logs). */
static void test_pin_not_echoed(void)
{
	struct tok_uri u;
	char err[256];
	char *r = NULL;

	tok_uri_parse("pkcs11:?pin-value=se%zzcret", &u, err, sizeof(err));
	CHECK(strstr(err, "cret") == NULL, "pin-value echoed in '%s'", err);
	tok_uri_free(&u);
	r = uri_redact_pin("pkcs11:object=a?pin-value=secret&module-name=x", "(hidden)");
	CHECK(streq(r, "pkcs11:object=a?pin-value=(hidden)&module-name=x"), "redact: %s", r);
	free(r);
}

int main(void)
{
	test_full_uri();
	test_valid_small();
	test_invalid();
	test_pin_not_echoed();
	if (failures != 0) {
		printf("test_uri: %d failures\n", failures);
		return 1;
	}
	printf("test_uri: all passed\n");
	return 0;
}
