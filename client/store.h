/*
 * client/store.h: what p11acme keeps under CONFIG_DIR (docs/ARCHITECTURE.md, "Storage").
 *
 *   accounts/<server host>/<thumbprint>.json   {"url": ..., "server": ...}; no key
 *   accounts/<server host>/directory.json      {"server": ..., "fetched": <epoch>,
 *                                                "directory": <as the CA sent it>}
 *   renewal/<name>.conf                         key = value, see renewal.h
 *   archive/<name>/<n>/{cert,chain,fullchain,privkey}.pem
 *   archive/<name>/<n>/revoked                  marker: `revoke` revoked that set
 *   live/<name> -> ../archive/<name>/<n>        replaced with rename(2)
 *
 * Functions return 0, or -1 after logging.
 */
#ifndef P11ACME_CLIENT_STORE_H
#define P11ACME_CLIENT_STORE_H

#include <stddef.h>

/* Account URL cached for (server, thumbprint), or NULL (not logged). */
char *store_account_load(const char *config_dir, const char *server, const char *thumbprint);
int store_account_save(const char *config_dir, const char *server, const char *thumbprint,
		       const char *url);
void store_account_remove(const char *config_dir, const char *server, const char *thumbprint);

/* The directory document cached for server, as JSON text (malloc'd, *len set),
 * when it was fetched less than max_age seconds ago; else NULL (not logged). The
 * caller parses it as it would the CA's answer. */
char *store_directory_load(const char *config_dir, const char *server, long max_age,
			   size_t *len);
/* Cache a directory document (already parsed and accepted by the caller) with the
 * time now. A failure is logged as a warning only: the cache saves a request, and a
 * read-only config dir must not fail the run. */
int store_directory_save(const char *config_dir, const char *server, const char *body,
			 size_t len);
void store_directory_remove(const char *config_dir, const char *server);

/* A certificate set to commit. privkey_pem is NULL when the key is in a token or
 * came with --csr. */
struct cert_set {
	const char *cert_pem, *chain_pem, *fullchain_pem;
	const char *privkey_pem;
};

/* Write archive/<name>/<n>/ (n = one more than the highest present), then point
 * live/<name> at it atomically. The previous set stays in the archive. The new
 * live directory path is returned in *live_dir (malloc'd) when not NULL. */
int store_commit(const char *config_dir, const char *name, const struct cert_set *set,
		 char **live_dir);

/* Before newOrder: 0 when a commit of name can succeed now: archive/, live/ and
 * renewal/ exist (created) and take a write of a set's size (not read-only, not
 * full), and live/<name> is absent or a symlink (a real directory there would stop
 * the switch). Else -1 after logging what is wrong ("nothing was ordered"). */
int store_commit_check(const char *config_dir, const char *name);

/* After a revocation: when cert_path is the cert.pem of a set of ours
 * (archive/<name>/<n>/), write a "revoked" marker beside it, so that renew finds the
 * live certificate due. Anything else is left alone; a failure is a warning. */
void store_mark_revoked(const char *config_dir, const char *cert_path, const char *reason);
/* 1 when live/<name> carries that marker. */
int store_live_revoked(const char *config_dir, const char *name);

/* The highest numbered set in archive/<name>/, 0 when there is none. */
long store_archive_newest(const char *config_dir, const char *name);

/* 1 when name is usable as a certificate name (a path component). */
int store_name_valid(const char *name);

#endif
