/*
 * client/hook.c: running dns-01 and deploy hooks (cli.h).
 */
#include "client/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

extern char **environ;

#define HOOK_MAX_ENV 4096

const char *pin_env_name(const char *pin_source)
{
	if (pin_source != NULL && strncmp(pin_source, "env:", 4) == 0)
		return pin_source + 4;
	return NULL;
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

int hook_run(const char *cmd, char *const *args, size_t n_args, char *const *env_add,
	     size_t n_env, const char *pin_env)
{
	char **argv = NULL, **envp = NULL, *script = NULL;
	size_t ne = 0, n_environ = 0;
	posix_spawn_file_actions_t fa;
	int fa_inited = 0, status, rc = -1;
	pid_t pid;

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
		if (!env_dropped(environ[i], pin_env))
			envp[ne++] = environ[i];
	for (size_t i = 0; i < n_env; i++)
		envp[ne++] = env_add[i];
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	fa_inited = 1;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 2, 1) != 0)
		goto out;
	fflush(NULL);
	errno = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
	if (errno != 0) {
		log_error("%s: cannot start: %s", cmd, strerror(errno));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			log_error("%s: waitpid: %s", cmd, strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		log_error("%s: killed by signal %d", cmd, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	if (fa_inited)
		posix_spawn_file_actions_destroy(&fa);
	free(argv);
	free(envp);
	free(script);
	return rc;
}
