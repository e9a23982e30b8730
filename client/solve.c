/*
 * client/solve.c: challenge solvers for `issue` (solve.h).
 */
#include "client/solve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/hook.h"
#include "client/http01.h"
#include "client/cleanup.h"
#include "common/common.h"

#define SOLVER_MAX 100

/* One readied challenge. */
struct pending {
	char *authz_url;
	char *chall_url;
	char *ident;   /* identifier without "*." */
	char *token;
	char *auth;    /* dns-01 TXT value */
	char *file;    /* webroot file written */
	int valid;
};

struct solver {
	struct solver_opts o;
	char *thumbprint;
	struct http01_server *srv;
	struct webroot_dir {
		const char *root;  /* a webroot (o.webroot or one of o.webroot_map) */
		char *chall_dir;   /* root/.well-known/acme-challenge */
		int made_dirs;     /* we created .well-known and acme-challenge */
	} wr[SOLVER_MAX];
	size_t n_wr;
	struct pending p[SOLVER_MAX];
	size_t n;
};

const char *solver_name(enum solver_kind kind)
{
	switch (kind) {
	case SOLVE_WEBROOT: return "webroot";
	case SOLVE_STANDALONE: return "standalone";
	case SOLVE_STATELESS: return "stateless";
	case SOLVE_DNS: return "dns-hook";
	case SOLVE_REUSE: return "reuse-only";
	default: return "none";
	}
}

const char *solver_chall_type(enum solver_kind kind)
{
	return kind == SOLVE_DNS ? "dns-01" : "http-01";
}

int token_valid(const char *token)
{
	/* base64url only: no '/', '.', '%' can reach a path; 16 chars = 96 bits at least. */
	return token != NULL && strlen(token) >= 16 && b64url_valid(token, ACME_TOKEN_MAX);
}

struct solver *solver_new(const struct solver_opts *o, const char *thumbprint)
{
	struct solver *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->o = *o;
	if ((s->thumbprint = strdup(thumbprint)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- webroot ---- */

/* The webroot for an identifier: its entry in the map, else the one --webroot. */
static const char *webroot_of(const struct solver *s, const char *ident)
{
	for (size_t i = 0; i < s->o.n_webroot_map; i++)
		if (strcmp(s->o.webroot_map[i].name, ident) == 0)
			return s->o.webroot_map[i].dir;
	return s->o.webroot;
}

/* root/.well-known/acme-challenge, made (0755) the first time it is asked for. */
static const char *webroot_dirs(struct solver *s, const char *root)
{
	struct webroot_dir *w;
	char *wk = NULL;
	struct stat st;
	int made_chall;

	for (size_t i = 0; root != NULL && i < s->n_wr; i++)
		if (strcmp(s->wr[i].root, root) == 0)
			return s->wr[i].chall_dir;
	if (root == NULL || s->n_wr >= SOLVER_MAX || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("%s: not a directory", root != NULL ? root : "(no --webroot)");
		return NULL;
	}
	w = &s->wr[s->n_wr];
	w->root = root;
	if ((wk = xasprintf("%s/.well-known", root)) == NULL ||
	    (w->chall_dir = xasprintf("%s/acme-challenge", wk)) == NULL)
		goto fail;
	w->made_dirs = stat(wk, &st) != 0;
	made_chall = stat(w->chall_dir, &st) != 0;
	s->n_wr++;  /* from here, solver_end removes what was made */
	if (mkdir_p(w->chall_dir, 0755) != 0) {
		log_error("%s: %s", w->chall_dir, strerror(errno));
		goto fail;
	}
	/* 0755 whatever the umask (the timer's unit has UMask=0077): the web server
	 * usually runs as another user and must reach the files. */
	if ((w->made_dirs && chmod(wk, 0755) != 0) ||
	    (made_chall && chmod(w->chall_dir, 0755) != 0)) {
		log_error("%s: chmod: %s", w->chall_dir, strerror(errno));
		goto fail;
	}
	/* what we made goes again, even when a signal ends the run (cleanup.h) */
	if (made_chall)
		cleanup_add_dir(w->chall_dir);
	if (w->made_dirs)
		cleanup_add_dir(wk);
	free(wk);
	return w->chall_dir;
fail:
	free(wk);
	return NULL;
}

static int webroot_begin(struct solver *s, struct pending *p, const char *keyauth)
{
	const char *dir = webroot_dirs(s, webroot_of(s, p->ident));

	if (dir == NULL)
		return -1;
	if ((p->file = xasprintf("%s/%s", dir, p->token)) == NULL)
		return -1;
	/* World-readable: the web server usually runs as another user. */
	if (file_write_atomic(p->file, keyauth, strlen(keyauth), 0644) != 0) {
		log_error("%s: %s", p->file, strerror(errno));
		free(p->file);
		p->file = NULL;
		return -1;
	}
	cleanup_add_file(p->file);
	log_debug("%s: wrote %s", p->ident, p->file);
	return 0;
}

/* ---- standalone ---- */

static int standalone_begin(struct solver *s, struct pending *p)
{
	if (s->srv == NULL) {
		s->srv = http01_start(s->o.http_address, s->o.http_port > 0 ? s->o.http_port : 80,
				      s->thumbprint, 0);
		if (s->srv == NULL)
			return -1;
	}
	return http01_add_token(s->srv, p->token);
}

/* ---- dns-01 hook ---- */

/* The environment of a dns hook call (5 malloc'd entries). 0, or -1. */
static int dns_hook_env(const struct pending *p, const char *method, char **env)
{
	env[0] = xasprintf("P11ACME_METHOD=%s", method);
	env[1] = xasprintf("P11ACME_TYPE=dns-01");
	env[2] = xasprintf("P11ACME_IDENT=%s", p->ident);
	env[3] = xasprintf("P11ACME_TOKEN=%s", p->token);
	env[4] = xasprintf("P11ACME_AUTH=%s", p->auth);
	for (int i = 0; i < 5; i++)
		if (env[i] == NULL)
			return -1;
	return 0;
}

/* Prepare the "failed" call for this challenge, for a term signal that ends the
 * run before solver_end (cleanup.h). Without it the TXT record would stay. */
static void dns_cleanup_register(struct solver *s, const struct pending *p)
{
	char *args[5] = { "failed", "dns-01", p->ident, p->token, p->auth };
	char *env[5] = { NULL }, **argv = NULL, **envp = NULL;

	if (dns_hook_env(p, "failed", env) == 0 &&
	    hook_prepare(s->o.dns_hook, args, 5, env, 5, &s->o.hook, &argv, &envp) == 0)
		cleanup_add_exec(argv, envp);
	for (int i = 0; i < 5; i++)
		free(env[i]);
}

static int dns_hook(struct solver *s, const struct pending *p, const char *method)
{
	char *args[5] = { (char *)method, "dns-01", p->ident, p->token, p->auth };
	char *env[5] = { NULL };
	int rc = -1, st;

	if (dns_hook_env(p, method, env) != 0)
		goto out;
	st = hook_run(s->o.dns_hook, args, 5, env, 5, &s->o.hook);
	if (st != 0) {
		if (st > 0)
			log_error("%s: dns hook '%s %s' exited with %d", p->ident, s->o.dns_hook,
				  method, st);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 5; i++)
		free(env[i]);
	return rc;
}

static int dns_begin(struct solver *s, struct pending *p, const char *keyauth)
{
	if ((p->auth = acme_dns_txt(keyauth)) == NULL)
		return -1;
	dns_cleanup_register(s, p);
	if (dns_hook(s, p, "begin") != 0) {
		/* uacme's contract: a non-zero begin declines the challenge. */
		log_error("%s: the dns hook declined the dns-01 challenge", p->ident);
		free(p->auth);
		p->auth = NULL; /* no done/failed for a challenge never begun */
		return -1;
	}
	return 0;
}

/* ---- common ---- */

static const struct acme_challenge *find_chall(const struct acme_authz *z, const char *type)
{
	for (size_t i = 0; i < z->n_challs; i++)
		if (strcmp(z->challs[i].type, type) == 0)
			return &z->challs[i];
	return NULL;
}

int solver_begin(struct solver *s, const struct acme *a, const struct acme_authz *z,
		 const char *authz_url)
{
	const char *type = solver_chall_type(s->o.kind);
	const struct acme_challenge *c = find_chall(z, type);
	struct pending *p;
	char *keyauth = NULL;
	int rc = -1;

	if (c == NULL) {
		log_error("%s%s: the CA offers no %s challenge%s", z->wildcard ? "*." : "",
			  z->ident.value, type,
			  z->wildcard ? " (wildcards need --dns-hook)" : "");
		return -1;
	}
	if (!token_valid(c->token)) {
		log_error("%s: the CA sent a malformed %s token", z->ident.value, type);
		return -1;
	}
	if (s->n >= SOLVER_MAX) {
		log_error("too many authorizations in one order");
		return -1;
	}
	p = &s->p[s->n++]; /* from here on solver_end cleans this entry up */
	memset(p, 0, sizeof(*p));
	p->authz_url = strdup(authz_url);
	p->chall_url = strdup(c->url);
	/* The authorization identifier never has "*."; strip it anyway for hooks. */
	p->ident = strdup(strncmp(z->ident.value, "*.", 2) == 0 ? z->ident.value + 2
							       : z->ident.value);
	p->token = strdup(c->token);
	keyauth = acme_keyauth(a, c->token);
	if (p->authz_url == NULL || p->chall_url == NULL || p->ident == NULL || p->token == NULL ||
	    keyauth == NULL)
		goto out;
	switch (s->o.kind) {
	case SOLVE_WEBROOT: rc = webroot_begin(s, p, keyauth); break;
	case SOLVE_STANDALONE: rc = standalone_begin(s, p); break;
	case SOLVE_DNS: rc = dns_begin(s, p, keyauth); break;
	case SOLVE_STATELESS: rc = 0; break;
	default: rc = -1; break;
	}
out:
	free(keyauth);
	return rc;
}

size_t solver_count(const struct solver *s)
{
	return s->n;
}

const char *solver_chall_url(const struct solver *s, size_t i)
{
	return i < s->n ? s->p[i].chall_url : NULL;
}

const char *solver_authz_url(const struct solver *s, size_t i)
{
	return i < s->n ? s->p[i].authz_url : NULL;
}

void solver_result(struct solver *s, size_t i, int valid)
{
	if (i < s->n)
		s->p[i].valid = valid;
}

void solver_end(struct solver *s)
{
	char *wk = NULL;

	if (s == NULL)
		return;
	cleanup_clear();   /* from here on, the normal cleanup below */
	for (size_t i = 0; i < s->n; i++) {
		struct pending *p = &s->p[i];

		if (p->file != NULL && unlink(p->file) != 0 && errno != ENOENT)
			log_warn("%s: %s", p->file, strerror(errno));
		if (s->o.kind == SOLVE_DNS && p->auth != NULL)
			dns_hook(s, p, p->valid ? "done" : "failed");
		free(p->authz_url);
		free(p->chall_url);
		free(p->ident);
		free(p->token);
		free(p->auth);
		free(p->file);
	}
	for (size_t i = 0; i < s->n_wr; i++) {
		if (s->wr[i].chall_dir != NULL && s->wr[i].made_dirs) {
			/* Only what we made, and only when empty (rmdir refuses otherwise). */
			rmdir(s->wr[i].chall_dir);
			free(wk);
			if ((wk = xasprintf("%s/.well-known", s->wr[i].root)) != NULL)
				rmdir(wk);
		}
		free(s->wr[i].chall_dir);
	}
	if (s->srv != NULL)
		http01_stop(s->srv);
	free(wk);
	free(s->thumbprint);
	free(s);
}
