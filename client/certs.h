/*
 * client/certs.h: `p11acme certificates` and `p11acme delete` (certs.c). Both use
 * renewal.h for the conf reader, the names and the per-name lock, so that there is
 * one reader of renewal/<name>.conf and one lock.
 */
#ifndef P11ACME_CLIENT_CERTS_H
#define P11ACME_CLIENT_CERTS_H

#include <stddef.h>

#include "client/client.h"

int cmd_certificates(const struct globals *g, int argc, char **argv);
int cmd_delete(const struct globals *g, int argc, char **argv);

#endif
