/*
 * client/issue.c: p11acme issue (issue.h). The steps, each its own function,
 * driven by issue_run(): newOrder -> authorize (reuse or solve) -> finalize with a
 * CSR -> download the chain -> commit the set atomically -> renewal config ->
 * deploy hook. cmd_issue() parses the command line into a struct issue_req, calls
 * issue_run() and prints the result; renew builds the request from the conf.
 */
#include "client/issue.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client/certkey.h"
#include "client/cleanup.h"
#include "client/cli.h"
#include "client/guard.h"
#include "client/opts.h"
#include "client/pending.h"
#include "client/renewal.h"
#include "client/portcheck.h"
#include "client/store.h"
#include "client/validate.h"
#include "common/common.h"
#include "common/trace.h"

/* State of one issuance. */
struct issue {
	const struct globals *g;
	struct issue_req *req;
	struct issue_result *res;
	struct acme a;
	struct signer *signer;
	struct acme_order order;
	char *order_url;
	EVP_PKEY *cert_key;          /* freshly generated; NULL with --cert-key/--csr */
	unsigned char *csr;
	size_t csr_len;
	char *chain_pem;             /* as downloaded (the chosen chain) */
	int cert_refused;            /* the CA's certificate failed a check: not kept */
};

static void issue_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] issue -d NAME [-d NAME...] [--cert-name NAME] SOLVER [options]\n"
"\n"
"Solvers (exactly one):\n"
"  --webroot DIR          write DIR/.well-known/acme-challenge/TOKEN (http-01); given\n"
"                         several times, each is for the -d names after it (the\n"
"                         names before the first take the first): a webroot map\n"
"  --standalone           built-in http-01 server on every address\n"
"      [--http-port N]    port to listen on (default 80)\n"
"      [--http-address A] listen only on address A\n"
"  --stateless            answer nothing here; a surrogate running serve-http01 (or\n"
"                         the http01-config snippet) answers token.thumbprint\n"
"  --dns-hook CMD         dns-01: run 'CMD begin|done|failed dns-01 IDENT TOKEN AUTH'\n"
"                         (also P11ACME_METHOD, _TYPE, _IDENT, _TOKEN, _AUTH)\n"
"  --reuse-only           answer no challenge; exit 3 naming each identifier that has\n"
"                         no valid authorization\n"
"Options:\n"
"  -d, --domain NAME      a name for the certificate (repeat; '*.' for a wildcard)\n"
"  --cert-name NAME       name under live/ and archive/ (default: the first name)\n"
"  --key-type TYPE        ec256 (default), ec384, rsa2048, rsa3072, rsa4096\n"
"  --cert-key URI         certificate key held in a token (no privkey.pem)\n"
"  --csr FILE             use this CSR (names from it; no privkey.pem)\n"
"  --profile NAME         ACME profile to request in newOrder\n"
"  --preferred-chain CN   pick the chain whose topmost issuer has this common name\n"
"  --deploy-hook CMD      run CMD after the new set is live (P11ACME_CERT_NAME,\n"
"                         P11ACME_LIVE_DIR, P11ACME_DOMAINS)\n"
"  --replaces CERTID      ARI (RFC 9773): this order replaces that certificate\n"
"  --force                order even when --cert-name names a certificate of other\n"
"                         names, or the same names are live and not due (without\n"
"                         it: exit 2, or exit 0 and nothing ordered)\n"
"  --agree-tos            when the key has no account at the CA yet, register one,\n"
"                         agreeing to the CA's terms of service (without it: exit 1,\n"
"                         naming 'account register')\n"
"  --email ADDR           the new account's contact (repeat; with --agree-tos)\n");
}

static int set_solver(struct issue_req *o, enum solver_kind k)
{
	if (o->solver.kind != SOLVE_NONE && o->solver.kind != k)
		return cli_usage_error("issue", "give exactly one of --webroot, --standalone, "
				       "--stateless, --dns-hook, --reuse-only");
	o->solver.kind = k;
	return EXIT_OK;
}

static int parse_port(const char *s, int *port)
{
	long v;

	if (parse_long(s, 1, 65535, &v) != 0)
		return -1;
	*port = (int)v;
	return 0;
}

/* Returns EXIT_OK, EXIT_USAGE, or -1 for --help (printed). */
enum { O_CN = 256, O_WEBROOT, O_STANDALONE, O_PORT, O_ADDR, O_STATELESS, O_DNS,
       O_REUSE, O_KEYTYPE, O_CERTKEY, O_CSR, O_PROFILE, O_CHAIN, O_DEPLOY, O_REPLACES,
       O_FORCE, O_EMAIL, O_AGREE };

static const struct option issue_opts_long[] = {
	{ "domain", required_argument, NULL, 'd' },
	{ "cert-name", required_argument, NULL, O_CN },
	{ "webroot", required_argument, NULL, O_WEBROOT },
	{ "standalone", no_argument, NULL, O_STANDALONE },
	{ "http-port", required_argument, NULL, O_PORT },
	{ "http-address", required_argument, NULL, O_ADDR },
	{ "stateless", no_argument, NULL, O_STATELESS },
	{ "dns-hook", required_argument, NULL, O_DNS },
	{ "reuse-only", no_argument, NULL, O_REUSE },
	{ "key-type", required_argument, NULL, O_KEYTYPE },
	{ "cert-key", required_argument, NULL, O_CERTKEY },
	{ "csr", required_argument, NULL, O_CSR },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "preferred-chain", required_argument, NULL, O_CHAIN },
	{ "deploy-hook", required_argument, NULL, O_DEPLOY },
	{ "replaces", required_argument, NULL, O_REPLACES },
	{ "force", no_argument, NULL, O_FORCE },
	{ "email", required_argument, NULL, O_EMAIL },
	{ "agree-tos", no_argument, NULL, O_AGREE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the parser remembers between options. */
struct issue_parse_state {
	int http_opts;                            /* --http-port or --http-address */
	const char *webroot_for[ISSUE_MAX_NAMES]; /* the --webroot before each -d name */
	const char *cur_webroot;
	int n_webroots;
};

/* One --webroot: the first is the solver's; each is for the -d names after it. */
static int webroot_option(struct issue_req *o, struct issue_parse_state *st)
{
	int rc = set_solver(o, SOLVE_WEBROOT);

	if (o->solver.webroot == NULL)
		o->solver.webroot = optarg;
	st->cur_webroot = optarg;
	st->n_webroots++;
	return rc;
}

/* One option of issue: EXIT_OK to go on, -1 after --help (printed), else the exit
 * status. */
static int issue_option(int c, struct issue_req *o, struct issue_parse_state *st)
{
	int rc = EXIT_OK;

	switch (c) {
	case 'd':
		if ((rc = issue_req_add_name(o, optarg)) == EXIT_OK)
			st->webroot_for[o->n_names - 1] = st->cur_webroot;
		break;
	case O_CN: o->cert_name = optarg; break;
	case O_WEBROOT: rc = webroot_option(o, st); break;
	case O_STANDALONE: rc = set_solver(o, SOLVE_STANDALONE); break;
	case O_PORT:
		st->http_opts = 1;
		if (parse_port(optarg, &o->solver.http_port) != 0)
			rc = cli_usage_error("issue", "--http-port: not a port: %s", optarg);
		break;
	case O_ADDR: st->http_opts = 1; o->solver.http_address = optarg; break;
	case O_STATELESS: rc = set_solver(o, SOLVE_STATELESS); break;
	case O_DNS: rc = set_solver(o, SOLVE_DNS); o->solver.dns_hook = optarg; break;
	case O_REUSE: rc = set_solver(o, SOLVE_REUSE); break;
	case O_KEYTYPE: o->key_type = optarg; break;
	case O_CERTKEY: o->cert_key = optarg; break;
	case O_CSR: o->csr_file = optarg; break;
	case O_PROFILE: o->profile = optarg; break;
	case O_CHAIN: o->preferred_chain = optarg; break;
	case O_DEPLOY: o->deploy_hook = optarg; break;
	case O_REPLACES: o->replaces = optarg; break;
	case O_FORCE: o->force = 1; break;
	case O_EMAIL: rc = cli_email_add(&o->account, "issue", optarg); break;
	case O_AGREE: o->account.agree = 1; break;
	case 'h': issue_usage(stdout); return -1;
	default: issue_usage(stderr); return EXIT_USAGE;
	}
	return rc;
}

static int issue_parse(int argc, char **argv, struct issue_req *o)
{
	struct issue_parse_state st = { 0 };
	int c, rc;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "d:h", issue_opts_long)) != -1)
		if ((rc = issue_option(c, o, &st)) != EXIT_OK)
			return rc;
	if (optind < argc)
		return cli_usage_error("issue", "unexpected argument: %s", argv[optind]);
	if (o->solver.kind != SOLVE_NONE && st.http_opts && o->solver.kind != SOLVE_STANDALONE)
		return cli_usage_error("issue", "--http-port and --http-address go with --standalone");
	if (o->account.n_contacts > 0 && !o->account.agree)
		return cli_usage_error("issue", "--email registers an account: it needs --agree-tos");
	if (st.n_webroots > 1 && o->csr_file != NULL && o->n_names == 0)
		return cli_usage_error("issue", "several --webroot need their -d names (with --csr too)");
	/* several --webroot: each is for the -d names after it (certbot's -w); names
	 * before the first take the first */
	if (st.n_webroots > 1) {
		for (size_t i = 0; i < o->n_names; i++)
			o->map[i] = (struct webroot_map){ o->names[i], st.webroot_for[i] ?
							  st.webroot_for[i] : o->solver.webroot };
		o->solver.webroot_map = o->map;
		o->solver.n_webroot_map = o->n_names;
	}
	return issue_req_check(o);
}

/* With --csr the names come from the CSR; -d, when given, must agree. */
static int csr_names(struct issue *is)
{
	struct issue_req *o = is->req;
	char **names = NULL;
	size_t n = 0;
	int rc = csr_load(o->csr_file, &is->csr, &is->csr_len, &names, &n);

	if (rc != 0) {
		rc = rc == -2 ? EXIT_USAGE : EXIT_FAIL;  /* no such regular file: config */
		goto out;
	}
	rc = EXIT_USAGE;
	if (o->n_names > 0) {
		int same = o->n_names == n;
		for (size_t i = 0; same && i < n; i++) {
			same = 0;
			for (size_t j = 0; j < o->n_names; j++)
				if (strcasecmp(names[i], o->names[j]) == 0)
					same = 1;
		}
		if (!same) {
			log_error("%s: the names in the CSR differ from -d", o->csr_file);
			goto out;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			if (issue_req_add_name(o, names[i]) != EXIT_OK)
				goto out;
	}
	rc = EXIT_OK;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- step: authorizations ---- */

/* Report why an authorization is not valid, from its challenges' errors. */
static void authz_report(const struct acme_authz *z)
{
	int any = 0;

	for (size_t i = 0; i < z->n_challs; i++) {
		if (z->challs[i].error == NULL)
			continue;
		acme_report_problem(z->ident.value, z->challs[i].error);
		any = 1;
	}
	if (!any)
		log_error("%s: authorization is %s", safe_str(z->ident.value), safe_str(z->status));
}

/* A "ready" order: every authorization is valid (RFC 8555 §7.1.6), so none is
 * fetched; each identifier is reported as reused, as a fetch would have. */
static void issue_authz_all_valid(const struct issue *is)
{
	for (size_t i = 0; i < is->order.n_idents; i++)
		log_info("%s: authorization valid, reused", is->order.idents[i].value);
}

/* Fetch every authorization and check that each is for a name that was ordered,
 * all before any challenge is answered or any hook runs. The CA's identifier
 * is then replaced by the ordered name, so that hooks only ever see validated
 * names, never the CA's text. */
static int issue_authz_fetch(struct issue *is, struct acme_authz *zs)
{
	const char *name;
	size_t idx;

	for (size_t i = 0; i < is->order.n_authzs; i++) {
		if (acme_authz_get(&is->a, is->order.authzs[i], &zs[i]) != 0 ||
		    authz_ident_check(&zs[i], is->req->names, is->req->n_names, is->order.authzs[i],
				      &idx) != 0)
			return EXIT_FAIL;
		name = is->req->names[idx];
		if (strncmp(name, "*.", 2) == 0)
			name += 2;
		free(zs[i].ident.value);
		if ((zs[i].ident.value = strdup(name)) == NULL)
			return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Ready a challenge for each pending authorization (the solver keeps the list).
 * Returns EXIT_OK, EXIT_FAIL or EXIT_NEED_CHALLENGE (--reuse-only). */
static int issue_authz_prepare(struct issue *is, struct solver *s, const struct acme_authz *zs)
{
	int missing = 0;

	for (size_t i = 0; i < is->order.n_authzs; i++) {
		const struct acme_authz *z = &zs[i];

		if (z->state == ACME_ST_VALID) {
			log_info("%s%s: authorization valid, reused", z->wildcard ? "*." : "",
				 z->ident.value);
			continue;
		}
		if (z->state != ACME_ST_PENDING) {
			authz_report(z);
			return EXIT_FAIL;
		}
		if (is->req->solver.kind == SOLVE_REUSE) {
			log_error("%s%s: no valid authorization for this account; a challenge is needed",
				  z->wildcard ? "*." : "", z->ident.value);
			if (is->res->n_needs < ISSUE_MAX_NAMES &&
			    (is->res->needs[is->res->n_needs] = xasprintf("%s%s", z->wildcard ? "*." : "",
									  z->ident.value)) != NULL)
				is->res->n_needs++;
			missing++;
			continue;
		}
		if (solver_begin(s, &is->a, z, is->order.authzs[i]) != 0)
			return EXIT_FAIL;
	}
	return missing ? EXIT_NEED_CHALLENGE : EXIT_OK;
}

/* Tell the CA to validate each readied challenge, then wait for every result, so
 * that each dns hook's done/failed says how its own authorization ended. */
static int issue_authz_validate(struct issue *is, struct solver *s)
{
	struct acme_authz z = { 0 };
	size_t n = solver_count(s);
	int rc = EXIT_OK;

	for (size_t i = 0; i < n; i++)
		if (acme_challenge_respond(&is->a, solver_chall_url(s, i)) != 0)
			return EXIT_FAIL;
	for (size_t i = 0; i < n; i++) {
		acme_authz_free(&z);
		if (acme_authz_wait(&is->a, solver_authz_url(s, i), &z) != 0) {
			rc = EXIT_FAIL;
			continue;
		}
		if (z.state != ACME_ST_VALID) {
			authz_report(&z);
			rc = EXIT_FAIL;
			continue;
		}
		log_info("%s%s: authorization valid", z.wildcard ? "*." : "", safe_str(z.ident.value));
		solver_result(s, i, 1);
	}
	acme_authz_free(&z);
	return rc;
}

static int issue_authorize(struct issue *is)
{
	struct solver *s = NULL;
	struct acme_authz *zs = NULL;
	int rc = EXIT_FAIL;

	if (is->order.state == ACME_ST_READY || is->order.state == ACME_ST_PROCESSING ||
	    is->order.state == ACME_ST_VALID) {
		issue_authz_all_valid(is);
		return EXIT_OK;
	}
	if (is->order.n_authzs == 0) {
		log_error("%s: the order is %s but lists no authorizations; nothing could ever "
			  "make it ready", safe_str(is->order_url), safe_str(is->order.status));
		return EXIT_FAIL;
	}
	if ((zs = calloc(is->order.n_authzs, sizeof(*zs))) == NULL ||
	    (rc = issue_authz_fetch(is, zs)) != EXIT_OK)
		goto out;
	if ((s = solver_new(&is->req->solver, is->a.thumbprint)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = issue_authz_prepare(is, s, zs);
	if (rc == EXIT_OK && solver_count(s) > 0)
		rc = issue_authz_validate(is, s);
out:
	solver_end(s);
	for (size_t i = 0; zs != NULL && i < is->order.n_authzs; i++)
		acme_authz_free(&zs[i]);
	free(zs);
	return rc;
}

/* ---- step: order, CSR, finalize ---- */

/* A profile the CA does not list in meta.profiles would be ignored by some CAs and
 * refused by others; either way the certificate is not what was asked for. */
static int profile_offered(const struct acme_directory *dir, const char *server,
			   const char *profile)
{
	if (dir->n_profiles == 0) {
		log_error("--profile %s: %s offers no profiles (no meta.profiles in its directory); "
			  "leave --profile out", profile, server);
		return 0;
	}
	for (size_t i = 0; i < dir->n_profiles; i++)
		if (strcmp(dir->profiles[i], profile) == 0)
			return 1;
	log_error("--profile %s: the CA does not offer it; it offers:", profile);
	for (size_t i = 0; i < dir->n_profiles; i++)
		log_error("  %s", dir->profiles[i]);
	return 0;
}

static int issue_order(struct issue *is)
{
	if (is->req->profile != NULL && !profile_offered(&is->a.dir, is->g->server, is->req->profile))
		return EXIT_USAGE;
	if (acme_order_new(&is->a, is->req->names, is->req->n_names, is->req->profile,
			   is->req->replaces, &is->order, &is->order_url) != 0)
		return EXIT_FAIL;
	log_info("order %s is %s", safe_str(is->order_url), safe_str(is->order.status));
	if (order_idents_check(&is->order, is->req->names, is->req->n_names, is->order_url) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}

static int issue_csr(struct issue *is)
{
	struct issue_req *o = is->req;

	if (is->csr != NULL)
		return EXIT_OK; /* --csr */
	if (o->cert_key != NULL) {
		if (signer_csr(is->signer, (const char *const *)o->names, o->n_names, &is->csr,
			       &is->csr_len) != SIGNER_OK)
			return EXIT_FAIL;
		return EXIT_OK;
	}
	/* a resumed order comes with the key it was made for */
	if (is->cert_key == NULL &&
	    (is->cert_key = certkey_generate(o->key_type ? o->key_type : "ec256")) == NULL)
		return EXIT_FAIL;
	if (certkey_csr(is->cert_key, o->names, o->n_names, &is->csr, &is->csr_len) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}

static int order_failed(const struct issue *is, const char *expected)
{
	if (is->order.error != NULL)
		acme_report_problem(is->order_url, is->order.error);
	log_error("%s: order is %s, expected %s", safe_str(is->order_url),
		  safe_str(is->order.status), expected);
	return EXIT_FAIL;
}

/* A resumed order that an earlier run finalized: wait for it to be valid; the CSR
 * (for the commit's check) is made again from the recorded key. */
static int issue_finalized(struct issue *is)
{
	if (issue_csr(is) != EXIT_OK)
		return EXIT_FAIL;
	if (is->order.state != ACME_ST_VALID &&
	    acme_order_wait_issued(&is->a, is->order_url, NULL, &is->order) != 0)
		return EXIT_FAIL;
	if (is->order.state != ACME_ST_VALID || is->order.certificate == NULL)
		return order_failed(is, "valid with a certificate");
	return EXIT_OK;
}

static int issue_finalize(struct issue *is)
{
	char *finalize = NULL, *retry_after = NULL;
	int rc = EXIT_FAIL;

	/* authorized: from here a run ended by a signal leaves the order record for the
	 * next run (the solver's cleanup_clear did the same) */
	cleanup_clear();
	if (is->order.state == ACME_ST_VALID || is->order.state == ACME_ST_PROCESSING)
		return issue_finalized(is);

	/* A "ready" order (from newOrder, all authorizations reused) needs no second
	 * look; after solving challenges it is fetched until it leaves "pending". */
	if (is->order.state != ACME_ST_READY &&
	    acme_order_wait(&is->a, is->order_url, &is->order) != 0)
		return EXIT_FAIL;
	if (is->order.state != ACME_ST_READY)
		return order_failed(is, "ready");
	trace("csr");
	if (issue_csr(is) != EXIT_OK || (finalize = strdup(is->order.finalize)) == NULL)
		goto out;
	acme_order_free(&is->order);
	if (acme_order_finalize(&is->a, finalize, is->csr, is->csr_len, &is->order,
				&retry_after) != 0)
		goto out;
	if (is->order.state != ACME_ST_VALID &&
	    acme_order_wait_issued(&is->a, is->order_url, retry_after, &is->order) != 0)
		goto out;
	if (is->order.state != ACME_ST_VALID || is->order.certificate == NULL) {
		rc = order_failed(is, "valid with a certificate");
		goto out;
	}
	rc = EXIT_OK;
out:
	free(finalize);
	free(retry_after);
	return rc;
}

/* ---- step: download ---- */

/* 1 when the topmost certificate of the chain was issued by (or is) cn. */
static int chain_matches(const char *pem, const char *cn)
{
	char **certs = NULL, *issuer = NULL;
	size_t n = 0;
	int match = 0;

	if (pem_chain_split(pem, strlen(pem), &certs, &n) != 0)
		return 0;
	issuer = cert_issuer_cn(certs[n - 1]);
	match = issuer != NULL && strcmp(issuer, cn) == 0;
	free(issuer);
	pem_chain_free(certs, n);
	return match;
}

static int issue_download(struct issue *is)
{
	struct link *links = NULL;
	size_t n_links = 0;
	char *alt = NULL;
	int rc = EXIT_FAIL;

	if (acme_cert_get(&is->a, is->order.certificate, &is->chain_pem, &links, &n_links) != 0)
		goto out;
	if (is->req->preferred_chain != NULL && !chain_matches(is->chain_pem, is->req->preferred_chain)) {
		for (size_t i = 0; i < n_links; i++) {
			if (strcmp(links[i].rel, "alternate") != 0)
				continue;
			free(alt);
			alt = NULL;
			if (!url_same_origin(is->g->server, links[i].uri)) {
				log_warn("%s: an alternate chain on another host than the directory; "
					 "skipping it", safe_str(links[i].uri));
				continue;
			}
			/* The certificate is issued already: an alternate that fails (404,
			 * another host) is skipped, never a reason to lose it. */
			if (acme_cert_get(&is->a, links[i].uri, &alt, NULL, NULL) != 0) {
				log_warn("%s: the alternate chain could not be fetched; trying the next",
					 safe_str(links[i].uri));
				continue;
			}
			if (chain_matches(alt, is->req->preferred_chain)) {
				log_info("using the alternate chain %s", safe_str(links[i].uri));
				free(is->chain_pem);
				is->chain_pem = alt;
				alt = NULL;
				break;
			}
		}
		if (!chain_matches(is->chain_pem, is->req->preferred_chain))
			log_warn("no chain issued by '%s'; using the default chain",
				 is->req->preferred_chain);
	}
	rc = EXIT_OK;
out:
	free(alt);
	links_free(links, n_links);
	return rc;
}

/* ---- step: check and commit ---- */

static char *concat(char *const *parts, size_t from, size_t to)
{
	size_t len = 0;
	char *out;

	for (size_t i = from; i < to; i++)
		len += strlen(parts[i]);
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = from, off = 0; i < to; i++) {
		memcpy(out + off, parts[i], strlen(parts[i]) + 1);
		off += strlen(parts[i]);
	}
	return out;
}

static int issue_commit(struct issue *is)
{
	struct cert_set set = { 0 };
	EVP_PKEY *csr_key = NULL;
	char **certs = NULL, *chain = NULL, *full = NULL, *key = NULL;
	size_t n = 0;
	int rc = EXIT_FAIL;

	/* a certificate that fails a check would fail it again in the next run */
	is->cert_refused = 1;
	if (pem_chain_split(is->chain_pem, strlen(is->chain_pem), &certs, &n) != 0) {
		log_error("%s: not a PEM certificate chain", safe_str(is->order.certificate));
		goto out;
	}
	/* A CA bug or a swapped response must not reach a web server. The key
	 * generated here, else (--csr, --cert-key) the CSR's. */
	if (is->cert_key == NULL && (csr_key = csr_pubkey(is->csr, is->csr_len)) == NULL)
		goto out;
	if (cert_chain_check(certs, n, is->req->names, is->req->n_names,
			     is->cert_key != NULL ? is->cert_key : csr_key, time(NULL),
			     is->order.certificate) != 0)
		goto out;
	is->cert_refused = 0;
	if ((chain = concat(certs, 1, n)) == NULL || (full = concat(certs, 0, n)) == NULL)
		goto out;
	if (is->cert_key != NULL && (key = certkey_pem(is->cert_key)) == NULL)
		goto out;
	set.cert_pem = certs[0];
	set.chain_pem = chain;
	set.fullchain_pem = full;
	set.privkey_pem = key;
	if (store_commit(is->g->config_dir, is->req->cert_name, &set, &is->res->live_dir) != 0)
		goto out;
	rc = EXIT_OK;
out:
	EVP_PKEY_free(csr_key);
	secret_free(key);
	free(chain);
	free(full);
	pem_chain_free(certs, n);
	return rc;
}

/* The commit step. Nothing after the download signs, so the signer is closed
 * first: it logs out and exits while the set is written (fsync), not after. */
static int issue_commit_traced(struct issue *is)
{
	int rc;

	signer_close(is->signer);
	trace("commit");
	rc = issue_commit(is);
	trace("committed");
	return rc;
}

static int issue_deploy(struct issue *is)
{
	const char *hook = is->req->hook_this_run ? is->req->hook_this_run : is->req->deploy_hook;
	char *env[3] = { NULL }, *domains = NULL, *nd;
	struct hook_opts ho;
	int rc = EXIT_FAIL, st;

	if (hook == NULL)
		return EXIT_OK;
	if ((domains = strdup("")) == NULL)
		goto out;
	for (size_t i = 0; i < is->req->n_names; i++) {
		nd = xasprintf("%s%s%s", domains, i ? " " : "", is->req->names[i]);
		if (nd == NULL)
			goto out;
		free(domains);
		domains = nd;
	}
	env[0] = xasprintf("P11ACME_CERT_NAME=%s", is->req->cert_name);
	env[1] = xasprintf("P11ACME_LIVE_DIR=%s", is->res->live_dir);
	env[2] = xasprintf("P11ACME_DOMAINS=%s", domains);
	if (env[0] == NULL || env[1] == NULL || env[2] == NULL)
		goto out;
	ho = hook_opts_of(is->g);
	st = hook_run(hook, NULL, 0, env, 3, &ho);
	if (st != 0) {
		if (st > 0)
			log_error("deploy hook '%s' exited with %d; the new certificate stays in %s",
				  hook, st, is->res->live_dir);
		else
			log_error("deploy hook '%s' did not finish; the new certificate stays in %s",
				  hook, is->res->live_dir);
		goto out;
	}
	rc = EXIT_OK;
out:
	for (int i = 0; i < 3; i++)
		free(env[i]);
	free(domains);
	return rc;
}

/* Every hook the run may call names a regular file (hook_check), before anything
 * is ordered: EXIT_OK, or EXIT_USAGE after logging. */
static int hooks_check(const struct issue_req *r)
{
	const char *hooks[] = { r->solver.kind == SOLVE_DNS ? r->solver.dns_hook : NULL,
				r->hook_this_run ? r->hook_this_run : r->deploy_hook };

	for (size_t i = 0; i < 2; i++)
		if (hooks[i] != NULL && hook_check(hooks[i]) != 0)
			return EXIT_USAGE;
	return EXIT_OK;
}

/* The request's defaults and what the CSR file says: hook limits, names from
 * --csr, the certificate name from the first name. */
static int issue_prepare(struct issue *is)
{
	struct issue_req *r = is->req;
	int rc;

	r->solver.hook = hook_opts_of(is->g);
	if ((rc = hooks_check(r)) != EXIT_OK ||
	    (r->csr_file != NULL && (rc = csr_names(is)) != EXIT_OK))
		return rc;
	if (r->cert_name == NULL) {
		r->cert_name_owned = strdup(strncmp(r->names[0], "*.", 2) == 0 ? r->names[0] + 2
										: r->names[0]);
		if (r->cert_name_owned == NULL)
			return EXIT_FAIL;
		r->cert_name = r->cert_name_owned;
	}
	if (!r->force)
		return issue_guard(is->g->config_dir, r->cert_name, r->names, r->n_names);
	return EXIT_OK;
}

static void issue_free(struct issue *is)
{
	acme_order_free(&is->order);
	free(is->order_url);
	EVP_PKEY_free(is->cert_key);
	OPENSSL_free(is->csr);
	free(is->chain_pem);
	acme_close(&is->a);
	signer_stop(is->signer);
}

/* Record the new order, with the key its CSR is for, until the set is live. */
static void issue_pending_save(struct issue *is)
{
	struct pending_order p = { 0 };

	p.server = (char *)is->g->server;
	p.account = is->a.kid;
	p.order_url = is->order_url;
	p.names = is->req->names;
	p.n_names = is->req->n_names;
	if (is->cert_key != NULL && (p.key_pem = certkey_pem(is->cert_key)) == NULL)
		return;
	pending_save(is->g->config_dir, is->req->cert_name, &p);
	secret_free(p.key_pem);
}

/* The session, then the order: the one an earlier run could not store, else a new
 * one after the checks that it can be stored (and that the port is free), recorded
 * with its key. */
static int issue_begin(struct issue *is)
{
	const struct issue_req *r = is->req;
	int rc, port = r->solver.http_port > 0 ? r->solver.http_port : 80;

	rc = cli_session(is->g, NULL, r->cert_key, &is->signer, &is->a, 0);
	if (rc != EXIT_OK)
		return rc;
	if (acme_account_find_or_new(&is->a, &r->account) != 0)
		return EXIT_FAIL;
	if (store_commit_check(is->g->config_dir, r->cert_name) != 0)
		return EXIT_FAIL;
	/* the CA's order, as fetched now, must still be for these names (pending.c) */
	rc = pending_resume(&is->a, is->g->config_dir, r->cert_name, r->names, r->n_names,
			    r->cert_key == NULL && r->csr_file == NULL, &is->order, &is->order_url,
			    &is->cert_key);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_FAIL;
	/* a port held by another server must cost no order */
	if (r->solver.kind == SOLVE_STANDALONE && port_check(r->solver.http_address, port) != 0)
		return EXIT_FAIL;
	if ((rc = issue_order(is)) != EXIT_OK || (rc = issue_csr(is)) != EXIT_OK)
		return rc;
	issue_pending_save(is);
	return EXIT_OK;
}

int issue_run(const struct globals *g, struct issue_req *req, struct issue_result *res)
{
	struct issue is = { 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	is.g = g;
	is.req = req;
	is.res = res;
	if ((rc = issue_prepare(&is)) != EXIT_OK)
		goto out;
	if ((rc = issue_begin(&is)) != EXIT_OK || (rc = issue_authorize(&is)) != EXIT_OK ||
	    (rc = issue_finalize(&is)) != EXIT_OK || (rc = issue_download(&is)) != EXIT_OK ||
	    (rc = issue_commit_traced(&is)) != EXIT_OK) {
		/* only a finished order, with a certificate that passed, is worth
		 * finishing next time */
		if (is.order_url != NULL && ((is.order.state != ACME_ST_VALID &&
		    is.order.state != ACME_ST_PROCESSING) || is.cert_refused))
			pending_remove(g->config_dir, req->cert_name);
		goto out;
	}
	pending_remove(g->config_dir, req->cert_name);
	log_info("%s: certificate for %s is live in %s", req->cert_name, req->names[0],
		 res->live_dir);
	if ((res->cert_url = strdup(is.order.certificate)) == NULL)
		rc = EXIT_FAIL;
	/* The set is committed: a failure from here on reports, and the cert stays. */
	else
		rc = renewal_write(g, req, is.a.kid) == 0 ? EXIT_OK : EXIT_FAIL;
	trace("recorded");
	if (issue_deploy(&is) != EXIT_OK)
		rc = EXIT_FAIL;
out:
	issue_free(&is);
	return rc;
}

void issue_result_free(struct issue_result *res)
{
	free(res->live_dir);
	free(res->cert_url);
	for (size_t i = 0; i < res->n_needs; i++)
		free(res->needs[i]);
	memset(res, 0, sizeof(*res));
}

/* --json when nothing was issued: not due (rc ISSUE_NOT_DUE), or a failure with
 * the last error and, for exit 3, the identifiers that need a challenge. */
static void issue_print_none(const struct globals *g, const struct issue_req *r,
			     const struct issue_result *res, int rc, cJSON *o)
{
	cJSON *arr;
	char *live = NULL;

	cJSON_AddBoolToObject(o, "issued", 0);
	if (rc == ISSUE_NOT_DUE) {
		if ((live = xasprintf("%s/live/%s", g->config_dir, r->cert_name)) != NULL)
			cJSON_AddStringToObject(o, "live_dir", live);
		cJSON_AddStringToObject(o, "reason", "live and not due; --force orders anyway");
		cJSON_AddNullToObject(o, "error");
	} else {
		cJSON_AddStringToObject(o, "error", log_last_error());
	}
	if (rc == EXIT_NEED_CHALLENGE && (arr = cJSON_AddArrayToObject(o, "needs_challenge")))
		for (size_t i = 0; i < res->n_needs; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(res->needs[i]));
	cJSON_AddNumberToObject(o, "exit", rc == ISSUE_NOT_DUE ? EXIT_OK : rc);
	free(live);
}

/* The live dir, or JSON with --json; with --json also when nothing was issued. */
static void issue_print(const struct globals *g, const struct issue_req *r,
			const struct issue_result *res, int rc)
{
	cJSON *o = NULL, *arr;

	if (!g->json) {
		if (res->live_dir != NULL)
			printf("%s\n", res->live_dir);
		else if (rc == ISSUE_NOT_DUE)
			printf("%s/live/%s\n", g->config_dir, r->cert_name);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "name", r->cert_name ? r->cert_name : "") == NULL)
		goto out;
	if (res->cert_url == NULL) {
		issue_print_none(g, r, res, rc, o);
	} else if (cJSON_AddBoolToObject(o, "issued", 1) == NULL ||
		   cJSON_AddStringToObject(o, "live_dir", res->live_dir) == NULL ||
		   cJSON_AddStringToObject(o, "certificate_url", res->cert_url) == NULL ||
		   (arr = cJSON_AddArrayToObject(o, "domains")) == NULL) {
		goto out;
	} else {
		for (size_t i = 0; i < r->n_names; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(r->names[i]));
	}
	cli_print_json(o, 0);
out:
	cJSON_Delete(o);
}

int cmd_issue(const struct globals *g, int argc, char **argv)
{
	struct issue_req req = { 0 };
	struct issue_result res = { 0 };
	int rc;

	log_last_error_clear();
	rc = issue_parse(argc, argv, &req);
	if (rc == EXIT_OK) {
		rc = issue_run(g, &req, &res);
		issue_print(g, &req, &res, rc);
	}
	issue_req_free(&req);
	issue_result_free(&res);
	return rc < 0 ? EXIT_OK : rc;
}
