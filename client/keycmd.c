/*
 * client/keycmd.c: p11acme key generate|show (cmd_key in client.h). Both run in a
 * signer child: this process never loads the module or reads the PIN.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client/certkey.h"
#include "client/cli.h"
#include "client/opts.h"
#include "common/common.h"

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
	const char *sub, *type = "ec256", *key_uri = NULL;
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
	if (g->signer != NULL)
		return cli_usage_error("key", "key %s needs a local token; with --signer "
				       "(P11ACME_SIGNER), run it on the token host", sub);
	optind = 0;
	while ((c = opts_getopt(argc - 1, argv + 1, "h", opts)) != -1) {
		switch (c) {
		case 'k': key_uri = optarg; break;
		case 't': type = optarg; have_type = 1; break;
		case 'h': key_usage(stdout); return EXIT_OK;
		default: key_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc - 1)
		return cli_usage_error("key", "unexpected argument: %s", argv[1 + optind]);
	/* read after the options: global ones may follow the command */
	cfg = cli_signer_config(g);
	if (key_uri != NULL)
		cfg.key_uri = key_uri;
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
	return rc == SIGNER_ERR_CONFIG || rc == SIGNER_ERR_PIN ? EXIT_USAGE : EXIT_FAIL;
}
