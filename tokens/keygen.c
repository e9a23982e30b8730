/*
 * Key generation through the module's own C_GenerateKeyPair. libp11 0.4.12 cannot
 * generate EC keys, and pkcs11-tool sends no CKA_EXTRACTABLE at all (the token's
 * default applies), so the template here spells out every attribute that decides
 * whether the key can ever leave the token.
 *
 * The public template carries no usage flags (CKA_VERIFY, CKA_ENCRYPT, CKA_WRAP):
 * verification happens on the host, and tpm2-pkcs11 maps them onto TPM object
 * attributes (CKA_VERIFY onto "decrypt", CKA_ENCRYPT onto "sign") that then contradict
 * the private template ("User specified and TPM specified attr mismatch",
 * CKR_GENERAL_ERROR). tpm2-pkcs11 also signs RSA as a TPM decryption, so an RSA key
 * there needs CKA_DECRYPT=TRUE on the private half; every other module gets FALSE.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

/* DER OIDs of the named curves, as CKA_EC_PARAMS wants them. */
static const unsigned char oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char rsa_e[] = { 0x01, 0x00, 0x01 };

struct keygen_type {
	const char *name;
	CK_MECHANISM_TYPE mech;
	const unsigned char *ec_params;
	size_t ec_len;
	CK_ULONG bits;
};

static const struct keygen_type keygen_types[] = {
	{ "ec256", CKM_EC_KEY_PAIR_GEN, oid_p256, sizeof(oid_p256), 0 },
	{ "ec384", CKM_EC_KEY_PAIR_GEN, oid_p384, sizeof(oid_p384), 0 },
	{ "rsa2048", CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0, 2048 },
	{ "rsa3072", CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0, 3072 },
	{ "rsa4096", CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0, 4096 },
};

static const struct keygen_type *keygen_type_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(keygen_types) / sizeof(keygen_types[0]); i++)
		if (strcmp(name, keygen_types[i].name) == 0)
			return &keygen_types[i];
	return NULL;
}

/* Count key objects (private or public) carrying attribute a. -1 on a token error. */
static long count_keys_with(struct tok_ctx *c, CK_ATTRIBUTE a)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &cls, sizeof(cls) }, a };
	CK_OBJECT_HANDLE h[4];
	CK_ULONG found = 0;
	long total = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		cls = classes[i];
		if (c->fl->C_FindObjectsInit(c->sess, tmpl, 2) != CKR_OK)
			return -1;
		if (c->fl->C_FindObjects(c->sess, h, 4, &found) != CKR_OK)
			found = (CK_ULONG)-1;
		c->fl->C_FindObjectsFinal(c->sess);
		if (found == (CK_ULONG)-1)
			return -1;
		total += (long)found;
	}
	return total;
}

int tok_key_present(struct tok_ctx *c, const char *uri)
{
	struct tok_uri u;
	char err[512];
	long by_label = 0, by_id = 0;
	int rc = TOK_ERR_CONFIG;

	memset(&u, 0, sizeof(u));
	if (tok_uri_parse(uri, &u, err, sizeof(err)) != TOK_OK) {
		log_error("%s", err);
		goto out;
	}
	if (u.object == NULL && u.id == NULL) {
		log_error("the key URI names no key: give object= (its label) and preferably id=");
		goto out;
	}
	if ((rc = tok_session(c, 0)) != TOK_OK)
		goto out;
	if (u.object != NULL)
		by_label = count_keys_with(c, (CK_ATTRIBUTE){ CKA_LABEL, u.object, strlen(u.object) });
	if (u.id != NULL)
		by_id = count_keys_with(c, (CK_ATTRIBUTE){ CKA_ID, u.id, u.id_len });
	rc = by_label < 0 || by_id < 0 ? TOK_ERR : (by_label > 0 || by_id > 0);
	if (rc == TOK_ERR)
		log_error("cannot search token '%s' for keys", c->slot->token->label);
out:
	tok_uri_free(&u);
	return rc;
}

/* Never overwrite or shadow a key: a second key with the same label or id makes
 * every later URI that names it ambiguous. */
static int keygen_refuse_existing(struct tok_ctx *c, const struct tok_uri *u, const char *uri)
{
	long by_label = 0, by_id = 0;

	if (u->object != NULL)
		by_label = count_keys_with(c, (CK_ATTRIBUTE){ CKA_LABEL, u->object, strlen(u->object) });
	if (u->id != NULL)
		by_id = count_keys_with(c, (CK_ATTRIBUTE){ CKA_ID, u->id, u->id_len });
	if (by_label < 0 || by_id < 0) {
		log_error("%s: cannot search token '%s' for existing keys", uri, c->slot->token->label);
		return TOK_ERR;
	}
	if (by_label == 0 && by_id == 0)
		return TOK_OK;
	log_error("%s: token '%s' already holds a key with this %s; refusing to create another "
		  "(choose a new object= and id=, or delete the old key first)", uri,
		  c->slot->token->label, by_label > 0 ? (by_id > 0 ? "label and id" : "label") : "id");
	return TOK_ERR_CONFIG;
}

/* Fill the private and public templates; n[0], n[1] get their lengths. The values
 * point into t, u and static data, so they live as long as the call does. */
static void keygen_templates(const struct keygen_type *t, const struct tok_uri *u,
			     int rsa_decrypt, CK_ATTRIBUTE *priv, CK_ATTRIBUTE *pub, CK_ULONG *n)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG np = 0, nq = 0;

	priv[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_DECRYPT, rsa_decrypt && t->ec_params == NULL ? &yes : &no,
				     sizeof(no) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_UNWRAP, &no, sizeof(no) };
	priv[np++] = (CK_ATTRIBUTE){ CKA_DERIVE, &no, sizeof(no) };
	pub[nq++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	if (t->ec_params != NULL) {
		pub[nq++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)t->ec_params, t->ec_len };
	} else {
		pub[nq++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, (void *)&t->bits, sizeof(t->bits) };
		pub[nq++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)rsa_e, sizeof(rsa_e) };
	}
	if (u->object != NULL) {
		priv[np++] = (CK_ATTRIBUTE){ CKA_LABEL, u->object, strlen(u->object) };
		pub[nq++] = (CK_ATTRIBUTE){ CKA_LABEL, u->object, strlen(u->object) };
	}
	if (u->id != NULL) {
		priv[np++] = (CK_ATTRIBUTE){ CKA_ID, u->id, u->id_len };
		pub[nq++] = (CK_ATTRIBUTE){ CKA_ID, u->id, u->id_len };
	}
	n[0] = np;
	n[1] = nq;
}

static const char *id_hex(const unsigned char *id, size_t len, char *buf, size_t size)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

/* What a failed C_GenerateKeyPair most likely means, for the message. */
static const char *keygen_hint(CK_RV rv)
{
	switch (rv) {
	case CKR_GENERAL_ERROR:
	case CKR_FUNCTION_FAILED:
		return " (modules answer this when they cannot honour an attribute of the "
		       "template, e.g. tpm2-pkcs11 logs \"attr mismatch\"; run with the module's "
		       "own logging on, and check that the token supports this key type)";
	case CKR_TEMPLATE_INCONSISTENT:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_ATTRIBUTE_TYPE_INVALID:
		return " (the token rejects an attribute of the sign-only, non-extractable "
		       "template: it may not allow CKA_EXTRACTABLE=FALSE, CKA_SENSITIVE=TRUE or "
		       "CKA_DECRYPT/CKA_DERIVE=FALSE for this key type)";
	case CKR_MECHANISM_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_DOMAIN_PARAMS_INVALID:
		return " (the token does not support this key type or size; try another --type)";
	default:
		return "";
	}
}

/* Checks and generation, on an open read-write session, under the token lock. */
static int keygen_locked(struct tok_ctx *c, const struct keygen_type *t,
			 const struct tok_uri *u, const char *uri)
{
	CK_MECHANISM mech = { t->mech, NULL, 0 };
	CK_ATTRIBUTE priv[12], pub[12];
	CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
	CK_ULONG n[2];
	CK_RV rv;
	sigset_t held;
	char hex[2 * 64 + 1];
	int rc;

	rc = tok_session(c, 1);
	if (rc == TOK_OK)
		rc = keygen_refuse_existing(c, u, uri);
	if (rc != TOK_OK)
		return rc;
	keygen_templates(t, u, tok_rsa_signs_by_decrypt(c), priv, pub, n);
	tok_hold_signals(&held);
	rv = c->fl->C_GenerateKeyPair(c->sess, &mech, pub, n[1], priv, n[0], &hpub, &hpriv);
	tok_release_signals(&held);
	if (rv != CKR_OK) {
		log_error("%s: generating a %s key on token '%s' failed: %s%s", uri, t->name,
			  c->slot->token->label, tok_ckr_name(rv), keygen_hint(rv));
		return TOK_ERR;
	}
	log_info("%s: generated a %s key on token '%s' with id %s", uri, t->name,
		 c->slot->token->label, id_hex(u->id, u->id_len, hex, sizeof(hex)));
	return TOK_OK;
}

/* libp11 pairs a private key with its public half by CKA_ID, so a pair without one
 * could be matched with another key's public half. A pair named only by label gets a
 * random 16-byte id. */
static int keygen_random_id(struct tok_uri *u)
{
	if ((u->id = malloc(16)) == NULL || RAND_bytes(u->id, 16) != 1) {
		log_error("cannot make a random key id");
		return -1;
	}
	u->id_len = 16;
	return 0;
}

int tok_generate_key(struct tok_ctx *c, const char *uri, const char *type)
{
	const struct keygen_type *t = keygen_type_find(type);
	struct tok_uri u;
	char err[512];
	char *shown = uri_redact_pin(uri, "(hidden)");
	int rc = TOK_ERR_CONFIG;

	memset(&u, 0, sizeof(u));
	if (shown == NULL)
		return TOK_ERR;
	if (t == NULL) {
		log_error("%s: unknown key type '%s' (use ec256, ec384, rsa2048, rsa3072 or rsa4096)",
			  shown, type ? type : "");
		goto out;
	}
	if (tok_uri_parse(uri, &u, err, sizeof(err)) != TOK_OK) {
		log_error("%s: %s", shown, err);
		goto out;
	}
	if (u.object == NULL && u.id == NULL) {
		log_error("%s: name the new key with object= (its label) and preferably id=", shown);
		goto out;
	}
	if (u.id == NULL && keygen_random_id(&u) < 0) {
		rc = TOK_ERR;
		goto out;
	}
	if (u.type != NULL || !tok_token_matches(&u, c->slot->token)) {
		log_error("%s: must name the open token ('%s') and no type=", shown,
			  c->slot->token->label);
		goto out;
	}
	/* SoftHSM rewrites its token files here, as on login */
	c->lock_fd = tok_lock(c->module);
	rc = c->lock_fd < 0 ? TOK_ERR : keygen_locked(c, t, &u, shown);
	tok_unlock(c->lock_fd);
	c->lock_fd = -1;
out:
	tok_uri_free(&u);
	free(shown);
	return rc;
}
