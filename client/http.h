/*
 * client/http.h: the libcurl wrapper. One CURL handle per run (keep-alive),
 * https only, TLS always verified, no redirects, bodies capped at 1 MiB.
 */
#ifndef P11ACME_CLIENT_HTTP_H
#define P11ACME_CLIENT_HTTP_H

#include <stddef.h>
#include <time.h>

#define HTTP_BODY_MAX (1024 * 1024)

struct http;

/* A response. Header values are malloc'd copies (NULL when absent); links holds
 * every Link header value as received (parse with link_parse). */
struct http_resp {
	long code;
	char *body;   /* NUL-terminated; len excludes the NUL */
	size_t len;
	char *nonce, *location, *retry_after, *content_type;
	char **links;
	size_t n_links;
	/* Set by the retry of a 429/503 that gave up: when to try again (the
	 * Retry-After), for the one report of the failure (acme_report). */
	char retry_note[160];
};

/* 0 when ca_bundle is NULL or a regular file; else -1 after logging the file, what
 * it is and the fix: OpenSSL would open a FIFO there and wait, past any deadline. */
int http_ca_bundle_ok(const char *ca_bundle);

/* ca_bundle: PEM file of trust anchors, or NULL for the system store. The deadline
 * (absolute, from time()) caps every transfer; 0 means none. NULL after logging. */
struct http *http_new(const char *ca_bundle, time_t deadline);
void http_free(struct http *h);

/* Each returns 0 when a response arrived (any status; check r->code), or -1 after
 * logging a transport failure. r is reset first; free it with http_resp_free. */
int http_get(struct http *h, const char *url, const char *accept, struct http_resp *r);
int http_head(struct http *h, const char *url, struct http_resp *r);
/* POST body as application/jose+json. accept may be NULL. */
int http_post(struct http *h, const char *url, const char *body, const char *accept,
	      struct http_resp *r);

void http_resp_free(struct http_resp *r);

/* Host[:port] of a URL, for file names (malloc'd); NULL if unusable. */
char *url_host(const char *url);

/* 1 when url has the same scheme, host and port as server (the directory URL). */
int url_same_origin(const char *server, const char *url);

#endif
