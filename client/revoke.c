/*
 * client/revoke.c: p11acme revoke (cmd_revoke in client.h): revoke a certificate
 * with the account key. A revoked certificate of CONFIG_DIR gets a "revoked" marker
 * in its archive entry, so that renew finds it due (store.h).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <cjson/cJSON.h>

#include "client/certkey.h"
#include "client/cli.h"
#include "client/opts.h"
#include "client/store.h"
#include "common/common.h"

static void revoke_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] revoke (--cert FILE | --cert-name NAME) [--reason R]\n"
"\n"
"Revoke a certificate issued to this account (signed with the account key).\n"
"--cert-name NAME revokes CONFIG_DIR/live/NAME/cert.pem. R is an RFC 5280 reason,\n"
"by name or code: unspecified (0), keyCompromise (1), affiliationChanged (3),\n"
"superseded (4), cessationOfOperation (5); others are not for subscribers.\n"
"A certificate of CONFIG_DIR that is revoked is due: the next renew replaces it.\n"
"It is not deleted: 'p11acme delete --cert-name NAME' does that.\n");
}

/* RFC 5280 §5.3.1 reasons a subscriber may give (Let's Encrypt's list). */
static const struct { const char *name; int code; } reasons[] = {
	{ "unspecified", 0 }, { "keyCompromise", 1 }, { "affiliationChanged", 3 },
	{ "superseded", 4 }, { "cessationOfOperation", 5 },
};

/* A name (any case, '-' or '_' ignored) or a code from the table; -1 otherwise. */
static int reason_parse(const char *s)
{
	char norm[64];
	size_t n = 0;
	long v;

	if (parse_long(s, 0, 10, &v) == 0) {
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (reasons[i].code == v)
				return (int)v;
		return -1;
	}
	for (; *s != '\0' && n + 1 < sizeof(norm); s++)
		if (*s != '-' && *s != '_')
			norm[n++] = *s;
	norm[n] = '\0';
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcasecmp(norm, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

static const char *reason_name(int code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "unspecified";
}

static void revoke_print(const struct globals *g, const char *cert, const char *name,
			 int reason)
{
	cJSON *o;

	if (!g->json)
		return;
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "cert", cert);
	if (name != NULL)
		cJSON_AddStringToObject(o, "name", name);
	else
		cJSON_AddNullToObject(o, "name");
	cJSON_AddBoolToObject(o, "revoked", 1);
	cJSON_AddStringToObject(o, "reason", reason_name(reason < 0 ? 0 : reason));
	cli_print_json(o, 1);
	cJSON_Delete(o);
}

/* Options into *cert / *name / *reason: EXIT_OK, EXIT_USAGE, or -1 after --help. */
static int revoke_parse(int argc, char **argv, const char **cert, const char **name,
			int *reason)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "cert-name", required_argument, NULL, 'n' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'c': *cert = optarg; break;
		case 'n': *name = optarg; break;
		case 'r':
			if ((*reason = reason_parse(optarg)) < 0)
				return cli_usage_error("revoke", "--reason: not a reason a subscriber "
						       "may give: %s", optarg);
			break;
		case 'h': revoke_usage(stdout); return -1;
		default: revoke_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("revoke", "unexpected argument: %s", argv[optind]);
	if ((*cert == NULL) == (*name == NULL))
		return cli_usage_error("revoke", "revoke needs --cert FILE or --cert-name NAME");
	if (*name != NULL && !store_name_valid(*name))
		return cli_usage_error("revoke", "--cert-name: not a certificate name: %s", *name);
	return EXIT_OK;
}

int cmd_revoke(const struct globals *g, int argc, char **argv)
{
	const char *cert = NULL, *name = NULL;
	char *path = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct signer *signer = NULL;
	struct acme a = { 0 };
	int reason = -1, rc;

	if ((rc = revoke_parse(argc, argv, &cert, &name, &reason)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (name != NULL && (cert = path = xasprintf("%s/live/%s/cert.pem", g->config_dir,
						      name)) == NULL)
		return EXIT_FAIL;
	rc = EXIT_USAGE;
	if (cert_load_der(cert, &der, &der_len) != 0)
		goto out;
	if ((rc = cli_session(g, NULL, NULL, &signer, &a, 1)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (acme_revoke(&a, der, der_len, reason) != 0)
		goto out;
	log_info("%s: revoked (%s)", cert, reason_name(reason < 0 ? 0 : reason));
	store_mark_revoked(g->config_dir, cert, reason_name(reason < 0 ? 0 : reason));
	revoke_print(g, cert, name, reason);
	rc = EXIT_OK;
out:
	free(path);
	OPENSSL_free(der);
	acme_close(&a);
	signer_stop(signer);
	return rc;
}
