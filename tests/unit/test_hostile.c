/*
 * Unit test for what guards against a hostile CA without a network: the
 * sanitiser (common/sanitize.c), name normalisation and identifier checks
 * (client/validate.c), Retry-After clamping (client/parse.c) and base64 of
 * either alphabet (common/b64.c). Exit 0 when every case passes.
 */
#include "client/parse.h"
#include "client/validate.h"
#include "common/common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/check.h"

#define P(s) (s), strlen(s)

static void test_sanitize(void)
{
	char out[8192], big[4000];

	sanitize_into(out, sizeof(out), P("plain text: ok"), 1024);
	CHECK(streq(out, "plain text: ok"), "plain: %s", out);
	sanitize_into(out, sizeof(out), P("\x1b]0;pwned\x07\x1b[2Jall good\nfake line\r"), 1024);
	CHECK(streq(out, "\\x1b]0;pwned\\x07\\x1b[2Jall good\\nfake line\\r"), "escapes: %s", out);
	sanitize_into(out, sizeof(out), P("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), 1024);
	CHECK(streq(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), "utf-8 kept: %s", out);
	sanitize_into(out, sizeof(out), P("a\xc3(b\xff\xfe\xed\xa0\x80\xc0\xaf\xc2\x9b"), 1024);
	CHECK(streq(out, "a\\xc3(b\\xff\\xfe\\xed\\xa0\\x80\\xc0\\xaf\\xc2\\x9b"), "invalid utf-8: %s", out);
	CHECK(text_is_safe(out, strlen(out)), "escaped output is safe");
	sanitize_into(out, sizeof(out), "a\0b", 3, 1024);
	CHECK(streq(out, "a\\x00b"), "NUL: %s", out);
	memset(big, 'x', sizeof(big));
	sanitize_into(out, sizeof(out), big, sizeof(big), 1024);
	CHECK(strlen(out) < 1100 && strstr(out, "...(2976 bytes cut)") != NULL, "bounded: %zu %s",
	      strlen(out), out + 1020);
	/* a cut never splits a character */
	memset(big, 'x', 1023);
	memcpy(big + 1023, "\xe2\x82\xac", 3);
	sanitize_into(out, sizeof(out), big, 1026, 1024);
	CHECK(strstr(out, "...(3 bytes cut)") != NULL && text_is_safe(out, strlen(out)), "cut: %s",
	      out + 1020);
	CHECK(streq(safe_str(NULL), "(none)"), "NULL");
	CHECK(!text_is_safe(P("\x1b[2J")) && !text_is_safe(P("\xc3")) && text_is_safe(P("a\nb")),
	      "text_is_safe");
	/* the 16 KiB of escapes a 4 KiB buffer would need never overflow it */
	memset(big, '\x1b', sizeof(big));
	sanitize_into(out, 600, big, sizeof(big), 1024);
	CHECK(strlen(out) < 600 && strstr(out, "bytes cut)") != NULL, "small buffer");
}

static void test_names(void)
{
	static const char *const bad[] = {
		"-x.example.org", "x-.example.org", "a..b", ".a", "a b", "a_b.org", "*", "a.*.b",
		"victim.example.net\nupdate add evil.example.net 60 TXT pwned", "\x1b[2J.org",
		"--help", "", "*.", "a.-b.c",
	};
	char buf[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		CHECK(dns_name_normalize(buf) != 0, "refused: %s", bad[i]);
	}
	snprintf(buf, sizeof(buf), "WWW.Example.ORG.");
	CHECK(dns_name_normalize(buf) == 0 && streq(buf, "www.example.org"), "normalised: %s", buf);
	snprintf(buf, sizeof(buf), "*.x-y.example.org");
	CHECK(dns_name_normalize(buf) == 0, "wildcard");
	memset(buf, 'a', 64);
	buf[64] = '\0';
	CHECK(dns_name_normalize(buf) != 0, "64-char label");
}

static void test_authz_ident(void)
{
	char *names[] = { "hx.example.org", "*.w.example.org" };
	struct acme_authz z = { 0 };
	struct acme_order o = { 0 };
	struct acme_identifier ids[2] = { { "dns", "HX.example.org" }, { "dns", "*.w.example.org" } };
	size_t idx = 99;

	z.ident = (struct acme_identifier){ "dns", "hx.example.org" };
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) == 0 && idx == 0, "ordered name");
	z.ident.value = "victim.example.net";
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) != 0, "foreign name");
	z.ident.value = "hx.example.org\nsend";
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) != 0, "newline");
	z.ident = (struct acme_identifier){ "ip", "hx.example.org" };
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) != 0, "another type");
	z.ident = (struct acme_identifier){ "dns", "w.example.org" };
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) != 0, "wildcard name without wildcard");
	z.wildcard = 1;
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) == 0 && idx == 1, "wildcard");
	z.ident.value = "*.w.example.org";
	CHECK(authz_ident_check(&z, names, 2, "u", &idx) != 0, "'*.' in an authorization");
	o.idents = ids;
	o.n_idents = 2;
	CHECK(order_idents_check(&o, names, 2, "o") == 0, "order identifiers");
	ids[1].value = "hx.example.org";
	CHECK(order_idents_check(&o, names, 2, "o") != 0, "an identifier twice");
	ids[1].value = "victim.example.net";
	CHECK(order_idents_check(&o, names, 2, "o") != 0, "an identifier not ordered");
	o.n_idents = 1;
	CHECK(order_idents_check(&o, names, 2, "o") != 0, "an identifier missing");
}

static void test_retry_after(void)
{
	long s = 0;

	CHECK(retry_after_parse(P("9223372036854775807"), time(NULL), &s) == 0 && s == LONG_MAX,
	      "LONG_MAX");
	CHECK(retry_after_parse(P("99999999999999999999999999"), time(NULL), &s) == 0 &&
	      s == LONG_MAX, "beyond a long: clamped");
	CHECK(retry_after_parse(P("0"), time(NULL), &s) == 0 && s == 0, "zero");
	CHECK(retry_after_parse(P("-1"), time(NULL), &s) != 0, "negative");
	CHECK(retry_after_parse(P("Fri, 31 Dec 9999 23:59:59 GMT"), 0, &s) == 0 && s > 0,
	      "far date");
}

static void test_b64any(void)
{
	size_t n = 0;
	unsigned char *a = b64any_decode("+/+/", &n), *b = b64any_decode("-_-_", &n);
	unsigned char *c = b64any_decode("YQ==", &n);

	CHECK(a != NULL && b != NULL && memcmp(a, b, 3) == 0, "alphabets");
	CHECK(c != NULL && n == 1 && c[0] == 'a', "padding");
	CHECK(b64any_decode("a*b=", &n) == NULL, "invalid");
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	log_verbosity = LOG_QUIET;
	test_sanitize();
	test_names();
	test_authz_ident();
	test_retry_after();
	test_b64any();
	if (failures == 0)
		printf("ok\n");
	return failures != 0;
}
