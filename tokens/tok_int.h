/*
 * Internal to tokens/: the context behind struct tok_ctx and the helpers the
 * files of tokens/ share. Nothing outside tokens/ (except its test tools) includes it.
 */
#ifndef P11ACME_TOK_INT_H
#define P11ACME_TOK_INT_H

#include <signal.h>
#include "tokens/tokens.h"

#include <libp11.h>
#include <openssl/ui.h>
#include <p11-kit/pkcs11.h>

/* At most this many EVP_PKEYs from tok_load_key live in one context. */
#define TOK_MAX_KEYS 8

struct tok_ctx {
	char *module;             /* resolved module path */
	const char *module_args;  /* tok_opts.module_args (not owned), or NULL */
	char *uri;                /* the URI given to tok_open, for messages */
	PKCS11_CTX *p11;
	int loaded;               /* PKCS11_CTX_load succeeded */
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;        /* the selected slot (inside slots) */
	CK_FUNCTION_LIST_PTR fl;  /* the module's function list, already initialised by libp11 */
	CK_SLOT_ID slot_id;
	CK_SESSION_HANDLE sess;   /* our own session for attribute reads and key generation */
	int sess_open, sess_rw;
	int lock_fd;              /* per-token lock, -1 when not held */
	EVP_PKEY *keys[TOK_MAX_KEYS];
	int nkeys;
	int allow_extractable;
	/* For keys with CKA_ALWAYS_AUTHENTICATE, which need the PIN again for every
	 * signature (C_Login CKU_CONTEXT_SPECIFIC, done by libp11 through this UI method).
	 * libp11 keeps its own copy of the PIN for the life of the slot anyway. */
	char *pin;                /* wiped by tok_close */
	UI_METHOD *ui;
	const char *mark_dir;     /* tok_opts.pin_marker_dir (not owned), or NULL */
	char *mark_path;          /* this token's PIN failure marker (pinmark.c) */
};


/* CKR_* value -> its name ("CKR_PIN_INCORRECT"); "CKR_0x..." for unknown values
 * (static buffer: not thread-safe, fine for messages). */
const char *tok_ckr_name(unsigned long rv);

/* The CKR code libp11 left in the OpenSSL error queue for its last failure, or
 * CKR_GENERAL_ERROR (0x5) when there is none. Drains the queue. */
unsigned long tok_last_ckr(void);

/* Token description for messages: "label 'X', serial S, manufacturer M, model M". */
void tok_describe(const PKCS11_TOKEN *t, char *buf, size_t len);

/* Our own session on the selected slot; rw for key generation. TOK_OK or TOK_ERR. */
int tok_session(struct tok_ctx *c, int rw);

/* PIN failure markers (pinmark.c). check: TOK_ERR_PIN (logged) when the token
 * refused a PIN from this very source before; set: record a refusal (rv); clear:
 * after a successful login. tok_pin_refused: 1 when rv says the PIN was refused. */
int tok_pinmark_check(struct tok_ctx *c, const char *source, const char *pin_value);
void tok_pinmark_set(struct tok_ctx *c, const char *source, const char *pin_value,
		     unsigned long rv);
void tok_pinmark_clear(struct tok_ctx *c);
int tok_pin_refused(unsigned long rv);

/* $P11ACME_LOCK_DIR, else root's /run/lock/p11acme, else the user's own (lock.c). */
const char *tok_lock_dir(void);

/* Per-token lock (see lock.c). tok_lock returns an fd or -1 (logged). */
int tok_lock(const char *module);
void tok_unlock(int fd);

/* Hold SIGTERM, SIGINT, SIGHUP and SIGQUIT across a call that rewrites token files
 * (see lock.c); release restores the previous mask, delivering what was held. */
void tok_hold_signals(sigset_t *old);
void tok_release_signals(const sigset_t *old);

/* Module selection (modules.c); malloc'd paths, NULL after a message.
 * by_name: the module p11-kit registers as name. search: the one registered module
 * with a token matching u (none or several: an error listing them). */
char *tok_module_by_name(const char *name, const char *uri);
char *tok_module_search(const struct tok_uri *u, const char *uri);

/* 1 when the URI's token attributes (token, manufacturer, model, serial) match t. */
int tok_token_matches(const struct tok_uri *u, const PKCS11_TOKEN *t);

/* 1 for a module that signs RSA as a decryption and so needs CKA_DECRYPT=TRUE on an
 * RSA private key: tpm2-pkcs11 (C_GetInfo manufacturer tpm2-software.github.io). */
int tok_rsa_signs_by_decrypt(const struct tok_ctx *c);

/* Read a CK_BBOOL attribute of obj: 1, 0, or -1 when the token will not tell. */
int tok_attr_bool(struct tok_ctx *c, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);

/* The object handle, in c->sess, of the one private key uri names (test tools). */
int tok_key_handle(struct tok_ctx *c, const char *uri, CK_OBJECT_HANDLE *h);

#endif
