/*
 * client/misc.c: p11acme revoke, and p11acme key generate|show.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "client/certkey.h"
#include "client/cli.h"
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
	char *end;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'r':
			reason = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || reason < 0 || reason > 10 || reason == 7)
				return cli_usage_error("revoke", "--reason: not an RFC 5280 reason code: %s",
						       optarg);
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

static void key_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] key generate --key URI --type TYPE\n"
"       p11acme [global options] key show --key URI\n"
"\n"
"generate  make a non-extractable key pair in the token at URI; TYPE is ec256\n"
"          (default), ec384, rsa2048, rsa3072 or rsa4096\n"
"show      print the key's algorithm, thumbprint, public key and security\n"
"          attributes; exits 1 when the key can leave the token\n");
}

int cmd_key(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct signer_config cfg = { 0 };
	const char *sub, *type = "ec256";
	int c, rc, have_type = 0;

	if (argc < 2) {
		key_usage(stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		key_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(sub, "generate") != 0 && strcmp(sub, "show") != 0)
		return cli_usage_error("key", "unknown subcommand '%s'", sub);
	cfg.key_uri = g->key_uri;
	cfg.module = g->module;
	cfg.pin_source = g->pin_source;
	cfg.allow_extractable = g->allow_extractable;
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg.key_uri = optarg; break;
		case 't': type = optarg; have_type = 1; break;
		case 'h': key_usage(stdout); return EXIT_OK;
		default: key_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc - 1)
		return cli_usage_error("key", "unexpected argument: %s", argv[1 + optind]);
	if (cfg.key_uri == NULL)
		return cli_usage_error("key", "%s needs --key URI", sub);
	if (strcmp(sub, "generate") == 0) {
		if (!certkey_type_valid(type))
			return cli_usage_error("key", "--type: one of ec256, ec384, rsa2048, rsa3072, rsa4096");
		rc = signer_key_generate(&cfg, type);
	} else {
		if (have_type)
			return cli_usage_error("key", "show takes no --type");
		rc = signer_key_show(&cfg, g->json);
	}
	if (rc == SIGNER_OK)
		return EXIT_OK;
	return rc == SIGNER_ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
}
