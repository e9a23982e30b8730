/*
 * client/renew.c: p11acme renew. For each renewal/<name>.conf: take the
 * per-name lock, decide whether the live certificate is due (ARI window, else
 * --days / one third of the lifetime), and when it is, repeat the issuance by
 * calling cmd_issue() with an argv rebuilt from the conf. issue commits the set
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
#include "client/opts.h"
#include "client/store.h"
#include "common/common.h"

#define CONF_FILE_MAX 65536
#define CONF_MAX_KV 200
#define LOCK_WAIT_DEFAULT 300    /* seconds; an issuance is bounded by --timeout */
#define LOCK_POLL_MS 100
#define SPREAD_MAX (3 * 86400)   /* the spread before the one-third point */
#define MAX_CERTS 10000

struct renew_opts {
	const char *cert_name;   /* NULL with --all */
	long days;               /* -1: not given */
	int force, dry_run;
	const char *deploy_hook; /* overrides the conf's for this run only */
	int lock_wait;
	char host[256];
};

/* renewal/<name>.conf, parsed in place: kv strings point into text. */
struct renew_conf {
	char *text;
	struct conf_kv kv[CONF_MAX_KV];
	size_t n;
};

/* The outcome for one certificate, printed as a line or a JSON object. */
struct renew_result {
	const char *name;
	time_t not_after;        /* of the live certificate at the end; 0 unknown */
	int due, renewed;
	char reason[256];
	char error[256];
	char renew_at[32];       /* when this host renews it ("" when due now) */
	char *replaces;          /* certID sent as `replaces`, or NULL */
	int rc;
};

static const char *const conf_keys[] = {
	"version", "cert_name", "server", "account", "key", "module", "module_args",
	"pin_source", "signer",
	"ca_bundle", "timeout", "domain", "solver", "webroot", "http_port", "http_address",
	"dns_hook", "key_type", "cert_key", "csr", "profile", "preferred_chain",
	"deploy_hook", "allow_extractable_key", NULL,
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

/* Returns EXIT_OK, EXIT_USAGE, or -1 for --help (printed). */
static int renew_parse(int argc, char **argv, struct renew_opts *o)
{
	enum { O_CN = 256, O_ALL, O_DAYS, O_FORCE, O_DRY, O_DEPLOY, O_LOCKWAIT };
	static const struct option opts[] = {
		{ "cert-name", required_argument, NULL, O_CN },
		{ "all", no_argument, NULL, O_ALL },
		{ "days", required_argument, NULL, O_DAYS },
		{ "force", no_argument, NULL, O_FORCE },
		{ "force-renewal", no_argument, NULL, O_FORCE },
		{ "dry-run", no_argument, NULL, O_DRY },
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

/* ---- the renewal conf ---- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int conf_key_known(const char *k)
{
	for (size_t i = 0; conf_keys[i] != NULL; i++)
		if (strcmp(conf_keys[i], k) == 0)
			return 1;
	return 0;
}

/* First value of key, or NULL. */
static const char *conf_get(const struct renew_conf *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->kv[i].key, key) == 0)
			return c->kv[i].value;
	return NULL;
}

static void conf_free(struct renew_conf *c)
{
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* Read and check renewal/<name>.conf. Returns EXIT_OK, EXIT_USAGE (missing or
 * malformed: a configuration error) or EXIT_FAIL; err gets a short reason. */
static int conf_load(const char *config_dir, const char *name, struct renew_conf *c,
		     char *err, size_t errlen)
{
	char *path = xasprintf("%s/renewal/%s.conf", config_dir, name), *line, *next, *eq;
	const char *cn;
	size_t len, lineno = 0;
	int rc = EXIT_USAGE;

	memset(c, 0, sizeof(*c));
	if (path == NULL)
		return EXIT_FAIL;
	if ((c->text = file_read(path, CONF_FILE_MAX, &len, 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, errno == ENOENT ? "no such renewal config" :
			 strerror(errno));
		goto out;
	}
	for (line = c->text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL || c->n >= CONF_MAX_KV) {
			snprintf(err, errlen, "%s:%zu: not 'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		c->kv[c->n].key = trim(line);
		c->kv[c->n].value = trim(eq + 1);
		if (!conf_key_known(c->kv[c->n].key)) {
			snprintf(err, errlen, "%s:%zu: unknown key '%s'", path, lineno,
				 c->kv[c->n].key);
			goto out;
		}
		if (strcmp(c->kv[c->n].key, "domain") != 0 && conf_get(c, c->kv[c->n].key) != NULL) {
			snprintf(err, errlen, "%s:%zu: '%s' given twice", path, lineno, c->kv[c->n].key);
			goto out;
		}
		c->n++;
	}
	if ((cn = conf_get(c, "cert_name")) != NULL && strcmp(cn, name) != 0) {
		snprintf(err, errlen, "%s: cert_name is '%s', not '%s'", path, cn, name);
		goto out;
	}
	if (conf_get(c, "solver") == NULL ||
	    (conf_get(c, "domain") == NULL && conf_get(c, "csr") == NULL)) {
		snprintf(err, errlen, "%s: no solver or no domain", path);
		goto out;
	}
	rc = EXIT_OK;
out:
	free(path);
	return rc;
}

/* The globals for this certificate: the command line's (or environment's) where
 * given, else the conf's. */
static int conf_globals(const struct globals *g, const struct renew_conf *c,
			struct globals *out, char *err, size_t errlen)
{
	const char *v;
	long t;

	*out = *g;
	out->json = 0;
	/* The command line's --signer or --key wins; else the conf's signer, else its key. */
	if (out->signer == NULL && out->key_uri == NULL)
		out->signer = conf_get(c, "signer");
	if (out->signer == NULL) {
		if (out->key_uri == NULL)
			out->key_uri = conf_get(c, "key");
		if (out->module == NULL)
			out->module = conf_get(c, "module");
		if (out->module_args == NULL)
			out->module_args = conf_get(c, "module_args");
		if (out->pin_source == NULL)
			out->pin_source = conf_get(c, "pin_source");
	}
	if (out->ca_bundle == NULL)
		out->ca_bundle = conf_get(c, "ca_bundle");
	/* main.c fills in Let's Encrypt when nothing was given. */
	if ((v = conf_get(c, "server")) != NULL && strcmp(g->server, LE_PRODUCTION_URL) == 0)
		out->server = v;
	if ((v = conf_get(c, "timeout")) != NULL && !g->timeout_given) {
		if (parse_long(v, 1, 86400, &t) != 0) {
			snprintf(err, errlen, "timeout: not a number of seconds: %s", v);
			return EXIT_USAGE;
		}
		out->timeout = (int)t;
		out->timeout_given = 1; /* given when it was issued: recorded again */
	}
	if ((v = conf_get(c, "allow_extractable_key")) != NULL && strcmp(v, "yes") == 0)
		out->allow_extractable = 1;
	return EXIT_OK;
}

/* argv for cmd_issue, repeating what the conf records. The strings belong to the
 * conf (or to o); argv itself is malloc'd. */
static char **conf_issue_argv(const struct renew_conf *c, const char *name,
			      const struct renew_opts *o, const char *replaces, int *argc,
			      char *err, size_t errlen)
{
	static const struct { const char *key, *opt; } valued[] = {
		{ "key_type", "--key-type" }, { "cert_key", "--cert-key" }, { "csr", "--csr" },
		{ "profile", "--profile" }, { "preferred_chain", "--preferred-chain" },
	};
	const char *solver = conf_get(c, "solver"), *v;
	char **argv = calloc(2 * CONF_MAX_KV + 16, sizeof(char *));
	int n = 0;

	if (argv == NULL)
		return NULL;
	argv[n++] = "issue";
	argv[n++] = "--cert-name";
	argv[n++] = (char *)name;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->kv[i].key, "domain") == 0) {
			argv[n++] = "-d";
			argv[n++] = (char *)c->kv[i].value;
		}
	}
	if (strcmp(solver, "webroot") == 0 && (v = conf_get(c, "webroot")) != NULL) {
		argv[n++] = "--webroot";
		argv[n++] = (char *)v;
	} else if (strcmp(solver, "standalone") == 0) {
		argv[n++] = "--standalone";
		if ((v = conf_get(c, "http_port")) != NULL) {
			argv[n++] = "--http-port";
			argv[n++] = (char *)v;
		}
		if ((v = conf_get(c, "http_address")) != NULL) {
			argv[n++] = "--http-address";
			argv[n++] = (char *)v;
		}
	} else if (strcmp(solver, "stateless") == 0) {
		argv[n++] = "--stateless";
	} else if (strcmp(solver, "dns-hook") == 0 && (v = conf_get(c, "dns_hook")) != NULL) {
		argv[n++] = "--dns-hook";
		argv[n++] = (char *)v;
	} else if (strcmp(solver, "reuse-only") == 0) {
		argv[n++] = "--reuse-only";
	} else {
		snprintf(err, errlen, "solver '%s' is unknown or lacks its setting", solver);
		free(argv);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
		if ((v = conf_get(c, valued[i].key)) != NULL) {
			argv[n++] = (char *)valued[i].opt;
			argv[n++] = (char *)v;
		}
	}
	if ((v = o->deploy_hook ? o->deploy_hook : conf_get(c, "deploy_hook")) != NULL) {
		argv[n++] = "--deploy-hook";
		argv[n++] = (char *)v;
	}
	if (replaces != NULL) {
		argv[n++] = "--replaces";
		argv[n++] = (char *)replaces;
	}
	argv[n] = NULL;
	*argc = n;
	return argv;
}

/* A --deploy-hook given to renew is for this run: put the conf's own hook back
 * into the conf that issue rewrote. */
static void conf_restore_hook(const char *config_dir, const char *name, const char *hook)
{
	struct renew_conf c = { 0 };
	struct conf_kv kv[CONF_MAX_KV + 1];
	char err[256] = "";
	size_t n = 0;

	if (conf_load(config_dir, name, &c, err, sizeof(err)) != EXIT_OK) {
		log_warn("%s: could not restore the deploy hook in the renewal config: %s", name, err);
		return;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (strcmp(c.kv[i].key, "version") == 0 || strcmp(c.kv[i].key, "deploy_hook") == 0)
			continue;
		kv[n++] = c.kv[i];
	}
	if (hook != NULL)
		kv[n++] = (struct conf_kv){ "deploy_hook", hook };
	if (store_renewal_write(config_dir, name, kv, n) != 0)
		log_warn("%s: could not restore the deploy hook in the renewal config", name);
	conf_free(&c);
}

/* ---- locking ---- */

/* flock renewal/.<name>.lock, waiting up to wait_s. Returns the locked fd (close
 * it to unlock), -2 when another run still held it at the end (logged), -1 on an
 * error (logged). The fd is close-on-exec, so hooks do not inherit the lock. */
static int lock_take(const char *config_dir, const char *name, int wait_s)
{
	char *path = xasprintf("%s/renewal/.%s.lock", config_dir, name);
	struct timespec start, now;
	int fd = -1, said = 0;

	if (path == NULL)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_error("%s: flock: %s", path, strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= wait_s) {
			log_error("%s: skipped: another renew still holds %s after %d s", name, path,
				  wait_s);
			close(fd);
			fd = -2;
			break;
		}
		if (!said++)
			log_info("%s: another renew holds the lock; waiting up to %d s", name, wait_s);
		sleep_ms(LOCK_POLL_MS);
	}
	free(path);
	return fd;
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

/* Decide for the live certificate; fills res->due, reason, renew_at, replaces. */
static int renew_decide(const struct globals *rg, const struct renew_opts *o,
			const char *name, struct renew_result *res)
{
	struct cert_info ci = { 0 };
	struct ari_window w = { 0 };
	char *path = xasprintf("%s/live/%s/cert.pem", rg->config_dir, name);
	char a[32], b[32], at[32];
	time_t now = time(NULL), lifetime, t_days = 0, t_due, span;
	int r, have_ari = 0;

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
		snprintf(res->reason, sizeof(res->reason), "no live certificate");
		return EXIT_OK;
	}
	res->not_after = ci.not_after;
	if (store_live_revoked(rg->config_dir, name)) {
		res->due = 1;
		snprintf(res->reason, sizeof(res->reason), "the live certificate is revoked");
		cert_info_free(&ci);
		return EXIT_OK;
	}
	lifetime = ci.not_after - ci.not_before;
	if (o->days >= 0)
		t_days = ci.not_after - (time_t)o->days * 86400;
	if ((r = ari_window_get(rg, &ci, &w)) == 0) {
		have_ari = 1;
		t_due = w.start + spread_offset(o->host, name, w.end - w.start);
		if (ci.cert_id != NULL && (res->replaces = strdup(ci.cert_id)) == NULL)
			goto fail;
	} else {
		if (r < 0)
			log_warn("%s: no renewal information from the CA; using the certificate's lifetime",
				 name);
		span = lifetime / 30 < SPREAD_MAX ? lifetime / 30 : SPREAD_MAX;
		t_due = ci.not_after - lifetime / 3 - span + spread_offset(o->host, name, span);
	}
	rfc3339_format(t_due, at, sizeof(at));
	rfc3339_format(w.start, a, sizeof(a));
	rfc3339_format(w.end, b, sizeof(b));
	if (o->force) {
		res->due = 1;
		snprintf(res->reason, sizeof(res->reason), "forced (--force)");
	} else if (now >= ci.not_after) {
		res->due = 1;
		snprintf(res->reason, sizeof(res->reason), "expired");
	} else if (o->days >= 0 && now >= t_days) {
		res->due = 1;
		snprintf(res->reason, sizeof(res->reason), "%ld days left, fewer than --days %ld",
			 (long)((ci.not_after - now) / 86400), o->days);
	} else if (have_ari) {
		res->due = now >= t_due;
		snprintf(res->reason, sizeof(res->reason), "ARI window %s to %s, this host's moment %s%s",
			 a, b, at, res->due ? " has come" : " is ahead");
	} else {
		res->due = now >= t_due;
		snprintf(res->reason, sizeof(res->reason), "one third of the lifetime left from "
			 "about %s (this host's moment)", at);
	}
	if (!res->due) {
		/* --days may bring the moment forward */
		if (o->days >= 0 && t_days < t_due)
			t_due = t_days;
		rfc3339_format(t_due, res->renew_at, sizeof(res->renew_at));
	}
	if (!have_ari) {
		free(res->replaces);
		res->replaces = NULL;
	}
	if (w.explanation != NULL)
		log_info("%s: the CA explains its renewal window at %s", name, w.explanation);
	ari_window_free(&w);
	cert_info_free(&ci);
	return EXIT_OK;
fail:
	ari_window_free(&w);
	cert_info_free(&ci);
	return EXIT_FAIL;
}

/* ---- renewing ---- */

static char *live_target(const char *config_dir, const char *name)
{
	char *link = xasprintf("%s/live/%s", config_dir, name), buf[PATH_MAX];
	ssize_t n;

	if (link == NULL)
		return NULL;
	n = readlink(link, buf, sizeof(buf) - 1);
	free(link);
	if (n < 0)
		return strdup("");
	buf[n] = '\0';
	return strdup(buf);
}

/* Run cmd_issue with the conf's argv. issue's stdout (the live dir, or JSON)
 * goes to our stderr, so that renew's stdout carries only renew's results; with
 * -q nowhere. */
static int renew_issue(const struct globals *rg, int argc, char **argv)
{
	int saved, rc, to = 2;

	fflush(stdout);
	if (log_verbosity < LOG_INFO)
		to = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if ((saved = fcntl(1, F_DUPFD_CLOEXEC, 3)) < 0 || to < 0 || dup2(to, 1) < 0) {
		if (to > 2)
			close(to);
		log_error("renew: stdout: %s", strerror(errno));
		if (saved >= 0)
			close(saved);
		return EXIT_FAIL;
	}
	if (to > 2)
		close(to);
	rc = cmd_issue(rg, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

/* Check the account key and account without ordering anything (--dry-run). */
static int renew_dry_check(const struct globals *rg, const struct renew_conf *c,
			   struct renew_result *res)
{
	struct signer *s = NULL;
	struct acme a = { 0 };
	int rc = cli_session(rg, NULL, conf_get(c, "cert_key"), &s, &a, 1);

	if (rc != EXIT_OK)
		snprintf(res->error, sizeof(res->error), "the account key or account is not usable");
	acme_close(&a);
	signer_stop(s);
	return rc;
}

static int renew_do(const struct globals *rg, const struct renew_conf *c,
		    const struct renew_opts *o, const char *name, struct renew_result *res)
{
	char **argv = NULL, *before = NULL, *after = NULL;
	int argc = 0, rc = EXIT_FAIL;

	argv = conf_issue_argv(c, name, o, res->replaces, &argc, res->error, sizeof(res->error));
	if (argv == NULL)
		return res->error[0] ? EXIT_USAGE : EXIT_FAIL;
	if (o->dry_run) {
		rc = renew_dry_check(rg, c, res);
		goto out;
	}
	log_info("%s: renewing (%s)%s%s", name, res->reason, res->replaces ? "; replaces " : "",
		 res->replaces ? res->replaces : "");
	before = live_target(rg->config_dir, name);
	rc = renew_issue(rg, argc, argv);
	after = live_target(rg->config_dir, name);
	res->renewed = before != NULL && after != NULL && after[0] != '\0' &&
		       strcmp(before, after) != 0;
	if (res->renewed && o->deploy_hook != NULL)
		conf_restore_hook(rg->config_dir, name, conf_get(c, "deploy_hook"));
	if (rc != EXIT_OK && res->renewed)
		snprintf(res->error, sizeof(res->error), "renewed, but the deploy hook (or the "
			 "renewal config) failed; the new certificate stays live");
	else if (rc != EXIT_OK)
		snprintf(res->error, sizeof(res->error), "issuance failed (exit %d)", rc);
	if (res->renewed) {
		struct cert_info ci = { 0 };
		char *p = xasprintf("%s/live/%s/cert.pem", rg->config_dir, name);
		if (p != NULL && cert_info_load(p, &ci) == 0)
			res->not_after = ci.not_after;
		cert_info_free(&ci);
		free(p);
	}
out:
	free(argv);
	free(before);
	free(after);
	return rc;
}

/* One certificate: conf, lock, decide, renew. Returns its exit status. */
static int renew_one(const struct globals *g, const struct renew_opts *o, const char *name,
		     struct renew_result *res)
{
	struct renew_conf c = { 0 };
	struct globals rg;
	int rc, lock = -1;

	res->name = name;
	if ((rc = conf_load(g->config_dir, name, &c, res->error, sizeof(res->error))) != EXIT_OK ||
	    (rc = conf_globals(g, &c, &rg, res->error, sizeof(res->error))) != EXIT_OK)
		goto out;
	/* --dry-run changes nothing, not even a lock file; it only reads. */
	if (!o->dry_run && (lock = lock_take(g->config_dir, name, o->lock_wait)) < 0) {
		snprintf(res->error, sizeof(res->error), lock == -2 ?
			 "skipped: another renew holds the lock" : "could not take the lock");
		rc = EXIT_FAIL;
		goto out;
	}
	/* Decided under the lock: a run that waited sees the certificate the other
	 * run just committed, and finds it not due. */
	if ((rc = renew_decide(&rg, o, name, res)) != EXIT_OK || !res->due)
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
	conf_free(&c);
	res->rc = rc;
	return rc;
}

/* ---- output ---- */

static void result_print(const struct globals *g, const struct renew_opts *o,
			 const struct renew_result *res)
{
	cJSON *j = NULL;
	char na[32] = "", *s = NULL;
	const char *what;

	if (res->not_after != 0)
		rfc3339_format(res->not_after, na, sizeof(na));
	if (!g->json) {
		/* -q: a run in which nothing happened prints nothing at all */
		if (log_verbosity < LOG_INFO && !res->due && res->error[0] == '\0')
			return;
		if (res->error[0] != '\0' && !res->renewed)
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
	if ((s = cJSON_PrintUnformatted(j)) != NULL)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(j);
}

/* ---- every certificate ---- */

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && e->d_name[0] != '.' && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/* Names of the renewal/NAME.conf files, sorted. *n = 0 when there is no renewal dir. */
static int list_names(const char *config_dir, char ***names, size_t *n)
{
	char *dir = xasprintf("%s/renewal", config_dir);
	struct dirent **ents = NULL;
	int m, rc = -1;

	*names = NULL;
	*n = 0;
	if (dir == NULL)
		return -1;
	if ((m = scandir(dir, &ents, conf_filter, alphasort)) < 0) {
		if (errno == ENOENT) {
			rc = 0;
		} else {
			log_error("%s: %s", dir, strerror(errno));
		}
		goto out;
	}
	if (m > MAX_CERTS || (*names = calloc((size_t)m + 1, sizeof(char *))) == NULL)
		goto out;
	for (int i = 0; i < m; i++) {
		ents[i]->d_name[strlen(ents[i]->d_name) - 5] = '\0';
		if (!store_name_valid(ents[i]->d_name))
			continue;
		if (((*names)[*n] = strdup(ents[i]->d_name)) == NULL)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	for (int i = 0; ents != NULL && i < m; i++)
		free(ents[i]);
	free(ents);
	free(dir);
	return rc;
}

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
	char **names = NULL;
	size_t n = 0;
	int rc, total = EXIT_OK;

	rc = renew_parse(argc, argv, &o);
	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (o.cert_name != NULL) {
		if ((names = calloc(2, sizeof(char *))) == NULL ||
		    (names[0] = strdup(o.cert_name)) == NULL) {
			free(names);
			return EXIT_FAIL;
		}
		n = 1;
	} else if (list_names(g->config_dir, &names, &n) != 0) {
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
	return total;
}

/* ---- for certs.c (certificates, delete): the conf reader and the lock ---- */

int renew_conf_names(const char *config_dir, char ***names, size_t *n)
{
	return list_names(config_dir, names, n);
}

struct renew_conf *renew_conf_open(const char *config_dir, const char *name, int *rc,
				   char *err, size_t errlen)
{
	struct renew_conf *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		*rc = EXIT_FAIL;
		return NULL;
	}
	if ((*rc = conf_load(config_dir, name, c, err, errlen)) != EXIT_OK) {
		conf_free(c);
		free(c);
		return NULL;
	}
	return c;
}

const char *renew_conf_value(const struct renew_conf *c, const char *key, size_t *from)
{
	for (size_t i = from != NULL ? *from : 0; i < c->n; i++) {
		if (strcmp(c->kv[i].key, key) != 0)
			continue;
		if (from != NULL)
			*from = i + 1;
		return c->kv[i].value;
	}
	return NULL;
}

void renew_conf_close(struct renew_conf *c)
{
	if (c == NULL)
		return;
	conf_free(c);
	free(c);
}

int renew_lock(const char *config_dir, const char *name, int wait_s)
{
	return lock_take(config_dir, name, wait_s);
}
