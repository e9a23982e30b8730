/*
 * client/cli.c: helpers shared by the command files (cli.h).
 */
#include "client/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%sp11acme: ", log_sd_prefix(LOG_ERROR));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%stry 'p11acme %s --help'\n", log_sd_prefix(LOG_ERROR), cmd);
	return EXIT_USAGE;
}

struct signer_config cli_signer_config(const struct globals *g)
{
	struct signer_config cfg = { 0 };

	cfg.key_uri = g->key_uri;
	cfg.module = g->module;
	cfg.module_args = g->module_args;
	cfg.pin_source = g->pin_source;
	cfg.allow_extractable = g->allow_extractable;
	cfg.pin_marker_dir = g->config_dir;
	return cfg;
}

/* --signer: a signer service holds the keys; nothing here loads a module or reads
 * a PIN. The rollover target and certificate keys live there or nowhere. */
static int cli_remote_signer(const struct globals *g, const char *new_key_uri,
			     const char *cert_key_uri, struct signer **out)
{
	struct signer_config cfg = { 0 };
	int rc;

	if (new_key_uri != NULL) {
		log_error("--new-key: with --signer the new key is the signer service's "
			  "(signer serve --new-key URI)");
		return EXIT_USAGE;
	}
	if (cert_key_uri != NULL) {
		log_error("--cert-key needs a local token; with --signer the certificate key "
			  "is made here (leave out --cert-key)");
		return EXIT_USAGE;
	}
	if (g->key_uri != NULL || g->module != NULL || g->pin_source != NULL)
		log_warn("--signer is given: --key, --module and --pin-source are not used");
	cfg.remote = g->signer;
	rc = signer_start(&cfg, out);
	if (rc == SIGNER_OK)
		return EXIT_OK;
	signer_stop(*out);
	*out = NULL;
	return rc == SIGNER_ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
}

int cli_signer_start(const struct globals *g, const char *new_key_uri,
		     const char *cert_key_uri, struct signer **out)
{
	struct signer_config cfg = cli_signer_config(g);
	int rc;

	*out = NULL;
	if (g->signer != NULL)
		return cli_remote_signer(g, new_key_uri, cert_key_uri, out);
	if (g->key_uri == NULL) {
		log_error("no account key: give --key URI or set P11ACME_KEY");
		return EXIT_USAGE;
	}
	cfg.new_key_uri = new_key_uri;
	cfg.cert_key_uri = cert_key_uri;
	rc = signer_start(&cfg, out);
	if (rc == SIGNER_OK)
		return EXIT_OK;
	signer_stop(*out);
	*out = NULL;
	return rc == SIGNER_ERR_CONFIG || rc == SIGNER_ERR_PIN ? EXIT_USAGE : EXIT_FAIL;
}

int cli_session(const struct globals *g, const char *new_key_uri, const char *cert_key_uri,
		struct signer **signer, struct acme *a, int need_account)
{
	int rc;

	memset(a, 0, sizeof(*a));
	log_debug("bounds: %d s for the issuance (--timeout), %d s for each hook run "
		  "(--hook-timeout)", g->timeout, g->hook_timeout);
	if ((rc = cli_signer_start(g, new_key_uri, cert_key_uri, signer)) != EXIT_OK)
		return rc;
	if (acme_open(a, g, *signer) != 0)
		return EXIT_FAIL;
	if (need_account && acme_account_find(a) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}
