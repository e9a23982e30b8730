/*
 * client/issue.h: one issuance (issue.c). `p11acme issue` parses its command line
 * into a struct issue_req (request.h); `p11acme renew` builds the same request from
 * renewal/<name>.conf (renewal.h). Both call issue_run(), which orders,
 * authorizes, finalizes, commits the new set, records the renewal conf and runs the
 * deploy hook. The data flow is described in docs/ARCHITECTURE.md.
 *
 * Functions return an enum exit_status.
 */
#ifndef P11ACME_CLIENT_ISSUE_H
#define P11ACME_CLIENT_ISSUE_H

#include <stddef.h>

#include "client/client.h"
#include "client/request.h"

/* What an issuance produced; both NULL until the new set is committed. */
struct issue_result {
	char *live_dir;   /* CONFIG_DIR/live/<cert_name> */
	char *cert_url;   /* the certificate's URL at the CA */
	char *needs[ISSUE_MAX_NAMES]; /* --reuse-only: identifiers without a valid authz */
	size_t n_needs;
};

/* Issue: session, newOrder, authorizations, finalize, download, commit, then the
 * renewal conf and the deploy hook. res is filled in once the set is committed; a
 * failure after that (conf or hook) returns EXIT_FAIL with res set and the new
 * certificate live. Without r->force, an existing cert_name is checked first
 * (guard.h): EXIT_USAGE for another name set, ISSUE_NOT_DUE (said; nothing
 * ordered) for the same set not due. Free res with issue_result_free, r with issue_req_free. */
int issue_run(const struct globals *g, struct issue_req *r, struct issue_result *res);

void issue_result_free(struct issue_result *res);

#endif
