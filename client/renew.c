/*
 * client/renew.c: p11acme renew. For each renewal/<name>.conf: take the
 * per-name lock, decide whether the live certificate is due (ARI window, else
 * --days / one third of the lifetime), and when it is, repeat the issuance: the
 * conf gives a struct issue_req (renewal.h) and issue_run() commits the set
 * atomically and runs the deploy hook once; renew reports one result per name.
 *
 * Safe to run from cron on every host of a fleet: the lock stops overlapping
 * runs renewing one name twice (the second waits, then re-checks and finds the
 * new certificate), and the moment within a window is spread per host and name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "client/ari.h"
#include "client/cli.h"
#include "client/issue.h"
#include "client/opts.h"
#include "client/prepost.h"
#include "client/renewal.h"
#include "client/store.h"
#include "common/common.h"

#define LOCK_WAIT_DEFAULT 300    /* seconds; an issuance is bounded by --timeout */
#define SPREAD_MAX (3 * 86400)   /* the spread before the one-third point */

struct renew_opts {
	const char *cert_name;   /* NULL with --all */
	long days;               /* -1: not given */
	int force, dry_run;
	int check;               /* --check: dry_run for every certificate, due or not */
	const char *deploy_hook; /* overrides the conf's for this run only */
	struct prepost *pp;      /* --pre-hook / --post-hook and what they know */
	int lock_wait;
	char host[256];
};

/* The outcome for one certificate, printed as a line or a JSON object. */
struct renew_result {
	const char *name;
	time_t not_after;        /* of the live certificate at the end; 0 unknown */
	int due, renewed;
	char reason[256];
	char error[1024];
	char renew_at[32];       /* when this host renews it ("" when due now) */
	char *replaces;          /* certID sent as `replaces`, or NULL */
	int rc;
};

static void renew_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] renew [--cert-name NAME | --all] [options]\n"
"\n"
"Renews the certificates recorded in CONFIG_DIR/renewal/ that are due, repeating\n"
"the issuance each conf records. Without --cert-name, every certificate (--all).\n"
"\n"
"  --cert-name NAME     only this certificate\n"
"  --all                every certificate (the default)\n"
"  --days N             also renew when fewer than N days are left\n"
"  --force              renew even when not due\n"
"  --dry-run            check everything and say what would happen; change nothing\n"
"  --check              the health check: --dry-run for every certificate, due or\n"
"                       not (conf, token login, account); exit 0 when all would work\n"
"  --pre-hook CMD       run CMD once before the first renewal of this run\n"
"  --post-hook CMD      run CMD once at the end of a run that renewed (or tried)\n"
"  --deploy-hook CMD    run CMD after each renewal, instead of the conf's hook\n"
"  --lock-wait SECONDS  wait this long for another run's lock (default %d)\n"
"\n"
"A certificate is due when the CA's ARI window (RFC 9773) has reached this host's\n"
"moment in it; without ARI, when less than a third of its lifetime is left (from a\n"
"moment spread per host and name shortly before); with --days N, also when fewer\n"
"than N days are left. Exit status: 0 every certificate renewed or not yet due,\n"
"1 a failure (also a failed deploy hook), 2 usage or configuration error.\n",
		LOCK_WAIT_DEFAULT);
}

static int renew_opts_check(struct renew_opts *o, int all);

/* Returns EXIT_OK, EXIT_USAGE, or -1 for --help (printed). */
static int renew_parse(int argc, char **argv, struct renew_opts *o)
{
	enum { O_CN = 256, O_ALL, O_DAYS, O_FORCE, O_DRY, O_DEPLOY, O_LOCKWAIT, O_CHECK,
	       O_PRE, O_POST };
	static const struct option opts[] = {
		{ "cert-name", required_argument, NULL, O_CN },
		{ "all", no_argument, NULL, O_ALL },
		{ "days", required_argument, NULL, O_DAYS },
		{ "force", no_argument, NULL, O_FORCE },
		{ "force-renewal", no_argument, NULL, O_FORCE },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "check", no_argument, NULL, O_CHECK },
		{ "pre-hook", required_argument, NULL, O_PRE },
		{ "post-hook", required_argument, NULL, O_POST },
		{ "deploy-hook", required_argument, NULL, O_DEPLOY },
		{ "lock-wait", required_argument, NULL, O_LOCKWAIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, all = 0;
	long v;

	o->days = -1;
	o->lock_wait = LOCK_WAIT_DEFAULT;
	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case O_CN: o->cert_name = optarg; break;
		case O_ALL: all = 1; break;
		case O_DAYS:
			if (parse_long(optarg, 0, 100000, &o->days) != 0)
				return cli_usage_error("renew", "--days: not a number of days: %s", optarg);
			break;
		case O_FORCE: o->force = 1; break;
		case O_DRY: o->dry_run = 1; break;
		case O_CHECK: o->check = o->dry_run = 1; break;
		case O_PRE: o->pp->pre = optarg; break;
		case O_POST: o->pp->post = optarg; break;
		case O_DEPLOY: o->deploy_hook = optarg; break;
		case O_LOCKWAIT:
			if (parse_long(optarg, 0, 86400, &v) != 0)
				return cli_usage_error("renew", "--lock-wait: not a number of seconds: %s",
						       optarg);
			o->lock_wait = (int)v;
			break;
		case 'h': renew_usage(stdout); return -1;
		default: renew_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("renew", "unexpected argument: %s", argv[optind]);
	return renew_opts_check(o, all);
}

/* The options that only make sense together. */
static int renew_opts_check(struct renew_opts *o, int all)
{
	if ((o->pp->pre != NULL && *o->pp->pre == '\0') ||
	    (o->pp->post != NULL && *o->pp->post == '\0'))
		return cli_usage_error("renew", "--pre-hook, --post-hook: empty command");
	if (all && o->cert_name != NULL)
		return cli_usage_error("renew", "--cert-name and --all exclude each other");
	if (o->cert_name != NULL && !store_name_valid(o->cert_name))
		return cli_usage_error("renew", "--cert-name: not a certificate name: %s", o->cert_name);
	if (o->deploy_hook != NULL && *o->deploy_hook == '\0')
		return cli_usage_error("renew", "--deploy-hook: empty command");
	if (gethostname(o->host, sizeof(o->host) - 1) != 0)
		strcpy(o->host, "localhost");
	return EXIT_OK;
}

/* ---- is it due? ---- */

/* The directory's renewalInfo and the window for this certificate, fetched
 * without the signer (no PIN, no token session for a certificate that is not
 * due). Returns 0 with a window, 1 when the CA has no ARI or the certificate
 * has no certID, -1 when the fetch failed (logged; the caller falls back). */
static int ari_window_get(const struct globals *rg, const struct cert_info *ci,
			  struct ari_window *w)
{
	struct http *h = NULL;
	struct acme_directory dir = { 0 };
	int rc = -1, cached = 0;

	if (ci->cert_id == NULL)
		return 1;
	if ((h = http_new(rg->ca_bundle, time(NULL) + (rg->timeout > 0 ? rg->timeout : 90))) == NULL)
		return -1;
	if (acme_directory_obtain(h, rg, &dir, &cached, NULL) != 0)
		goto out;
	if (dir.renewal_info != NULL && !url_same_origin(rg->server, dir.renewal_info)) {
		log_warn("%s: renewalInfo is on another host than the directory; ignoring it",
			 dir.renewal_info);
		goto out;
	}
	if (dir.renewal_info == NULL) {
		rc = 1;
		goto out;
	}
	rc = ari_fetch(h, dir.renewal_info, ci->cert_id, w);
out:
	acme_directory_free(&dir);
	http_free(h);
	return rc;
}

#define SAFE_FRACTION 6            /* renew at the latest with a sixth of the lifetime left */
#define SAFE_MARGIN_MIN 3600       /* and never with less than an hour left */

/* t_due, but never later than the safe point before notAfter, whatever the CA's
 * window says: a window (hostile, or a CA's bug) that ends after the certificate
 * expires would otherwise let it lapse. Such a window is reported. */
static time_t ari_due_bounded(const char *name, const struct cert_info *ci,
			      const struct ari_window *w, time_t t_due)
{
	time_t margin = (ci->not_after - ci->not_before) / SAFE_FRACTION, safe;
	char na[32], at[32];

	if (margin < SAFE_MARGIN_MIN)
		margin = SAFE_MARGIN_MIN;
	safe = ci->not_after - margin;
	rfc3339_format(ci->not_after, na, sizeof(na));
	rfc3339_format(safe, at, sizeof(at));
	if (w->end > ci->not_after)
		log_warn("%s: the CA's renewal window ends after the certificate expires (%s); "
			 "renewing by %s at the latest", name, na, at);
	return t_due < safe ? t_due : safe;
}

/* What renew_decide weighs for one certificate. */
struct due {
	time_t now, t_days, t_due; /* t_days: the --days point (0 without --days) */
	int have_ari;
	struct ari_window w;
};

/* This host's moment: in the CA's ARI window when it has one (and then `replaces`
 * goes into res), else a third of the lifetime before the end, spread per host
 * and name over a bounded span just before. 0, or -1 when out of memory. */
static int due_moment(const struct globals *rg, const struct renew_opts *o, const char *name,
		      const struct cert_info *ci, struct due *d, struct renew_result *res)
{
	time_t lifetime = ci->not_after - ci->not_before, span;
	int r;

	if (o->days >= 0)
		d->t_days = ci->not_after - (time_t)o->days * 86400;
	if ((r = ari_window_get(rg, ci, &d->w)) == 0) {
		d->have_ari = 1;
		d->t_due = d->w.start + spread_offset(o->host, name, d->w.end - d->w.start);
		d->t_due = ari_due_bounded(name, ci, &d->w, d->t_due);
		if (ci->cert_id != NULL && (res->replaces = strdup(ci->cert_id)) == NULL)
			return -1;
		return 0;
	}
	if (r < 0)
		log_warn("%s: no renewal information from the CA; using the certificate's lifetime",
			 name);
	span = lifetime / 30 < SPREAD_MAX ? lifetime / 30 : SPREAD_MAX;
	d->t_due = ci->not_after - lifetime / 3 - span + spread_offset(o->host, name, span);
	return 0;
}

/* res->due and res->reason from the moments, the first rule that applies. */
static void due_reason(const struct renew_opts *o, const struct cert_info *ci,
		       const struct due *d, struct renew_result *res)
{
	char a[32], b[32], at[32];

	rfc3339_format(d->t_due, at, sizeof(at));
	rfc3339_format(d->w.start, a, sizeof(a));
	rfc3339_format(d->w.end, b, sizeof(b));
	res->due = 1;
	if (o->force) {
		snprintf(res->reason, sizeof(res->reason), "forced (--force)");
	} else if (d->now >= ci->not_after) {
		snprintf(res->reason, sizeof(res->reason), "expired");
	} else if (o->days >= 0 && d->now >= d->t_days) {
		snprintf(res->reason, sizeof(res->reason), "%ld days left, fewer than --days %ld",
			 (long)((ci->not_after - d->now) / 86400), o->days);
	} else if (d->have_ari) {
		res->due = d->now >= d->t_due;
		snprintf(res->reason, sizeof(res->reason), "ARI window %s to %s, this host's moment %s%s",
			 a, b, at, res->due ? " has come" : " is ahead");
	} else {
		res->due = d->now >= d->t_due;
		snprintf(res->reason, sizeof(res->reason), "one third of the lifetime left from "
			 "about %s (this host's moment)", at);
	}
}

/* Why there is no live/<name>/cert.pem: never issued, the link removed by hand
 * (the archive has sets), or a link to a set that is gone. */
static void live_missing_reason(const char *config_dir, const char *name, char *buf,
				size_t len)
{
	char *link = xasprintf("%s/live/%s", config_dir, name);
	long newest = store_archive_newest(config_dir, name);
	struct stat st;
	int is_link = link != NULL && lstat(link, &st) == 0 && S_ISLNK(st.st_mode);

	free(link);
	if (is_link) {
		snprintf(buf, len, "live/%s points at a set that is gone; renewing repairs it", name);
	} else if (newest > 0) {
		snprintf(buf, len, "live/%s is missing, though archive/%s/%ld exists: removed by "
			 "hand? 'p11acme delete --cert-name %s' removes a certificate", name, name,
			 newest, name);
		log_warn("%s: %s", name, buf);
	} else {
		snprintf(buf, len, "no live certificate");
	}
}

/* Decide for the live certificate; fills res->due, reason, renew_at, replaces. */
static int renew_decide(const struct globals *rg, const struct renew_opts *o,
			const char *name, struct renew_result *res)
{
	struct cert_info ci = { 0 };
	struct due d = { 0 };
	char *path = xasprintf("%s/live/%s/cert.pem", rg->config_dir, name);
	int r, rc = EXIT_FAIL;

	if (path == NULL)
		return EXIT_FAIL;
	r = cert_info_load(path, &ci);
	free(path);
	if (r < 0) {
		snprintf(res->error, sizeof(res->error), "the live certificate is unreadable");
		return EXIT_FAIL;
	}
	if (r == 1) {
		res->due = 1;
		live_missing_reason(rg->config_dir, name, res->reason, sizeof(res->reason));
		return EXIT_OK;
	}
	res->not_after = ci.not_after;
	if (store_live_revoked(rg->config_dir, name)) {
		res->due = 1;
		snprintf(res->reason, sizeof(res->reason), "the live certificate is revoked");
		cert_info_free(&ci);
		return EXIT_OK;
	}
	d.now = time(NULL);
	if (due_moment(rg, o, name, &ci, &d, res) != 0)
		goto out;
	due_reason(o, &ci, &d, res);
	/* --days may bring the moment forward */
	if (!res->due)
		rfc3339_format(o->days >= 0 && d.t_days < d.t_due ? d.t_days : d.t_due,
			       res->renew_at, sizeof(res->renew_at));
	if (!d.have_ari) {
		free(res->replaces);
		res->replaces = NULL;
	}
	if (d.w.explanation != NULL)
		log_info("%s: the CA explains its renewal window at %s", name, d.w.explanation);
	rc = EXIT_OK;
out:
	ari_window_free(&d.w);
	cert_info_free(&ci);
	return rc;
}

/* ---- renewing ---- */

/* Check the account key and account without ordering anything (--dry-run). */
static int renew_dry_check(const struct globals *rg, const struct issue_req *req,
			   struct renew_result *res)
{
	struct signer *s = NULL;
	struct acme a = { 0 };
	int rc;

	log_last_error_clear();
	rc = cli_session(rg, NULL, req->cert_key, &s, &a, 1);
	if (rc != EXIT_OK)
		snprintf(res->error, sizeof(res->error), "the account key or account is not "
			 "usable: %s", log_last_error());
	acme_close(&a);
	signer_stop(s);
	return rc;
}

/* After issue_run: what happened, in res. */
static void renew_outcome(const struct globals *rg, const char *name, int rc,
			  const struct issue_result *ir, struct renew_result *res)
{
	struct cert_info ci = { 0 };
	char *p = NULL;

	res->renewed = ir->live_dir != NULL;
	if (rc != EXIT_OK && res->renewed)
		snprintf(res->error, sizeof(res->error), "renewed, but the deploy hook (or the "
			 "renewal config) failed; the new certificate stays live");
	else if (rc != EXIT_OK)
		snprintf(res->error, sizeof(res->error), "issuance failed (exit %d)%s%s", rc,
			 *log_last_error() ? ": " : "", log_last_error());
	if (!res->renewed)
		return;
	p = xasprintf("%s/live/%s/cert.pem", rg->config_dir, name);
	if (p != NULL && cert_info_load(p, &ci) == 0)
		res->not_after = ci.not_after;
	cert_info_free(&ci);
	free(p);
}

static int renew_do(const struct globals *rg, const struct renewal_conf *c,
		    const struct renew_opts *o, const char *name, struct renew_result *res)
{
	struct issue_req req = { 0 };
	struct issue_result ir = { 0 };
	int rc;

	if ((rc = renewal_to_req(c, name, &req, res->error, sizeof(res->error))) != EXIT_OK) {
		if (res->error[0] == '\0')
			snprintf(res->error, sizeof(res->error), "issuance failed (exit %d)", rc);
		goto out;
	}
	req.replaces = res->replaces;
	req.force = 1; /* renew decided that it is due */
	req.hook_this_run = o->deploy_hook;
	if (o->dry_run) {
		rc = renew_dry_check(rg, &req, res);
		goto out;
	}
	if (prepost_before(o->pp) != 0) {
		snprintf(res->error, sizeof(res->error), "not renewed: the pre hook failed");
		rc = EXIT_FAIL;
		goto out;
	}
	log_info("%s: renewing (%s)%s%s", name, res->reason, res->replaces ? "; replaces " : "",
		 res->replaces ? res->replaces : "");
	log_last_error_clear();
	rc = issue_run(rg, &req, &ir);
	renew_outcome(rg, name, rc, &ir, res);
	prepost_after(o->pp, name, res->renewed);
out:
	issue_req_free(&req);
	issue_result_free(&ir);
	return rc;
}

/* One certificate: conf, lock, decide, renew. Returns its exit status. */
static int renew_one(const struct globals *g, const struct renew_opts *o, const char *name,
		     struct renew_result *res)
{
	struct renewal_conf c = { 0 };
	struct globals rg;
	int rc, lock = -1;

	res->name = name;
	if ((rc = renewal_read(g->config_dir, name, &c, res->error, sizeof(res->error))) != EXIT_OK ||
	    (rc = renewal_globals(&c, g, &rg, res->error, sizeof(res->error))) != EXIT_OK)
		goto out;
	/* --dry-run changes nothing, not even a lock file; it only reads. */
	if (!o->dry_run && (lock = renewal_lock(g->config_dir, name, o->lock_wait)) < 0) {
		snprintf(res->error, sizeof(res->error), lock == -2 ?
			 "skipped: another renew holds the lock" : "could not take the lock");
		rc = EXIT_FAIL;
		goto out;
	}
	/* Decided under the lock: a run that waited sees the certificate the other
	 * run just committed, and finds it not due. */
	if ((rc = renew_decide(&rg, o, name, res)) != EXIT_OK || (!res->due && !o->check))
		goto out;
	/* One refused PIN stops every login of the run: each costs one of the token's tries. */
	if (signer_pin_refused()) {
		snprintf(res->error, sizeof(res->error), "not renewed: the token refused the PIN "
			 "earlier in this run, and no further login is tried");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = renew_do(&rg, &c, o, name, res);
out:
	if (lock >= 0)
		close(lock);
	renewal_free(&c);
	res->rc = rc;
	return rc;
}

/* ---- output ---- */

/* One line: "NAME: what (reason): error; not after ...; renews from ...". */
static void result_print_text(const struct renew_opts *o, const struct renew_result *res,
			      const char *na)
{
	const char *what;

	/* -q: a run in which nothing happened prints nothing at all */
	if (log_verbosity < LOG_INFO && !res->due && res->error[0] == '\0' && !o->check)
		return;
	if (o->check)
		what = res->error[0] != '\0' ? "check failed" : "check ok";
	else if (res->error[0] != '\0' && !res->renewed)
		what = "failed";
	else if (res->renewed)
		what = "renewed";
	else if (res->due && o->dry_run)
		what = "would renew";
	else
		what = "not due";
	printf("%s: %s", res->name, what);
	if (res->reason[0] != '\0')
		printf(" (%s)", res->reason);
	if (res->error[0] != '\0')
		printf(": %s", res->error);
	if (na[0] != '\0')
		printf("; not after %s", na);
	if (!res->due && res->renew_at[0] != '\0')
		printf("; renews from %s", res->renew_at);
	if (o->dry_run && res->due && res->replaces != NULL)
		printf("; would replace %s", res->replaces);
	printf("\n");
	fflush(stdout);
}

static void result_print(const struct globals *g, const struct renew_opts *o,
			 const struct renew_result *res)
{
	cJSON *j = NULL;
	char na[32] = "";

	if (res->not_after != 0)
		rfc3339_format(res->not_after, na, sizeof(na));
	if (!g->json) {
		result_print_text(o, res, na);
		return;
	}
	if ((j = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(j, "name", res->name);
	if (na[0] != '\0')
		cJSON_AddStringToObject(j, "not_after", na);
	else
		cJSON_AddNullToObject(j, "not_after");
	cJSON_AddBoolToObject(j, "renewed", res->renewed);
	cJSON_AddBoolToObject(j, "due", res->due);
	cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
	if (o->check)
		cJSON_AddStringToObject(j, "check", res->error[0] != '\0' ? "failed" : "ok");
	cJSON_AddStringToObject(j, "reason", res->reason);
	if (res->renew_at[0] != '\0' && !res->due)
		cJSON_AddStringToObject(j, "renew_at", res->renew_at);
	if (res->replaces != NULL)
		cJSON_AddStringToObject(j, "replaces", res->replaces);
	if (res->error[0] != '\0')
		cJSON_AddStringToObject(j, "error", res->error);
	else
		cJSON_AddNullToObject(j, "error");
	cJSON_AddNumberToObject(j, "exit", res->rc);
	cli_print_json(j, 1);
	fflush(stdout);
	cJSON_Delete(j);
}

/* ---- every certificate ---- */

/* Several results: all the same, that; else failure. */
static int combine(int acc, int rc)
{
	if (rc == EXIT_OK)
		return acc;
	return acc == EXIT_OK || acc == rc ? rc : EXIT_FAIL;
}

int cmd_renew(const struct globals *g, int argc, char **argv)
{
	struct renew_opts o = { 0 };
	struct prepost pp = { 0 };
	char **names = NULL;
	size_t n = 0;
	int rc, total = EXIT_OK;

	o.pp = &pp;
	rc = renew_parse(argc, argv, &o);
	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	pp.ho = hook_opts_of(g);
	if (o.cert_name != NULL) {
		if ((names = calloc(2, sizeof(char *))) == NULL ||
		    (names[0] = strdup(o.cert_name)) == NULL) {
			free(names);
			return EXIT_FAIL;
		}
		n = 1;
	} else if (renewal_names(g->config_dir, &names, &n) != 0) {
		return EXIT_FAIL;
	}
	if (n == 0)
		log_info("renew: no certificates in %s/renewal", g->config_dir);
	for (size_t i = 0; i < n; i++) {
		struct renew_result res = { 0 };

		rc = renew_one(g, &o, names[i], &res);
		if (res.error[0] != '\0')
			log_error("%s: %s", names[i], res.error);
		result_print(g, &o, &res);
		total = combine(total, rc);
		free(res.replaces);
		free(names[i]);
	}
	free(names);
	if (prepost_end(&pp) != 0)
		total = combine(total, EXIT_FAIL);
	return total;
}
