/*
 * client/request.c: the issue request (request.h): names, and the checks that
 * `issue` applies to its options and `renew` to a renewal conf.
 */
#include "client/request.h"

#include <stdlib.h>
#include <string.h>

#include "client/certkey.h"
#include "client/cli.h"
#include "client/store.h"
#include "client/validate.h"
#include "common/common.h"

int issue_req_add_name(struct issue_req *o, const char *arg)
{
	char *d;

	if (o->n_names >= ISSUE_MAX_NAMES)
		return cli_usage_error("issue", "at most %d names", ISSUE_MAX_NAMES);
	if ((d = strdup(arg)) == NULL)
		return EXIT_FAIL;
	if (dns_name_normalize(d) != 0) {
		free(d);
		return cli_usage_error("issue", "-d: not a DNS name: %s", arg);
	}
	for (size_t i = 0; i < o->n_names; i++) {
		if (strcmp(o->names[i], d) == 0) {
			free(d);
			return cli_usage_error("issue", "-d: %s given twice", arg);
		}
	}
	o->names[o->n_names++] = d;
	return EXIT_OK;
}

/* An RFC 9773 certID: base64url(AKI) "." base64url(serial). */
static int replaces_valid(const char *s)
{
	const char *dot = strchr(s, '.');
	char aki[512];
	size_t n;

	if (dot == NULL || (n = (size_t)(dot - s)) == 0 || n >= sizeof(aki))
		return 0;
	memcpy(aki, s, n);
	aki[n] = '\0';
	return b64url_valid(aki, sizeof(aki) - 1) && b64url_valid(dot + 1, 512);
}

int issue_req_check(const struct issue_req *o)
{
	if (o->solver.kind == SOLVE_NONE)
		return cli_usage_error("issue", "choose a solver: --webroot DIR, --standalone, "
				       "--stateless, --dns-hook CMD or --reuse-only");
	if (o->n_names == 0 && o->csr_file == NULL)
		return cli_usage_error("issue", "give at least one -d NAME");
	if ((o->cert_key != NULL) + (o->csr_file != NULL) + (o->key_type != NULL) > 1)
		return cli_usage_error("issue", "--key-type, --cert-key and --csr exclude each other");
	if (o->key_type != NULL && !certkey_type_valid(o->key_type))
		return cli_usage_error("issue", "--key-type: one of ec256, ec384, rsa2048, rsa3072, rsa4096");
	if (o->cert_name != NULL && !store_name_valid(o->cert_name))
		return cli_usage_error("issue", "--cert-name: letters, digits, '.', '-', '_' only: %s",
				       o->cert_name);
	if (o->profile != NULL && (*o->profile == '\0' || strpbrk(o->profile, "\r\n") != NULL))
		return cli_usage_error("issue", "--profile: not a profile name");
	if (o->replaces != NULL && !replaces_valid(o->replaces))
		return cli_usage_error("issue", "--replaces: not an ARI certID (base64url.base64url)");
	return EXIT_OK;
}

void issue_req_free(struct issue_req *r)
{
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	free(r->cert_name_owned);
	for (size_t i = 0; i < ISSUE_MAX_NAMES; i++)
		free(r->map_text[i]);
	acme_newacct_free(&r->account);
	memset(r, 0, sizeof(*r));
}
