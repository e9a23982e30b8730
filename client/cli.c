/*
 * client/cli.c: helpers shared by the command files (cli.h).
 */
#include "client/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

#include <cjson/cJSON.h>

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

/* Every string value in the tree o through the one sanitiser (common.h), whole:
 * cJSON escapes control characters but passes invalid UTF-8 through, and a CA's
 * text or a file name could carry both. 0, or -1 on allocation failure. */
static int json_sanitize(cJSON *o)
{
	char *safe;
	int rc = 0;

	for (cJSON *it = o; it != NULL && rc == 0; it = it->next) {
		if (cJSON_IsString(it) && it->valuestring != NULL) {
			size_t len = strlen(it->valuestring);

			if ((safe = sanitize_dup(it->valuestring, len, len)) == NULL)
				return -1;
			if (strcmp(safe, it->valuestring) != 0 && cJSON_SetValuestring(it, safe) == NULL)
				rc = -1;
			free(safe);
		}
		if (it->child != NULL && rc == 0)
			rc = json_sanitize(it->child);
	}
	return rc;
}

int cli_print_json(const cJSON *o, int one_line)
{
	cJSON *safe = cJSON_Duplicate(o, 1);
	char *s = NULL;

	if (safe != NULL && json_sanitize(safe) == 0)
		s = one_line ? cJSON_PrintUnformatted(safe) : cJSON_Print(safe);
	cJSON_Delete(safe);
	if (s == NULL)
		return EXIT_FAIL;
	printf("%s\n", s);
	free(s);
	return EXIT_OK;
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

/* A signer status as an exit status; a failed signer is stopped (*s = NULL). */
static int signer_exit(int rc, struct signer **s)
{
	if (rc == SIGNER_OK)
		return EXIT_OK;
	signer_stop(*s);
	*s = NULL;
	return rc == SIGNER_ERR_CONFIG || rc == SIGNER_ERR_PIN ? EXIT_USAGE : EXIT_FAIL;
}

/* --signer: a signer service holds the keys; nothing here loads a module or reads
 * a PIN. The rollover target and certificate keys live there or nowhere. */
static int cli_remote_signer(const struct globals *g, const char *new_key_uri,
			     const char *cert_key_uri, struct signer **out)
{
	struct signer_config cfg = { 0 };

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
	/* Connected and ready at once: a running service has no token start to overlap,
	 * and it closes a connection that stays idle (its --idle-timeout) while this
	 * process would be busy with the CA. */
	return signer_exit(signer_start(&cfg, out), out);
}

/* Start the signer for these keys: fork it without waiting for it to be ready
 * (signer_spawn), or connect to the service. */
static int cli_signer_spawn(const struct globals *g, const char *new_key_uri,
			    const char *cert_key_uri, struct signer **out)
{
	struct signer_config cfg = cli_signer_config(g);

	*out = NULL;
	if (g->signer != NULL)
		return cli_remote_signer(g, new_key_uri, cert_key_uri, out);
	if (g->key_uri == NULL) {
		log_error("no account key: give --key URI or set P11ACME_KEY");
		return EXIT_USAGE;
	}
	cfg.new_key_uri = new_key_uri;
	cfg.cert_key_uri = cert_key_uri;
	return signer_exit(signer_spawn(&cfg, out), out);
}

int cli_signer_start(const struct globals *g, const char *new_key_uri,
		     const char *cert_key_uri, struct signer **out)
{
	int rc = cli_signer_spawn(g, new_key_uri, cert_key_uri, out);

	return rc != EXIT_OK ? rc : signer_exit(signer_ready(*out), out);
}

static int email_valid(const char *e)
{
	const char *at = strchr(e, '@');

	/* Enough to catch typos and keep the mailto: URI well-formed. */
	return at != NULL && at != e && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(e, " \t\r\n,;<>\"?") == NULL && strlen(e) < 256;
}

int cli_email_add(struct acme_newacct *n, const char *cmd, const char *addr)
{
	if (!email_valid(addr))
		return cli_usage_error(cmd, "--email: not an address: %s", addr);
	if (n->n_contacts >= ACME_MAX_CONTACTS)
		return cli_usage_error(cmd, "at most %d --email", ACME_MAX_CONTACTS);
	if ((n->contacts[n->n_contacts] = xasprintf("mailto:%s", addr)) == NULL)
		return EXIT_FAIL;
	n->n_contacts++;
	return EXIT_OK;
}

int cli_session(const struct globals *g, const char *new_key_uri, const char *cert_key_uri,
		struct signer **signer, struct acme *a, int need_account)
{
	int rc, net;

	memset(a, 0, sizeof(*a));
	if (http_ca_bundle_ok(g->ca_bundle) != 0)
		return EXIT_USAGE;
	log_debug("bounds: %d s for the issuance (--timeout), %d s for each hook run "
		  "(--hook-timeout)", g->timeout, g->hook_timeout);
	/* The signer's start (token lock, login) and every signature count too. */
	signer_set_deadline(time(NULL) + (g->timeout > 0 ? g->timeout : 90));
	if ((rc = cli_signer_spawn(g, new_key_uri, cert_key_uri, signer)) != EXIT_OK)
		return rc;
	/* While the signer loads the module, logs in and finds the key: the directory
	 * (cached) and a nonce, which opens the TLS connection. The first signature
	 * waits for the signer, not the first byte. A signer error is reported first
	 * (a bad key URI is a usage error even when the CA cannot be reached). */
	net = acme_open_net(a, g);
	if ((rc = signer_exit(signer_ready(*signer), signer)) != EXIT_OK)
		return rc;
	if (net != 0 || acme_open_key(a, *signer) != 0)
		return EXIT_FAIL;
	if (need_account && acme_account_find(a) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}
