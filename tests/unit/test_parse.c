/*
 * Unit test for client/parse.c: ACME documents, Link and Retry-After headers, PEM
 * chain splitting, and a few client helpers that need no network (key
 * authorizations, URI pin stripping, names). Exit 0 when every case passes.
 */
#include "client/acme.h"
#include "client/cli.h"
#include "client/parse.h"
#include "client/solve.h"
#include "client/store.h"
#include "common/common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/check.h"

#define P(s) (s), strlen(s)

static void test_directory(void)
{
	struct acme_directory d;
	const char *le = "{\"keyChange\":\"https://ca/kc\",\"meta\":{\"caaIdentities\":[\"x\"],"
			 "\"termsOfService\":\"https://ca/tos\",\"externalAccountRequired\":true,"
			 "\"profiles\":{\"classic\":\"c\",\"tlsserver\":\"t\"}},"
			 "\"newAccount\":\"https://ca/na\",\"newNonce\":\"https://ca/nn\","
			 "\"newOrder\":\"https://ca/no\",\"renewalInfo\":\"https://ca/ari\","
			 "\"revokeCert\":\"https://ca/rc\"}";

	CHECK(acme_directory_parse(P(le), &d) == 0, "directory");
	CHECK(streq(d.new_nonce, "https://ca/nn") && streq(d.new_order, "https://ca/no") &&
	      streq(d.key_change, "https://ca/kc") && streq(d.renewal_info, "https://ca/ari"),
	      "directory urls");
	CHECK(d.eab_required == 1 && streq(d.terms_of_service, "https://ca/tos"), "meta");
	CHECK(d.n_profiles == 2 && streq(d.profiles[0], "classic"), "profiles");
	acme_directory_free(&d);
	CHECK(acme_directory_parse(P("{\"newNonce\":\"x\",\"newAccount\":\"y\"}"), &d) != 0,
	      "directory without newOrder");
	CHECK(acme_directory_parse(P("[]"), &d) != 0, "array");
	CHECK(acme_directory_parse(P("{\"newNonce\":1,\"newAccount\":\"y\",\"newOrder\":\"z\"}"), &d) != 0,
	      "number as url");
	CHECK(acme_directory_parse("{\"newNonce\"", 11, &d) != 0, "truncated");
	acme_directory_free(&d);
}

static void test_problem(void)
{
	struct acme_problem p;
	const char *s = "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
			"\"detail\":\"Some identifiers were rejected\",\"status\":400,"
			"\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:malformed\","
			"\"detail\":\"Invalid underscore\",\"identifier\":{\"type\":\"dns\","
			"\"value\":\"_ex.org\"}},{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
			"\"detail\":\"policy\",\"identifier\":{\"type\":\"dns\",\"value\":\"ex.net\"}},"
			"\"junk\"]}";

	CHECK(acme_problem_parse(P(s), &p) == 0, "problem");
	CHECK(acme_problem_is(&p, "rejectedIdentifier") && !acme_problem_is(&p, "rejected"),
	      "problem type");
	CHECK(p.status == 400 && streq(p.detail, "Some identifiers were rejected"), "detail");
	CHECK(p.n_sub == 2, "two good subproblems of three: %zu", p.n_sub);
	CHECK(p.n_sub == 2 && streq(p.sub[0].ident.value, "_ex.org") &&
	      acme_problem_is(&p.sub[0], "malformed") && streq(p.sub[1].ident.value, "ex.net"),
	      "subproblem identifiers");
	acme_problem_free(&p);
	CHECK(acme_problem_parse(P("{\"type\":\"about:blank\"}"), &p) == 0 &&
	      !acme_problem_is(&p, "badNonce"), "non-ACME type");
	acme_problem_free(&p);
	CHECK(acme_problem_parse(P("not json"), &p) != 0, "not json");
	acme_problem_free(&p);
}

static void test_order_authz(void)
{
	struct acme_order o;
	struct acme_authz z;
	struct acme_challenge c;
	const char *order = "{\"status\":\"invalid\",\"expires\":\"2030-01-01T00:00:00Z\","
			    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"},"
			    "{\"type\":\"dns\",\"value\":\"*.a.example\"}],"
			    "\"authorizations\":[\"https://ca/az/1\",\"https://ca/az/2\"],"
			    "\"finalize\":\"https://ca/fin\",\"error\":{\"type\":"
			    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\"}}";
	const char *authz = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
			    "\"value\":\"a.example\"},\"wildcard\":true,\"challenges\":["
			    "{\"type\":\"dns-01\",\"url\":\"https://ca/ch/1\",\"status\":\"pending\","
			    "\"token\":\"DGyRejmCefe7v4NfDGDKfA\"},{\"type\":\"http-01\","
			    "\"url\":\"https://ca/ch/2\",\"status\":\"invalid\",\"token\":\"x\","
			    "\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\","
			    "\"detail\":\"refused\"}}]}";

	CHECK(acme_order_parse(P(order), &o) == 0, "order");
	CHECK(streq(o.status, "invalid") && o.n_idents == 2 && o.n_authzs == 2 &&
	      streq(o.idents[1].value, "*.a.example") && streq(o.finalize, "https://ca/fin") &&
	      o.certificate == NULL, "order fields");
	CHECK(o.error != NULL && acme_problem_is(o.error, "unauthorized"), "order error");
	acme_order_free(&o);
	CHECK(acme_order_parse(P("{\"status\":\"valid\",\"identifiers\":[],\"finalize\":\"f\"}"),
			       &o) != 0, "order without identifiers");
	CHECK(acme_order_parse(P("{\"status\":\"valid\",\"identifiers\":[{\"type\":\"dns\"}],"
				 "\"finalize\":\"f\"}"), &o) != 0, "identifier without value");
	CHECK(acme_order_parse(P("{\"status\":\"valid\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a\"}],"
				 "\"authorizations\":[1],\"finalize\":\"f\"}"), &o) != 0,
	      "authorization not a string");

	CHECK(acme_authz_parse(P(authz), &z) == 0, "authz");
	CHECK(streq(z.status, "pending") && z.wildcard && streq(z.ident.value, "a.example") &&
	      z.n_challs == 2, "authz fields");
	CHECK(z.n_challs == 2 && streq(z.challs[0].token, "DGyRejmCefe7v4NfDGDKfA") &&
	      z.challs[1].error != NULL && acme_problem_is(z.challs[1].error, "connection"),
	      "challenges");
	acme_authz_free(&z);
	CHECK(acme_authz_parse(P("{\"status\":\"valid\",\"challenges\":[]}"), &z) != 0,
	      "authz without identifier");

	CHECK(acme_challenge_parse(P("{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"valid\"}"),
				   &c) == 0 && c.token == NULL, "challenge without token");
	acme_challenge_free(&c);
	CHECK(acme_challenge_parse(P("{\"type\":\"http-01\",\"status\":\"valid\"}"), &c) != 0,
	      "challenge without url");
	/* an escaped NUL would cut the token short where C sees it */
	CHECK(acme_challenge_parse(P("{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"pending\","
				     "\"token\":\"DGyRejmCefe7v4NfDGDKfA\\u0000/../x\"}"), &c) != 0,
	      "token with \\u0000");
	CHECK(acme_challenge_parse("{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"p\0\"}", 40, &c) != 0,
	      "raw NUL");
}

static void test_account(void)
{
	struct acme_account a;

	CHECK(acme_account_parse(P("{\"status\":\"valid\",\"contact\":[\"mailto:a@b\",\"mailto:c@d\"],"
				   "\"orders\":\"https://ca/o\"}"), &a) == 0, "account");
	CHECK(a.n_contacts == 2 && streq(a.contacts[1], "mailto:c@d") && streq(a.orders, "https://ca/o"),
	      "account fields");
	acme_account_free(&a);
	CHECK(acme_account_parse(P("{\"status\":\"valid\"}"), &a) == 0 && a.n_contacts == 0,
	      "account without contacts");
	acme_account_free(&a);
	CHECK(acme_account_parse(P("{\"contact\":[]}"), &a) != 0, "account without status");
	CHECK(acme_account_parse(P("{\"status\":\"valid\",\"contact\":\"mailto:a@b\"}"), &a) != 0,
	      "contact not an array");
}

static void test_link(void)
{
	struct link *l = NULL;
	size_t n = 0;

	CHECK(link_parse(P("<https://ca/dir>;rel=\"index\""), &l, &n) == 0 && n == 1 &&
	      streq(l[0].uri, "https://ca/dir") && streq(l[0].rel, "index"), "one link");
	CHECK(link_parse(P("<https://ca/c/1/alt/1>; rel=\"alternate\", <https://ca/c/1/alt/2> ;rel=alternate ;title=\"x, y\""),
			 &l, &n) == 0 && n == 3, "two more links: %zu", n);
	CHECK(n == 3 && streq(l[1].rel, "alternate") && streq(l[2].uri, "https://ca/c/1/alt/2") &&
	      streq(l[2].rel, "alternate"), "alternates");
	CHECK(link_parse(P("<https://ca/x>"), &l, &n) == 0 && n == 3, "no rel: skipped");
	CHECK(link_parse(P("<https://ca/x"), &l, &n) != 0, "unterminated <");
	CHECK(link_parse(P("https://ca/x; rel=up"), &l, &n) != 0, "no <");
	CHECK(link_parse(P("<a>; rel=\"up"), &l, &n) != 0, "unterminated quote");
	links_free(l, n);
}

static void test_retry_after(void)
{
	long s = -1;
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

	CHECK(retry_after_parse(P("120"), now, &s) == 0 && s == 120, "delta seconds");
	CHECK(retry_after_parse(P(" 0 "), now, &s) == 0 && s == 0, "zero, spaces");
	CHECK(retry_after_parse(P("Tue, 14 Nov 2023 22:14:20 GMT"), now, &s) == 0 && s == 60,
	      "http date: %ld", s);
	CHECK(retry_after_parse(P("Tue, 14 Nov 2023 22:00:00 GMT"), now, &s) == 0 && s == 0,
	      "date in the past");
	CHECK(retry_after_parse(P("-5"), now, &s) != 0, "negative");
	CHECK(retry_after_parse(P("12abc"), now, &s) != 0, "trailing junk");
	/* any size is valid delta-seconds: clamped, so that it ends the run */
	CHECK(retry_after_parse(P("99999999999999999999999"), now, &s) == 0 && s == LONG_MAX,
	      "overflow clamped");
	CHECK(retry_after_parse(P(""), now, &s) != 0, "empty");
	CHECK(retry_after_parse(P("soon"), now, &s) != 0, "word");
}

static void test_pem(void)
{
	char **c = NULL;
	size_t n = 0;
	const char *two = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\n"
			  "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";

	CHECK(pem_chain_split(P(two), &c, &n) == 0 && n == 2, "two certs");
	CHECK(n == 2 && streq(c[1], "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"),
	      "second cert, newline added");
	pem_chain_free(c, n);
	CHECK(pem_chain_split(P(""), &c, &n) != 0, "empty");
	CHECK(pem_chain_split(P("junk-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"),
			      &c, &n) != 0, "leading junk");
	CHECK(pem_chain_split(P("-----BEGIN CERTIFICATE-----\nA\n"), &c, &n) != 0, "unterminated");
	CHECK(pem_chain_split(P("-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n"
				"-----END CERTIFICATE-----\n"), &c, &n) != 0, "nested block");
	CHECK(pem_chain_split(P("-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n"),
			      &c, &n) != 0, "not a certificate");
}

static void test_helpers(void)
{
	char *s;

	CHECK(token_valid("DGyRejmCefe7v4NfDGDKfA"), "good token");
	CHECK(!token_valid("../../etc/passwd_AAAAAAAA"), "path token");
	CHECK(!token_valid("short"), "short token");
	CHECK(!token_valid("DGyRejmCefe7v4NfDGDKfA.x"), "dot in token");
	CHECK(!token_valid(NULL), "NULL token");

	s = acme_dns_txt("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* independent: python3 hashlib.sha256 + urlsafe_b64encode */
	CHECK(streq(s, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8"), "dns txt: %s", s);
	free(s);

	s = uri_redact_pin("pkcs11:token=a;object=b?module-path=/m.so&pin-value=1234&pin-source=file:/p", NULL);
	CHECK(streq(s, "pkcs11:token=a;object=b?module-path=/m.so&pin-source=file:/p"), "pin-value: %s", s);
	free(s);
	s = uri_redact_pin("pkcs11:token=a?pin-value=1234", NULL);
	CHECK(streq(s, "pkcs11:token=a"), "only pin-value: %s", s);
	free(s);
	s = url_host("https://127.0.0.1:14000/dir");
	CHECK(streq(s, "127.0.0.1:14000"), "host with port: %s", s);
	free(s);
	s = url_host("https://acme-v02.api.letsencrypt.org/directory");
	CHECK(streq(s, "acme-v02.api.letsencrypt.org"), "host: %s", s);
	free(s);
	CHECK(store_name_valid("www.example.com") && !store_name_valid("../x") &&
	      !store_name_valid(".hidden") && !store_name_valid("a/b") && !store_name_valid(""),
	      "certificate names");
}

int main(void)
{
	test_directory();
	test_problem();
	test_order_authz();
	test_account();
	test_link();
	test_retry_after();
	test_pem();
	test_helpers();
	if (failures)
		printf("%d failure(s)\n", failures);
	else
		printf("test_parse: ok\n");
	return failures ? 1 : 0;
}
