/*
 * client/guard.h: `issue` on a certificate name that already exists (guard.c). A
 * typo in --cert-name must not silently replace another certificate, and `issue`
 * run from cron must not burn the CA's duplicate-certificate limit.
 */
#ifndef P11ACME_CLIENT_GUARD_H
#define P11ACME_CLIENT_GUARD_H

#include <stddef.h>

#include "client/client.h"

#define ISSUE_NOT_DUE (-2)  /* issue_guard, issue_run: nothing to do (said); exit 0 */

/* Before anything is ordered for cert_name: EXIT_OK to go on (a new name, the same
 * names and due); EXIT_USAGE after an error when renewal/<cert_name>.conf records
 * another set of names (a --cert-name typo would replace that certificate);
 * ISSUE_NOT_DUE after a message when the set is unchanged and its live certificate
 * is not due (re-issuing would count against the CA's duplicate-certificate limit).
 * The caller skips it with --force. */
int issue_guard(const char *config_dir, const char *cert_name, char *const *names,
		size_t n_names);

#endif
