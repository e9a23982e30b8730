/*
 * client/solve.h: challenge solvers for `issue`. A solver is prepared once per
 * order; solver_begin() readies one authorization's challenge (files, tokens,
 * hooks) and keeps it in the solver's list, which issue walks to POST each
 * challenge and wait for its authorization; solver_end() undoes everything,
 * telling dns hooks whether each authorization ended valid.
 */
#ifndef P11ACME_CLIENT_SOLVE_H
#define P11ACME_CLIENT_SOLVE_H

#include "client/acme.h"
#include "client/hook.h"

enum solver_kind {
	SOLVE_NONE = 0,
	SOLVE_WEBROOT,     /* write DIR/.well-known/acme-challenge/TOKEN */
	SOLVE_STANDALONE,  /* built-in http-01 server answering this order's tokens */
	SOLVE_STATELESS,   /* answer nothing here: a surrogate answers token.thumbprint */
	SOLVE_DNS,         /* dns-01 through a uacme-style hook */
	SOLVE_REUSE,       /* answer nothing; valid authorizations only */
};

/* One name of a webroot map (certbot's -w before its -d names). */
struct webroot_map {
	const char *name, *dir;
};

struct solver_opts {
	enum solver_kind kind;
	const char *webroot;      /* the webroot, or the map's first */
	const struct webroot_map *webroot_map; /* per name, with several --webroot */
	size_t n_webroot_map;
	const char *http_address; /* NULL: every address */
	int http_port;            /* default 80 */
	const char *dns_hook;
	struct hook_opts hook;    /* for dns hooks */
};

struct solver;

/* Name of a solver as written in renewal configs ("webroot", "dns-hook", ...). */
const char *solver_name(enum solver_kind kind);
/* The challenge type a solver answers ("http-01" or "dns-01"). */
const char *solver_chall_type(enum solver_kind kind);

struct solver *solver_new(const struct solver_opts *o, const char *thumbprint);
/* Ready the challenge of pending authorization z (fetched from authz_url) and add it
 * to the solver's list. 0, or -1 after logging. */
int solver_begin(struct solver *s, const struct acme *a, const struct acme_authz *z,
		 const char *authz_url);
/* The list of readied challenges, in the order solver_begin added them. */
size_t solver_count(const struct solver *s);
const char *solver_chall_url(const struct solver *s, size_t i); /* the URL to POST */
const char *solver_authz_url(const struct solver *s, size_t i);
/* Record how challenge i's authorization ended (for dns hooks' done/failed). */
void solver_result(struct solver *s, size_t i, int valid);
/* Remove files, stop the server, run done/failed hooks; frees s. */
void solver_end(struct solver *s);

/* 1 for a token we can put in a file name or URL path. */
int token_valid(const char *token);

#endif
