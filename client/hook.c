/*
 * client/hook.c: running dns-01 and deploy hooks (hook.h).
 */
#include "client/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/cleanup.h"
#include "common/common.h"

extern char **environ;

#define HOOK_MAX_ENV 4096

struct hook_opts hook_opts_of(const struct globals *g)
{
	struct hook_opts ho = { signer_pin_source_env(g->pin_source), g->hook_timeout };

	return ho;
}

/* Inherited P11ACME_* could carry stale hook values or configuration a hook
 * should not trust; the PIN variable must never reach a hook. */
static int env_dropped(const char *e, const char *pin_env)
{
	size_t n;

	if (strncmp(e, "P11ACME_", 8) == 0)
		return 1;
	if (pin_env != NULL) {
		n = strlen(pin_env);
		if (strncmp(e, pin_env, n) == 0 && e[n] == '=')
			return 1;
	}
	return 0;
}

#define HOOK_KILL_GRACE_S 5   /* after SIGTERM to a hook's group, before SIGKILL */

/* What hook_wait waits for: SIGCHLD, and the signals that end p11acme (term_sigset),
 * which are passed on to the hook's process group first, so that neither outlives
 * the other. */
static void wait_set(sigset_t *set)
{
	term_sigset(set);
	sigaddset(set, SIGCHLD);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Reap pid if it has ended: 1 (status set), 0 still running, -1 error. */
static int hook_reaped(pid_t pid, int *status)
{
	pid_t r;

	while ((r = waitpid(pid, status, WNOHANG)) < 0 && errno == EINTR)
		;
	return r == pid ? 1 : r == 0 ? 0 : -1;
}

enum { WAIT_ERROR = -1, WAIT_TIMEOUT = 0, WAIT_ENDED = 1, WAIT_SIGNAL = 2 };

/* Wait for pid (SIGCHLD and the term signals blocked) until it ends or `limit`
 * seconds pass (limit <= 0: no limit). WAIT_ENDED (*status set), WAIT_TIMEOUT,
 * WAIT_ERROR, or WAIT_SIGNAL when a term signal (*sig) came first. */
static int hook_wait(pid_t pid, double limit, int *status, int *sig)
{
	sigset_t set;
	double end = now_s() + limit, left;
	struct timespec ts;
	int r;

	wait_set(&set);
	for (;;) {
		if ((r = hook_reaped(pid, status)) != 0)
			return r > 0 ? WAIT_ENDED : WAIT_ERROR;
		left = limit > 0 ? end - now_s() : 1.0;
		if (left <= 0)
			return WAIT_TIMEOUT;
		if (left > 1.0)
			left = 1.0;   /* wake now and then: SIGCHLD may be shared */
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		*sig = sigtimedwait(&set, NULL, &ts);
		if (*sig > 0 && *sig != SIGCHLD)
			return WAIT_SIGNAL;
	}
}

/* 1 while any process of the group pgid exists (a zombie not yet reaped by its
 * new parent counts, so this may wait out the grace period in vain; harmless). */
static int group_alive(pid_t pgid)
{
	return kill(-pgid, 0) == 0 || errno == EPERM;
}

/* End the hook's process group: sig, then SIGKILL after a grace period (at once
 * when a term signal arrives meanwhile). The whole group, not only the shell: a
 * hook's children may outlive it, or ignore sig. Returns that term signal, or 0. */
static int hook_kill(pid_t pid, int sig, int *status)
{
	double end = now_s() + HOOK_KILL_GRACE_S;
	int other = 0, r;

	kill(-pid, sig);
	r = hook_wait(pid, HOOK_KILL_GRACE_S, status, &other);
	while (r == WAIT_ENDED && group_alive(pid) && now_s() < end)
		sleep_ms(50);
	if (group_alive(pid))
		kill(-pid, SIGKILL);
	if (r != WAIT_ENDED)
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	return r == WAIT_SIGNAL ? other : 0;
}

/* Die of sig the way p11acme would have without a hook running. */
static void die_of(int sig, const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
	/* With cleanup registered, its handler undoes the run's work, then dies. */
	if (!cleanup_active())
		signal(sig, SIG_DFL);
	raise(sig);
}

/* Supervise a started hook; the exit status, or -1 after logging. With a term
 * signal, the hook's group gets it first, then p11acme dies of it (the caller's
 * mask is restored before). */
static int hook_supervise(const char *cmd, pid_t pid, int timeout_s, const sigset_t *old)
{
	int status = 0, sig = 0, r;

	r = hook_wait(pid, timeout_s, &status, &sig);
	if (r == WAIT_SIGNAL) {
		hook_kill(pid, sig, &status);
		die_of(sig, old);
		return -1;
	}
	if (r == WAIT_TIMEOUT) {
		log_error("%s: still running after %d s (--hook-timeout); stopping it", cmd,
			  timeout_s);
		if ((sig = hook_kill(pid, SIGTERM, &status)) != 0)
			die_of(sig, old);
		return -1;
	}
	if (r == WAIT_ERROR) {
		log_error("%s: waitpid: %s", cmd, strerror(errno));
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("%s: killed by signal %d", cmd, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/* Spawn /bin/sh with argv/envp in a process group of its own, stdin from
 * /dev/null, stdout to our stderr and the caller's signal mask `old`. Dispositions
 * are inherited as before (a run under nohup keeps SIGHUP ignored in its hooks),
 * except SIGPIPE, which the signer's parent side ignores. 0, or -1 after logging. */
static int hook_spawn(const char *cmd, char **argv, char **envp, const sigset_t *old,
		      pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t dfl;
	int err;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (err == 0)
		err = posix_spawn_file_actions_adddup2(&fa, 2, 1);
	if (err == 0)
		err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	if (err == 0)
		err = posix_spawnattr_setpgroup(&at, 0);
	if (err == 0)
		err = posix_spawnattr_setsigmask(&at, old);
	if (err == 0)
		err = posix_spawnattr_setsigdefault(&at, &dfl);
	if (err == 0) {
		fflush(NULL);
		err = posix_spawn(pid, "/bin/sh", &fa, &at, argv, envp);
	}
	if (err != 0)
		log_error("%s: cannot start: %s", cmd, strerror(err));
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err == 0 ? 0 : -1;
}

/* ---- what a hook names: a regular file, not a FIFO or a device ---- */

#define HOOK_WORD_MAX 4096
#define HOOK_SHELL_SYNTAX "'\"\\$`;&|<>(){}*?[]~=#!"

/* The next plain word of cmd from *pos into w (NUL-terminated): 1; 0 at the end,
 * or when the word holds shell syntax (quotes, variables, globs, assignments,
 * operators: what only the shell can resolve). */
static int hook_word(const char *cmd, size_t *pos, char *w)
{
	size_t i = *pos, n = 0;

	while (cmd[i] == ' ' || cmd[i] == '\t')
		i++;
	while (cmd[i] != '\0' && cmd[i] != ' ' && cmd[i] != '\t') {
		if (strchr(HOOK_SHELL_SYNTAX, cmd[i]) != NULL || n + 1 >= HOOK_WORD_MAX)
			return 0;
		w[n++] = cmd[i++];
	}
	w[n] = '\0';
	*pos = i;
	return n > 0;
}

/* 0 when path is a regular file (symlinks followed) with the access mode; else -1
 * after logging what it is and the fix. */
static int hook_file_ok(const char *cmd, const char *path, int mode)
{
	const char *why = NULL;

	if (file_regular(path, 0) != 0)
		why = file_error(path, errno, 0);
	else if (access(path, mode) != 0)
		why = mode == X_OK ? "not executable" : strerror(errno);
	if (why == NULL)
		return 0;
	log_error("hook '%s': %s: %s; a hook must name %s, or be a shell command line",
		  safe_str(cmd), safe_str(path), why, mode == X_OK ?
		  "an executable regular file (chmod 755 a script)" : "a readable regular file");
	return -1;
}

/* A program name without '/', as the shell finds it through PATH: 0 when the first
 * match is an executable regular file or there is none (a shell builtin or a
 * missing command, which the shell reports); else -1 after logging. */
static int hook_path_ok(const char *cmd, const char *prog)
{
	const char *path = getenv("PATH"), *end;
	char *cand;
	int rc = 0;

	for (; path != NULL && *path != '\0'; path = *end ? end + 1 : end) {
		end = strchrnul(path, ':');
		/* an empty entry is the current directory */
		cand = end == path ? xasprintf("./%s", prog) :
				     xasprintf("%.*s/%s", (int)(end - path), path, prog);
		if (cand != NULL && access(cand, F_OK) == 0) {
			rc = hook_file_ok(cmd, cand, X_OK);
			free(cand);
			return rc;
		}
		free(cand);
	}
	return rc;
}

/* The options after which an interpreter's next word is a command, not a script
 * file, when prog (a path or a name) is a shell or an interpreter; else NULL. */
static const char *hook_interpreter(const char *prog)
{
	static const char *const names[][2] = {
		{ "sh", "-c" }, { "bash", "-c" }, { "dash", "-c" }, { "ash", "-c" },
		{ "ksh", "-c" }, { "zsh", "-c" }, { "python", "-c -m" }, { "python3", "-c -m" },
		{ "perl", "-e -E" }, { "ruby", "-e" },
	};
	const char *base = strrchr(prog, '/');

	base = base != NULL ? base + 1 : prog;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(base, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

/* 1 when the option word is one of the space-separated options in list. */
static int word_in(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p != NULL; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

int hook_check(const char *cmd)
{
	char *prog = malloc(HOOK_WORD_MAX), *word = malloc(HOOK_WORD_MAX);
	const char *cmd_opts;
	size_t pos = 0;
	int rc = -1, more;

	if (prog == NULL || word == NULL)
		goto out;
	rc = 0;
	if (!hook_word(cmd, &pos, prog))
		goto out;
	rc = strchr(prog, '/') != NULL ? hook_file_ok(cmd, prog, X_OK) : hook_path_ok(cmd, prog);
	if (rc != 0 || (cmd_opts = hook_interpreter(prog)) == NULL)
		goto out;
	/* the script an interpreter reads: a FIFO there would block it */
	while ((more = hook_word(cmd, &pos, word)) && (word[0] == '-' || word[0] == '+')) {
		if (word_in(word, cmd_opts))
			goto out;   /* a command string, not a script */
		if ((strcmp(word, "-o") == 0 || strcmp(word, "+o") == 0) &&
		    !hook_word(cmd, &pos, word))
			goto out;   /* set -o NAME */
	}
	if (more && strchr(word, '/') != NULL)
		rc = hook_file_ok(cmd, word, R_OK);
out:
	free(prog);
	free(word);
	return rc;
}

int hook_run(const char *cmd, char *const *args, size_t n_args, char *const *env_add,
	     size_t n_env, const struct hook_opts *ho)
{
	char **argv = NULL, **envp = NULL, *script = NULL;
	size_t ne = 0, n_environ = 0;
	sigset_t block, old;
	int rc = -1;
	pid_t pid;

	if (hook_check(cmd) != 0)
		return -1;
	for (char **e = environ; e != NULL && *e != NULL; e++)
		n_environ++;
	if (n_environ > HOOK_MAX_ENV)
		n_environ = HOOK_MAX_ENV;
	argv = calloc(n_args + 5, sizeof(char *));
	envp = calloc(n_environ + n_env + 1, sizeof(char *));
	/* "$@" keeps each argument one word whatever it contains. */
	script = xasprintf("%s \"$@\"", cmd);
	if (argv == NULL || envp == NULL || script == NULL)
		goto out;
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = "p11acme-hook";
	for (size_t i = 0; i < n_args; i++)
		argv[4 + i] = args[i];
	for (size_t i = 0; i < n_environ; i++)
		if (!env_dropped(environ[i], ho->pin_env))
			envp[ne++] = environ[i];
	for (size_t i = 0; i < n_env; i++)
		envp[ne++] = env_add[i];
	/* Blocked before the spawn, so that neither SIGCHLD nor a term signal is
	 * lost between the spawn and the wait. */
	wait_set(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (hook_spawn(cmd, argv, envp, &old, &pid) == 0)
		rc = hook_supervise(cmd, pid, ho->timeout, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	free(argv);
	free(envp);
	free(script);
	return rc;
}

/* Append a copy of s to v at *n (room was made by the caller). */
static int strv_push(char **v, size_t *n, const char *s)
{
	if ((v[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

int hook_prepare(const char *cmd, char *const *args, size_t n_args, char *const *env_add,
		 size_t n_env, const struct hook_opts *ho, char ***argv, char ***envp)
{
	const char *head[] = { "/bin/sh", "-c", NULL, "p11acme-hook" };
	size_t n_environ = 0, na = 0, ne = 0;
	char *script = xasprintf("%s \"$@\"", cmd);
	int rc = -1;

	for (char **e = environ; e != NULL && *e != NULL && n_environ < HOOK_MAX_ENV; e++)
		n_environ++;
	*argv = calloc(n_args + 5, sizeof(char *));
	*envp = calloc(n_environ + n_env + 1, sizeof(char *));
	if (script == NULL || *argv == NULL || *envp == NULL)
		goto out;
	head[2] = script;
	for (size_t i = 0; i < 4; i++)
		if (strv_push(*argv, &na, head[i]) != 0)
			goto out;
	for (size_t i = 0; i < n_args; i++)
		if (strv_push(*argv, &na, args[i]) != 0)
			goto out;
	for (size_t i = 0; i < n_environ; i++)
		if (!env_dropped(environ[i], ho->pin_env) && strv_push(*envp, &ne, environ[i]) != 0)
			goto out;
	for (size_t i = 0; i < n_env; i++)
		if (strv_push(*envp, &ne, env_add[i]) != 0)
			goto out;
	rc = 0;
out:
	free(script);
	if (rc != 0) {
		strv_free(*argv);
		strv_free(*envp);
		*argv = *envp = NULL;
	}
	return rc;
}
