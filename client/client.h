/*
 * client/: the ACME protocol (libcurl + cJSON) and the p11acme command line.
 * Talks to the account key only through signer/signer.h.
 * This header holds the contracts shared between client/ files, grouped by file.
 * A file that grows a bigger internal API gets its own client/NAME.h.
 */
#ifndef P11ACME_CLIENT_H
#define P11ACME_CLIENT_H

#include "signer/signer.h"

/* Exit status: a contract (DESIGN.md, man page, scripts). */
enum exit_status {
	EXIT_OK = 0,             /* issued, renewed, or not yet due */
	EXIT_FAIL = 1,           /* failure */
	EXIT_USAGE = 2,          /* usage or configuration error */
	EXIT_NEED_CHALLENGE = 3, /* --reuse-only and an identifier needs a challenge */
};

#define LE_PRODUCTION_URL "https://acme-v02.api.letsencrypt.org/directory"
#define LE_STAGING_URL "https://acme-staging-v02.api.letsencrypt.org/directory"

/* Global options (before the command), each also read from P11ACME_* (main.c). */
struct globals {
	const char *server;     /* --server / P11ACME_SERVER; directory URL */
	const char *key_uri;    /* --key / P11ACME_KEY */
	const char *module;     /* --module / P11ACME_MODULE */
	const char *pin_source; /* --pin-source / P11ACME_PIN_SOURCE */
	const char *ca_bundle;  /* --ca-bundle / P11ACME_CA_BUNDLE */
	const char *config_dir; /* --config-dir / P11ACME_CONFIG_DIR, default /etc/p11acme */
	int allow_extractable;  /* --allow-extractable-key */
	int json;               /* --json */
	int timeout;            /* --timeout seconds, default 90 */
	int hook_timeout;       /* --hook-timeout seconds for each hook run, default 300; 0: none */
};

/* Command entry points: argv[0] is the command name; options follow.
 * Each returns an enum exit_status. main.c dispatches to them. */
int cmd_account(const struct globals *g, int argc, char **argv);
int cmd_issue(const struct globals *g, int argc, char **argv);
int cmd_revoke(const struct globals *g, int argc, char **argv);
int cmd_key(const struct globals *g, int argc, char **argv);
int cmd_serve_http01(const struct globals *g, int argc, char **argv); /* http01.c */
int cmd_http01_config(const struct globals *g, int argc, char **argv); /* http01.c */
int cmd_renew(const struct globals *g, int argc, char **argv);        /* renew.c */

/* ---- http01.c: the built-in http-01 responder (libmicrohttpd) ----
 * Used by `issue --standalone` (answers only the tokens it was given) and by
 * `serve-http01` (answers any valid token with token.thumbprint, stateless). */
struct http01_server;

/* Start listening on addr (NULL = every address, IPv4 and IPv6) and port.
 * thumbprint is the account key's RFC 7638 thumbprint. When stateless is 0, only
 * tokens added with http01_add_token are answered. Returns NULL after logging. */
struct http01_server *http01_start(const char *addr, int port, const char *thumbprint,
				   int stateless);
/* Allow one token (already validated as base64url). 0 or -1. */
int http01_add_token(struct http01_server *s, const char *token);
void http01_stop(struct http01_server *s);

#endif
