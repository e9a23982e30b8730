/*
 * client/request.h: what to issue and how, as `issue` parses it from its command
 * line and `renew` reads it from a renewal conf (request.c). issue.h runs it,
 * renewal.h records it.
 *
 * Functions return an enum exit_status.
 */
#ifndef P11ACME_CLIENT_REQUEST_H
#define P11ACME_CLIENT_REQUEST_H

#include <stddef.h>

#include "client/acme.h"
#include "client/client.h"
#include "client/solve.h"

#define ISSUE_MAX_NAMES 100

/* What to issue and how. The strings are not owned (they point into argv or a
 * renewal conf), except names[] and cert_name_owned. */
struct issue_req {
	char *names[ISSUE_MAX_NAMES]; /* normalized DNS names (malloc'd); names[0] is the CN */
	size_t n_names;
	const char *cert_name;        /* live/<cert_name>; NULL: from names[0] */
	char *cert_name_owned;        /* what issue_run derived cert_name from, or NULL */
	struct solver_opts solver;    /* solver.hook is filled in by issue_run */
	const char *key_type;         /* a fresh certificate key of this type (default ec256) */
	const char *cert_key;         /* or a certificate key in a token (pkcs11: URI) */
	const char *csr_file;         /* or this CSR (names from it; -d must agree) */
	const char *profile;          /* ACME profile for newOrder, or NULL */
	const char *preferred_chain;  /* issuer CN of the chain to prefer, or NULL */
	const char *deploy_hook;      /* run after the set is live, and recorded */
	const char *hook_this_run;    /* run instead of deploy_hook, not recorded (renew
				       * --deploy-hook); NULL: deploy_hook */
	const char *replaces;         /* RFC 9773 certID of the certificate replaced, or NULL */
	struct acme_newacct account;  /* issue --email, --agree-tos: register when the key
				       * has no account yet (not recorded; renew has none) */
	int force;                    /* issue --force, and renew (it decided): no guard.h
				       * check of an existing cert_name */
	struct webroot_map map[ISSUE_MAX_NAMES]; /* with several --webroot: each name's
				       * (solver.webroot_map points here) */
	char *map_text[ISSUE_MAX_NAMES]; /* renewal_to_req's split copies (malloc'd) */
};

/* Normalize a DNS name (lowercase, no trailing dot, LDH labels, '*.' only first) and
 * add it: EXIT_USAGE (printed) for a malformed or repeated name or too many. */
int issue_req_add_name(struct issue_req *r, const char *name);

/* The checks of options that only make sense together (one solver, one key choice,
 * valid names, profile and certID): EXIT_OK or EXIT_USAGE (printed). */
int issue_req_check(const struct issue_req *r);

/* Free the names and the derived certificate name; r is zeroed. */
void issue_req_free(struct issue_req *r);

#endif
