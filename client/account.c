/*
 * client/account.c: p11acme account register|show|thumbprint|rollover|deactivate.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "client/cli.h"
#include "client/migrate.h"
#include "client/opts.h"
#include "common/common.h"

#define EAB_KEY_FILE_MAX 4096

static void account_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] account register --email ADDR [--email ADDR...] --agree-tos\n"
"                                    [--eab-kid ID --eab-hmac-key-file FILE]\n"
"       p11acme [global options] account show\n"
"       p11acme [global options] account thumbprint\n"
"       p11acme [global options] account rollover --new-key URI\n"
"       p11acme [global options] account deactivate --yes\n"
"       p11acme [global options] account migrate --from FORMAT:PATH [--account ID]\n"
"                                    [--type TYPE] [--dry-run]\n"
"\n"
"register   create the account for the key in --key (or find the existing one)\n"
"show       print the account URL ('url: URL'), status, contacts and thumbprint\n"
"thumbprint print the RFC 7638 thumbprint of the account key (offline)\n"
"rollover   move the account to the key at --new-key (RFC 8555 keyChange)\n"
"deactivate deactivate the account for good (needs --yes)\n"
"migrate    move another client's account (certbot, lego, uacme, dehydrated, lacme,\n"
"           or a key file) to the token key at --key; see 'account migrate --help'\n");
}

/* Print the account as "key: value" lines or one JSON object. */
static int account_print(const struct globals *g, const struct acme *a,
			 const struct acme_account *acct)
{
	cJSON *o = NULL, *arr;
	int rc = EXIT_FAIL;

	if (!g->json) {
		printf("url: %s\n", safe_str(a->kid));
		printf("status: %s\n", safe_str(acct->status));
		for (size_t i = 0; i < acct->n_contacts; i++)
			printf("contact: %s\n", safe_str(acct->contacts[i]));
		printf("thumbprint: %s\n", a->thumbprint);
		printf("server: %s\n", g->server);
		return EXIT_OK;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "url", a->kid) == NULL ||
	    cJSON_AddStringToObject(o, "status", acct->status) == NULL ||
	    (arr = cJSON_AddArrayToObject(o, "contact")) == NULL)
		goto out;
	for (size_t i = 0; i < acct->n_contacts; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(acct->contacts[i]));
	if (cJSON_AddStringToObject(o, "thumbprint", a->thumbprint) == NULL ||
	    cJSON_AddStringToObject(o, "server", g->server) == NULL)
		goto out;
	rc = cli_print_json(o, 0);
out:
	cJSON_Delete(o);
	return rc;
}

/* The EAB HMAC key file holds base64url text, or standard base64 ("+/", "="
 * padding), as some CAs hand it out: the two alphabets differ only there. */
static unsigned char *eab_key_read(const char *path, size_t *len)
{
	char *text = NULL;
	unsigned char *key = NULL;
	size_t n = 0;

	if ((text = file_read(path, EAB_KEY_FILE_MAX, &n, 0)) == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	if ((key = b64any_decode(text, len)) == NULL || *len == 0) {
		log_error("%s: not a base64 or base64url HMAC key", path);
		free(key);
		key = NULL;
	}
	OPENSSL_cleanse(text, n);
	free(text);
	return key;
}

/* What `account register` was asked for. */
struct reg_opts {
	struct acme_newacct n;        /* contacts, --agree-tos */
	const char *eab_kid, *eab_file;
};

/* Parse register's options: -1 to go on, else the exit status. */
static int reg_parse(int argc, char **argv, struct reg_opts *r)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'm' },
		{ "agree-tos", no_argument, NULL, 'a' },
		{ "eab-kid", required_argument, NULL, 'k' },
		{ "eab-hmac-key-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'm':
			if ((rc = cli_email_add(&r->n, "account", optarg)) != EXIT_OK)
				return rc;
			break;
		case 'a': r->n.agree = 1; break;
		case 'k': r->eab_kid = optarg; break;
		case 'f': r->eab_file = optarg; break;
		case 'h': account_usage(stdout); return EXIT_OK;
		default: account_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("account", "unexpected argument: %s", argv[optind]);
	if (!r->n.agree)
		return cli_usage_error("account", "register needs --agree-tos (the CA's terms of service)");
	if ((r->eab_kid == NULL) != (r->eab_file == NULL))
		return cli_usage_error("account", "--eab-kid and --eab-hmac-key-file go together");
	return -1;
}

/* 1 when the account has exactly the contacts asked for (in any order). */
static int contacts_same(const struct reg_opts *r, const struct acme_account *acct)
{
	if (r->n.n_contacts != acct->n_contacts)
		return 0;
	for (size_t i = 0; i < r->n.n_contacts; i++) {
		size_t j = 0;

		while (j < acct->n_contacts && strcmp(r->n.contacts[i], acct->contacts[j]) != 0)
			j++;
		if (j == acct->n_contacts)
			return 0;
	}
	return 1;
}

static int account_register(const struct globals *g, int argc, char **argv)
{
	struct reg_opts r = { 0 };
	size_t eab_len = 0;
	unsigned char *eab_key = NULL;
	struct signer *signer = NULL;
	struct acme a = { 0 };
	struct acme_account acct = { 0 };
	int rc;

	if ((rc = reg_parse(argc, argv, &r)) != -1)
		goto out;
	rc = EXIT_USAGE;
	if (r.eab_file != NULL && (eab_key = eab_key_read(r.eab_file, &eab_len)) == NULL)
		goto out;
	if ((rc = cli_session(g, NULL, NULL, &signer, &a, 0)) != EXIT_OK)
		goto out;
	rc = EXIT_USAGE;
	if (a.dir.eab_required && r.eab_kid == NULL) {
		log_error("%s requires external account binding: give --eab-kid and "
			  "--eab-hmac-key-file", g->server);
		goto out;
	}
	rc = EXIT_FAIL;
	if (acme_account_new(&a, r.n.contacts, r.n.n_contacts, r.eab_kid, eab_key, eab_len, &acct) != 0)
		goto out;
	if (r.n.n_contacts > 0 && !contacts_same(&r, &acct)) {
		/* newAccount finds an existing account and changes nothing of it */
		if (acme_account_update(&a, r.n.contacts, r.n.n_contacts, &acct) != 0)
			goto out;
		log_info("account %s: contact updated", a.kid);
	}
	log_info("account %s is %s", a.kid, acct.status);
	rc = account_print(g, &a, &acct);
out:
	acme_newacct_free(&r.n);
	if (eab_key != NULL)
		OPENSSL_cleanse(eab_key, eab_len);
	free(eab_key);
	acme_account_free(&acct);
	acme_close(&a);
	signer_stop(signer);
	return rc;
}

/* Options of a subcommand that takes only --help (and maybe --yes / --new-key). */
static int simple_opts(const char *sub, int argc, char **argv, int *yes, const char **new_key)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "new-key", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'y':
			if (yes == NULL)
				return cli_usage_error("account", "%s takes no --yes", sub);
			*yes = 1;
			break;
		case 'n':
			if (new_key == NULL)
				return cli_usage_error("account", "%s takes no --new-key", sub);
			*new_key = optarg;
			break;
		case 'h': account_usage(stdout); return -1;
		default: account_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("account", "unexpected argument: %s", argv[optind]);
	return EXIT_OK;
}

static int account_show(const struct globals *g, int argc, char **argv)
{
	struct signer *signer = NULL;
	struct acme a = { 0 };
	struct acme_account acct = { 0 };
	int rc;

	if ((rc = simple_opts("show", argc, argv, NULL, NULL)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = cli_session(g, NULL, NULL, &signer, &a, 0)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	/* Ask the CA by key, not the cache: show is how a user checks the truth. */
	switch (acme_account_lookup(&a, &acct)) {
	case 0:
		break;
	case 1:
		log_error("%s: no account for this key (thumbprint %s)", g->server, a.thumbprint);
		goto out;
	default:
		goto out;
	}
	rc = account_print(g, &a, &acct);
out:
	acme_account_free(&acct);
	acme_close(&a);
	signer_stop(signer);
	return rc;
}

static int account_thumbprint(const struct globals *g, int argc, char **argv)
{
	struct signer *signer = NULL;
	char *t = NULL;
	int rc;

	if ((rc = simple_opts("thumbprint", argc, argv, NULL, NULL)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = cli_signer_start(g, NULL, NULL, &signer)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (signer_thumbprint(signer, SIGNER_KEY_ACCOUNT, &t) != SIGNER_OK)
		goto out;
	if (g->json)
		printf("{\"thumbprint\": \"%s\", \"alg\": \"%s\"}\n", t,
		       signer_alg(signer, SIGNER_KEY_ACCOUNT) ? signer_alg(signer, SIGNER_KEY_ACCOUNT) : "");
	else
		printf("%s\n", t);
	rc = EXIT_OK;
out:
	free(t);
	signer_stop(signer);
	return rc;
}

static int account_rollover(const struct globals *g, int argc, char **argv)
{
	struct signer *signer = NULL;
	struct acme a = { 0 };
	const char *new_key = NULL;
	char *nt = NULL;
	int rc;

	if ((rc = simple_opts("rollover", argc, argv, NULL, &new_key)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (new_key == NULL && g->signer == NULL)
		return cli_usage_error("account", "rollover needs --new-key URI");
	if ((rc = cli_session(g, new_key, NULL, &signer, &a, 1)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (signer_thumbprint(signer, SIGNER_KEY_NEW, &nt) != SIGNER_OK)
		goto out;
	if (strcmp(nt, a.thumbprint) == 0) {
		log_error("--new-key is the current account key");
		rc = EXIT_USAGE;
		goto out;
	}
	if (acme_account_keychange(&a, nt) != 0)
		goto out;
	if (new_key != NULL)
		log_info("account %s now uses the key with thumbprint %s; use --key %s from now on",
			 a.kid, nt, new_key);
	else
		log_info("account %s now uses the key with thumbprint %s; restart the signer "
			 "service with --key set to its --new-key", a.kid, nt);
	if (g->json)
		printf("{\"url\": \"%s\", \"thumbprint\": \"%s\"}\n", a.kid, nt);
	else
		printf("url: %s\nthumbprint: %s\n", a.kid, nt);
	rc = EXIT_OK;
out:
	free(nt);
	acme_close(&a);
	signer_stop(signer);
	return rc;
}

static int account_deactivate(const struct globals *g, int argc, char **argv)
{
	struct signer *signer = NULL;
	struct acme a = { 0 };
	int rc, yes = 0;

	if ((rc = simple_opts("deactivate", argc, argv, &yes, NULL)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (!yes)
		return cli_usage_error("account", "deactivation cannot be undone; confirm with --yes");
	if ((rc = cli_session(g, NULL, NULL, &signer, &a, 1)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (acme_account_deactivate(&a) != 0)
		goto out;
	log_info("account %s is deactivated", a.kid);
	if (g->json)
		printf("{\"url\": \"%s\", \"status\": \"deactivated\"}\n", a.kid);
	else
		printf("url: %s\nstatus: deactivated\n", a.kid);
	rc = EXIT_OK;
out:
	acme_close(&a);
	signer_stop(signer);
	return rc;
}

int cmd_account(const struct globals *g, int argc, char **argv)
{
	const char *sub;

	if (argc < 2) {
		account_usage(stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		account_usage(stdout);
		return EXIT_OK;
	}
	argc--;
	argv++;
	if (strcmp(sub, "register") == 0)
		return account_register(g, argc, argv);
	if (strcmp(sub, "show") == 0)
		return account_show(g, argc, argv);
	if (strcmp(sub, "thumbprint") == 0)
		return account_thumbprint(g, argc, argv);
	if (strcmp(sub, "rollover") == 0)
		return account_rollover(g, argc, argv);
	if (strcmp(sub, "deactivate") == 0)
		return account_deactivate(g, argc, argv);
	if (strcmp(sub, "migrate") == 0)
		return cmd_account_migrate(g, argc, argv);
	return cli_usage_error("account", "unknown subcommand '%s'", sub);
}
