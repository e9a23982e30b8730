/*
 * The client's end of a signer service (--signer unix:PATH | exec:COMMAND) and the
 * bridge a forced SSH command runs (p11acme signer connect). Neither ever loads a
 * PKCS#11 module or reads a PIN: they only carry frames.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static int unix_connect(const char *path, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	*fd = -1;
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		log_error("signer: unix:%s: not a socket path", path);
		return SIGNER_ERR_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error("signer: unix:%s: connect: %s", path, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return SIGNER_ERR;
	}
	return SIGNER_OK;
}

/* Runs COMMAND with its stdin and stdout on one end of a stream socketpair; stderr
 * stays ours, so ssh can say why it failed. */
static int exec_connect(const char *cmd, int *fd, pid_t *pid)
{
	sigset_t none;
	int sv[2];

	if (cmd[0] == '\0') {
		log_error("signer: exec: needs a command");
		return SIGNER_ERR_CONFIG;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("signer: socketpair: %s", strerror(errno));
		return SIGNER_ERR;
	}
	fflush(NULL);
	if ((*pid = fork()) < 0) {
		log_error("signer: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return SIGNER_ERR;
	}
	if (*pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		close_range(3, ~0u, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*fd = sv[0];
	return SIGNER_OK;
}

int signer_remote_open(const char *spec, int *fd, pid_t *pid)
{
	*fd = -1;
	*pid = -1;
	if (strncmp(spec, "unix:", 5) == 0)
		return unix_connect(spec + 5, fd);
	if (strncmp(spec, "exec:", 5) == 0)
		return exec_connect(spec + 5, fd, pid);
	log_error("signer: --signer %s: use unix:PATH or exec:COMMAND", spec);
	return SIGNER_ERR_CONFIG;
}

/* Copy what is readable on from to to. 1 copied, 0 EOF, -1 error. */
static int pump(int from, int to)
{
	unsigned char buf[16384];
	ssize_t n, w;
	size_t off = 0;

	do
		n = read(from, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	while (off < (size_t)n) {
		w = write(to, buf + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 1;
}

int signer_bridge(const char *socket_path)
{
	struct pollfd p[2];
	int fd, r, in_open = 1, rc;

	signal(SIGPIPE, SIG_IGN);
	if ((rc = unix_connect(socket_path, &fd)) != SIGNER_OK)
		return rc;
	for (;;) {
		p[0] = (struct pollfd){ .fd = in_open ? 0 : -1, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = pump(fd, 1)) <= 0) {
				rc = r == 0 ? SIGNER_OK : SIGNER_ERR;
				break;
			}
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if ((r = pump(0, fd)) <= 0) {
				/* The client is done: let the service see EOF, take its last words. */
				shutdown(fd, SHUT_WR);
				in_open = 0;
			}
		}
	}
	close(fd);
	return rc;
}
