/*
 * Finding the one private key a URI names, checking that it cannot leave the token,
 * and handing out its EVP_PKEY. libp11 enumerates and wraps the key; our own session
 * finds the same object again to read the attributes libp11 does not expose.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

static void hex(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int key_matches(const struct tok_uri *u, const PKCS11_KEY *k)
{
	if (u->object != NULL && (k->label == NULL || strcmp(u->object, k->label) != 0))
		return 0;
	if (u->id != NULL && (k->id_len != u->id_len || memcmp(k->id, u->id, u->id_len) != 0))
		return 0;
	return 1;
}

static void list_keys(const PKCS11_KEY *keys, unsigned int n, const char *what)
{
	char idhex[130];
	unsigned int i;

	for (i = 0; i < n; i++) {
		hex(keys[i].id, keys[i].id_len, idhex, sizeof(idhex));
		log_error("  %s: label '%s', id %s", what, keys[i].label ? keys[i].label : "",
			  idhex[0] ? idhex : "(none)");
	}
	if (n == 0)
		log_error("  the token holds no private keys");
}

/* The URI must name a private key (or a pair: no type) on the token that is open. */
static int uri_check_for_key(const struct tok_ctx *c, const struct tok_uri *u, const char *uri)
{
	if (u->type != NULL && strcmp(u->type, "private") != 0) {
		log_error("%s: type=%s names no private key; drop type= or use type=private",
			  uri, u->type);
		return TOK_ERR_CONFIG;
	}
	if (!tok_token_matches(u, c->slot->token)) {
		log_error("%s: names another token than the open one ('%s')", uri,
			  c->slot->token->label);
		return TOK_ERR_CONFIG;
	}
	return TOK_OK;
}

/* Exactly one private key matching u, or an error listing the candidates. The
 * returned pointer is valid until the next enumeration. */
static int find_private_key(struct tok_ctx *c, const struct tok_uri *u, const char *uri,
			    PKCS11_KEY **out)
{
	PKCS11_KEY *keys = NULL, *found = NULL;
	unsigned int i, n = 0, matches = 0;

	if (PKCS11_enumerate_keys(c->slot->token, &keys, &n) != 0) {
		log_error("%s: cannot list the keys on token '%s': %s", uri,
			  c->slot->token->label, tok_ckr_name(tok_last_ckr()));
		return TOK_ERR;
	}
	for (i = 0; i < n; i++)
		if (keys[i].isPrivate && key_matches(u, &keys[i])) {
			found = &keys[i];
			matches++;
		}
	if (matches == 1) {
		*out = found;
		return TOK_OK;
	}
	log_error("%s: %s private key on token '%s' matches the URI%s", uri,
		  matches == 0 ? "no" : "more than one", c->slot->token->label,
		  matches == 0 ? "" : "; give both object= and id= to pick one");
	for (i = 0; i < n; i++)
		if (keys[i].isPrivate && (matches == 0 || key_matches(u, &keys[i])))
			list_keys(&keys[i], 1, matches == 0 ? "private key present" : "candidate");
	if (n == 0)
		list_keys(NULL, 0, "");
	return TOK_ERR_CONFIG;
}

/* Find the object libp11 gave us as k in our own session: same class, label and id. */
static int key_handle(struct tok_ctx *c, const PKCS11_KEY *k, const char *uri,
		      CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ULONG nt = 1, found = 0;
	CK_OBJECT_HANDLE h[2];
	CK_RV rv;

	if (tok_session(c, 0) != TOK_OK)
		return TOK_ERR;
	if (k->label != NULL)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, k->label, strlen(k->label) };
	if (k->id != NULL)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_ID, k->id, k->id_len };
	rv = c->fl->C_FindObjectsInit(c->sess, tmpl, nt);
	if (rv == CKR_OK) {
		rv = c->fl->C_FindObjects(c->sess, h, 2, &found);
		c->fl->C_FindObjectsFinal(c->sess);
	}
	if (rv != CKR_OK || found != 1) {
		log_error("%s: cannot read the attributes of key '%s' on token '%s': %s", uri,
			  k->label ? k->label : "", c->slot->token->label,
			  rv != CKR_OK ? tok_ckr_name(rv) :
			  "several private keys share its label and id");
		return TOK_ERR;
	}
	*out = h[0];
	return TOK_OK;
}

int tok_attr_bool(struct tok_ctx *c, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (c->fl->C_GetAttributeValue(c->sess, obj, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(v))
		return -1;
	return v == CK_TRUE;
}

const char *tok_key_leak_reason(const struct tok_key_info *ki)
{
	if (ki->extractable != 0)
		return ki->extractable < 0 ? "its CKA_EXTRACTABLE is unknown"
					   : "it is extractable (CKA_EXTRACTABLE=TRUE)";
	if (ki->sensitive != 1)
		return ki->sensitive < 0 ? "its CKA_SENSITIVE is unknown"
					 : "it is not sensitive (CKA_SENSITIVE=FALSE)";
	/* Unknown (a module that does not keep them) is not held against the key. */
	if (ki->never_extractable == 0)
		return "it was extractable once (CKA_NEVER_EXTRACTABLE=FALSE), so a copy of it "
		       "may exist outside the token";
	if (ki->always_sensitive == 0)
		return "it was not sensitive once (CKA_ALWAYS_SENSITIVE=FALSE), so a copy of it "
		       "may exist outside the token";
	return NULL;
}

static void read_security(struct tok_ctx *c, CK_OBJECT_HANDLE h, struct tok_key_info *info)
{
	info->sensitive = tok_attr_bool(c, h, CKA_SENSITIVE);
	info->extractable = tok_attr_bool(c, h, CKA_EXTRACTABLE);
	info->always_sensitive = tok_attr_bool(c, h, CKA_ALWAYS_SENSITIVE);
	info->never_extractable = tok_attr_bool(c, h, CKA_NEVER_EXTRACTABLE);
}

/* A key that can leave the token, or may have left it, defeats the point of p11acme:
 * refuse it unless the administrator said otherwise. */
static int check_extractable(struct tok_ctx *c, CK_OBJECT_HANDLE h, const PKCS11_KEY *k,
			     const char *uri)
{
	struct tok_key_info ki;
	const char *why;

	memset(&ki, 0, sizeof(ki));
	read_security(c, h, &ki);
	if ((why = tok_key_leak_reason(&ki)) == NULL || c->allow_extractable == 2)
		return TOK_OK;
	if (c->allow_extractable) {
		log_warn("%s: key '%s' on token '%s' can leave the token or may have left it: %s; "
			 "using it because --allow-extractable-key was given", uri,
			 k->label ? k->label : "", c->slot->token->label, why);
		return TOK_OK;
	}
	log_error("%s: refusing key '%s' on token '%s': %s%s; generate a new key with 'p11acme "
		  "key generate', or pass --allow-extractable-key to accept it", uri,
		  k->label ? k->label : "", c->slot->token->label, why,
		  strstr(why, "copy") != NULL ? "" : ", so copies of it may exist");
	return TOK_ERR_CONFIG;
}

/* A key the token will not sign with: say why now, not "cannot sign" later. */
static int check_can_sign(struct tok_ctx *c, CK_OBJECT_HANDLE h, const PKCS11_KEY *k,
			  const char *uri)
{
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_MECHANISM_INFO mi;
	CK_MECHANISM_TYPE mech;
	const char *label = k->label ? k->label : "", *why = NULL;

	if (c->fl->C_GetAttributeValue(c->sess, h, &a, 1) != CKR_OK)
		return TOK_OK; /* the signature check will tell */
	mech = kt == CKK_RSA ? CKM_RSA_PKCS : CKM_ECDSA;
	if (tok_attr_bool(c, h, CKA_SIGN) == 0)
		why = "it has CKA_SIGN=FALSE";
	else if (c->fl->C_GetMechanismInfo(c->slot_id, mech, &mi) != CKR_OK || !(mi.flags & CKF_SIGN))
		why = kt == CKK_RSA ? "the token offers no CKM_RSA_PKCS signing mechanism"
				    : "the token offers no CKM_ECDSA signing mechanism";
	else if (kt == CKK_RSA && tok_rsa_signs_by_decrypt(c) && tok_attr_bool(c, h, CKA_DECRYPT) == 0)
		why = "tpm2-pkcs11 signs RSA as a TPM decryption, and the key has CKA_DECRYPT=FALSE";
	if (why == NULL)
		return TOK_OK;
	log_error("%s: key '%s' on token '%s' cannot sign: %s; make a signing key with "
		  "'p11acme key generate'", uri, label, c->slot->token->label, why);
	return TOK_ERR_CONFIG;
}

/* Parse uri and find its key and object handle; shared by load_key and key_info. */
static int resolve_key(struct tok_ctx *c, const char *uri, const char *shown,
		       PKCS11_KEY **k, CK_OBJECT_HANDLE *h)
{
	struct tok_uri u;
	char err[512];
	int rc;

	if (tok_uri_parse(uri, &u, err, sizeof(err)) != TOK_OK) {
		log_error("%s: %s", shown, err);
		return TOK_ERR_CONFIG;
	}
	rc = uri_check_for_key(c, &u, shown);
	if (rc == TOK_OK)
		rc = find_private_key(c, &u, shown, k);
	if (rc == TOK_OK)
		rc = key_handle(c, *k, shown, h);
	tok_uri_free(&u);
	return rc;
}

int tok_load_key(struct tok_ctx *c, const char *uri, EVP_PKEY **out)
{
	PKCS11_KEY *k = NULL;
	CK_OBJECT_HANDLE h = 0;
	EVP_PKEY *pk = NULL;
	char *shown = uri_redact_pin(uri, "(hidden)");
	int rc = TOK_ERR;

	*out = NULL;
	if (shown == NULL)
		goto out;
	if (c->nkeys >= TOK_MAX_KEYS) {
		log_error("%s: too many keys loaded from one token", shown);
		goto out;
	}
	rc = resolve_key(c, uri, shown, &k, &h);
	if (rc == TOK_OK)
		rc = check_extractable(c, h, k, shown);
	if (rc == TOK_OK)
		rc = check_can_sign(c, h, k, shown);
	if (rc != TOK_OK)
		goto out;
	if (log_verbosity >= LOG_DEBUG && tok_attr_bool(c, h, CKA_ALWAYS_AUTHENTICATE) == 1)
		log_debug("%s: key '%s' needs the PIN for every signature (CKA_ALWAYS_AUTHENTICATE); "
			  "it is given again from the PIN source", shown, k->label ? k->label : "");
	/* right away: a later enumeration may move k */
	pk = PKCS11_get_private_key(k);
	if (pk == NULL) {
		log_error("%s: libp11 cannot use key '%s' on token '%s': %s", shown,
			  k->label ? k->label : "", c->slot->token->label,
			  tok_ckr_name(tok_last_ckr()));
		rc = TOK_ERR;
		goto out;
	}
	c->keys[c->nkeys++] = pk;
	*out = pk;
out:
	free(shown);
	return rc;
}

/* Read a variable-length attribute into a malloc'd buffer. NULL when unavailable. */
static unsigned char *attr_bytes(struct tok_ctx *c, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
				 size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	unsigned char *buf = NULL;

	if (c->fl->C_GetAttributeValue(c->sess, h, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0)
		return NULL;
	buf = malloc(a.ulValueLen);
	a.pValue = buf;
	if (buf == NULL || c->fl->C_GetAttributeValue(c->sess, h, &a, 1) != CKR_OK) {
		free(buf);
		return NULL;
	}
	*len = a.ulValueLen;
	return buf;
}

/* EC field bits from CKA_EC_PARAMS (a DER OID), RSA bits from CKA_MODULUS. */
static void key_type_bits(struct tok_ctx *c, CK_OBJECT_HANDLE h, struct tok_key_info *info)
{
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	unsigned char *v = NULL;
	const unsigned char *p = NULL;
	ASN1_OBJECT *oid = NULL;
	EC_GROUP *g = NULL;
	size_t len = 0;

	if (c->fl->C_GetAttributeValue(c->sess, h, &a, 1) != CKR_OK)
		return;
	if (kt == CKK_RSA) {
		info->key_type = EVP_PKEY_RSA;
		if ((v = attr_bytes(c, h, CKA_MODULUS, &len)) != NULL)
			info->bits = (int)len * 8;
	} else if (kt == CKK_EC) {
		info->key_type = EVP_PKEY_EC;
		if ((v = attr_bytes(c, h, CKA_EC_PARAMS, &len)) == NULL)
			goto out;
		p = v;
		oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
		if (oid != NULL)
			g = EC_GROUP_new_by_curve_name(OBJ_obj2nid(oid));
		if (g != NULL)
			info->bits = EC_GROUP_get_degree(g);
	}
out:
	EC_GROUP_free(g);
	ASN1_OBJECT_free(oid);
	free(v);
}

int tok_key_info(struct tok_ctx *c, const char *uri, struct tok_key_info *info)
{
	PKCS11_KEY *k = NULL;
	CK_OBJECT_HANDLE h = 0;
	char *shown = uri_redact_pin(uri, "(hidden)");
	int rc = TOK_ERR;

	memset(info, 0, sizeof(*info));
	if (shown == NULL)
		goto out;
	rc = resolve_key(c, uri, shown, &k, &h);
	if (rc != TOK_OK)
		goto out;
	snprintf(info->label, sizeof(info->label), "%s", k->label ? k->label : "");
	hex(k->id, k->id_len, info->id_hex, sizeof(info->id_hex));
	key_type_bits(c, h, info);
	read_security(c, h, info);
	info->local = tok_attr_bool(c, h, CKA_LOCAL);
	info->always_authenticate = tok_attr_bool(c, h, CKA_ALWAYS_AUTHENTICATE);
out:
	free(shown);
	return rc;
}

int tok_key_handle(struct tok_ctx *c, const char *uri, CK_OBJECT_HANDLE *h)
{
	PKCS11_KEY *k = NULL;
	char *shown = uri_redact_pin(uri, "(hidden)");
	int rc = TOK_ERR;

	if (shown != NULL)
		rc = resolve_key(c, uri, shown, &k, h);
	free(shown);
	return rc;
}
