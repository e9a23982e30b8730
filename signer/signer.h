/*
 * signer/: the only code that ever holds the PIN, a token session or a key handle.
 * client/ uses this header and nothing else from signer/ or tokens/.
 *
 * signer_start() forks a child over a socketpair; the child opens the token(s) after
 * the fork and answers typed requests. The parent never loads the PKCS#11 module and
 * never reads a PIN file; an env: or fd: PIN is kept there for the run's later signers
 * only, in signer/parent.c's locked page. The signer builds every JWS itself from typed fields, so it
 * cannot be used to sign arbitrary bytes.
 *
 * Return convention: SIGNER_OK (0), or a negative signer_status after a message has
 * been logged (by the child, on the shared stderr, or by the parent).
 */
#ifndef P11ACME_SIGNER_H
#define P11ACME_SIGNER_H

#include <stddef.h>
#include <time.h>

enum signer_status {
	SIGNER_OK = 0,
	SIGNER_ERR = -1,        /* runtime failure (token, PIN, I/O, protocol) */
	SIGNER_ERR_CONFIG = -2, /* configuration: bad URI, no/ambiguous key, extractable key */
	SIGNER_ERR_PIN = -3,    /* configuration: the token refused the PIN, now or in an
	                         * earlier run with the same PIN source (tokens/pinmark.c) */
	SIGNER_ERR_DENIED = -4, /* the signer service's policy refused the request */
};

/* Which token key a request uses. */
enum signer_key {
	SIGNER_KEY_ACCOUNT = 0, /* the ACME account key (--key) */
	SIGNER_KEY_NEW = 1,     /* the rollover target (--new-key) */
	SIGNER_KEY_CERT = 2,    /* a certificate key kept in a token (--cert-key) */
	SIGNER_KEY__MAX         /* the number of key slots */
};

struct signer_config {
	const char *key_uri;      /* account key, pkcs11: URI; required unless ... */
	const char *account_key_file; /* ... the account key is a software key in this file
				   * (PEM or JWK of another client, for account migrate):
				   * read in the signer child only, never copied */
	const char *new_key_uri;  /* optional: rollover target */
	const char *cert_key_uri; /* optional: certificate key for CSR */
	const char *module;       /* --module, or NULL */
	const char *module_args;  /* --module-args (C_Initialize's pReserved), or NULL */
	const char *pin_source;   /* --pin-source, or NULL (URI's pin-source, else prompt) */
	int allow_extractable;    /* --allow-extractable-key */
	const char *pin_marker_dir; /* where refused-PIN markers live (the config dir), or NULL */
	/* --signer: "unix:PATH" or "exec:COMMAND". When set, signer_start connects to a
	 * signer service instead of forking; nothing here opens a module or reads a PIN,
	 * and the key URIs, module and PIN source are not used. */
	const char *remote;
	/* For the signer service's own child: keep the token's PIN after login, and on a
	 * token error open the token again and retry once (a long-lived process). The
	 * parent (the service) then keeps no copy of an env: or fd: PIN. */
	int relogin;
};

struct signer; /* parent-side handle; opaque */

/* From now on, every wait of this process for its signer child's answer (the
 * first one, signer_start's, covers the token lock and the login) ends at
 * deadline (absolute, from time(); 0: no limit) with SIGNER_ERR after a message:
 * a hung token, a held lock or a stopped signer must not hang the run. */
void signer_set_deadline(time_t deadline);

/* The environment variable a PIN source names ("env:NAME" -> "NAME", pointing into
 * source), or NULL for any other source or none. What hooks must not inherit. */
const char *signer_pin_source_env(const char *source);

/* Fork the signer and wait until it has opened every configured key (or failed).
 * The parent forgets an env:/fd: PIN source without reading it. */
int signer_start(const struct signer_config *cfg, struct signer **out);

/* 1 once a signer of this process (signer_start, key generate/show) has reported
 * SIGNER_ERR_PIN. signer_start then refuses at once, without a new child and without
 * a login: one refused PIN stops every later login in the run (renew --all). */
int signer_pin_refused(void);

/* signer_start in two halves, so that the caller can work (connect to the CA) while
 * the child opens the token: signer_spawn forks and returns at once; signer_ready
 * waits for the child's ready message and returns what it said (SIGNER_ERR_CONFIG
 * for a bad URI or key, ...), the same on every later call. Every request below
 * waits for readiness itself. After a failed signer_ready, signer_stop the handle. */
int signer_spawn(const struct signer_config *cfg, struct signer **out);
int signer_ready(struct signer *s);

/* No more requests: close the socket, so that the child logs out and exits while the
 * caller goes on (signer_stop then only reaps it). Later requests fail. NULL is fine. */
void signer_close(struct signer *s);

/* Close the socket and reap the child (it exits at EOF; SIGKILL after 5 s). NULL is
 * fine. The child also dies (SIGKILL) when the thread that called signer_start exits. */
void signer_stop(struct signer *s);

/* The JWS "alg" of a key: "ES256", "ES384" or "RS256" (static string), or NULL. */
const char *signer_alg(struct signer *s, enum signer_key key);

/* Public JWK of a key as compact JSON (malloc'd). */
int signer_jwk(struct signer *s, enum signer_key key, char **jwk_json);

/* RFC 7638 thumbprint (SHA-256, base64url) of a key (malloc'd). */
int signer_thumbprint(struct signer *s, enum signer_key key, char **thumbprint);

/* A complete flattened JWS (RFC 7515 §7.2.2) as JSON (malloc'd), signed with the
 * account key. Protected header {alg, nonce, url, kid} when kid != NULL, else
 * {alg, nonce, url, jwk}. payload is the JSON text to sign; "" (or NULL) for
 * POST-as-GET. The signer refuses a payload that is not a JSON object: it signs ACME
 * requests, never arbitrary bytes. One request and one response per call. */
int signer_sign(struct signer *s, const char *url, const char *nonce, const char *kid,
		const char *payload, char **jws);

/* signer_sign in two halves, for the signer service, which keeps its key child busy
 * while it decides the next client's request: signer_sign_send sends the request
 * without waiting, and signer_sign_take reads the oldest answer not yet taken (the
 * child answers in order). Only on a signer's own child (not --signer). Keep at most
 * two requests outstanding: the socket's buffers hold two of the largest frames, and
 * more could leave both sides blocked in send. signer_fd: the socket to poll for
 * an answer (POLLIN). */
int signer_sign_send(struct signer *s, const char *url, const char *nonce, const char *kid,
		     const char *payload);
int signer_sign_take(struct signer *s, char **jws);
int signer_fd(const struct signer *s);

/* Inner JWS for account key rollover (RFC 8555 §7.3.5): protected {alg, jwk, url}
 * signed with SIGNER_KEY_NEW, payload {"account": account_url, "oldKey": <account
 * key JWK>}. The caller signs the result as the payload of an outer signer_sign().
 * SIGNER_ERR_CONFIG when no new key was configured. */
int signer_keychange(struct signer *s, const char *url, const char *account_url,
		     char **inner_jws);

/* DER CSR (malloc'd) for names (subject CN = names[0], SAN dNSName for each), signed
 * with SIGNER_KEY_CERT (SHA-256). 1 to 128 names; the CN is left out when names[0] is
 * longer than 64 characters (the SAN carries it). SIGNER_ERR_CONFIG when no
 * certificate key was configured. */
int signer_csr(struct signer *s, const char *const *names, size_t n_names,
	       unsigned char **der, size_t *der_len);

/* ---- The signer service (p11acme signer serve|check|connect) ----
 *
 * One long-lived process serves many clients over an AF_UNIX stream socket with the
 * protocol of signer_start's child, deciding each request against a policy from the
 * client's peer credentials. It holds the token through a signer child of its own
 * (signer_start with relogin), so the process that parses client input never holds
 * the PIN or a token session. */

struct signer_service_config {
	const char *socket_path;   /* required */
	const char *policy_path;   /* required (the CLI supplies the default) */
	const char *audit_path;    /* or NULL */
	const char *ca_url;        /* --server: every signed URL must be on its origin */
	int socket_mode;           /* permission bits; -1: 0666, or 0660 with a group */
	const char *socket_group;  /* group name or number, or NULL */
	int max_clients;           /* 0: 64 */
	int max_per_user;          /* connections of one uid; 0: 16 (at most max_clients) */
	int client_timeout;        /* seconds for one frame in or out; 0: 10 */
	int idle_timeout;          /* seconds without a request; 0: 600 */
};

/* Serve until SIGTERM or SIGINT (SIGHUP re-reads the policy). SIGNER_OK after a clean
 * stop (socket file removed), SIGNER_ERR_CONFIG for a configuration error (policy,
 * options, key), SIGNER_ERR for a runtime failure. */
int signer_serve(const struct signer_config *cfg, const struct signer_service_config *sc);

/* Print a policy's sections, or with user != NULL that user's effective rules, to
 * stdout. SIGNER_OK; SIGNER_ERR_CONFIG for a bad policy (file:line on stderr);
 * SIGNER_ERR when user matches no section or does not exist. */
int signer_policy_check(const char *policy_path, const char *user);

/* Copy stdin to the service's socket and the socket to stdout until EOF (the SSH
 * forced-command end of --signer exec:). SIGNER_OK or SIGNER_ERR (logged). */
int signer_bridge(const char *socket_path);

/* ---- HSM administration (p11acme key ...), run in a signer child too ---- */

/* Generate a key pair of type ("ec256", "ec384", "rsa2048", "rsa3072", "rsa4096") at
 * key_uri (cfg->key_uri) in a child process. */
int signer_key_generate(const struct signer_config *cfg, const char *type);

/* Whether the token holds the key cfg->key_uri names (a key object with its label or
 * id), and, when it does not and type is not NULL, generate it there (as key
 * generate does: never extractable). Runs in a child. *state gets the outcome. */
enum signer_key_state {
	SIGNER_KEY_ABSENT = 0,    /* no such key (and type was NULL) */
	SIGNER_KEY_PRESENT = 1,   /* it was there already */
	SIGNER_KEY_GENERATED = 2, /* it was generated now */
};
int signer_key_ensure(const struct signer_config *cfg, const char *type, int *state);

/* Human-readable report on cfg->key_uri: algorithm, thumbprint, public key PEM and
 * security attributes with a verdict on whether the key can leave the token. Written
 * to stdout (as JSON when json != 0). Returns SIGNER_OK only for a key that cannot
 * leave the token (or that is allowed to by cfg->allow_extractable). */
int signer_key_show(const struct signer_config *cfg, int json);

#endif
