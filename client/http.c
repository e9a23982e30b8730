/*
 * client/http.c: libcurl wrapper (see http.h).
 */
#include "client/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "common/common.h"
#include "common/trace.h"

#ifndef P11ACME_VERSION
#define P11ACME_VERSION "0"
#endif

/* A single transfer may not wait longer than this even with a distant deadline. */
#define HTTP_TRANSFER_MAX 60L
#define HTTP_MAX_LINKS 32

struct http {
	CURL *curl;
	char *ca_bundle;
	time_t deadline;
	char errbuf[CURL_ERROR_SIZE];
};

int http_ca_bundle_ok(const char *ca_bundle)
{
	if (ca_bundle == NULL || file_regular(ca_bundle, 0) == 0)
		return 0;
	log_error("--ca-bundle %s: %s; name a regular file of PEM certificates", ca_bundle,
		  file_error(ca_bundle, errno, 0));
	return -1;
}

struct http *http_new(const char *ca_bundle, time_t deadline)
{
	static int inited;
	struct http *h = NULL;

	if (http_ca_bundle_ok(ca_bundle) != 0)
		return NULL;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_error("curl_global_init failed");
			return NULL;
		}
		inited = 1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->deadline = deadline;
	if (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL)
		goto fail;
	if ((h->curl = curl_easy_init()) == NULL) {
		log_error("curl_easy_init failed");
		goto fail;
	}
	return h;
fail:
	http_free(h);
	return NULL;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h);
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	free(r->nonce);
	free(r->location);
	free(r->retry_after);
	free(r->content_type);
	for (size_t i = 0; i < r->n_links; i++)
		free(r->links[i]);
	free(r->links);
	memset(r, 0, sizeof(*r));
}

struct sink {
	struct http_resp *r;
	size_t cap;
	int overflow;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink *s = arg;
	size_t n = sz * nm;
	char *nb;

	/* Returning less than n aborts the transfer: that is the 1 MiB cap. */
	if (s->r->len + n > HTTP_BODY_MAX) {
		s->overflow = 1;
		return 0;
	}
	if (s->r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->r->len + n + 1)
			cap *= 2;
		if ((nb = realloc(s->r->body, cap)) == NULL)
			return 0;
		s->r->body = nb;
		s->cap = cap;
	}
	memcpy(s->r->body + s->r->len, p, n);
	s->r->len += n;
	s->r->body[s->r->len] = '\0';
	return n;
}

/* Copy a header value, trimmed; replaces a previous one of the same name. */
static int set_hdr(char **dst, const char *v, size_t n)
{
	while (n > 0 && isspace((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	free(*dst);
	*dst = strndup(v, n);
	return *dst != NULL ? 0 : -1;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink *s = arg;
	struct http_resp *r = s->r;
	size_t n = sz * nm, nl;
	const char *colon = memchr(p, ':', n);
	char **links;

	/* A new status line (e.g. after 100 Continue) starts a fresh header set. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(r->nonce);
		free(r->location);
		free(r->retry_after);
		free(r->content_type);
		r->nonce = r->location = r->retry_after = r->content_type = NULL;
		return n;
	}
	if (colon == NULL)
		return n;
	nl = (size_t)(colon - p);
	colon++;
#define HDR(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	if (HDR("Replay-Nonce")) {
		if (set_hdr(&r->nonce, colon, n - nl - 1) != 0)
			return 0;
	} else if (HDR("Location")) {
		if (set_hdr(&r->location, colon, n - nl - 1) != 0)
			return 0;
	} else if (HDR("Retry-After")) {
		if (set_hdr(&r->retry_after, colon, n - nl - 1) != 0)
			return 0;
	} else if (HDR("Content-Type")) {
		if (set_hdr(&r->content_type, colon, n - nl - 1) != 0)
			return 0;
	} else if (HDR("Link") && r->n_links < HTTP_MAX_LINKS) {
		links = realloc(r->links, (r->n_links + 1) * sizeof(*links));
		if (links == NULL)
			return 0;
		r->links = links;
		links[r->n_links] = NULL;
		if (set_hdr(&links[r->n_links], colon, n - nl - 1) != 0)
			return 0;
		r->n_links++;
	}
#undef HDR
	return n;
}

enum method { M_GET, M_HEAD, M_POST };

static const char *method_name(enum method m)
{
	return m == M_GET ? "GET" : m == M_HEAD ? "HEAD" : "POST";
}

/* P11ACME_TRACE: the request's end, with curl's split of its time (us from its start:
 * connected, TLS done, first response byte, end). 0 for a reused connection. */
static void trace_done(CURL *c, enum method m, long code)
{
	curl_off_t con = 0, tls = 0, ttfb = 0, total = 0;

	if (!trace_on())
		return;
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &con);
	curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls);
	curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
	trace("http-done %s %ld connect_us=%lld tls_us=%lld ttfb_us=%lld total_us=%lld",
	      method_name(m), code, (long long)con, (long long)tls, (long long)ttfb,
	      (long long)total);
}

/* Seconds this transfer may take: HTTP_TRANSFER_MAX, less when the deadline is
 * nearer. 0 when the deadline has passed (logged). */
static long transfer_timeout(const struct http *h, const char *url)
{
	long timeout = HTTP_TRANSFER_MAX;
	time_t left;

	if (h->deadline == 0)
		return timeout;
	if ((left = h->deadline - time(NULL)) <= 0) {
		log_error("%s: deadline (--timeout) reached", url);
		return 0;
	}
	return left < timeout ? (long)left : timeout;
}

/* What every request sets: https only, verified TLS, no redirects, bounds. */
static void transfer_setup(struct http *h, const char *url, long timeout, struct sink *sink)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_bundle != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "p11acme/" P11ACME_VERSION);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 20 ? timeout : 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, sink);
	h->errbuf[0] = '\0';
}

/* The method, its body and the request headers (appended to *hdrs). 0 or -1. */
static int transfer_method(CURL *c, enum method m, const char *body, const char *accept,
			   struct curl_slist **hdrs)
{
	struct curl_slist *nh;
	char *acc = NULL;

	if (accept != NULL) {
		acc = xasprintf("Accept: %s", accept);
		nh = acc != NULL ? curl_slist_append(*hdrs, acc) : NULL;
		free(acc);
		if (nh == NULL)
			return -1;
		*hdrs = nh;
	}
	if (m == M_HEAD) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (m == M_POST) {
		if ((nh = curl_slist_append(*hdrs, "Content-Type: application/jose+json")) == NULL)
			return -1;
		*hdrs = nh;
		/* No "Expect: 100-continue" round trip for our small bodies. */
		if ((nh = curl_slist_append(*hdrs, "Expect:")) == NULL)
			return -1;
		*hdrs = nh;
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

static int perform(struct http *h, enum method m, const char *url, const char *body,
		   const char *accept, struct http_resp *r)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = { r, 0, 0 };
	CURL *c = h->curl;
	long timeout;
	CURLcode rc;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if ((timeout = transfer_timeout(h, url)) == 0)
		return -1;
	transfer_setup(h, url, timeout, &sink);
	if (transfer_method(c, m, body, accept, &hdrs) != 0)
		goto out;
	trace("http %s %s", method_name(m), url);
	rc = curl_easy_perform(c);
	if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
		log_error("%s: response body larger than %d bytes", url, HTTP_BODY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		log_error("%s: %s", url, h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	trace_done(c, m, r->code);
	if (r->body == NULL && (r->body = strdup("")) == NULL)
		goto out;
	log_debug("%s %s: HTTP %ld (%zu bytes)", method_name(m), url, r->code, r->len);
	ret = 0;
out:
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (ret != 0)
		http_resp_free(r);
	return ret;
}

int http_get(struct http *h, const char *url, const char *accept, struct http_resp *r)
{
	return perform(h, M_GET, url, NULL, accept, r);
}

int http_head(struct http *h, const char *url, struct http_resp *r)
{
	return perform(h, M_HEAD, url, NULL, NULL, r);
}

int http_post(struct http *h, const char *url, const char *body, const char *accept,
	      struct http_resp *r)
{
	return perform(h, M_POST, url, body, accept, r);
}

/* ---- URLs ---- */

char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *res = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	/* The port only when given, so a file name matches what the user typed. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port != NULL)
		res = xasprintf("%s:%s", host, port);
	else
		res = strdup(host);
	/* It becomes a directory name: refuse separators and dot names. */
	if (res != NULL && (strchr(res, '/') != NULL || res[0] == '.' || res[0] == '\0')) {
		free(res);
		res = NULL;
	}
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return res;
}

/* The scheme, host and port of url (default port filled in), or NULL. */
static char *url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *res = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		res = xasprintf("%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return res;
}

int url_same_origin(const char *server, const char *url)
{
	char *a = url_origin(server), *b = url_origin(url);
	int same = a != NULL && b != NULL && strcasecmp(a, b) == 0;

	free(a);
	free(b);
	return same;
}
