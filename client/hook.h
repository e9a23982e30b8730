/*
 * client/hook.h: the hook runner (hook.c). Deploy hooks (issue, renew) and dns-01
 * hooks (solve.c) run through hook_run(), which keeps the PIN and P11ACME_*
 * configuration out of their environment and bounds their run time.
 */
#ifndef P11ACME_CLIENT_HOOK_H
#define P11ACME_CLIENT_HOOK_H

#include <stddef.h>

#include "client/client.h"

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

/* The execve argv and envp hook_run would use for these arguments, every string
 * copied (cleanup.c runs them from a signal handler). 0, or -1; free each with
 * strv_free (common.h). */
int hook_prepare(const char *cmd, char *const *args, size_t n_args, char *const *env_add,
		 size_t n_env, const struct hook_opts *ho, char ***argv, char ***envp);

/* 0 when what the hook command line cmd names is a regular file: its first word
 * (a path, or a name found through PATH) an executable one, and for a shell or an
 * interpreter (sh, bash, python3, perl, ...) the script it is given a readable
 * one; a FIFO, a device or a directory there (or a symlink to one) would block or
 * fail the hook. Words with shell syntax (quotes, $, globs, VAR=) are left to the
 * shell. -1 after logging the file, what it is and the fix. hook_run checks it
 * before each run; issue and renew before anything is ordered (exit 2). */
int hook_check(const char *cmd);

/* The hook_opts of these globals. */
struct hook_opts hook_opts_of(const struct globals *g);

#endif
