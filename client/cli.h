/*
 * client/cli.h: helpers shared by the command files (main.c, account.c, issue.c,
 * misc.c) and the hook runner (hook.c).
 */
#ifndef P11ACME_CLIENT_CLI_H
#define P11ACME_CLIENT_CLI_H

#include <stddef.h>

#include "client/acme.h"
#include "client/client.h"

/* Start the signer for the account key (and optional rollover / certificate keys).
 * Returns an enum exit_status: EXIT_USAGE when no --key was given or the signer
 * reports a configuration error, EXIT_FAIL on a runtime failure. */
int cli_signer_start(const struct globals *g, const char *new_key_uri,
		     const char *cert_key_uri, struct signer **out);

/* Signer + directory + account (cache, else onlyReturnExisting). exit_status. */
int cli_session(const struct globals *g, const char *new_key_uri, const char *cert_key_uri,
		struct signer **signer, struct acme *a, int need_account);

/* A pkcs11: URI without any pin-value attribute (malloc'd), for what we record. */
char *uri_without_pin(const char *uri);

/* Print a usage error "p11acme: <msg>" then "try 'p11acme CMD --help'". */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- hook.c ---- */

/* What every hook run shares: the PIN source variable to keep from the hook's
 * environment (env:NAME of --pin-source, may be NULL) and the time limit. */
struct hook_opts {
	const char *pin_env;
	int timeout;            /* seconds, --hook-timeout; 0: none */
};

/* Run `/bin/sh -c 'CMD "$@"' p11acme-hook ARGS...`: CMD is the administrator's
 * command line; args are positional parameters and are never interpolated into it.
 * env_add entries ("NAME=value") are added to a copy of the environment, from which
 * every P11ACME_* variable and the PIN source variable are removed first. The hook
 * runs in a process group of its own; when ho->timeout seconds pass, the group gets
 * SIGTERM, then SIGKILL 5 s later; a SIGINT, SIGTERM, SIGHUP or SIGQUIT that
 * p11acme gets meanwhile goes to the group first, then ends p11acme as usual. The
 * hook's stdout goes to our stderr, so that our stdout carries only results.
 * Returns the exit status (0..255), or -1 after logging (also when the hook died
 * from a signal or ran out of time). */
int hook_run(const char *cmd, char *const *args, size_t n_args, char *const *env_add,
	     size_t n_env, const struct hook_opts *ho);

/* The hook_opts of these globals. */
struct hook_opts hook_opts_of(const struct globals *g);

#endif
