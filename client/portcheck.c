/*
 * client/portcheck.c: can `issue --standalone` listen on its port? Asked before
 * newOrder, so that a port held by another server (often serve-http01 or a web
 * server on the surrogate) costs no order, and the message names the holder.
 */
#include "client/portcheck.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"

/* The inode of a socket listening on port, from /proc/net/tcp or tcp6; 0 if none. */
static unsigned long listen_inode(const char *table, int port)
{
	FILE *f = fopen(table, "r");
	char line[512];
	unsigned long inode = 0, ino;
	unsigned int lport, state;

	if (f == NULL)
		return 0;
	while (inode == 0 && fgets(line, sizeof(line), f) != NULL) {
		/* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*d %*d %lu",
			   &lport, &state, &ino) == 3 && (int)lport == port && state == 0x0A)
			inode = ino;
	}
	fclose(f);
	return inode;
}

/* 1 when process pid has socket inode open. */
static int pid_has_socket(const char *pid, unsigned long inode)
{
	char dir[64], path[PATH_MAX], link[64], want[48];
	struct dirent *e;
	DIR *d;
	ssize_t n;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%.20s/fd", pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/* "NAME (pid N)" of the process that holds inode, into buf; "" when unknown. */
static void holder_name(unsigned long inode, char *buf, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[PATH_MAX], comm[64] = "";
	FILE *f;

	buf[0] = '\0';
	while (d != NULL && buf[0] == '\0' && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !pid_has_socket(e->d_name, inode))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/comm", e->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), f) != NULL)
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(buf, len, "%.63s (pid %.20s)", comm[0] ? comm : "a process", e->d_name);
	}
	if (d != NULL)
		closedir(d);
}

/* Bind (and close) a socket like the responder's; 0, or -1 with errno. */
static int try_bind(int family, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	int fd, one = 1, rc, saved;

	s4->sin_family = (sa_family_t)family;
	if (family == AF_INET) {
		s4->sin_port = htons((uint16_t)port);
		if (addr != NULL && inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return 0; /* not this family: http01_start judges the address */
	} else {
		s6->sin6_port = htons((uint16_t)port);
		if (addr != NULL && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return 0;
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0; /* no IPv6 here, say: nothing to check */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	rc = bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(*s4) : sizeof(*s6));
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int port_check(const char *addr, int port)
{
	char who[128] = "";
	unsigned long inode;
	const char *bare = addr;
	char host[64];
	size_t len = addr != NULL ? strlen(addr) : 0;

	if (addr != NULL && len >= 2 && addr[0] == '[' && addr[len - 1] == ']' &&
	    len - 2 < sizeof(host)) {
		memcpy(host, addr + 1, len - 2);
		host[len - 2] = '\0';
		bare = host;
	}
	if (try_bind(AF_INET, bare, port) == 0 && try_bind(AF_INET6, bare, port) == 0)
		return 0;
	if (errno != EADDRINUSE) {
		log_error("--standalone: cannot listen on port %d: %s; nothing was ordered", port,
			  strerror(errno));
		return -1;
	}
	if ((inode = listen_inode("/proc/net/tcp", port)) == 0)
		inode = listen_inode("/proc/net/tcp6", port);
	if (inode != 0)
		holder_name(inode, who, sizeof(who));
	log_error("--standalone: port %d is in use%s%s; nothing was ordered. If that is "
		  "p11acme serve-http01 or a web server with the http01-config snippet, it "
		  "answers for this account: use --stateless instead; else stop it, or use "
		  "--webroot", port, who[0] ? " by " : "", who);
	return -1;
}
