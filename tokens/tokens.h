/*
 * tokens/: PKCS#11 access through libp11 (and the raw function list where libp11
 * cannot express what we need, e.g. key generation templates).
 * Knows nothing about JWS or ACME. Used only by signer/.
 *
 * Error convention: functions log a message an administrator can act on (which URI,
 * which token, which CKR_* name) with log_error() and return a negative tok_status.
 */
#ifndef P11ACME_TOKENS_H
#define P11ACME_TOKENS_H

#include <stddef.h>
#include <openssl/evp.h>

enum tok_status {
	TOK_OK = 0,
	TOK_ERR = -1,        /* runtime failure: token error, wrong PIN, I/O */
	TOK_ERR_CONFIG = -2, /* the user must change something: bad URI, no or several
	                      * matching tokens/keys, bad PIN source, extractable key */
	TOK_ERR_PIN = -3,    /* the token refused the PIN (or its user PIN is locked), now
	                      * or in an earlier run with the same PIN source: a
	                      * configuration error, and no further login should be tried */
};

/* ---- RFC 7512 URIs ---- */

/* A parsed pkcs11: URI. Every string is malloc'd and %xx-decoded; NULL when absent. */
struct tok_uri {
	char *token, *manufacturer, *model, *serial; /* token attributes */
	char *object;                                 /* CKA_LABEL */
	unsigned char *id; size_t id_len;             /* CKA_ID (raw bytes) */
	char *type;          /* "private", "public", "cert", "secret-key", "data" */
	char *module_path, *module_name, *pin_source, *pin_value; /* query attributes */
};

/* Parse s into *out (zeroed first). Unknown, duplicate or malformed attributes fail
 * with a message naming them, written into err (errlen bytes). Returns TOK_OK or
 * TOK_ERR_CONFIG. tok_uri_free() is safe after a failure. */
int tok_uri_parse(const char *s, struct tok_uri *out, char *err, size_t errlen);
void tok_uri_free(struct tok_uri *u);

/* ---- PINs ---- */

/* A PIN source, parsed: the one parser of the syntax, for every layer. */
enum tok_pin_kind { TOK_PIN_FILE, TOK_PIN_ENV, TOK_PIN_FD };
struct tok_pin_source {
	enum tok_pin_kind kind;
	const char *name; /* FILE: the path; ENV: the variable (both point into source) */
	int fd;           /* FD: the descriptor, 0..INT_MAX; else -1 */
};
/* "file:PATH" (or an absolute "/PATH"), "env:NAME" (NAME not empty) or "fd:N" (N a
 * plain decimal number). TOK_OK, or TOK_ERR_CONFIG for anything else (not logged). */
int tok_pin_source_parse(const char *source, struct tok_pin_source *out);

/* Read the PIN from source ("file:PATH", "env:NAME", "fd:N"), else from the URI's
 * pin-value (with a warning), else a no-echo prompt on the terminal when stdin is a
 * tty. Strips exactly one trailing "\n" or "\r\n". env: is unset and wiped after
 * reading. Returns a malloc'd PIN (free with secret_free) or NULL (logged). */
char *tok_pin_read(const char *source, const char *pin_value, const char *what);

/* For a process that must not read the PIN (the signer's parent): when source is
 * env:NAME, overwrite the variable's value in place and unset it; when fd:N, close N.
 * Never reads the value. */
void tok_pin_forget(const char *source);

/* ---- Opening a token and its keys ---- */

struct tok_opts {
	const char *module;     /* --module; overrides the URI's module-path/module-name */
	const char *module_args; /* --module-args: C_Initialize's pReserved string (NSS
	                          * softoken needs its database there), or NULL */
	const char *pin_source; /* --pin-source; overrides the URI's pin-source */
	int allow_extractable;  /* 1: accept a key that can leave the token or may have left it
	                         * (tok_key_leak_reason), with a warning; 2: the same without
	                         * one (key show reports it itself) */
	const char *pin_marker_dir; /* PIN failure markers go to DIR/pin-failed/ (the client's
	                             * config dir); NULL: the lock directory */
	const char *pin;        /* a PIN read before (tok_pin_copy): used instead of reading
	                         * the PIN source again, by a long-lived signer that logs
	                         * in again after a token error; NULL normally */
};

/* One loaded module and one logged-in token. Opaque. */
struct tok_ctx;

/* Load the module (--module, else module-path, else p11-kit's proxy), select exactly one
 * token matching the URI's token attributes (an ambiguous or empty match lists the
 * tokens present), refuse a locked user PIN, read the PIN and log in once, all under a
 * per-token lock file. A PIN the token refused is recorded in a marker file, and a
 * PIN source with such a marker is not tried again until it changes (pinmark.c):
 * both give TOK_ERR_PIN. Returns TOK_OK and *out, or a negative tok_status. */
int tok_open(const char *uri, const struct tok_opts *o, struct tok_ctx **out);

/* Find exactly one private key on the open token matching the URI's object/id (a URI
 * naming another token fails), check CKA_EXTRACTABLE/CKA_SENSITIVE against the options,
 * and return its EVP_PKEY (owned by ctx; valid until tok_close). The EVP_PKEY signs
 * through the token with EVP_DigestSign. */
int tok_load_key(struct tok_ctx *ctx, const char *uri, EVP_PKEY **out);

/* The CKR_* name of the error libp11 left for its last failure (e.g. a signature the
 * module refused), for messages; drains the OpenSSL error queue. */
const char *tok_last_error(void);

/* Security attributes of the private key last returned by tok_load_key for uri. */
struct tok_key_info {
	char label[128];
	char id_hex[130];
	int key_type;         /* EVP_PKEY_EC or EVP_PKEY_RSA */
	int bits;             /* RSA modulus bits or EC field bits */
	int sensitive, extractable, always_sensitive, never_extractable, local; /* -1 unknown */
	int always_authenticate; /* the PIN is needed for every signature; -1 unknown */
};
int tok_key_info(struct tok_ctx *ctx, const char *uri, struct tok_key_info *info);

/* NULL when the key cannot leave the token and never could: CKA_EXTRACTABLE=FALSE,
 * CKA_SENSITIVE=TRUE, and CKA_NEVER_EXTRACTABLE and CKA_ALWAYS_SENSITIVE not FALSE
 * (unknown is accepted: not every module keeps them). Else why not (static text).
 * tok_load_key refuses such a key unless allow_extractable; key show's verdict is this. */
const char *tok_key_leak_reason(const struct tok_key_info *ki);

/* Generate a key pair on the open token with an explicit template (sensitive, not
 * extractable, sign only) through C_GenerateKeyPair. type: "ec256", "ec384",
 * "rsa2048", "rsa3072", "rsa4096". Label/id come from the URI's object/id (at least
 * one required). Refuses when a key with that label or id exists. */
int tok_generate_key(struct tok_ctx *ctx, const char *uri, const char *type);

/* 1 when the open token holds a key object (private or public) with the URI's label
 * or id, 0 when it holds none, or a negative tok_status (logged). */
int tok_key_present(struct tok_ctx *ctx, const char *uri);

/* A copy of the PIN ctx logged in with (free with secret_free), or NULL when the token
 * needed none. For tok_opts.pin of a later tok_open of the same token. */
char *tok_pin_copy(const struct tok_ctx *ctx);

/* Release keys, slots and module in the order libp11 needs. NULL is fine. */
void tok_close(struct tok_ctx *ctx);

#endif
