/*
 * client/http01.c: the built-in http-01 responder (libmicrohttpd), and the
 * serve-http01 and http01-config commands built on it.
 *
 * Two modes share one server:
 *  - per-order (issue --standalone): answers only tokens added with http01_add_token;
 *  - stateless (serve-http01): answers any well-formed token with token.thumbprint,
 *    which is correct for every order of the account because the key authorization
 *    depends only on the token and the account key (RFC 8555 §8.1, §8.3).
 * Nothing here touches the key: the thumbprint is computed once, through the signer,
 * or given on the command line so that the surrogate host needs no token at all.
 */
#include "client/http01.h"

#include "client/cli.h"
#include "client/opts.h"
#include "common/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"
#define TOKEN_MAX 256            /* RFC 8555 tokens have >= 128 bits; LE sends 43 chars */
#define THUMBPRINT_LEN 43        /* base64url of a SHA-256 digest */
#define MAX_TOKENS 1024          /* per-order mode: one per authorization */
#define MAX_DAEMONS 2            /* [::] dual-stack, or [::] plus 0.0.0.0 */
#define CONN_LIMIT 512           /* per daemon, split among the pool threads; 16 KiB each */
#define CONN_PER_IP 64           /* a VA uses a handful; a flood from one peer is cut */
#define CONN_TIMEOUT 10          /* seconds of inactivity before a connection is closed */
#define CONN_MEMORY (16 * 1024)  /* request line + headers must fit; else 431/414 */
#define POOL_THREADS 4           /* concurrent clients without one thread per peer */
#define LOG_PATH_MAX 120         /* an attacker-chosen path is cut and escaped in logs */

struct http01_server {
	struct MHD_Daemon *daemons[MAX_DAEMONS];
	size_t n_daemons;
	char *thumbprint;
	int stateless;
	pthread_mutex_t lock; /* guards tokens: added from the main thread, read by the pool */
	char **tokens;
	size_t n_tokens;
};

/* ---- request handling ---- */

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("http01: libmicrohttpd: %s", buf);
}

/* Copy at most LOG_PATH_MAX bytes of s, escaping anything that is not printable
 * ASCII, so that a request cannot forge log lines. */
static void log_escape(char *out, size_t outlen, const char *s)
{
	size_t o = 0, i;

	for (i = 0; s != NULL && s[i] != '\0' && i < LOG_PATH_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 5 >= outlen)
			break;
		if (c >= 0x21 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	if (s != NULL && s[i] != '\0' && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void peer_name(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = NULL;
	const struct sockaddr *sa = NULL;
	socklen_t salen;

	snprintf(buf, len, "?");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	sa = ci->client_addr;
	salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					  : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, salen, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
	/* IPv4 peers of the dual-stack socket read better without the mapping prefix */
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

/* No percent-decoding: a token is base64url, which never needs it, so an encoded
 * byte can only be a trick ("%2F", "%00" that would cut the token short). Left
 * encoded, '%' fails the token check. */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

/* One line per request: method, path, status, peer. */
static void log_request(struct MHD_Connection *conn, const char *method, const char *url,
			unsigned int status)
{
	char m[32], path[LOG_PATH_MAX * 4 + 8], peer[NI_MAXHOST];

	log_escape(m, sizeof(m), method);
	log_escape(path, sizeof(path), url);
	peer_name(conn, peer, sizeof(peer));
	log_info("http01: %s %s %u %s", m, path, status, peer);
}

static int token_known(struct http01_server *s, const char *token)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n_tokens && !found; i++)
		found = strcmp(s->tokens[i], token) == 0;
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* The key authorization for url, malloc'd, or NULL when url is not one we answer. */
static char *key_authorization(struct http01_server *s, const char *url)
{
	const char *token = NULL;

	if (url == NULL || strncmp(url, CHALLENGE_PREFIX, strlen(CHALLENGE_PREFIX)) != 0)
		return NULL;
	token = url + strlen(CHALLENGE_PREFIX);
	/* url is not percent-decoded (no_unescape): "%2F" or ".." fails here */
	if (!b64url_valid(token, TOKEN_MAX))
		return NULL;
	if (!s->stateless && !token_known(s, token))
		return NULL;
	return xasprintf("%s.%s", token, s->thumbprint);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned int status,
				 const char *body)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http01_server *s = cls;
	char *keyauth = NULL;
	unsigned int status = MHD_HTTP_NOT_FOUND;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	/* Answer on the first call: a body (if any) is never read, and MHD closes the
	 * connection after the response instead of buffering it. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		keyauth = key_authorization(s, url);
	if (keyauth != NULL)
		status = MHD_HTTP_OK;
	ret = send_text(conn, status, keyauth != NULL ? keyauth : "not found\n");
	log_request(conn, method, url, status);
	free(keyauth);
	return ret;
}

/* ---- server lifecycle ---- */

static struct MHD_Daemon *daemon_start(struct http01_server *s, unsigned int flags, int port,
				       const struct sockaddr *sa)
{
	flags |= MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
				MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)POOL_THREADS,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)CONN_PER_IP,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				sa != NULL ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, sa,
				MHD_OPTION_END);
}

/* Every address: one dual-stack [::] socket where the host has IPv6; otherwise (or
 * when the IPv6 socket cannot take IPv4, e.g. IPv6 disabled) a plain 0.0.0.0 one. */
static int listen_any(struct http01_server *s, int port)
{
	struct MHD_Daemon *d = NULL;

	d = daemon_start(s, MHD_USE_DUAL_STACK, port, NULL);
	if (d != NULL) {
		s->daemons[s->n_daemons++] = d;
		return 0;
	}
	log_debug("http01: no dual-stack [::]:%d, trying IPv6-only plus IPv4", port);
	d = daemon_start(s, MHD_USE_IPv6, port, NULL);
	if (d != NULL)
		s->daemons[s->n_daemons++] = d;
	d = daemon_start(s, 0, port, NULL);
	if (d != NULL)
		s->daemons[s->n_daemons++] = d;
	return s->n_daemons > 0 ? 0 : -1;
}

/* Fill ss from a numeric address, with or without [brackets] around an IPv6 one.
 * Returns the address family, or -1. Names are refused: a responder that resolves
 * a name at start would listen wherever DNS said then. */
static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(addr);

	memset(ss, 0, sizeof(*ss));
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']' && len - 2 < sizeof(host)) {
		memcpy(host, addr + 1, len - 2);
		host[len - 2] = '\0';
	} else if (len < sizeof(host)) {
		memcpy(host, addr, len + 1);
	} else {
		return -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return AF_INET6;
	}
	return -1;
}

static int listen_addr(struct http01_server *s, const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *d = NULL;
	int family = parse_addr(addr, port, &ss);

	if (family < 0) {
		log_error("http01: %s: not a numeric IPv4 or IPv6 address", addr);
		errno = EINVAL;
		return -1;
	}
	d = daemon_start(s, family == AF_INET6 ? MHD_USE_IPv6 : 0, port,
			 (const struct sockaddr *)&ss);
	if (d == NULL)
		return -1;
	s->daemons[s->n_daemons++] = d;
	return 0;
}

struct http01_server *http01_start(const char *addr, int port, const char *thumbprint,
				   int stateless)
{
	struct http01_server *s = NULL;
	int rc;

	if (port <= 0 || port > 65535 || thumbprint == NULL ||
	    !b64url_valid(thumbprint, THUMBPRINT_LEN)) {
		log_error("http01: invalid port %d or thumbprint", port);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->thumbprint = strdup(thumbprint)) == NULL) {
		log_error("http01: out of memory");
		free(s);
		return NULL;
	}
	s->stateless = stateless;
	errno = 0;
	pthread_mutex_init(&s->lock, NULL);
	rc = addr == NULL ? listen_any(s, port) : listen_addr(s, addr, port);
	if (rc != 0) {
		log_error("http01: cannot listen on %s port %d: %s",
			  addr == NULL ? "every address" : addr, port,
			  errno != 0 ? strerror(errno) : "unknown error");
		http01_stop(s);
		return NULL;
	}
	log_info("http01: listening on %s port %d (%s)", addr == NULL ? "every address" : addr,
		 port, stateless ? "stateless: any token" : "this order's tokens");
	return s;
}

int http01_add_token(struct http01_server *s, const char *token)
{
	char *copy = NULL;
	char **grown = NULL;
	int rc = -1;

	if (s == NULL || !b64url_valid(token, TOKEN_MAX)) {
		log_error("http01: refusing a malformed challenge token");
		return -1;
	}
	if ((copy = strdup(token)) == NULL)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (s->n_tokens >= MAX_TOKENS) {
		log_error("http01: too many challenge tokens");
		goto out;
	}
	grown = realloc(s->tokens, (s->n_tokens + 1) * sizeof(*grown));
	if (grown == NULL)
		goto out;
	s->tokens = grown;
	s->tokens[s->n_tokens++] = copy;
	copy = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&s->lock);
	free(copy);
	return rc;
}

void http01_stop(struct http01_server *s)
{
	size_t i;

	if (s == NULL)
		return;
	/* MHD_stop_daemon joins the pool threads, so nothing reads tokens afterwards */
	for (i = 0; i < s->n_daemons; i++)
		MHD_stop_daemon(s->daemons[i]);
	for (i = 0; i < s->n_tokens; i++)
		free(s->tokens[i]);
	free(s->tokens);
	free(s->thumbprint);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- commands ---- */

static int thumbprint_valid(const char *t)
{
	return t != NULL && strlen(t) == THUMBPRINT_LEN && b64url_valid(t, THUMBPRINT_LEN);
}

/* The account thumbprint: from --thumbprint, else once through the signer, which is
 * stopped again at once so that no token session outlives this call. */
static int account_thumbprint(const struct globals *g, const char *given, char **out)
{
	struct signer *sg = NULL;
	int rc;

	if (given != NULL) {
		if (!thumbprint_valid(given)) {
			log_error("--thumbprint: expected %d base64url characters",
				  THUMBPRINT_LEN);
			return EXIT_USAGE;
		}
		*out = strdup(given);
		return *out != NULL ? EXIT_OK : EXIT_FAIL;
	}
	if (g->key_uri == NULL && g->signer == NULL) {
		log_error("no account key: give --key URI (or P11ACME_KEY), --signer, or "
			  "--thumbprint");
		return EXIT_USAGE;
	}
	if ((rc = cli_signer_start(g, NULL, NULL, &sg)) != EXIT_OK)
		return rc;
	rc = signer_thumbprint(sg, SIGNER_KEY_ACCOUNT, out) == SIGNER_OK ? EXIT_OK : EXIT_FAIL;
	signer_stop(sg);
	return rc;
}

/* "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT". *addr is malloc'd, NULL for every
 * address ("", "*", "[::]" with dual stack are not special-cased: "[::]" binds IPv6
 * only, as asked). */
static int parse_listen(const char *arg, char **addr, int *port)
{
	struct sockaddr_storage ss;
	const char *colon = strrchr(arg, ':');
	const char *p = colon != NULL ? colon + 1 : arg;
	long n;

	*addr = NULL;
	if (parse_long(p, 1, 65535, &n) != 0)
		return -1;
	*port = (int)n;
	if (colon == NULL || colon == arg || (colon == arg + 1 && arg[0] == '*'))
		return 0;
	/* an unbracketed IPv6 address has more colons: demand brackets to avoid guessing */
	if (arg[0] != '[' && memchr(arg, ':', (size_t)(colon - arg)) != NULL)
		return -1;
	*addr = strndup(arg, (size_t)(colon - arg));
	if (*addr == NULL || parse_addr(*addr, *port, &ss) < 0) {
		free(*addr);
		*addr = NULL;
		return -1;
	}
	return 0;
}

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: p11acme [GLOBAL OPTIONS] serve-http01 [--listen ADDR:PORT] [--thumbprint T]\n"
		"\n"
		"Answer http-01 challenges statelessly for the account: any request for\n"
		"/.well-known/acme-challenge/<token> gets <token>.<thumbprint>; everything else\n"
		"gets 404. Runs until SIGTERM or SIGINT.\n"
		"\n"
		"  --listen ADDR:PORT  listen only there ([V6]:PORT for IPv6, :PORT or PORT for\n"
		"                      every address); default every address, port 80\n"
		"  --thumbprint T      the account key's RFC 7638 thumbprint (43 characters, from\n"
		"                      `p11acme account thumbprint`); then no token is opened\n"
		"  -h, --help          this help\n");
}

/* Block the stop signals before any server thread exists, so that they inherit the
 * mask and only sigwait() in the main thread sees SIGTERM/SIGINT/SIGHUP. */
static int wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	if (sigwait(set, &sig) != 0)
		return -1;
	log_info("serve-http01: signal %d, stopping", sig);
	return 0;
}

int cmd_serve_http01(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "thumbprint", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_arg = NULL, *given = NULL;
	char *addr = NULL, *thumbprint = NULL;
	struct http01_server *srv = NULL;
	sigset_t set, old;
	int port = 80, c, rc = EXIT_USAGE;

	optind = 0; /* GNU: full re-initialisation, main.c may have run getopt already */
	while ((c = opts_getopt(argc, argv, "l:t:h", opts)) != -1) {
		switch (c) {
		case 'l': listen_arg = optarg; break;
		case 't': given = optarg; break;
		case 'h': serve_usage(stdout); return EXIT_OK;
		default: serve_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_error("serve-http01: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (listen_arg != NULL && parse_listen(listen_arg, &addr, &port) != 0) {
		log_error("--listen %s: expected ADDR:PORT, [IPV6]:PORT or PORT", listen_arg);
		goto out;
	}
	rc = account_thumbprint(g, given, &thumbprint);
	if (rc != EXIT_OK)
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = EXIT_FAIL;
	srv = http01_start(addr, port, thumbprint, 1);
	if (srv != NULL) {
		log_info("serve-http01: thumbprint %s", thumbprint);
		rc = wait_for_stop(&set) == 0 ? EXIT_OK : EXIT_FAIL;
		http01_stop(srv);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	free(addr);
	free(thumbprint);
	return rc;
}

/* ---- http01-config ---- */

static void config_usage(FILE *f)
{
	fprintf(f,
		"usage: p11acme [GLOBAL OPTIONS] http01-config nginx|apache [--thumbprint T]\n"
		"\n"
		"Print a web server snippet that answers http-01 challenges statelessly for the\n"
		"account (token.thumbprint). Put the nginx one inside the port-80 server {} block,\n"
		"the Apache one inside the port-80 <VirtualHost> (needs mod_rewrite).\n"
		"\n"
		"  --thumbprint T  the account thumbprint; without it, computed through the token\n"
		"  -h, --help      this help\n");
}

static void print_nginx(const char *t)
{
	printf("# p11acme: stateless http-01 for the ACME account with thumbprint %s\n"
	       "# Place inside the server {} block that serves port 80 for every name.\n"
	       "location ~ \"^/\\.well-known/acme-challenge/([-_a-zA-Z0-9]{1,%d})$\" {\n"
	       "    default_type text/plain;\n"
	       "    return 200 \"$1.%s\";\n"
	       "}\n",
	       t, TOKEN_MAX, t);
}

/* Apache 2.4 has no directive that returns a computed body, except ErrorDocument,
 * whose string is an ap_expr since 2.4.13. mod_rewrite's R=200 ends the request with
 * status 200, and the ErrorDocument for 200 supplies token.thumbprint from the regex
 * capture that mod_rewrite put into the environment. Checked with Debian's 2.4 by
 * tests/t/http01-nginx.sh where apache2 is installed. */
static void print_apache(const char *t)
{
	printf("# p11acme: stateless http-01 for the ACME account with thumbprint %s\n"
	       "# Place inside each <VirtualHost *:80>; needs mod_rewrite (a2enmod rewrite),\n"
	       "# Apache 2.4.13 or later; mod_headers (optional) makes it text/plain.\n"
	       "<IfModule !mod_rewrite.c>\n"
	       "    Error \"p11acme http-01 snippet: mod_rewrite is required (a2enmod rewrite)\"\n"
	       "</IfModule>\n"
	       "RewriteEngine On\n"
	       "RewriteCond \"%%{REQUEST_METHOD}\" \"^(GET|HEAD)$\"\n"
	       "RewriteRule \"^/\\.well-known/acme-challenge/([-_a-zA-Z0-9]{1,%d})$\" - "
	       "[E=P11ACME_TOKEN:$1,R=200,L]\n"
	       "<LocationMatch \"^/\\.well-known/acme-challenge/[-_a-zA-Z0-9]{1,%d}$\">\n"
	       "    ErrorDocument 200 \"%%{ENV:P11ACME_TOKEN}.%s\"\n"
	       "    <IfModule mod_headers.c>\n"
	       "        Header always set Content-Type \"text/plain\"\n"
	       "    </IfModule>\n"
	       "</LocationMatch>\n",
	       t, TOKEN_MAX, TOKEN_MAX, t);
}

int cmd_http01_config(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "thumbprint", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = NULL, *kind = NULL;
	char *thumbprint = NULL;
	int c, rc;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "t:h", opts)) != -1) {
		switch (c) {
		case 't': given = optarg; break;
		case 'h': config_usage(stdout); return EXIT_OK;
		default: config_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		config_usage(stderr);
		return EXIT_USAGE;
	}
	kind = argv[optind];
	if (strcmp(kind, "nginx") != 0 && strcmp(kind, "apache") != 0) {
		log_error("http01-config: unknown server '%s' (nginx or apache)", kind);
		return EXIT_USAGE;
	}
	rc = account_thumbprint(g, given, &thumbprint);
	if (rc != EXIT_OK)
		return rc;
	if (strcmp(kind, "nginx") == 0)
		print_nginx(thumbprint);
	else
		print_apache(thumbprint);
	free(thumbprint);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
