/*
 * client/revoke.c: p11acme revoke (cmd_revoke in client.h): revoke a certificate
 * with the account key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "client/certkey.h"
#include "client/cli.h"
#include "client/opts.h"
#include "common/common.h"

static void revoke_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] revoke --cert FILE [--reason CODE]\n"
"\n"
"Revoke a certificate issued to this account (signed with the account key).\n"
"CODE is an RFC 5280 reason code: 0 unspecified, 1 keyCompromise,\n"
"3 affiliationChanged, 4 superseded, 5 cessationOfOperation (7 is not allowed).\n");
}

int cmd_revoke(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct signer *signer = NULL;
	struct acme a = { 0 };
	int c, reason = -1, rc = EXIT_USAGE;
	long v;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'r':
			if (parse_long(optarg, 0, 10, &v) != 0 || v == 7)
				return cli_usage_error("revoke", "--reason: not an RFC 5280 reason code: %s",
						       optarg);
			reason = (int)v;
			break;
		case 'h': revoke_usage(stdout); return EXIT_OK;
		default: revoke_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("revoke", "unexpected argument: %s", argv[optind]);
	if (cert == NULL)
		return cli_usage_error("revoke", "revoke needs --cert FILE");
	if (cert_load_der(cert, &der, &der_len) != 0)
		goto out;
	if ((rc = cli_session(g, NULL, NULL, &signer, &a, 1)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (acme_revoke(&a, der, der_len, reason) != 0)
		goto out;
	log_info("%s: revoked", cert);
	rc = EXIT_OK;
out:
	OPENSSL_free(der);
	acme_close(&a);
	signer_stop(signer);
	return rc;
}
