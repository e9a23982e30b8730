/*
 * client/cli.h: helpers shared by the command files (account.c, issue.c, renew.c,
 * revoke.c, keycmd.c, http01.c): the signer configuration from the global options,
 * the session (signer + directory + account) and usage errors.
 */
#ifndef P11ACME_CLIENT_CLI_H
#define P11ACME_CLIENT_CLI_H

#include <stddef.h>

#include "client/acme.h"
#include "client/client.h"
#include "client/hook.h"

/* The signer configuration of the global options: account key, module, PIN source
 * and --allow-extractable-key (no rollover or certificate key). */
struct signer_config cli_signer_config(const struct globals *g);

/* Start the signer for the account key (and optional rollover / certificate keys).
 * Returns an enum exit_status: EXIT_USAGE when no --key was given or the signer
 * reports a configuration error, EXIT_FAIL on a runtime failure. */
int cli_signer_start(const struct globals *g, const char *new_key_uri,
		     const char *cert_key_uri, struct signer **out);

/* Signer + directory + account (cache, else onlyReturnExisting). exit_status. */
int cli_session(const struct globals *g, const char *new_key_uri, const char *cert_key_uri,
		struct signer **signer, struct acme *a, int need_account);

/* --email ADDR of cmd: "mailto:ADDR" added to n. EXIT_OK, or EXIT_USAGE (printed)
 * for an address that is malformed or one too many. */
int cli_email_add(struct acme_newacct *n, const char *cmd, const char *addr);

/* o and a newline on stdout: indented (cJSON_Print), or on one line when one_line
 * (what a command prints per item). Every string is shown sanitised (common.h:
 * control characters and invalid UTF-8 as "\xNN"), so the output is valid JSON in
 * valid UTF-8 whatever a CA or a file name held. EXIT_OK, or EXIT_FAIL when o
 * cannot be serialised (nothing printed). */
struct cJSON;
int cli_print_json(const struct cJSON *o, int one_line);

/* Print a usage error "p11acme: <msg>" then "try 'p11acme CMD --help'". */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
