/*
 * client/migrate.c: p11acme account migrate --from FORMAT:PATH [--account ID]
 * [--type TYPE] [--dry-run].
 *
 * Moves an account that another client keeps in files (key included) to a token key,
 * by RFC 8555 §7.3.5 key rollover: the account keeps its URL and authorizations, and
 * every copy of the old key stops working at the CA at once.
 *
 * Two signers: "old" holds the key file as a software key (in its own process; the
 * network side here never sees it) and, for the keyChange itself, the token key as the
 * rollover target; "tok" holds only the token key, so that a lookup can be signed with
 * it. The steps, each a check the CA answers:
 *   1. old key -> account URL (onlyReturnExisting), which must be valid and match the
 *      client's metadata when it has any;
 *   2. token key -> no account yet (else it is bound to another one: the CA would
 *      answer 409), or the same account (an earlier run moved it: finish);
 *   3. a journal, accounts/<host>/migrated-<old thumbprint>.json holding the URL, so
 *      that a rerun after an interruption knows what was being moved (it stays, so
 *      that any later rerun says "already moved"); generate the token key when it
 *      is missing; keyChange;
 *   4. verify: the token key finds the URL, the old key finds no account;
 *   5. record the account in the cache, print the next steps.
 * --dry-run stops after 2 and changes nothing at the CA, in the token or in files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "client/cli.h"
#include "client/http.h"
#include "client/migrate.h"
#include "client/opts.h"
#include "client/store.h"
#include "client/certkey.h"
#include "common/common.h"

enum lookup { LK_FOUND = 0, LK_NONE = 1, LK_DEACTIVATED = 2, LK_ABSENT = 3 };

struct mig {
	const struct globals *g;
	const char *from, *account_id, *type;
	int dry_run;
	struct migrate_src src;
	struct signer *s_old, *s_tok;
	struct acme a_old, a_tok;
	int old_open, tok_open;
	int old_state, tok_state, key_state;
	char *old_url, *tok_url;  /* the accounts each key finds */
	char *journal_url;        /* what an interrupted run was moving */
	char *journal;            /* its name: migrated-<old thumbprint> */
	char *tok_tp;             /* the token key's thumbprint */
};

static void migrate_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] account migrate --from FORMAT:PATH [--account ID]\n"
"                                    [--type TYPE] [--dry-run]\n"
"\n"
"Move the account another client keeps in files to the token key named by --key\n"
"(RFC 8555 key rollover): the account keeps its URL and authorizations, and the old\n"
"key file stops working at the CA.\n"
"\n"
"  --from FORMAT:PATH  certbot:CONFIG_DIR (e.g. /etc/letsencrypt), lego:PATH (its --path),\n"
"                      uacme:CONFDIR, dehydrated:BASEDIR, lacme:KEYFILE (lacme-accountd's\n"
"                      privkey file), key:FILE (any PEM or JWK private key)\n"
"  --account ID        which account, when the files hold several for --server\n"
"                      (certbot's account id, lego's e-mail)\n"
"  --type TYPE         the token key to generate when --key names none yet:\n"
"                      ec256 (default), ec384, rsa2048, rsa3072, rsa4096\n"
"  --dry-run           every check, and no change (at the CA, in the token, in files)\n");
}

/* -1 to go on, else the exit status. */
static int migrate_parse(struct mig *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "account", required_argument, NULL, 'a' },
		{ "type", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	m->type = "ec256";
	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'f': m->from = optarg; break;
		case 'a': m->account_id = optarg; break;
		case 't': m->type = optarg; break;
		case 'n': m->dry_run = 1; break;
		case 'h': migrate_usage(stdout); return EXIT_OK;
		default: migrate_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("account migrate", "unexpected argument: %s", argv[optind]);
	if (m->from == NULL)
		return cli_usage_error("account migrate", "migrate needs --from FORMAT:PATH");
	if (m->g->signer != NULL)
		return cli_usage_error("account migrate",
				       "migrate needs the token itself (--key, --module), not a "
				       "signer service (--signer): run it where the token is");
	if (m->g->key_uri == NULL)
		return cli_usage_error("account migrate",
				       "migrate needs the token key to move to: --key URI");
	if (!certkey_type_valid(m->type))
		return cli_usage_error("account migrate",
				       "--type: one of ec256, ec384, rsa2048, rsa3072, rsa4096");
	return -1;
}

static int exit_of_signer(int rc)
{
	return rc == SIGNER_ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
}

/* The "old" signer: the key file, and the token key as rollover target when asked. */
static int open_old(struct mig *m, int with_target)
{
	struct signer_config cfg = cli_signer_config(m->g);
	int rc;

	cfg.key_uri = NULL;
	cfg.account_key_file = m->src.key_path;
	cfg.new_key_uri = with_target ? m->g->key_uri : NULL;
	signer_stop(m->s_old);
	m->s_old = NULL;
	if ((rc = signer_start(&cfg, &m->s_old)) != SIGNER_OK)
		return exit_of_signer(rc);
	if (m->old_open) {
		/* Same account key, so the session (nonce, kid, thumbprint) carries on. */
		m->a_old.signer = m->s_old;
		return EXIT_OK;
	}
	if (acme_open(&m->a_old, m->g, m->s_old) != 0)
		return EXIT_FAIL;
	m->old_open = 1;
	return EXIT_OK;
}

static int open_tok(struct mig *m)
{
	int rc;

	if (m->tok_open)
		return EXIT_OK;
	if ((rc = cli_signer_start(m->g, NULL, NULL, &m->s_tok)) != EXIT_OK)
		return rc;
	if (acme_open(&m->a_tok, m->g, m->s_tok) != 0)
		return EXIT_FAIL;
	m->tok_open = 1;
	free(m->tok_tp);
	return (m->tok_tp = strdup(m->a_tok.thumbprint)) != NULL ? EXIT_OK : EXIT_FAIL;
}

/* newAccount onlyReturnExisting with a's key: LK_FOUND (*url), LK_NONE,
 * LK_DEACTIVATED (logged), or -1 (logged). */
static int lookup(struct acme *a, const char *whose, char **url)
{
	struct http_resp r = { 0 };
	struct acme_account acct = { 0 };
	int rc = -1, prc;

	prc = acme_post(a, a->dir.new_account, "{\"onlyReturnExisting\":true}", 1, NULL, &r);
	if (prc == ACME_POST_FAIL)
		goto out;
	if (prc == ACME_POST_PROBLEM) {
		if (acme_resp_is(&r, "accountDoesNotExist"))
			rc = LK_NONE;
		else if (r.code == 401 || r.code == 403) {
			acme_report(whose, &r); /* deactivated or revoked (RFC 8555 §7.3.6) */
			rc = LK_DEACTIVATED;
		} else
			acme_report(a->dir.new_account, &r);
		goto out;
	}
	if (r.location == NULL || strncmp(r.location, "https://", 8) != 0 ||
	    acme_account_parse(r.body, r.len, &acct) != 0) {
		log_error("%s: HTTP %ld: malformed account response", a->dir.new_account, r.code);
		goto out;
	}
	if (acct.status == NULL || strcmp(acct.status, "valid") != 0) {
		log_error("%s: account %s is %s", whose, r.location,
			  acct.status ? acct.status : "of no status");
		rc = LK_DEACTIVATED;
		goto out;
	}
	*url = r.location;
	r.location = NULL;
	rc = LK_FOUND;
out:
	acme_account_free(&acct);
	http_resp_free(&r);
	return rc;
}

/* Step 1: the account of the old key. */
static int check_old(struct mig *m)
{
	int rc;

	if ((rc = open_old(m, 0)) != EXIT_OK)
		return rc;
	if ((m->journal = xasprintf("migrated-%s", m->a_old.thumbprint)) == NULL)
		return EXIT_FAIL;
	m->journal_url = store_account_load(m->g->config_dir, m->g->server, m->journal);
	m->old_state = lookup(&m->a_old, m->src.key_path, &m->old_url);
	if (m->old_state < 0)
		return EXIT_FAIL;
	if (m->old_state == LK_DEACTIVATED) {
		log_error("the account of %s is not valid at %s: there is nothing to move",
			  m->src.key_path, m->g->server);
		return EXIT_FAIL;
	}
	if (m->old_state == LK_FOUND && m->src.account_url != NULL &&
	    strcmp(m->src.account_url, m->old_url) != 0) {
		log_error("%s names account %s, but the CA says its key belongs to %s; "
			  "check --server and the files", m->src.format, m->src.account_url,
			  m->old_url);
		return EXIT_FAIL;
	}
	if (m->old_state == LK_FOUND)
		log_info("the old key (%s, thumbprint %s) is account %s", m->src.key_path,
			 m->a_old.thumbprint, m->old_url);
	return EXIT_OK;
}

/* Step 2: the token key, when it exists: whose account is it? */
static int check_token(struct mig *m)
{
	struct signer_config cfg = cli_signer_config(m->g);
	int rc;

	if ((rc = signer_key_ensure(&cfg, NULL, &m->key_state)) != SIGNER_OK)
		return exit_of_signer(rc);
	if (m->key_state == SIGNER_KEY_ABSENT) {
		m->tok_state = LK_ABSENT;
		log_info("the token holds no key at %s yet: %s", m->g->key_uri,
			 m->dry_run ? "a real run generates one" : "generating one after the checks");
		return EXIT_OK;
	}
	if ((rc = open_tok(m)) != EXIT_OK)
		return rc;
	if (strcmp(m->tok_tp, m->a_old.thumbprint) == 0) {
		log_error("--key names the old key itself (thumbprint %s)", m->tok_tp);
		return EXIT_USAGE;
	}
	m->tok_state = lookup(&m->a_tok, m->g->key_uri, &m->tok_url);
	if (m->tok_state < 0)
		return EXIT_FAIL;
	if (m->tok_state == LK_DEACTIVATED) {
		log_error("the token key belongs to an account that is not valid; pick another "
			  "--key (a new label generates a new key)");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* What the checks say: 0 to move, 1 when an earlier run moved it (finish), or an
 * exit status + 2 (logged). */
static int decide(struct mig *m)
{
	const char *known = m->src.account_url ? m->src.account_url : m->journal_url;

	if (m->old_state == LK_FOUND && m->tok_state == LK_FOUND) {
		log_error("the token key already belongs to account %s, so the CA would refuse "
			  "the move (409 Conflict); pick another --key (a new label generates a "
			  "new key)", m->tok_url);
		return 2 + EXIT_FAIL;
	}
	if (m->old_state == LK_FOUND)
		return 0;
	if (m->tok_state == LK_FOUND && known != NULL && strcmp(known, m->tok_url) == 0) {
		log_info("account %s already uses the token key: an earlier run moved it%s",
			 m->tok_url, m->dry_run ? "" : "; finishing");
		return 1;
	}
	if (m->tok_state == LK_FOUND)
		log_error("%s: the CA knows no account for the old key (%s), and the token key "
			  "belongs to account %s, which %s does not name", m->g->server,
			  m->src.key_path, m->tok_url, m->src.format);
	else
		log_error("%s: the CA knows no account for the key in %s (thumbprint %s): "
			  "wrong --server, or the account was moved or never registered there",
			  m->g->server, m->src.key_path, m->a_old.thumbprint);
	return 2 + EXIT_FAIL;
}

/* keyChange (outer JWS by the old key with kid, inner by the token key with jwk). */
static int keychange(struct mig *m)
{
	struct acme *a = &m->a_old;
	struct http_resp r = { 0 };
	char *inner = NULL;
	int rc = EXIT_FAIL, prc;

	if (a->dir.key_change == NULL) {
		log_error("%s: the CA offers no keyChange", m->g->server);
		return EXIT_FAIL;
	}
	free(a->kid);
	if ((a->kid = strdup(m->old_url)) == NULL ||
	    signer_keychange(a->signer, a->dir.key_change, a->kid, &inner) != SIGNER_OK)
		goto out;
	prc = acme_post(a, a->dir.key_change, inner, 0, NULL, &r);
	if (prc == ACME_POST_OK)
		rc = EXIT_OK;
	else if (prc == ACME_POST_PROBLEM && r.code == 409)
		log_error("%s: the token key already belongs to account %s (409 Conflict); "
			  "nothing changed; pick another --key", a->dir.key_change,
			  r.location ? r.location : "(no Location)");
	else if (prc == ACME_POST_PROBLEM && (acme_resp_is(&r, "badPublicKey") ||
					      acme_resp_is(&r, "badSignatureAlgorithm"))) {
		acme_report(a->dir.key_change, &r);
		log_error("the CA refuses the token key's type (%s); nothing changed; generate "
			  "another type with a new --key and --type", signer_alg(a->signer, SIGNER_KEY_NEW));
	} else if (prc == ACME_POST_PROBLEM)
		acme_report(a->dir.key_change, &r);
out:
	free(inner);
	http_resp_free(&r);
	return rc;
}

/* Step 3: journal, token key, keyChange. */
static int move(struct mig *m)
{
	struct signer_config cfg = cli_signer_config(m->g);
	int rc;

	if (store_account_save(m->g->config_dir, m->g->server, m->journal, m->old_url) != 0)
		return EXIT_FAIL;
	if (m->key_state == SIGNER_KEY_ABSENT) {
		if ((rc = signer_key_ensure(&cfg, m->type, &m->key_state)) != SIGNER_OK)
			return exit_of_signer(rc);
		log_info("generated a %s key at %s (it cannot leave the token)", m->type,
			 m->g->key_uri);
		if ((rc = open_tok(m)) != EXIT_OK)
			return rc;
	}
	if ((rc = open_old(m, 1)) != EXIT_OK || (rc = keychange(m)) != EXIT_OK)
		return rc;
	log_info("keyChange done: account %s now uses the token key (thumbprint %s)",
		 m->old_url, m->tok_tp);
	return EXIT_OK;
}

/* Step 4: the CA agrees, asked with each key. */
static int verify(struct mig *m, const char *url)
{
	char *again = NULL;
	int st, rc = EXIT_FAIL;

	if (lookup(&m->a_tok, m->g->key_uri, &again) != LK_FOUND || strcmp(again, url) != 0) {
		log_error("verification failed: the token key does not find account %s%s%s",
			  url, again ? " but " : "", again ? again : "");
		goto out;
	}
	free(again);
	again = NULL;
	if ((st = lookup(&m->a_old, m->src.key_path, &again)) != LK_NONE) {
		if (st == LK_FOUND)
			log_error("verification failed: the old key still finds account %s", again);
		goto out;
	}
	log_info("verified: the token key finds %s, the old key finds no account", url);
	rc = EXIT_OK;
out:
	free(again);
	return rc;
}

/* The result on stdout: "key: value" lines, or one JSON object. tp may be NULL (a
 * dry run before the token key exists). */
static int print_result(const struct globals *g, const char *url, const char *tp,
			const char *old_tp, int dry_run)
{
	cJSON *o = NULL;
	int rc = EXIT_FAIL;

	if (!g->json) {
		printf("url: %s\n", url);
		if (tp != NULL)
			printf("thumbprint: %s\n", tp);
		printf("old thumbprint: %s\n", old_tp);
		if (dry_run)
			printf("dry run: nothing changed\n");
		return EXIT_OK;
	}
	if ((o = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(o, "url", url) == NULL ||
	    (tp != NULL && cJSON_AddStringToObject(o, "thumbprint", tp) == NULL) ||
	    cJSON_AddStringToObject(o, "old_thumbprint", old_tp) == NULL ||
	    cJSON_AddBoolToObject(o, "dry_run", dry_run) == NULL)
		goto out;
	rc = cli_print_json(o, 0);
out:
	cJSON_Delete(o);
	return rc;
}

/* Step 5. */
static int record(struct mig *m, const char *url)
{
	const struct globals *g = m->g;

	if (store_account_save(g->config_dir, g->server, m->tok_tp, url) != 0)
		return EXIT_FAIL;
	log_info("account %s is now in the token: use --key %s", url, g->key_uri);
	log_info("next: the old key (%s) no longer belongs to any account at %s, so every "
		 "copy of it is useless; remove the old %s files from every host that has "
		 "them, and point those hosts at the token key with p11acme", m->src.key_path,
		 g->server, m->src.format);
	return print_result(g, url, m->tok_tp, m->a_old.thumbprint, 0);
}

static int dry_run_report(struct mig *m, int finish)
{
	const char *url = finish ? m->tok_url : m->old_url;

	if (finish)
		log_info("dry run: account %s already uses the token key; a real run records it",
			 url);
	else
		log_info("dry run: every check passed; a real run moves account %s from the key in "
			 "%s to %s%s; nothing was changed", url, m->src.key_path, m->g->key_uri,
			 m->key_state == SIGNER_KEY_ABSENT ? " (generated then)" : "");
	return print_result(m->g, url, m->tok_tp, m->a_old.thumbprint, 1);
}

static void mig_free(struct mig *m)
{
	if (m->old_open)
		acme_close(&m->a_old);
	if (m->tok_open)
		acme_close(&m->a_tok);
	signer_stop(m->s_old);
	signer_stop(m->s_tok);
	migrate_src_free(&m->src);
	free(m->old_url);
	free(m->tok_url);
	free(m->journal_url);
	free(m->journal);
	free(m->tok_tp);
}

int cmd_account_migrate(const struct globals *g, int argc, char **argv)
{
	struct mig m = { 0 };
	const char *url;
	int rc, d;

	m.g = g;
	if ((rc = migrate_parse(&m, argc, argv)) != -1)
		return rc;
	if ((rc = migrate_find(m.from, g->server, m.account_id, &m.src)) != EXIT_OK)
		goto out;
	log_info("moving the %s account%s%s%s (key %s) to %s", m.src.format,
		 m.src.id ? " " : "", m.src.id ? m.src.id : "",
		 m.dry_run ? " (dry run)" : "", m.src.key_path, g->key_uri);
	if ((rc = check_old(&m)) != EXIT_OK || (rc = check_token(&m)) != EXIT_OK)
		goto out;
	if ((d = decide(&m)) >= 2) {
		rc = d - 2;
		goto out;
	}
	if (m.dry_run) {
		rc = dry_run_report(&m, d);
		goto out;
	}
	url = d == 1 ? m.tok_url : m.old_url;
	if ((d == 0 && (rc = move(&m)) != EXIT_OK) || (rc = verify(&m, url)) != EXIT_OK)
		goto out;
	rc = record(&m, url);
out:
	mig_free(&m);
	return rc;
}
