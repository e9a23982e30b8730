/*
 * client/: the ACME protocol (libcurl + cJSON) and the p11acme command line.
 * Talks to the account key only through signer/signer.h.
 * This header holds the contracts shared between client/ files (see each section).
 */
#ifndef P11ACME_CLIENT_H
#define P11ACME_CLIENT_H

/* Exit status: a contract (DESIGN.md, man page, scripts). */
enum exit_status {
	EXIT_OK = 0,          /* issued, renewed, or not yet due */
	EXIT_FAIL = 1,        /* failure */
	EXIT_USAGE = 2,       /* usage or configuration error */
	EXIT_NEED_CHALLENGE = 3, /* --reuse-only and an identifier needs a challenge */
};

#endif
