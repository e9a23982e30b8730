/*
 * Unit tests for the signer service's decisions (signer/enforce.c, signer/policy.c):
 * what each payload shape means and needs, the name patterns, the union of sections,
 * and the ways a hostile client might try to have a request read one way here and
 * another way at the CA (duplicate or case-variant members, NUL escapes, trailing
 * data, the jwk form, a URL of another server, a CSR or certificate with other names).
 */
#include "signer/internal.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/unit/check.h"

#define CA "https://ca.test:14000"
#define KID CA "/my-account/1"

static const char policy_text[] =
	"# a comment\n"
	"[user int1]\n"
	"names = int.example.com *.int.example.org\n"
	"allow = order revoke\n"
	"\n"
	"[group revokers]\n"
	"names = other.example.net\n"
	"allow = revoke\n"
	"[user bare]\n"
	"[group admins]\n"
	"names = *\n"
	"allow = order revoke account\n";

static struct policy *pol;

/* The decision for one SIGN request by user (groups: the NULL-terminated list). */
static int decide(const char *user, const char *const *groups, const char *url,
		  const char *kid, const char *payload, struct decision *d)
{
	struct peer_id id = { .known = 1 };
	struct policy_rules r;
	struct wire_field f[4];
	struct wire_msg m = { .version = WIRE_VERSION, .op = WIRE_OP_SIGN };
	struct enforce_ctx e;
	char origin[300];
	int rc;

	snprintf(id.user, sizeof(id.user), "%s", user);
	for (id.n_groups = 0; groups != NULL && groups[id.n_groups] != NULL; id.n_groups++)
		;
	id.groups = (char **)groups;
	url_origin(CA "/dir", origin, sizeof(origin));
	CHECK(policy_match(pol, &id, &r) >= 0, "match");
	e = (struct enforce_ctx){ &r, user, origin };
	f[0] = (struct wire_field){ (const unsigned char *)url, strlen(url) };
	f[1] = (struct wire_field){ (const unsigned char *)"bm9uY2U", 7 };
	f[2] = (struct wire_field){ (const unsigned char *)payload, strlen(payload) };
	if (kid != NULL)
		f[3] = (struct wire_field){ (const unsigned char *)kid, strlen(kid) };
	m.nfields = kid != NULL ? 4 : 3;
	memcpy(m.f, f, sizeof(f));
	rc = enforce_request(&e, &m, d);
	policy_rules_free(&r);
	return rc;
}

/* allow (1) or deny (0) expected, with op and (for denials) a reason substring. */
static void expect(const char *user, const char *url, const char *kid, const char *payload,
		   int allow, int op, const char *reason)
{
	static const char *const admins[] = { "nogroup", "admins", NULL };
	static const char *const others[] = { "nogroup", NULL };
	struct decision d;
	int rc = decide(user, strcmp(user, "boss") == 0 ? admins : others, url, kid, payload, &d);

	CHECK((rc == 0) == allow, "%s %s: expected %s, got %s (%s)", user, payload,
	      allow ? "allow" : "deny", rc == 0 ? "allow" : "deny", d.reason);
	CHECK(d.op == op, "%s %s: op %s, expected %s", user, payload, req_op_name(d.op),
	      req_op_name(op));
	if (reason != NULL)
		CHECK(strstr(d.reason, reason) != NULL, "%s %s: reason '%s' lacks '%s'", user,
		      payload, d.reason, reason);
	decision_free(&d);
}

static void test_patterns(void)
{
	CHECK(policy_pattern_match("*", "anything.example"), "*");
	CHECK(policy_pattern_match("a.example.com", "a.example.com"), "exact");
	CHECK(!policy_pattern_match("a.example.com", "b.a.example.com"), "exact is not below");
	CHECK(!policy_pattern_match("a.example.com", "*.a.example.com"), "exact is not wildcard");
	CHECK(policy_pattern_match("*.d.test", "x.d.test"), "one below");
	CHECK(policy_pattern_match("*.d.test", "y.x.d.test"), "any depth");
	CHECK(policy_pattern_match("*.d.test", "*.d.test"), "the wildcard identifier");
	CHECK(policy_pattern_match("*.d.test", "*.x.d.test"), "a wildcard below");
	CHECK(!policy_pattern_match("*.d.test", "d.test"), "D itself");
	CHECK(!policy_pattern_match("*.d.test", "xd.test"), "suffix without a dot");
	CHECK(!policy_pattern_match("*.d.test", "d.test.evil"), "prefix");
	CHECK(dns_name_valid("*.a.b", 1) && !dns_name_valid("*.a.b", 0), "wildcard flag");
	CHECK(!dns_name_valid("a.*.b", 1) && !dns_name_valid("a..b", 1) &&
	      !dns_name_valid("-a.b", 1) && !dns_name_valid("a.b.", 1) &&
	      !dns_name_valid("A.b", 1) && !dns_name_valid("a b", 1), "bad names");
}

static void test_policy_errors(void)
{
	static const struct { const char *text, *err; } bad[] = {
		{ "names = a.b\n", "p:1: 'names' outside a section" },
		{ "[user a]\nallow = order revok\n", "p:2: unknown permission 'revok'" },
		{ "[user a]\nnames = a.*.b\n", "p:2: not a name pattern: 'a.*.b'" },
		{ "[user a]\nname = a.b\n", "p:2: unknown key 'name'" },
		{ "[host a]\n", "p:1: unknown section" },
		{ "[user a\n", "p:1: a section header" },
		{ "[user a]\n[user a]\n", "p:2: duplicate section (first at line 1)" },
		{ "[user a]\nnames\n", "p:2: not 'key = value'" },
		{ "[user ]\n", "p:1: unknown section" },
		{ "[user a]\r\n\n# c\nnames", "p:4: not 'key = value'" },   /* last line, no newline */
	};
	struct policy *p = NULL;
	char err[600];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(policy_parse("p", bad[i].text, strlen(bad[i].text), &p, err, sizeof(err)) < 0,
		      "accepted: %s", bad[i].text);
		CHECK(strstr(err, bad[i].err) != NULL, "'%s' for %s", err, bad[i].err);
		policy_free(p);
	}
	CHECK(policy_parse("p", "[user a]\nnames = A.Example.COM\n", 31, &p, err, sizeof(err)) == 0 &&
	      streq(p->sec[0].names[0], "a.example.com"), "names are lowercased");
	policy_free(p);
}

static void test_orders(void)
{
	const char *u = CA "/order-plz";

	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\"}]}",
	       1, REQ_NEW_ORDER, "granted by [user int1]");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"INT.example.com\"}],"
	       "\"replaces\":\"x.y\",\"profile\":\"p\"}", 1, REQ_NEW_ORDER, NULL);
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.int.example.org\"},"
	       "{\"type\":\"dns\",\"value\":\"a.b.int.example.org\"}]}", 1, REQ_NEW_ORDER, NULL);
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\"},"
	       "{\"type\":\"dns\",\"value\":\"www.example.com\"}]}", 0, REQ_NEW_ORDER,
	       "user int1 may not order www.example.com");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.org\"}]}",
	       0, REQ_NEW_ORDER, "may not order int.example.org");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"ip\",\"value\":\"10.0.0.1\"}]}",
	       0, REQ_NEW_ORDER, "not dns");
	expect("int1", u, KID, "{\"identifiers\":[]}", 0, REQ_NEW_ORDER, "without identifiers");
	/* a permission of one section never combines with the names of another */
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"other.example.net\"}]}",
	       0, REQ_NEW_ORDER, "may not order other.example.net");
	expect("bare", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\"}]}",
	       0, REQ_NEW_ORDER, "may not order int.example.com");
	expect("root", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"x.test\"}]}",
	       0, REQ_NEW_ORDER, "may not order");
}

/* The ways of dressing up an order for www.example.com as something else. */
static void test_disguises(void)
{
	const char *u = CA "/order-plz", *ok = "{\"type\":\"dns\",\"value\":\"int.example.com\"}",
		   *evil = "{\"type\":\"dns\",\"value\":\"www.example.com\"}";
	char p[512];

	snprintf(p, sizeof(p), "{\"identifiers\":[%s],\"identifiers\":[%s]}", ok, evil);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, "duplicate members");
	snprintf(p, sizeof(p), "{\"identifiers\":[%s],\"Identifiers\":[%s]}", ok, evil);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, "duplicate members");
	snprintf(p, sizeof(p), "{\"Identifiers\":[%s]}", evil);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, "not recognised");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\","
	       "\"Value\":\"www.example.com\"}]}", 0, REQ_UNKNOWN, "duplicate members");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\","
	       "\"x\":\"www.example.com\"}]}", 0, REQ_NEW_ORDER, "malformed identifier");
	expect("int1", u, KID, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	       "\"int.example.com\\u0000.www.example.com\"}]}", 0, REQ_UNKNOWN, "NUL");
	snprintf(p, sizeof(p), "{\"identifiers\":[%s]} {\"identifiers\":[%s]}", ok, evil);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, "not JSON");
	/* the jwk form reaches only newAccount and revokeCert: an order there is unknown */
	snprintf(p, sizeof(p), "{\"identifiers\":[%s]}", evil);
	expect("int1", u, NULL, p, 0, REQ_UNKNOWN, "not recognised");
	/* an order with a csr mixed in, or a csr with identifiers */
	snprintf(p, sizeof(p), "{\"identifiers\":[%s],\"csr\":\"AAAA\"}", ok);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, "not recognised");
	/* the URL and the kid must be on the service's CA */
	snprintf(p, sizeof(p), "{\"identifiers\":[%s]}", ok);
	expect("int1", "https://other.test/order-plz", KID, p, 0, REQ_UNKNOWN, "not on the service's CA");
	expect("int1", u, "https://other.test/acct/1", p, 0, REQ_UNKNOWN, "not on the service's CA");
	expect("int1", "https://x@ca.test:14000/order-plz", KID, p, 0, REQ_UNKNOWN, "not on");
	expect("int1", "https://ca.test:14000/order-plz#f", KID, p, 0, REQ_UNKNOWN, "not on");
	expect("int1", "http://ca.test:14000/order-plz", KID, p, 0, REQ_UNKNOWN, "not on");
	expect("int1", "HTTPS://CA.test:14000/order-plz", KID, p, 1, REQ_NEW_ORDER, NULL);
}

static void test_account_ops(void)
{
	const char *acct = KID, *na = CA "/sign-me-up";

	expect("bare", na, NULL, "{\"onlyReturnExisting\":true}", 1, REQ_ACCOUNT_LOOKUP, NULL);
	expect("int1", na, NULL, "{\"onlyReturnExisting\":true,\"contact\":[]}", 0,
	       REQ_NEW_ACCOUNT, "may not create an account");
	expect("int1", na, NULL, "{\"onlyReturnExisting\":false}", 0, REQ_NEW_ACCOUNT, NULL);
	expect("int1", na, NULL, "{}", 0, REQ_NEW_ACCOUNT, "may not create an account");
	expect("int1", na, NULL, "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@b\"]}", 0,
	       REQ_NEW_ACCOUNT, NULL);
	expect("boss", na, NULL, "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@b\"]}", 1,
	       REQ_NEW_ACCOUNT, "granted by [group admins]");
	expect("int1", na, NULL, "{\"termsOfServiceAgreed\":\"yes\"}", 0, REQ_UNKNOWN, NULL);
	expect("int1", acct, KID, "{\"status\":\"deactivated\"}", 0, REQ_DEACTIVATE,
	       "user int1 may not deactivate the account");
	expect("int1", CA "/authZ/x", KID, "{\"status\":\"deactivated\"}", 0, REQ_DEACTIVATE, NULL);
	expect("boss", acct, KID, "{\"status\":\"deactivated\"}", 1, REQ_DEACTIVATE, NULL);
	expect("int1", acct, KID, "{\"status\":\"valid\"}", 0, REQ_UNKNOWN, NULL);
	expect("int1", acct, KID, "{\"contact\":[\"mailto:x@y\"]}", 0, REQ_ACCOUNT_UPDATE,
	       "may not update the account");
	expect("int1", CA "/rollover-account", KID,
	       "{\"protected\":\"a\",\"payload\":\"b\",\"signature\":\"c\"}", 0, REQ_KEY_CHANGE,
	       "may not change the account key");
	expect("boss", CA "/rollover-account", KID,
	       "{\"protected\":\"a\",\"payload\":\"b\",\"signature\":\"c\"}", 1, REQ_KEY_CHANGE, NULL);
	expect("int1", acct, KID, "", 1, REQ_READ, NULL);
	expect("int1", CA "/chalZ/x", KID, "{}", 1, REQ_CHALLENGE, NULL);
	expect("bare", CA "/chalZ/x", KID, "{}", 0, REQ_CHALLENGE, "may not read");
	expect("int1", acct, NULL, "", 0, REQ_UNKNOWN, NULL);
	expect("int1", acct, KID, "{\"foo\":1}", 0, REQ_UNKNOWN, "not recognised");
	expect("int1", acct, KID, "[1]", 0, REQ_UNKNOWN, "not a JSON object");
}

static EVP_PKEY *key(void)
{
	return EVP_EC_gen("P-256");
}

/* A self-signed certificate for names (SAN dNSName, CN = first), DER base64url. */
static char *cert_b64(const char *cn, const char *san)
{
	EVP_PKEY *k = key();
	X509 *x = X509_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	char *b = NULL;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (san != NULL && (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
						      san)) != NULL)
		X509_add_ext(x, ext, -1);
	X509_sign(x, k, EVP_sha256());
	if ((len = i2d_X509(x, &der)) > 0)
		b = b64url_encode(der, (size_t)len);
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(k);
	return b;
}

static void test_revoke(void)
{
	const char *u = CA "/revoke-cert";
	char *own = cert_b64("int.example.com", "DNS:int.example.com,DNS:a.int.example.org");
	char *other = cert_b64("other.example.net", "DNS:other.example.net,DNS:int.example.com");
	char *ip = cert_b64("int.example.com", "DNS:int.example.com,IP:10.0.0.1");
	char p[4096];

	snprintf(p, sizeof(p), "{\"certificate\":\"%s\",\"reason\":4}", own);
	expect("int1", u, KID, p, 1, REQ_REVOKE, "allow = revoke");
	expect("int1", u, NULL, p, 1, REQ_REVOKE, NULL);   /* jwk form: revokeCert */
	expect("bare", u, KID, p, 0, REQ_REVOKE, "user bare may not revoke int.example.com");
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\"}", other);
	expect("int1", u, KID, p, 0, REQ_REVOKE, "may not revoke other.example.net");
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\"}", ip);
	expect("int1", u, KID, p, 0, REQ_REVOKE, "not a DNS name");
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\",\"reason\":4.5}", own);
	expect("int1", u, KID, p, 0, REQ_REVOKE, "reason");
	snprintf(p, sizeof(p), "{\"certificate\":\"%sAA\"}", own);
	expect("int1", u, KID, p, 0, REQ_REVOKE, "not one DER certificate");
	free(own);
	free(other);
	free(ip);
}

static char *csr_b64(const char *const *names, size_t n)
{
	EVP_PKEY *k = key();
	unsigned char *der = NULL;
	size_t len = 0;
	char *b = NULL;

	if (jws_csr(k, names, n, &der, &len) == 0)
		b = b64url_encode(der, len);
	free(der);
	EVP_PKEY_free(k);
	return b;
}

static void test_finalize(void)
{
	static const char *const ok[] = { "int.example.com", "x.int.example.org" };
	static const char *const bad[] = { "int.example.com", "www.example.com" };
	const char *u = CA "/finalize-order/1";
	char *a = csr_b64(ok, 2), *b = csr_b64(bad, 2), p[4096];

	snprintf(p, sizeof(p), "{\"csr\":\"%s\"}", a);
	expect("int1", u, KID, p, 1, REQ_FINALIZE, NULL);
	expect("int1", u, NULL, p, 0, REQ_UNKNOWN, NULL);
	snprintf(p, sizeof(p), "{\"csr\":\"%s\"}", b);
	expect("int1", u, KID, p, 0, REQ_FINALIZE, "user int1 may not order www.example.com");
	snprintf(p, sizeof(p), "{\"csr\":\"%s\",\"x\":1}", a);
	expect("int1", u, KID, p, 0, REQ_UNKNOWN, NULL);
	expect("int1", u, KID, "{\"csr\":\"not base64!\"}", 0, REQ_FINALIZE, "base64url");
	expect("int1", u, KID, "{\"csr\":\"AAAA\"}", 0, REQ_FINALIZE, "not one DER CSR");
	free(a);
	free(b);
}

/* What is signed is the re-serialised payload, not the client's bytes. */
static void test_canonical(void)
{
	static const char *const groups[] = { NULL };
	struct decision d;

	CHECK(decide("int1", groups, CA "/order-plz", KID,
		     " { \"identifiers\" : [ {\"type\":\"dns\", \"value\":\"int.example.com\"} ] } ",
		     &d) == 0, "allowed");
	CHECK(streq(d.payload, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"int.example.com\"}]}"),
	      "payload %s", d.payload);
	CHECK(d.n_names == 1 && streq(d.names[0], "int.example.com"), "names");
	decision_free(&d);
	CHECK(decide("int1", groups, CA "/x", KID, "", &d) == 0 && streq(d.payload, ""), "empty");
	decision_free(&d);
}

static void test_other_ops(void)
{
	struct peer_id id = { .known = 1 };
	struct policy_rules r;
	struct enforce_ctx e;
	struct wire_msg m = { .version = WIRE_VERSION, .nfields = 1 };
	struct decision d;
	unsigned char k = 0;
	static const char *const groups[] = { "admins", NULL };

	snprintf(id.user, sizeof(id.user), "x");
	id.groups = (char **)groups;
	id.n_groups = 1;
	policy_match(pol, &id, &r);
	e = (struct enforce_ctx){ &r, "x", "https://ca.test:14000" };
	m.f[0] = (struct wire_field){ &k, 1 };
	m.op = WIRE_OP_JWK;
	CHECK(enforce_request(&e, &m, &d) == 0 && d.op == REQ_JWK, "jwk");
	decision_free(&d);
	m.op = WIRE_OP_CSR;
	CHECK(enforce_request(&e, &m, &d) < 0 && d.op == REQ_CSR, "no CSR through the service");
	decision_free(&d);
	m.op = WIRE_OP_KEYSHOW;
	CHECK(enforce_request(&e, &m, &d) < 0, "no key show");
	decision_free(&d);
	m.op = WIRE_OP_KEYCHANGE;
	m.nfields = 2;
	m.f[0] = (struct wire_field){ (const unsigned char *)CA "/kc", strlen(CA "/kc") };
	m.f[1] = (struct wire_field){ (const unsigned char *)KID, strlen(KID) };
	CHECK(enforce_request(&e, &m, &d) == 0 && d.op == REQ_KEY_CHANGE_INNER, "admin keychange");
	decision_free(&d);
	policy_rules_free(&r);
}

int main(void)
{
	char err[600];

	if (policy_parse("test", policy_text, strlen(policy_text), &pol, err, sizeof(err)) < 0) {
		printf("FAIL policy: %s\n", err);
		return 1;
	}
	test_patterns();
	test_policy_errors();
	test_orders();
	test_disguises();
	test_account_ops();
	test_revoke();
	test_finalize();
	test_canonical();
	test_other_ops();
	policy_free(pol);
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
