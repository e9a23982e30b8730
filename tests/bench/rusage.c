/*
 * rusage: run one command and print what it cost, as one JSON line on stdout.
 *
 *   rusage LOGFILE CMD [ARG...]
 *
 * A small C program, so that the child it forks starts small: Linux keeps the peak
 * RSS of the pre-exec image in ru_maxrss, so a child forked from a Python process
 * would report at least the interpreter's ~10 MiB. (Same reason GNU time is written
 * in C.) The command's stdout and stderr go to LOGFILE.
 *
 * wall_s: CLOCK_MONOTONIC from just before fork() to wait4()'s return.
 * user_s, sys_s: the child and every descendant it waited for.
 * maxrss_kb: ru_maxrss, the largest single process of that tree.
 * t0_ns, t1_ns: those two CLOCK_MONOTONIC readings, so that the phases a client
 * traces with the same clock (P11ACME_TRACE) can be placed between fork and exit.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage LOGFILE CMD [ARG...]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"pid\": %d, \"wall_s\": %.6f, \"user_s\": %.6f, \"sys_s\": %.6f, \"maxrss_kb\": %ld, \"rc\": %d, "
	       "\"t0_ns\": %lld, \"t1_ns\": %lld}\n",
	       (int)pid, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec,
	       (long long)t1.tv_sec * 1000000000LL + t1.tv_nsec);
	return 0;
}
