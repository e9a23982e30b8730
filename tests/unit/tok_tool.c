/*
 * Test tool for tokens/ (not a unit test: the runner only runs test_*).
 *
 *   tok_tool [--module M] [--pin-source S] [--allow-extractable] [--environ FILE]
 *            [--marker-dir DIR] CMD URI [ARG]
 *
 * CMD:
 *   open         open the token and load the key; print "ok"
 *   sign         also sign and verify with the public key; print "sign ok <alg>"
 *   info         print tok_key_info
 *   export-check expect CKR_ATTRIBUTE_SENSITIVE for CKA_VALUE (RSA: CKA_PRIVATE_EXPONENT) and CKR_KEY_UNEXTRACTABLE
 *                from C_WrapKey; print both names, exit 0 only when both are as expected
 *   loop N       open, load, sign, close N times; print "failures: K"
 *   keygen TYPE  tok_generate_key (URI names label/id)
 *   nosign       set CKA_SIGN=FALSE on the key (C_SetAttributeValue)
 *   leak         wrap an extractable key out of the token (print "wrapped out N bytes"),
 *                then make it sensitive and non-extractable (C_SetAttributeValue): a key
 *                of which a copy exists, although it now says it cannot leave
 * --environ FILE: after opening, write /proc/self/environ to FILE, and print
 * "pin-env: gone" or "pin-env: present" for an env: PIN source.
 * --marker-dir DIR: refused-PIN markers in DIR/pin-failed (tok_opts.pin_marker_dir).
 * Exit: 0 ok, 1 failure, 2 TOK_ERR_CONFIG or TOK_ERR_PIN.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

struct args {
	struct tok_opts o;
	const char *environ_file, *cmd, *uri, *arg;
};

static int usage(void)
{
	fprintf(stderr, "usage: tok_tool [--module M] [--pin-source S] [--allow-extractable] "
		"[--environ FILE] [--marker-dir DIR] open|sign|info|export-check|leak|nosign|loop N|keygen TYPE URI\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int i = 1;

	memset(a, 0, sizeof(*a));
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--allow-extractable") == 0)
			a->o.allow_extractable = 1;
		else if (i + 1 >= argc)
			return -1;
		else if (strcmp(argv[i], "--module") == 0)
			a->o.module = argv[++i];
		else if (strcmp(argv[i], "--pin-source") == 0)
			a->o.pin_source = argv[++i];
		else if (strcmp(argv[i], "--environ") == 0)
			a->environ_file = argv[++i];
		else if (strcmp(argv[i], "--marker-dir") == 0)
			a->o.pin_marker_dir = argv[++i];
		else
			return -1;
	}
	if (argc - i < 2)
		return -1;
	a->cmd = argv[i++];
	if ((strcmp(a->cmd, "loop") == 0 || strcmp(a->cmd, "keygen") == 0) && i < argc - 1)
		a->arg = argv[i++];
	a->uri = argv[i++];
	return i == argc ? 0 : -1;
}

/* Sign with the token key and verify with a public key rebuilt from it (i2d_PUBKEY). */
static int sign_verify(EVP_PKEY *pk)
{
	static const unsigned char msg[] = "p11acme tok_tool";
	unsigned char sig[1024], *der = NULL;
	const unsigned char *p = NULL;
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY *pub = NULL;
	int len, ok = 0;

	len = i2d_PUBKEY(pk, &der);
	p = der;
	if (len > 0)
		pub = d2i_PUBKEY(NULL, &p, len);
	if (m == NULL || pub == NULL ||
	    EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) != 1)
		goto out;
	EVP_MD_CTX_free(m);
	m = EVP_MD_CTX_new();
	ok = m != NULL && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg)) == 1;
out:
	if (!ok)
		log_openssl_errors("sign");
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	return ok;
}

/* A session AES key that may wrap, to ask the token to wrap the private key out. */
static CK_RV make_wrap_key(struct tok_ctx *c, CK_OBJECT_HANDLE *wk)
{
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ULONG vlen = 32;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_TOKEN, &f, sizeof(f) }, { CKA_WRAP, &t, sizeof(t) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};

	return c->fl->C_GenerateKey(c->sess, &mech, tmpl, 3, wk);
}

static int export_check(struct tok_ctx *c, const char *uri)
{
	CK_OBJECT_HANDLE h = 0, wk = 0;
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	unsigned char buf[8192];
	CK_ATTRIBUTE a = { CKA_VALUE, buf, sizeof(buf) };
	CK_ULONG wlen = sizeof(buf);
	CK_KEY_TYPE ktype = 0;
	CK_ATTRIBUTE kt = { CKA_KEY_TYPE, &ktype, sizeof(ktype) };
	CK_RV rv_get, rv_wrap;

	if (tok_key_handle(c, uri, &h) != TOK_OK)
		return 1;
	/* an RSA private key keeps its secret in CKA_PRIVATE_EXPONENT, not CKA_VALUE */
	if (c->fl->C_GetAttributeValue(c->sess, h, &kt, 1) == CKR_OK && ktype == CKK_RSA)
		a.type = CKA_PRIVATE_EXPONENT;
	rv_get = c->fl->C_GetAttributeValue(c->sess, h, &a, 1);
	printf("get-value: %s\n", tok_ckr_name(rv_get));
	rv_wrap = make_wrap_key(c, &wk);
	if (rv_wrap == CKR_OK) {
		rv_wrap = c->fl->C_WrapKey(c->sess, &wrap, wk, h, buf, &wlen);
		c->fl->C_DestroyObject(c->sess, wk);
	} else {
		printf("wrap-key-gen: %s\n", tok_ckr_name(rv_wrap));
	}
	printf("wrap: %s\n", tok_ckr_name(rv_wrap));
	return rv_get == CKR_ATTRIBUTE_SENSITIVE && rv_wrap == CKR_KEY_UNEXTRACTABLE ? 0 : 1;
}

static void print_info(const struct tok_key_info *i)
{
	printf("label: %s\nid: %s\ntype: %s\nbits: %d\n", i->label, i->id_hex,
	       i->key_type == EVP_PKEY_EC ? "EC" : i->key_type == EVP_PKEY_RSA ? "RSA" : "?",
	       i->bits);
	printf("sensitive: %d\nextractable: %d\nalways_sensitive: %d\nnever_extractable: %d\n"
	       "local: %d\n", i->sensitive, i->extractable, i->always_sensitive,
	       i->never_extractable, i->local);
}

/* After opening: did the env: PIN vanish, and what does /proc/self/environ hold? */
static void report_environ(const struct args *a)
{
	const char *src = a->o.pin_source;
	size_t len = 0;
	char *env = file_read("/proc/self/environ", 1 << 20, &len, 0);

	if (src != NULL && strncmp(src, "env:", 4) == 0)
		printf("pin-env: %s\n", getenv(src + 4) == NULL ? "gone" : "present");
	if (env != NULL && file_write_atomic(a->environ_file, env, len, 0600) != 0)
		fprintf(stderr, "tok_tool: cannot write %s\n", a->environ_file);
	free(env);
}

static int loop(const struct args *a, int n)
{
	int i, fail = 0;

	for (i = 0; i < n; i++) {
		struct tok_ctx *c = NULL;
		EVP_PKEY *pk = NULL;

		if (tok_open(a->uri, &a->o, &c) != TOK_OK || tok_load_key(c, a->uri, &pk) != TOK_OK ||
		    !sign_verify(pk))
			fail++;
		tok_close(c);
	}
	printf("failures: %d\n", fail);
	return fail == 0 ? 0 : 1;
}

/* Wrap the key out with a session AES key (what C_WrapKey allows for any extractable
 * key, sensitive or not): the bytes leave the token. */
static CK_RV wrap_out(struct tok_ctx *c, CK_OBJECT_HANDLE h, unsigned char *buf, CK_ULONG *len)
{
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE wk = 0;
	CK_RV rv = make_wrap_key(c, &wk);

	if (rv != CKR_OK)
		return rv;
	rv = c->fl->C_WrapKey(c->sess, &wrap, wk, h, buf, len);
	c->fl->C_DestroyObject(c->sess, wk);
	return rv;
}

static int leak(struct tok_ctx *c, const char *uri)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE set[2] = { { CKA_SENSITIVE, &yes, sizeof(yes) },
				{ CKA_EXTRACTABLE, &no, sizeof(no) } };
	unsigned char buf[8192];
	CK_ULONG len = sizeof(buf);
	CK_OBJECT_HANDLE h = 0;
	CK_RV rv;

	if (tok_session(c, 1) != TOK_OK || tok_key_handle(c, uri, &h) != TOK_OK)
		return 1;
	if ((rv = wrap_out(c, h, buf, &len)) != CKR_OK) {
		printf("wrap: %s\n", tok_ckr_name(rv));
		return 1;
	}
	printf("wrapped out %lu bytes\n", (unsigned long)len);
	OPENSSL_cleanse(buf, sizeof(buf));
	/* SoftHSM refuses to set CKA_SENSITIVE when it is already TRUE; one at a time */
	rv = c->fl->C_SetAttributeValue(c->sess, h, &set[1], 1);
	if (rv == CKR_OK && tok_attr_bool(c, h, CKA_SENSITIVE) != 1)
		rv = c->fl->C_SetAttributeValue(c->sess, h, &set[0], 1);
	printf("made sensitive and non-extractable: %s\n", tok_ckr_name(rv));
	return rv == CKR_OK ? 0 : 1;
}

static int nosign(struct tok_ctx *c, const char *uri)
{
	static CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE a = { CKA_SIGN, &no, sizeof(no) };
	CK_OBJECT_HANDLE h = 0;
	CK_RV rv;

	if (tok_session(c, 1) != TOK_OK || tok_key_handle(c, uri, &h) != TOK_OK)
		return 1;
	rv = c->fl->C_SetAttributeValue(c->sess, h, &a, 1);
	printf("CKA_SIGN=FALSE: %s\n", tok_ckr_name(rv));
	return rv == CKR_OK ? 0 : 1;
}

static int run(const struct args *a, struct tok_ctx *c)
{
	struct tok_key_info info;
	EVP_PKEY *pk = NULL;
	int rc;

	if (strcmp(a->cmd, "keygen") == 0)
		return tok_generate_key(c, a->uri, a->arg) == TOK_OK ? 0 : 1;
	if (strcmp(a->cmd, "export-check") == 0)
		return export_check(c, a->uri);
	if (strcmp(a->cmd, "leak") == 0)
		return leak(c, a->uri);
	if (strcmp(a->cmd, "nosign") == 0)
		return nosign(c, a->uri);
	if (strcmp(a->cmd, "info") == 0) {
		if (tok_key_info(c, a->uri, &info) != TOK_OK)
			return 1;
		print_info(&info);
		return 0;
	}
	rc = tok_load_key(c, a->uri, &pk);
	if (rc != TOK_OK)
		return rc == TOK_ERR_CONFIG ? 2 : 1;
	if (strcmp(a->cmd, "sign") == 0) {
		if (!sign_verify(pk))
			return 1;
		printf("sign ok %s\n", EVP_PKEY_get0_type_name(pk));
		return 0;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	struct tok_ctx *c = NULL;
	int rc;

	if (parse_args(argc, argv, &a) != 0)
		return usage();
	if (strcmp(a.cmd, "loop") == 0)
		return loop(&a, a.arg ? atoi(a.arg) : 1);
	rc = tok_open(a.uri, &a.o, &c);
	if (rc != TOK_OK)
		return rc == TOK_ERR_CONFIG || rc == TOK_ERR_PIN ? 2 : 1;
	if (a.environ_file != NULL)
		report_environ(&a);
	rc = run(&a, c);
	tok_close(c);
	return rc;
}
