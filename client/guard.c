/*
 * client/guard.c: what `issue` may do to a certificate name that already exists
 * (guard.h).
 */
#include "client/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client/ari.h"
#include "client/renewal.h"
#include "client/store.h"
#include "common/common.h"

/* The names, space separated (malloc'd). */
static char *joined(const char *const *names, size_t n)
{
	char *all = strdup(""), *na;

	for (size_t i = 0; all != NULL && i < n; i++) {
		na = xasprintf("%s%s%s", all, i ? " " : "", names[i]);
		free(all);
		all = na;
	}
	return all;
}

/* 1 when the conf's domain lines are the same set as names (in any order). */
static int same_set(const struct renewal_conf *c, char *const *names, size_t n,
		    const char **had, size_t *n_had)
{
	const char *d;
	size_t from = 0;
	int same = 1;

	*n_had = 0;
	while ((d = renewal_next(c, "domain", &from)) != NULL && *n_had < RENEWAL_MAX_KV) {
		size_t j = 0;

		while (j < n && strcasecmp(d, names[j]) != 0)
			j++;
		if (j == n)
			same = 0;
		had[(*n_had)++] = d;
	}
	return same && *n_had == n;
}

/* 1 when the live certificate of name is due as renew sees it without asking the
 * CA (missing, expired, revoked, or less than a third of its lifetime left); 0 not
 * yet, with the moment it is due in *due_at. */
static int live_due(const char *config_dir, const char *name, time_t *due_at)
{
	char *path = xasprintf("%s/live/%s/cert.pem", config_dir, name);
	struct cert_info ci = { 0 };
	int r = path != NULL ? cert_info_load(path, &ci) : -1, due;

	free(path);
	if (r != 0)
		return 1;
	*due_at = ci.not_after - (ci.not_after - ci.not_before) / 3;
	due = time(NULL) >= *due_at || store_live_revoked(config_dir, name);
	cert_info_free(&ci);
	return due;
}

int issue_guard(const char *config_dir, const char *cert_name, char *const *names,
		size_t n_names)
{
	struct renewal_conf c = { 0 };
	const char *had[RENEWAL_MAX_KV];
	char err[512] = "", *h = NULL, *want = NULL, at[32];
	size_t n_had = 0;
	time_t due_at = 0;
	int rc = EXIT_OK, same;

	if (renewal_read(config_dir, cert_name, &c, err, sizeof(err)) != EXIT_OK)
		goto out; /* a new name (or a broken conf, which issue replaces) */
	same = same_set(&c, names, n_names, had, &n_had);
	h = joined(had, n_had);
	want = joined((const char *const *)names, n_names);
	if (h == NULL || want == NULL) {
		rc = EXIT_FAIL;
	} else if (!same) {
		log_error("%s already exists for other names: %s (renewal/%s.conf); -d gives %s. "
			  "A typo in --cert-name? Give --force to replace that certificate and its "
			  "renewal config", cert_name, h, cert_name, want);
		rc = EXIT_USAGE;
	} else if (!live_due(config_dir, cert_name, &due_at)) {
		rfc3339_format(due_at, at, sizeof(at));
		log_info("%s: the certificate for %s is live and not due (renew replaces it from "
			 "about %s); nothing was ordered. --force orders a new one anyway (it counts "
			 "against the CA's limit on duplicate certificates, 5 a week at Let's Encrypt)",
			 cert_name, want, at);
		rc = ISSUE_NOT_DUE;
	}
out:
	free(h);
	free(want);
	renewal_free(&c);
	return rc;
}
