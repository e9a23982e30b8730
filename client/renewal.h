/*
 * client/renewal.h: renewal/<name>.conf, the record of how a certificate was
 * obtained (renewal.c). The one place that reads, validates and writes the format;
 * `issue` writes it, `renew` reads it back into the same struct issue_req.
 *
 * The format (version 1), for `p11acme renew` and for people:
 * - one "key = value" per line; lines starting with '#' and blank lines are ignored;
 * - the value runs to the end of the line, spaces around it trimmed, no quoting;
 * - "domain" repeats, once per name, in order (the first is the CN); so does
 *   "webroot_map" ("NAME DIR", with several --webroot); no other key may repeat,
 *   and an unknown key is an error;
 * - absent keys mean the default; secrets (PINs) are never written.
 * docs/ARCHITECTURE.md lists the keys.
 */
#ifndef P11ACME_CLIENT_RENEWAL_H
#define P11ACME_CLIENT_RENEWAL_H

#include <stddef.h>

#include "client/client.h"
#include "client/request.h"

#define RENEWAL_MAX_KV 200

/* One entry of a renewal conf. */
struct conf_kv {
	const char *key, *value;
};

/* A renewal conf as read: the kv strings point into text. */
struct renewal_conf {
	char *text;
	struct conf_kv kv[RENEWAL_MAX_KV];
	size_t line[RENEWAL_MAX_KV];  /* of each entry, for messages */
	size_t n;
};

/* Read and check CONFIG_DIR/renewal/<name>.conf: known keys only, no repeats but
 * "domain" and "webroot_map", cert_name (when present) equal to name, a solver and
 * a domain or csr, and every value as issue would check it (port, timeout, solver
 * and its setting, key type, yes/no, NAME DIR), so that a bad conf is found on every
 * run and not on the day it is due. err reads "FILE:LINE: key: problem: value".
 * Returns EXIT_OK, EXIT_USAGE (missing or malformed: a configuration error) or
 * EXIT_FAIL; err gets a short reason (not logged). */
int renewal_read(const char *config_dir, const char *name, struct renewal_conf *c,
		 char *err, size_t errlen);
void renewal_free(struct renewal_conf *c);

/* The first value of key, or NULL. */
const char *renewal_get(const struct renewal_conf *c, const char *key);

/* The next value of key at or after entry *from (which it advances), or NULL; for
 * keys that repeat (domain). The string belongs to the conf. */
const char *renewal_next(const struct renewal_conf *c, const char *key, size_t *from);

/* The names of CONFIG_DIR/renewal/<name>.conf, sorted, malloc'd (free each and the
 * array); *n = 0 when there is no renewal directory. 0, or -1 after logging. */
int renewal_names(const char *config_dir, char ***names, size_t *n);

/* The per-name lock, renewal/.<name>.lock (renew, delete), waiting up to wait_s
 * seconds: the locked fd (close it to unlock; close-on-exec, so hooks do not
 * inherit it), -2 when another run still held it at the end, -1 on an error (both
 * logged). */
int renewal_lock(const char *config_dir, const char *name, int wait_s);

/* The global options for renewing this certificate: those given on the command line
 * (or in the environment) where given, else the conf's (server, key, module,
 * pin_source, ca_bundle, timeout, allow_extractable_key). EXIT_OK or EXIT_USAGE
 * (err set). */
int renewal_globals(const struct renewal_conf *c, const struct globals *g,
		    struct globals *out, char *err, size_t errlen);

/* The issue request the conf records, for certificate name. Checked as `issue`
 * checks its options. EXIT_OK; EXIT_USAGE with err set (solver unknown or without
 * its setting, bad http_port) or printed (issue_req_check); EXIT_FAIL. Free r with
 * issue_req_free, also after a failure. */
int renewal_to_req(const struct renewal_conf *c, const char *name, struct issue_req *r,
		   char *err, size_t errlen);

/* Write renewal/<req->cert_name>.conf atomically from the request, the globals it
 * ran with and the account URL: everything `renew` needs to repeat it, no secrets
 * (a pin-value in a key URI is dropped). 0, or -1 after logging. */
int renewal_write(const struct globals *g, const struct issue_req *req, const char *account);

#endif
