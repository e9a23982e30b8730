/*
 * client/portcheck.h: whether `issue --standalone` can listen on its port, asked
 * before newOrder (portcheck.c).
 */
#ifndef P11ACME_CLIENT_PORTCHECK_H
#define P11ACME_CLIENT_PORTCHECK_H

/* 0 when addr (NULL: every address, IPv4 and IPv6) and port can be bound now.
 * Else -1 after logging why; when another process listens there, its name and pid
 * (from /proc) and what to do instead (--stateless when it answers http-01 for the
 * account). */
int port_check(const char *addr, int port);

#endif
