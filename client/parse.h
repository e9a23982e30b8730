/*
 * client/parse.h: pure parsers for what the CA sends us. No network, no global
 * state, no logging on the success path, so libFuzzer targets can call each one
 * with (const char *buf, size_t len). Every parser takes untrusted bytes (not
 * necessarily NUL-terminated), fills a typed struct whose strings are malloc'd,
 * and returns 0 or -1. The matching *_free() is safe on a zeroed or failed struct.
 */
#ifndef P11ACME_CLIENT_PARSE_H
#define P11ACME_CLIENT_PARSE_H

#include <stddef.h>
#include <time.h>

/* Bounds on what we accept from a CA: far above what any CA sends, far below
 * what would make a loop or an allocation unreasonable. */
#define ACME_MAX_LIST 100   /* identifiers, authorizations, challenges, contacts */
#define ACME_MAX_SUBPROBLEMS 100
#define ACME_TOKEN_MAX 256  /* challenge token length (RFC 8555 asks for >= 128 bits) */

/* RFC 8555 §7.1.6 status values of accounts, orders, authorizations and
 * challenges. The parsers set the enum beside the string (kept for messages). */
enum acme_status {
	ACME_ST_UNKNOWN = 0, /* a value RFC 8555 does not define */
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_DEACTIVATED,
	ACME_ST_EXPIRED,
	ACME_ST_REVOKED,
};
/* The enum of a status string; ACME_ST_UNKNOWN for NULL or any other string. */
enum acme_status acme_status_of(const char *s);

/* RFC 8555 §7.1.1 directory. */
struct acme_directory {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change;
	char *renewal_info;          /* RFC 9773 ARI, or NULL */
	char *terms_of_service;      /* meta.termsOfService, or NULL */
	int eab_required;            /* meta.externalAccountRequired */
	char **profiles;             /* meta.profiles names (draft-ietf-acme-profiles) */
	size_t n_profiles;
};
int acme_directory_parse(const char *buf, size_t len, struct acme_directory *out);
void acme_directory_free(struct acme_directory *d);

struct acme_identifier {
	char *type, *value;
};

/* RFC 7807 problem document, with RFC 8555 §6.7.1 subproblems. */
struct acme_problem {
	char *type;       /* e.g. urn:ietf:params:acme:error:badNonce; NULL when absent */
	char *detail;
	int status;       /* the "status" member, 0 when absent */
	struct acme_identifier ident; /* subproblems carry one; NULLs when absent */
	struct acme_problem *sub;
	size_t n_sub;
};
int acme_problem_parse(const char *buf, size_t len, struct acme_problem *out);
void acme_problem_free(struct acme_problem *p);
/* 1 when p->type is urn:ietf:params:acme:error:<name>. */
int acme_problem_is(const struct acme_problem *p, const char *name);

/* RFC 8555 §7.1.2 account. */
struct acme_account {
	char *status;
	enum acme_status state;
	char **contacts;
	size_t n_contacts;
	char *orders;
};
int acme_account_parse(const char *buf, size_t len, struct acme_account *out);
void acme_account_free(struct acme_account *a);

/* RFC 8555 §7.1.3 order. */
struct acme_order {
	char *status;
	enum acme_status state;
	char *expires;
	struct acme_identifier *idents;
	size_t n_idents;
	char **authzs;
	size_t n_authzs;
	char *finalize;
	char *certificate;
	struct acme_problem *error;  /* NULL when absent */
};
int acme_order_parse(const char *buf, size_t len, struct acme_order *out);
void acme_order_free(struct acme_order *o);

/* RFC 8555 §7.1.5 challenge. */
struct acme_challenge {
	char *type, *url, *status, *token; /* token NULL for types without one */
	enum acme_status state;
	struct acme_problem *error;
};
int acme_challenge_parse(const char *buf, size_t len, struct acme_challenge *out);
void acme_challenge_free(struct acme_challenge *c);

/* RFC 8555 §7.1.4 authorization. */
struct acme_authz {
	char *status;
	enum acme_status state;
	struct acme_identifier ident;
	int wildcard;
	struct acme_challenge *challs;
	size_t n_challs;
};
int acme_authz_parse(const char *buf, size_t len, struct acme_authz *out);
void acme_authz_free(struct acme_authz *a);

/* Why a document was refused, for the error message: a NUL (raw or \u0000, which
 * would cut a token or URL short in C) or else malformed JSON / missing members. */
const char *acme_parse_why(const char *buf, size_t len);

/* ---- HTTP headers ---- */

/* One Link header value may carry several comma-separated links (RFC 8288).
 * Appends each <uri>; rel="..." to the arrays (grown with realloc). Links
 * without a rel are skipped. At most ACME_MAX_LIST links in total. */
struct link {
	char *uri, *rel;
};
int link_parse(const char *buf, size_t len, struct link **links, size_t *n_links);
void links_free(struct link *links, size_t n_links);

/* Retry-After (RFC 9110 §10.2.3): delta-seconds or an IMF-fixdate. Sets *secs
 * to the wait relative to now (0 for a date in the past); delta-seconds of any
 * length, clamped to LONG_MAX (callers compare it with the time left, never add
 * it to the clock). */
int retry_after_parse(const char *buf, size_t len, time_t now, long *secs);

/* ---- Certificates ---- */

/* Split a PEM chain (application/pem-certificate-chain) into its CERTIFICATE
 * blocks, each a malloc'd NUL-terminated PEM string ending in "\n". Fails when
 * there is no certificate, on anything that is not a CERTIFICATE block between
 * blocks, or on more than ACME_MAX_LIST blocks. */
int pem_chain_split(const char *buf, size_t len, char ***certs, size_t *n_certs);
void pem_chain_free(char **certs, size_t n_certs);

#endif
