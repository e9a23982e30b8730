/*
 * client/http01.h: the built-in http-01 responder (http01.c, libmicrohttpd).
 * The serve-http01 and http01-config commands (also in http01.c) are listed
 * with the other commands in client.h.
 */
#ifndef P11ACME_CLIENT_HTTP01_H
#define P11ACME_CLIENT_HTTP01_H

/* Used by `issue --standalone` (answers only the tokens it was given) and by
 * `serve-http01` (answers any valid token with token.thumbprint, stateless). */
struct http01_server;

/* Start listening on addr (NULL = every address, IPv4 and IPv6) and port.
 * thumbprint is the account key's RFC 7638 thumbprint. When stateless is 0, only
 * tokens added with http01_add_token are answered. Returns NULL after logging. */
struct http01_server *http01_start(const char *addr, int port, const char *thumbprint,
				   int stateless);
/* Allow one token (already validated as base64url). 0 or -1. */
int http01_add_token(struct http01_server *s, const char *token);
void http01_stop(struct http01_server *s);

#endif
