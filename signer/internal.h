/*
 * signer/ internal contracts, shared between the signer/ sources, the unit tests and the
 * fuzz targets. client/ must not include this header: it uses signer/signer.h.
 *
 * wire.c: frames, transport-independent (encode/decode work on buffers) plus a
 *         small transport layer for a SOCK_SEQPACKET socket.
 * jws.c:  JWK, thumbprint, JWS and CSR from an EVP_PKEY. Pure OpenSSL + cJSON;
 *         no PKCS#11, so it is tested with software keys.
 * child.c: the signer process (serve loop and op handlers).
 * admin.c: key generate / key show, each in a child of its own.
 * softkey.c: the software-key backend (a key file of another ACME client), for
 *         account migrate.
 */
#ifndef P11ACME_SIGNER_INTERNAL_H
#define P11ACME_SIGNER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "signer/signer.h"

/* ---- Wire format (wire.c) ----
 *
 * frame  = len:u32be body            len = length of body, 2 <= len <= WIRE_MAX_BODY
 * body   = version:u8 op:u8 field*   version = WIRE_VERSION
 * field  = flen:u32be bytes          fields fill the body exactly, at most WIRE_MAX_FIELDS
 *
 * Requests carry a WIRE_OP_* op. Responses carry WIRE_RESP_OK or WIRE_RESP_ERR and,
 * for an error, a field of one byte: the negated signer_status (1 SIGNER_ERR,
 * 2 SIGNER_ERR_CONFIG, 3 SIGNER_ERR_PIN, 4 SIGNER_ERR_DENIED), and from the signer
 * service a second field, why it refused. (Version 1 sent the status as decimal
 * text; a frame of another version is refused by name, see wire_decode.) The first frame
 * the child sends is a response to an implicit "start": OK with one field per key
 * slot holding its alg ("" when the slot is not configured), or an error.
 *
 * Each frame travels as one SOCK_SEQPACKET message, so framing survives a bad frame:
 * an oversized message is cut by the kernel (MSG_TRUNC) and its remainder dropped,
 * and the signer answers the next frame normally. The length prefix is still checked
 * against the message size; a stream transport (a standalone daemon) can rely on it.
 */
#define WIRE_VERSION    2
#define WIRE_MAX_FRAME  65536u              /* whole frame, prefix included */
#define WIRE_MAX_BODY   (WIRE_MAX_FRAME - 4u)
#define WIRE_MAX_FIELDS 128                 /* a CSR carries one field per name */

enum wire_op {
	WIRE_OP_ALG = 1,        /* key:u8                      -> alg */
	WIRE_OP_JWK = 2,        /* key:u8                      -> jwk json */
	WIRE_OP_THUMBPRINT = 3, /* key:u8                      -> thumbprint */
	WIRE_OP_SIGN = 4,       /* url nonce payload [kid]     -> jws json */
	WIRE_OP_KEYCHANGE = 5,  /* url account_url             -> inner jws json */
	WIRE_OP_CSR = 6,        /* name+                       -> der */
	WIRE_OP_KEYSHOW = 7,    /* json:u8 (admin child only)  -> report text */
	WIRE_RESP_OK = 0x80,
	WIRE_RESP_ERR = 0x81,
};

struct wire_field {
	const unsigned char *p; /* points into the decoded buffer; not NUL-terminated */
	size_t len;
};

struct wire_msg {
	uint8_t version, op;
	size_t nfields;
	struct wire_field f[WIRE_MAX_FIELDS];
};

/* Encode a frame (length prefix included) into a malloc'd buffer. fields may be NULL
 * when nfields is 0. Returns 0, or -1 (logged) when it would exceed the bounds. */
int wire_encode(uint8_t op, const struct wire_field *fields, size_t nfields,
		unsigned char **frame, size_t *framelen);

/* Decode one complete frame of framelen bytes (prefix included). The fields point
 * into frame. Returns 0, or -1 with a static reason in *why (not logged). Checks the
 * prefix against framelen, the version, the field bounds; not the op. A frame of
 * another protocol version fails with m->version set to it (0 when the frame is too
 * short to say), so that both ends can name the mismatch. */
int wire_decode(const unsigned char *frame, size_t framelen, struct wire_msg *m,
		const char **why);

/* Copy field i as a malloc'd NUL-terminated string; NULL when it is missing, holds a
 * NUL byte, or on allocation failure. */
char *wire_strdup(const struct wire_msg *m, size_t i);

/* Transport: send one frame as one message (MSG_NOSIGNAL). 0 or -1 (logged). */
int wire_send(int fd, const unsigned char *frame, size_t framelen);

/* Receive one message into buf (at least WIRE_MAX_FRAME + 1 bytes). Returns 1 and
 * *len, 0 at EOF, -1 on a socket error (logged), -2 when the message was larger than
 * WIRE_MAX_FRAME (the kernel has dropped the rest). */
int wire_recv(int fd, unsigned char *buf, size_t bufsize, size_t *len);

/* How long wire_recv and wire_poll poll before they block (default 300 us; 0: block
 * at once). Every empty poll yields the CPU. A short-lived run waiting on its own
 * signer child gains by the spin; a long-lived service would pay it in CPU on every
 * request for little (docs/BENCHMARKS.md), so signer serve sets 0 for itself and, by
 * inheritance, for its key child. */
void wire_set_spin(long ns);

/* poll(2) that first polls without blocking for the spin time above, as wire_recv
 * does before it blocks: for a wait whose answer usually comes within microseconds. */
int wire_poll(struct pollfd *pfd, nfds_t n, int timeout_ms);

/* Encode and send a response: OK with fields, or an error status. */
int wire_send_ok(int fd, const struct wire_field *fields, size_t nfields);
int wire_send_err(int fd, int status);

/* An error response frame (malloc'd): field 0 the status byte (a status outside
 * SIGNER_ERR..SIGNER_ERR_DENIED is sent as SIGNER_ERR), field 1 msg when not NULL
 * (the signer service says why it refused; at most 1024 bytes of it). 0 or -1. */
int wire_encode_err(int status, const char *msg, unsigned char **frame, size_t *framelen);

/* The signer_status of a decoded error response: SIGNER_ERR..SIGNER_ERR_DENIED, and
 * SIGNER_ERR for a missing or malformed status byte. */
int wire_err_status(const struct wire_msg *m);

/* The message for a peer that speaks another protocol version: "the signer service
 * speaks protocol version N, this p11acme M: ..." into buf. */
void wire_version_mismatch(char *buf, size_t len, const char *peer, unsigned version);

/* ---- Stream transport (the signer service and its clients; wire.c) ----
 * A stream has no message boundaries: the length prefix frames it, and a prefix
 * beyond WIRE_MAX_BODY cannot be skipped (nothing says where the next frame starts),
 * so the connection ends there. */

/* Bytes of the frame that starts at buf, from the first have bytes: 4 while the prefix
 * is incomplete, then 4 + body length; -1 when the prefix exceeds WIRE_MAX_BODY. */
long wire_frame_need(const unsigned char *buf, size_t have);

/* Write the whole frame within timeout_ms (MSG_NOSIGNAL). 0 or -1 (logged). */
int wire_send_stream(int fd, const unsigned char *frame, size_t framelen, int timeout_ms);

/* Read one whole frame within timeout_ms into buf (bufsize >= WIRE_MAX_FRAME). 1 and
 * *len; 0 at EOF before the first byte; -1 on an error or EOF inside a frame; -2 for
 * an oversized prefix; -3 on timeout. Not logged. */
int wire_recv_stream(int fd, unsigned char *buf, size_t bufsize, size_t *len, int timeout_ms);

/* ---- JWS, JWK, thumbprint, CSR (jws.c) ---- */

/* "ES256" (P-256), "ES384" (P-384) or "RS256" (RSA 2048..4096 bits) for a key, else
 * NULL (logged). Static string. */
const char *jws_alg(EVP_PKEY *pk);

/* Public JWK of pk (private or public; a libp11 key works): built from i2d_PUBKEY and
 * d2i_PUBKEY, EC x/y left-padded to the field size. Members: EC {crv,kty,x,y},
 * RSA {e,kty,n}. Returns a cJSON object or NULL (logged). */
cJSON *jws_jwk(EVP_PKEY *pk);

/* 0 when pk signs and the public key derived from it verifies that signature; -1
 * (logged) when the token paired the private key with another key's public half. */
int jws_check_pair(EVP_PKEY *pk);

/* RFC 7638 thumbprint of a JWK (as made by jws_jwk, or parsed): SHA-256 of the
 * canonical input, base64url. malloc'd, or NULL (logged). */
char *jws_thumbprint(const cJSON *jwk);

/* Sign input with pk for alg and return the JWS signature bytes: raw r||s of exactly
 * 2 * field size for ES*, the modulus length for RS256. malloc'd. 0 or -1 (logged). */
int jws_sign_bytes(EVP_PKEY *pk, const char *alg, const unsigned char *in, size_t inlen,
		   unsigned char **sig, size_t *siglen);

/* Flattened JWS JSON {"protected","payload","signature"} for a protected header
 * (serialised here with cJSON) and payload bytes (may be empty). malloc'd or NULL. */
char *jws_flattened(EVP_PKEY *pk, const char *alg, const cJSON *protected_hdr,
		    const unsigned char *payload, size_t payload_len);

/* ACME request (RFC 8555 §6.2): protected {alg, nonce, url, kid} when kid != NULL,
 * else {alg, nonce, url, jwk}. malloc'd flattened JWS or NULL (logged). */
char *jws_acme(EVP_PKEY *pk, const char *alg, const cJSON *jwk, const char *url,
	       const char *nonce, const char *kid, const char *payload, size_t payload_len);

/* Key-change inner JWS (RFC 8555 §7.3.5): protected {alg, jwk: new_jwk, url}, payload
 * {"account": account_url, "oldKey": old_jwk}, signed with new_pk. */
char *jws_keychange(EVP_PKEY *new_pk, const char *new_alg, const cJSON *new_jwk,
		    const cJSON *old_jwk, const char *url, const char *account_url);

/* DER X509_REQ: subject CN = names[0], SAN dNSName for each name, SHA-256, signed with
 * pk through EVP_DigestSign (works with a token key). 0 or -1 (logged). */
int jws_csr(EVP_PKEY *pk, const char *const *names, size_t n_names,
	    unsigned char **der, size_t *der_len);

/* ---- Software keys (softkey.c) ---- */

/* Load a private key from a file: PEM (PKCS#8, or traditional RSA/EC; an encrypted
 * key is refused) or a private JWK (RFC 7517: RSA n/e/d with optional CRT members,
 * EC P-256/P-384 crv/x/y/d). Warns when the file is readable by its group or others.
 * The file's text is wiped after parsing. SIGNER_OK and *out (caller frees), or
 * SIGNER_ERR_CONFIG (logged: unreadable, not a key, unsupported type). */
int softkey_load(const char *path, EVP_PKEY **out);

/* ---- Processes (child.c, parent.c) ---- */

/* Body of a signer child: runs on socket fd, sends exactly one first frame (ready or
 * error), may serve further requests, and returns the process exit status. */
typedef int (*signer_child_fn)(int fd, const struct signer_config *cfg, void *arg);

/* The serve loop of signer_start(): open the keys, send the ready frame (OK with one
 * alg field per key slot, "" when not configured), serve until EOF. (child.c) */
int signer_child_main(int fd, const struct signer_config *cfg, void *arg);

/* Map a tok_status to a signer_status. (child.c) */
int signer_status_of_tok(int tok_status);

/* The tok_opts of a configuration. allow_extractable is forced on for key show. */
struct tok_opts;
void signer_tok_opts(const struct signer_config *cfg, struct tok_opts *o);

/* Call fn for the PIN source each configured key will use (--pin-source, else the
 * URI's pin-source); each distinct source once. (parent.c) */
void signer_each_pin_source(const struct signer_config *cfg,
			    void (*fn)(const char *source, void *arg), void *arg);

/* Fork fn over a SOCK_SEQPACKET socketpair. The child is hardened (non-dumpable,
 * killed with the parent, fds above 2 closed except the socket and an fd: PIN
 * source) before fn runs, and _exits with fn's result. The parent forgets the PIN
 * sources without reading them. Returns 0 with *fd and *pid, or -1 (logged). */
int signer_fork(const struct signer_config *cfg, signer_child_fn fn, void *arg,
		int *fd, pid_t *pid);

/* Send a request (when op != 0) and receive one response into buf (WIRE_MAX_FRAME + 1
 * bytes). On WIRE_RESP_OK, resp's fields point into buf and SIGNER_OK is returned;
 * otherwise the child's negative status (it logged why) or SIGNER_ERR for a
 * transport failure (logged here). */
int signer_roundtrip(int fd, uint8_t op, const struct wire_field *fields, size_t nfields,
		     unsigned char *buf, struct wire_msg *resp);

/* Reap a child: wait a bounded time after its socket was closed, then SIGKILL.
 * Returns its exit status, or -1. */
int signer_reap(pid_t pid);

/* A one-shot admin child (key generate, key show, signer_key_ensure; admin.c):
 * signer_fork fn, read the one frame it sends, close and reap. *buf is malloc'd
 * (WIRE_MAX_FRAME + 1 bytes; the caller frees it, on failure too) and resp's fields
 * point into it. SIGNER_OK, the child's status, or SIGNER_ERR (logged). */
int signer_admin_run(const struct signer_config *cfg, signer_child_fn fn, void *arg,
		     unsigned char **buf, struct wire_msg *resp);

/* The child's side: send OK with fields when tok_status is TOK_OK, else the error
 * status signer_status_of_tok gives. Returns the child's exit status (0 or 1). */
int signer_admin_reply(int fd, int tok_status, const struct wire_field *fields, size_t nfields);

/* ---- The signer service (policy.c, identity.c, enforce.c, audit.c, service.c) ---- */

/* Permissions of a policy section (allow = ...). */
#define POLICY_ORDER   1u
#define POLICY_REVOKE  2u
#define POLICY_ACCOUNT 4u

struct policy_section {
	int is_group;        /* [group NAME], else [user NAME] */
	char *name;
	unsigned line;       /* of the header, for messages */
	char **names;        /* lowercase patterns: DNS name, *.D, or * */
	size_t n_names;
	unsigned allow;      /* POLICY_* bits */
};

struct policy {
	char *path;
	struct policy_section *sec;
	size_t n;
};

/* Parse policy text (len bytes; path for messages). 0 and *out, or -1 with
 * "path:line: what is wrong" in err. */
int policy_parse(const char *path, const char *text, size_t len, struct policy **out,
		 char *err, size_t errlen);
/* Read and parse a policy file; refuses one that group or others may write. */
int policy_load(const char *path, struct policy **out, char *err, size_t errlen);
void policy_free(struct policy *p);

/* 1 when name is a DNS name of LDH labels (lowercase), with a leading "*." label
 * allowed when allow_wildcard. */
int dns_name_valid(const char *name, int allow_wildcard);
/* 1 when the (lowercase, valid) name matches pattern: exact, "*.D" (any name below D,
 * including the wildcard "*.D"), or "*". */
int policy_pattern_match(const char *pattern, const char *name);
/* "order", "revoke" or "account" for one POLICY_* bit. */
const char *policy_perm_word(unsigned bit);
/* "[user NAME]" or "[group NAME]". */
void policy_section_label(const struct policy_section *s, char *buf, size_t len);
/* Each section with its names and permissions (signer check). */
void policy_print(FILE *f, const struct policy *p);

/* A client: kernel peer credentials and the user database's name and groups. */
struct peer_id {
	uid_t uid;
	pid_t pid;
	int known;          /* the uid has a passwd entry */
	char user[64];      /* the user name, or "uid:N" */
	char **groups;      /* names of the user's groups (getgrouplist) */
	size_t n_groups;
};

/* SO_PEERCRED of a connected unix socket, then peer_lookup. 0 or -1 (logged). */
int peer_identify(int fd, struct peer_id *id);
/* Fill id for uid (zeroed by the caller). A uid without a passwd entry is "uid:N"
 * with no groups. 0 or -1 (allocation failure, absurd group count). */
int peer_lookup(uid_t uid, struct peer_id *id);
/* peer_lookup for a user name (signer check --user). -1 when there is no such user. */
int peer_lookup_name(const char *user, struct peer_id *id);
void peer_free(struct peer_id *id);

/* The sections a client matches (pointers into the policy) and their union. */
struct policy_rules {
	const struct policy_section **sec;
	size_t n;
	unsigned allow;     /* OR of the sections' bits */
};

/* Fill r with the sections id matches; returns how many (0: refuse at connect), or
 * -1 on allocation failure. policy_rules_free afterwards in every case. */
int policy_match(const struct policy *p, const struct peer_id *id, struct policy_rules *r);
void policy_rules_free(struct policy_rules *r);
/* 1 when some matching section has perm and a pattern matching name. */
int policy_allows(const struct policy_rules *r, unsigned perm, const char *name);
/* The union per permission, for signer check --user. */
void policy_print_rules(FILE *f, const struct policy_rules *r);

/* What a request means (enforce.c). */
enum req_op {
	REQ_UNKNOWN = 0, REQ_ACCOUNT_LOOKUP, REQ_NEW_ACCOUNT, REQ_ACCOUNT_UPDATE,
	REQ_DEACTIVATE, REQ_KEY_CHANGE, REQ_KEY_CHANGE_INNER, REQ_NEW_ORDER, REQ_FINALIZE,
	REQ_REVOKE, REQ_CHALLENGE, REQ_READ, REQ_ALG, REQ_JWK, REQ_THUMBPRINT, REQ_CSR,
	REQ_OTHER,
};
/* The audit name of an op ("new-order", ...). */
const char *req_op_name(int op);

#define ENFORCE_MAX_NAMES 256

struct enforce_ctx {
	const struct policy_rules *rules;
	const char *user;       /* for messages */
	const char *origin;     /* the service's CA, as url_origin makes it */
};

struct decision {
	int op;                 /* enum req_op */
	int allow;              /* 1: sign it */
	int error;              /* 1: refused for a failure of ours, not by the policy */
	const char *user;
	char *names[ENFORCE_MAX_NAMES];
	size_t n_names;
	char *url;              /* as the client sent it (audit), or NULL */
	char *payload;          /* when allowed: the payload to sign (re-serialised) */
	char reason[512];       /* why allowed or denied (denials go to the client) */
};

/* Decide one decoded request. 0 when allowed (d->payload set for SIGN), -1 when
 * denied (d->reason). decision_free afterwards in every case. No I/O. */
int enforce_request(const struct enforce_ctx *e, const struct wire_msg *m,
		    struct decision *d);
void decision_free(struct decision *d);

/* One audit line (audit.c). */
struct audit_entry {
	const struct peer_id *id;
	const char *op;          /* req_op_name(), or "connect", "bad-frame", "timeout", "busy" */
	char *const *names;
	size_t n_names;
	const char *url;         /* NULL: "" */
	const char *decision;    /* "allow", "deny" or "error" */
	const char *reason;
};
/* Open the audit log for appending (mode 0640 when created): an fd, -1 when path is
 * NULL, -2 when it cannot be opened (logged). */
int audit_open(const char *path);
/* Append one JSON line (one write) to fd (when >= 0) and to stderr. */
void audit_write(int fd, const struct audit_entry *a);

/* Connect to a signer service: "unix:PATH", or "exec:COMMAND" (run by /bin/sh with
 * stdin/stdout on a stream socket; *pid is the command). SIGNER_OK with *fd, else a
 * negative status (logged). (remote.c) */
int signer_remote_open(const char *spec, int *fd, pid_t *pid);

/* 1 while the signer child of s still runs (parent.c). */
int signer_alive(struct signer *s);

/* "scheme://host:port" of an http(s) URL (lowercase, default port added) into out;
 * -1 for anything but a plain absolute http(s) URL with a path. */
int url_origin(const char *url, char *out, size_t outlen);

#endif
