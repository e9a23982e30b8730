/*
 * client/cleanup.h: what a run created outside the config dir (webroot challenge
 * files and the directories made for them, TXT records a dns-01 hook published)
 * is undone even when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the run. Each is
 * registered as it is made; the signal handler removes the files and runs each
 * dns hook's "failed" call (prepared in advance: a handler may only use
 * async-signal-safe calls), all within CLEANUP_MAX_S, then dies of the signal.
 * solver_end() does the normal cleanup and calls cleanup_clear() first.
 */
#ifndef P11ACME_CLIENT_CLEANUP_H
#define P11ACME_CLIENT_CLEANUP_H

#define CLEANUP_MAX_S 5   /* every hook of the handler together */

/* A file to unlink / an empty directory to rmdir (in the order registered,
 * after the files) / an execve argv and envp (taken over: freed by
 * cleanup_clear) to run. The first registration installs the handler. 0, or -1
 * (logged; the run goes on without that cleanup on a signal). */
int cleanup_add_file(const char *path);
int cleanup_add_dir(const char *path);
int cleanup_add_exec(char **argv, char **envp);

/* 1 while something is registered: hook.c then lets a term signal reach the
 * handler instead of dying at once. */
int cleanup_active(void);

/* Forget every registration and restore the signals' previous handling. */
void cleanup_clear(void);

#endif
