/*
 * client/pending.h: the record of an order in flight (pending.c), so that a run that
 * ordered but could not commit (disk full, read-only config dir, killed) is finished
 * by the next run, which fetches the same order and downloads the same certificate
 * instead of ordering again (every new order counts against the CA's limits).
 *
 *   CONFIG_DIR/renewal/.<name>.order   JSON, mode 0600: server, account, order URL,
 *                                      names, and the certificate key it was made for
 *                                      (PEM; absent with --cert-key or --csr)
 *
 * Written after newOrder, before the CA sees a CSR; removed once the set is live, when
 * the run fails before the order is finished, when the certificate fails a check
 * (issue.c: it would fail it again), and when a signal ends the run before
 * the authorizations are done (cleanup.h): only a finished order (or one being
 * finalized) is worth finishing next time.
 */
#ifndef P11ACME_CLIENT_PENDING_H
#define P11ACME_CLIENT_PENDING_H

#include <stddef.h>
#include <openssl/evp.h>

#include "client/acme.h"

struct pending_order {
	char *server, *account, *order_url;
	char **names;
	size_t n_names;
	char *key_pem;   /* secret: wiped by pending_free */
};

/* Write the record atomically (0600). 0, or -1 after a warning: the run goes on,
 * it only loses the chance to be finished by a later one. */
int pending_save(const char *config_dir, const char *name, const struct pending_order *p);
/* Read the record of name: 0, 1 when there is none, -1 when it is unreadable
 * (logged; the caller orders afresh and the record is replaced). */
int pending_load(const char *config_dir, const char *name, struct pending_order *p);
/* 1 when p is for this server, account and set of names (in any order). */
int pending_matches(const struct pending_order *p, const char *server, const char *account,
		    char *const *names, size_t n_names);
void pending_remove(const char *config_dir, const char *name);
/* With the session open (a->kid known): 1 when the record of name is for this
 * server, account and names and its order can still give the certificate: *o is
 * the order as fetched, *order_url its URL (malloc'd), *key the certificate key it
 * was made for (when want_key; NULL otherwise). 0 when there is no usable record
 * (one that is not is removed; its order's state or names changed); -1 when its
 * order could not be fetched (the record is removed, and the run should end: a CA
 * that fails now fails a new order too); all logged. */
int pending_resume(struct acme *a, const char *config_dir, const char *name,
		   char *const *names, size_t n_names, int want_key, struct acme_order *o,
		   char **order_url, EVP_PKEY **key);
void pending_free(struct pending_order *p);

#endif
