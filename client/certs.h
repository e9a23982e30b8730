/*
 * client/certs.h: `p11acme certificates` and `p11acme delete` (certs.c), and what
 * they use of renew.c: the renewal conf reader and the per-name lock, so that
 * there is one reader of renewal/<name>.conf and one lock.
 */
#ifndef P11ACME_CLIENT_CERTS_H
#define P11ACME_CLIENT_CERTS_H

#include <stddef.h>

#include "client/client.h"

int cmd_certificates(const struct globals *g, int argc, char **argv);
int cmd_delete(const struct globals *g, int argc, char **argv);

/* ---- renew.c ---- */

/* The names of CONFIG_DIR/renewal/<name>.conf, sorted, malloc'd; *n = 0 when there
 * is no renewal directory. 0, or -1 after logging. */
int renew_conf_names(const char *config_dir, char ***names, size_t *n);

struct renew_conf;
/* Read and check renewal/<name>.conf as renew does. NULL with *rc = EXIT_USAGE
 * (missing or malformed; err says why, naming file and line) or EXIT_FAIL. */
struct renew_conf *renew_conf_open(const char *config_dir, const char *name, int *rc,
				   char *err, size_t errlen);
/* The next value of key at or after entry *from (which it advances; NULL: the
 * first), or NULL. The string belongs to the conf. */
const char *renew_conf_value(const struct renew_conf *c, const char *key, size_t *from);
void renew_conf_close(struct renew_conf *c);

/* renew's lock on renewal/.<name>.lock (close the fd to unlock): the fd, -2 when
 * another run held it for wait_s seconds, -1 on an error (both logged). */
int renew_lock(const char *config_dir, const char *name, int wait_s);

#endif
