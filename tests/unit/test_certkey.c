/* client/certkey.c and common/csr.c: the one CSR builder, and csr_load on CSRs made
 * here and by hand (two SAN extensions, a CN only, a CN too long for the subject).
 * Under `tests/run.sh valgrind` this also shows that csr_load frees what it reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client/certkey.h"
#include "common/common.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/p11acme-test-certkey.XXXXXX";

static char *write_csr(const char *name, X509_REQ *req)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = path != NULL ? fopen(path, "w") : NULL;

	CHECK(f != NULL && PEM_write_X509_REQ(f, req), "write %s", name);
	if (f != NULL)
		fclose(f);
	return path;
}

static X509_EXTENSION *san_ext(const char *value)
{
	return X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
}

/* A CSR signed with key: optional CN, then each SAN string as its own extension. */
static X509_REQ *hand_csr(EVP_PKEY *key, const char *cn, const char *const *sans, size_t n)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					   -1, -1, 0);
	X509_REQ_set_subject_name(req, subj);
	X509_REQ_set_pubkey(req, key);
	for (size_t i = 0; i < n; i++)
		sk_X509_EXTENSION_push(exts, san_ext(sans[i]));
	if (n > 0)
		X509_REQ_add_extensions(req, exts);
	X509_REQ_sign(req, key, EVP_sha256());
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subj);
	return req;
}

static void load_expect(const char *path, const char *const *want, size_t n_want,
			const char *what)
{
	unsigned char *der = NULL;
	char **names = NULL;
	size_t len = 0, n = 0;
	int rc = csr_load(path, &der, &len, &names, &n);

	CHECK(rc == (n_want > 0 ? 0 : -1), "%s: csr_load returned %d", what, rc);
	CHECK(n == n_want, "%s: %zu names, expected %zu", what, n, n_want);
	for (size_t i = 0; i < n && i < n_want; i++)
		CHECK(streq(names[i], want[i]), "%s: name %zu is %s, expected %s", what, i,
		      names[i], want[i]);
	CHECK(n_want == 0 || (der != NULL && len > 0), "%s: no DER", what);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	OPENSSL_free(der);
}

static void test_built(EVP_PKEY *key)
{
	char *names[] = { "a.example", "www.a.example" };
	const unsigned char *p;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req = NULL;
	char *path;

	CHECK(certkey_csr(key, names, 2, &der, &len) == 0, "certkey_csr");
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	CHECK(req != NULL && X509_REQ_verify(req, key) == 1, "the built CSR verifies");
	path = write_csr("built.csr", req);
	load_expect(path, (const char *const *)names, 2, "built CSR");
	free(path);
	X509_REQ_free(req);
	free(der);
}

static void test_hand_made(EVP_PKEY *key)
{
	static const char *const two[] = { "DNS:one.example", "DNS:two.example,DNS:three.example" };
	static const char *const two_names[] = { "one.example", "two.example", "three.example" };
	static const char *const cn_only[] = { "cn.example" };
	X509_REQ *req;
	char *path;

	req = hand_csr(key, "one.example", two, 2);
	path = write_csr("two-san.csr", req);
	load_expect(path, two_names, 3, "two SAN extensions");
	free(path);
	X509_REQ_free(req);

	req = hand_csr(key, "cn.example", NULL, 0);
	path = write_csr("cn.csr", req);
	load_expect(path, cn_only, 1, "CN only");
	free(path);
	X509_REQ_free(req);

	req = hand_csr(key, NULL, NULL, 0);
	path = write_csr("none.csr", req);
	load_expect(path, NULL, 0, "no names");
	free(path);
	X509_REQ_free(req);
}

static void test_long_cn(EVP_PKEY *key)
{
	char longname[80], *names[] = { longname };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_REQ *req;

	memset(longname, 'a', 70);
	strcpy(longname + 70, ".example");
	CHECK(certkey_csr(key, names, 1, &der, &len) == 0, "certkey_csr with a long name");
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	CHECK(req != NULL && X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0,
	      "a name over 64 characters is left out of the subject");
	X509_REQ_free(req);
	free(der);
}

int main(void)
{
	EVP_PKEY *key;

	if (mkdtemp(dir) == NULL)
		return 2;
	key = certkey_generate("ec256");
	CHECK(key != NULL, "certkey_generate");
	if (key != NULL) {
		test_built(key);
		test_hand_made(key);
		test_long_cn(key);
	}
	EVP_PKEY_free(key);
	char *cmd = xasprintf("rm -rf %s", dir);
	if (cmd != NULL && system(cmd) != 0)
		printf("could not remove %s\n", dir);
	free(cmd);
	if (failures != 0) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("test_certkey: ok\n");
	return 0;
}
