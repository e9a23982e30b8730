/*
 * client/cleanup.c: undo what the run created when a term signal ends it
 * (cleanup.h). Only async-signal-safe calls in the handler: unlink, rmdir, fork,
 * execve, waitpid, kill, nanosleep, sigaction, raise.
 */
#include "client/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

#define CLEANUP_MAX 256
#define TICK_MS 20

enum { C_FILE, C_DIR, C_EXEC };

struct entry {
	int kind;
	char *path;
	char **argv, **envp;
};

static struct entry entries[CLEANUP_MAX];

static volatile sig_atomic_t n_entries;
static struct sigaction saved[NSIG];
static int installed;

static void run_exec(const struct entry *e, long *left_ms)
{
	const struct timespec tick = { 0, TICK_MS * 1000000L };
	int status, fd;
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		dup2(2, 1);
		execve("/bin/sh", e->argv, e->envp);
		_exit(127);
	}
	if (pid < 0)
		return;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (*left_ms <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		nanosleep(&tick, NULL);
		*left_ms -= TICK_MS;
	}
}

static void on_term(int sig)
{
	long left_ms = CLEANUP_MAX_S * 1000L;
	sigset_t set;

	for (int pass = C_FILE; pass <= C_EXEC; pass++)
		for (sig_atomic_t i = 0; i < n_entries; i++) {
			const struct entry *e = &entries[i];

			if (e->kind != pass)
				continue;
			if (pass == C_FILE)
				unlink(e->path);
			else if (pass == C_DIR)
				rmdir(e->path);
			else
				run_exec(e, &left_ms);
		}
	/* then die of the signal, as without the handler */
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

static int install(void)
{
	struct sigaction sa;
	sigset_t set;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	term_sigset(&set);
	sa.sa_mask = set;   /* one cleanup at a time */
	for (int sig = 1; sig < NSIG; sig++) {
		if (!sigismember(&set, sig))
			continue;
		/* a run under nohup keeps SIGHUP ignored */
		if (sigaction(sig, NULL, &saved[sig]) != 0 || saved[sig].sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &sa, NULL);
	}
	installed = 1;
	return 0;
}

/* Add one entry; the handler sees it only once complete (n_entries last). */
static int add(int kind, char *path, char **argv, char **envp)
{
	sigset_t set, old;

	if (n_entries >= CLEANUP_MAX || (kind != C_EXEC && path == NULL)) {
		log_warn("cannot register %s for cleanup on a signal", path ? path : "a hook call");
		free(path);
		strv_free(argv);
		strv_free(envp);
		return -1;
	}
	term_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	install();
	entries[n_entries] = (struct entry){ kind, path, argv, envp };
	n_entries++;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int cleanup_add_file(const char *path)
{
	return add(C_FILE, strdup(path), NULL, NULL);
}

int cleanup_add_dir(const char *path)
{
	return add(C_DIR, strdup(path), NULL, NULL);
}

int cleanup_add_exec(char **argv, char **envp)
{
	return add(C_EXEC, NULL, argv, envp);
}

void cleanup_clear(void)
{
	sigset_t set, old;
	sig_atomic_t n;

	term_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	n = n_entries;
	n_entries = 0;
	if (installed) {
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&set, sig) && saved[sig].sa_handler != SIG_IGN)
				sigaction(sig, &saved[sig], NULL);
		installed = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (sig_atomic_t i = 0; i < n; i++) {
		free(entries[i].path);
		strv_free(entries[i].argv);
		strv_free(entries[i].envp);
	}
}

int cleanup_active(void)
{
	return installed && n_entries > 0;
}
