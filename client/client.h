/*
 * client/: the ACME protocol (libcurl + cJSON) and the p11acme command line.
 * Talks to the account key only through signer/signer.h. docs/ARCHITECTURE.md
 * describes the layers and the data flow.
 *
 * This header holds what every client file shares (exit status, global options)
 * and the command entry points. Each other module has its own header:
 *   acme.h (acme.c), ari.h (ari.c), certkey.h (certkey.c), certs.h (certs.c),
 *   cli.h (cli.c), hook.h (hook.c), http.h (http.c), http01.h (http01.c),
 *   issue.h (issue.c), migrate.h (migrate.c, migrate_read.c), opts.h (opts.c),
 *   parse.h (parse.c), renewal.h (renewal.c), request.h (request.c), solve.h
 *   (solve.c), store.h (store.c), validate.h (validate.c, certcheck.c).
 * The command files account.c, keycmd.c, renew.c, revoke.c, signer_cmd.c and
 * main.c (which dispatches) have no contract beyond their cmd_* entry point below.
 */
#ifndef P11ACME_CLIENT_H
#define P11ACME_CLIENT_H

#include "signer/signer.h"

/* Exit status: a contract (docs/ARCHITECTURE.md, man page, scripts). */
enum exit_status {
	EXIT_OK = 0,             /* issued, renewed, or not yet due */
	EXIT_FAIL = 1,           /* failure */
	EXIT_USAGE = 2,          /* usage or configuration error */
	EXIT_NEED_CHALLENGE = 3, /* --reuse-only and an identifier needs a challenge */
};

#define LE_PRODUCTION_URL "https://acme-v02.api.letsencrypt.org/directory"
#define TIMEOUT_BASE 90  /* seconds for one issuance without hooks (certbot's poll bound) */
#define LE_STAGING_URL "https://acme-staging-v02.api.letsencrypt.org/directory"

/* Global options (before the command), each also read from P11ACME_* (main.c). */
struct globals {
	const char *server;     /* --server / P11ACME_SERVER; directory URL */
	const char *key_uri;    /* --key / P11ACME_KEY */
	const char *module;     /* --module / P11ACME_MODULE */
	const char *module_args; /* --module-args / P11ACME_MODULE_ARGS: C_Initialize's
	                          * pReserved string (NSS softoken's database) */
	const char *pin_source; /* --pin-source / P11ACME_PIN_SOURCE */
	const char *signer;     /* --signer / P11ACME_SIGNER: unix:PATH or exec:COMMAND, in
	                         * place of key_uri, module and pin_source */
	const char *ca_bundle;  /* --ca-bundle / P11ACME_CA_BUNDLE */
	const char *config_dir; /* --config-dir / P11ACME_CONFIG_DIR, default /etc/p11acme */
	int allow_extractable;  /* --allow-extractable-key */
	int json;               /* --json */
	int timeout;            /* --timeout seconds; default 90 + hook_timeout (a hook
				 * that uses its whole time must not end the run) */
	int timeout_given;      /* --timeout or P11ACME_TIMEOUT was given */
	int hook_timeout;       /* --hook-timeout seconds for each hook run, default 300; 0: none */
};

/* Command entry points: argv[0] is the command name; options follow.
 * Each returns an enum exit_status. main.c dispatches to them. */
int cmd_account(const struct globals *g, int argc, char **argv);       /* account.c */
int cmd_issue(const struct globals *g, int argc, char **argv);         /* issue.c */
int cmd_renew(const struct globals *g, int argc, char **argv);         /* renew.c */
int cmd_revoke(const struct globals *g, int argc, char **argv);        /* revoke.c */
int cmd_key(const struct globals *g, int argc, char **argv);           /* keycmd.c */
int cmd_serve_http01(const struct globals *g, int argc, char **argv);  /* http01.c */
int cmd_http01_config(const struct globals *g, int argc, char **argv); /* http01.c */
int cmd_signer(const struct globals *g, int argc, char **argv);       /* signer_cmd.c */

#endif
