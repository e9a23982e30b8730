/*
 * client/renewal.c: renewal/<name>.conf, read, checked and written (renewal.h).
 */
#include "client/renewal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "client/certkey.h"
#include "client/store.h"
#include "client/strict.h"
#include "common/common.h"

#define RENEWAL_FILE_MAX 65536
#define LOCK_POLL_MS 100
#define MAX_CERTS 10000

/* Every key of version 1, in the order renewal_write writes them. */
static const char *const conf_keys[] = {
	"version", "cert_name", "server", "account", "key", "module", "module_args",
	"pin_source", "signer",
	"ca_bundle", "timeout", "domain", "solver", "webroot", "http_port", "http_address",
	"dns_hook", "key_type", "cert_key", "csr", "profile", "preferred_chain",
	"deploy_hook", "allow_extractable_key", "webroot_map", NULL,
};

/* The keys that may repeat. */
static int conf_key_repeats(const char *k)
{
	return strcmp(k, "domain") == 0 || strcmp(k, "webroot_map") == 0;
}

/* ---- reading ---- */

static int conf_key_known(const char *k)
{
	for (size_t i = 0; conf_keys[i] != NULL; i++)
		if (strcmp(conf_keys[i], k) == 0)
			return 1;
	return 0;
}

/* First value of key, or NULL. */
const char *renewal_get(const struct renewal_conf *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->kv[i].key, key) == 0)
			return c->kv[i].value;
	return NULL;
}

void renewal_free(struct renewal_conf *c)
{
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* The "key = value" lines of c->text, parsed in place into c->kv. 0, or -1 with err. */
static int renewal_parse_lines(struct renewal_conf *c, const char *path, char *err,
			       size_t errlen)
{
	char *line, *next, *eq;
	size_t lineno = 0;

	for (line = c->text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL || c->n >= RENEWAL_MAX_KV) {
			snprintf(err, errlen, "%s:%zu: not 'key = value'", path, lineno);
			return -1;
		}
		*eq = '\0';
		c->kv[c->n].key = str_trim(line);
		c->kv[c->n].value = str_trim(eq + 1);
		if (!conf_key_known(c->kv[c->n].key)) {
			snprintf(err, errlen, "%s:%zu: unknown key '%s'", path, lineno,
				 c->kv[c->n].key);
			return -1;
		}
		if (!conf_key_repeats(c->kv[c->n].key) && renewal_get(c, c->kv[c->n].key) != NULL) {
			snprintf(err, errlen, "%s:%zu: '%s' given twice", path, lineno, c->kv[c->n].key);
			return -1;
		}
		c->line[c->n] = lineno;
		c->n++;
	}
	return 0;
}

static int in_list(const char *const *list, const char *v)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, v) == 0)
			return 1;
	return 0;
}

/* What is wrong with one value, or NULL. */
static const char *conf_value_problem(const char *k, const char *val)
{
	static const char *const solvers[] = { "webroot", "standalone", "stateless",
					       "dns-hook", "reuse-only", NULL };
	static const char *const yesno[] = { "yes", "no", NULL };
	long v;

	if (strcmp(k, "http_port") == 0 && parse_long(val, 1, 65535, &v) != 0)
		return "not a port";
	if (strcmp(k, "timeout") == 0 && parse_long(val, 1, 86400, &v) != 0)
		return "not a number of seconds (1..86400)";
	if (strcmp(k, "solver") == 0 && !in_list(solvers, val))
		return "not a solver (webroot, standalone, stateless, dns-hook, reuse-only)";
	if (strcmp(k, "key_type") == 0 && !certkey_type_valid(val))
		return "not a key type (ec256, ec384, rsa2048, rsa3072, rsa4096)";
	if (strcmp(k, "allow_extractable_key") == 0 && !in_list(yesno, val))
		return "yes or no";
	if (strcmp(k, "webroot_map") == 0 && (strchr(val, ' ') == NULL || *val == ' '))
		return "not 'NAME DIR'";
	if (strcmp(k, "domain") == 0 && *val == '\0')
		return "empty";
	return NULL;
}

/* Every value, as issue would check it: "FILE:LINE: key: problem: value". */
static int conf_check_values(const struct renewal_conf *c, const char *path, char *err,
			     size_t errlen)
{
	const char *sv = renewal_get(c, "solver"), *why;

	for (size_t i = 0; i < c->n; i++) {
		if ((why = conf_value_problem(c->kv[i].key, c->kv[i].value)) != NULL) {
			snprintf(err, errlen, "%s:%zu: %s: %s: %s", path, c->line[i], c->kv[i].key,
				 why, c->kv[i].value);
			return -1;
		}
	}
	if ((strcmp(sv, "webroot") == 0 && renewal_get(c, "webroot") == NULL) ||
	    (strcmp(sv, "dns-hook") == 0 && renewal_get(c, "dns_hook") == NULL)) {
		snprintf(err, errlen, "%s: solver = %s needs its %s line", path, sv,
			 strcmp(sv, "webroot") == 0 ? "webroot" : "dns_hook");
		return -1;
	}
	return 0;
}

int renewal_read(const char *config_dir, const char *name, struct renewal_conf *c,
		 char *err, size_t errlen)
{
	char *path = xasprintf("%s/renewal/%s.conf", config_dir, name);
	char *dir = xasprintf("%s/renewal", config_dir);
	const char *cn;
	size_t len;
	int rc = EXIT_USAGE;

	memset(c, 0, sizeof(*c));
	if (path == NULL || dir == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	/* StrictModes: its hooks run as us (strict.h) */
	if (strict_path_check(dir, 1, err, errlen) != 0 || strict_path_check(path, 0, err, errlen) != 0)
		goto out;
	if ((c->text = file_read(path, RENEWAL_FILE_MAX, &len, FILE_NOFOLLOW | FILE_REGULAR)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, errno == ENOENT ? "no such renewal config" :
			 file_error(path, errno, FILE_NOFOLLOW | FILE_REGULAR));
		goto out;
	}
	if (strict_text_check(path, c->text, len, err, errlen) != 0 ||
	    renewal_parse_lines(c, path, err, errlen) != 0)
		goto out;
	if ((cn = renewal_get(c, "cert_name")) != NULL && strcmp(cn, name) != 0) {
		snprintf(err, errlen, "%s: cert_name is '%s', not '%s'", path, cn, name);
		goto out;
	}
	if (renewal_get(c, "solver") == NULL ||
	    (renewal_get(c, "domain") == NULL && renewal_get(c, "csr") == NULL)) {
		snprintf(err, errlen, "%s: no solver or no domain", path);
		goto out;
	}
	if (conf_check_values(c, path, err, errlen) != 0)
		goto out;
	rc = EXIT_OK;
out:
	free(dir);
	free(path);
	return rc;
}

int renewal_globals(const struct renewal_conf *c, const struct globals *g,
		    struct globals *out, char *err, size_t errlen)
{
	const char *v;
	long t;

	*out = *g;
	/* The command line's --signer or --key wins; else the conf's signer, else its key. */
	if (out->signer == NULL && out->key_uri == NULL)
		out->signer = renewal_get(c, "signer");
	if (out->signer == NULL) {
		if (out->key_uri == NULL)
			out->key_uri = renewal_get(c, "key");
		if (out->module == NULL)
			out->module = renewal_get(c, "module");
		if (out->module_args == NULL)
			out->module_args = renewal_get(c, "module_args");
		if (out->pin_source == NULL)
			out->pin_source = renewal_get(c, "pin_source");
	}
	if (out->ca_bundle == NULL)
		out->ca_bundle = renewal_get(c, "ca_bundle");
	/* main.c fills in Let's Encrypt when nothing was given. */
	if ((v = renewal_get(c, "server")) != NULL && strcmp(g->server, LE_PRODUCTION_URL) == 0)
		out->server = v;
	if ((v = renewal_get(c, "timeout")) != NULL && !g->timeout_given) {
		if (parse_long(v, 1, 86400, &t) != 0) {
			snprintf(err, errlen, "timeout: not a number of seconds: %s", v);
			return EXIT_USAGE;
		}
		out->timeout = (int)t;
		out->timeout_given = 1; /* given when it was issued: recorded again */
	}
	if ((v = renewal_get(c, "allow_extractable_key")) != NULL && strcmp(v, "yes") == 0)
		out->allow_extractable = 1;
	return EXIT_OK;
}

const char *renewal_next(const struct renewal_conf *c, const char *key, size_t *from)
{
	for (size_t i = *from; i < c->n; i++) {
		if (strcmp(c->kv[i].key, key) != 0)
			continue;
		*from = i + 1;
		return c->kv[i].value;
	}
	return NULL;
}

/* ---- the renewal directory: names and locks ---- */

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && e->d_name[0] != '.' && strcmp(e->d_name + n - 5, ".conf") == 0;
}

int renewal_names(const char *config_dir, char ***names, size_t *n)
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

int renewal_lock(const char *config_dir, const char *name, int wait_s)
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

/* ---- the request ---- */

/* The solver the conf names, with its setting. EXIT_OK or EXIT_USAGE (err set). */
static int conf_solver(const struct renewal_conf *c, struct solver_opts *so, char *err,
		       size_t errlen)
{
	const char *solver = renewal_get(c, "solver"), *port;
	long v;

	for (int k = SOLVE_WEBROOT; k <= SOLVE_REUSE; k++)
		if (strcmp(solver, solver_name((enum solver_kind)k)) == 0)
			so->kind = (enum solver_kind)k;
	so->webroot = renewal_get(c, "webroot");
	so->dns_hook = renewal_get(c, "dns_hook");
	if (so->kind == SOLVE_NONE || (so->kind == SOLVE_WEBROOT && so->webroot == NULL) ||
	    (so->kind == SOLVE_DNS && so->dns_hook == NULL)) {
		snprintf(err, errlen, "solver '%s' is unknown or lacks its setting", solver);
		return EXIT_USAGE;
	}
	if (so->kind != SOLVE_WEBROOT)
		so->webroot = NULL;
	if (so->kind != SOLVE_DNS)
		so->dns_hook = NULL;
	if (so->kind != SOLVE_STANDALONE)
		return EXIT_OK;
	so->http_address = renewal_get(c, "http_address");
	if ((port = renewal_get(c, "http_port")) == NULL)
		return EXIT_OK;
	if (parse_long(port, 1, 65535, &v) != 0) {
		snprintf(err, errlen, "http_port: not a port: %s", port);
		return EXIT_USAGE;
	}
	so->http_port = (int)v;
	return EXIT_OK;
}

/* The webroot_map lines ("NAME DIR", checked by renewal_read) into r->map; a name
 * without a line takes the first webroot. 0, or -1 when out of memory. */
static int conf_map(const struct renewal_conf *c, struct issue_req *r)
{
	size_t from = 0, n = 0;
	const char *v;
	char *sp;

	while ((v = renewal_next(c, "webroot_map", &from)) != NULL && n < ISSUE_MAX_NAMES) {
		if ((r->map_text[n] = strdup(v)) == NULL)
			return -1;
		sp = strchr(r->map_text[n], ' ');
		*sp = '\0';
		r->map[n] = (struct webroot_map){ r->map_text[n], str_trim(sp + 1) };
		n++;
	}
	if (n == 0)
		return 0;
	r->solver.webroot_map = r->map;
	r->solver.n_webroot_map = n;
	return 0;
}

int renewal_to_req(const struct renewal_conf *c, const char *name, struct issue_req *r,
		   char *err, size_t errlen)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->cert_name = name;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->kv[i].key, "domain") == 0 &&
		    (rc = issue_req_add_name(r, c->kv[i].value)) != EXIT_OK)
			return rc;
	if ((rc = conf_solver(c, &r->solver, err, errlen)) != EXIT_OK)
		return rc;
	r->key_type = renewal_get(c, "key_type");
	r->cert_key = renewal_get(c, "cert_key");
	r->csr_file = renewal_get(c, "csr");
	r->profile = renewal_get(c, "profile");
	r->preferred_chain = renewal_get(c, "preferred_chain");
	r->deploy_hook = renewal_get(c, "deploy_hook");
	if (r->solver.kind == SOLVE_WEBROOT && conf_map(c, r) != 0)
		return EXIT_FAIL;
	return issue_req_check(r);
}
/* ---- writing ---- */

/* Write renewal/<name>.conf from n entries (NULL values are skipped; values must
 * not contain newlines). */
static int conf_write(const char *config_dir, const char *name, const struct conf_kv *kv,
		      size_t n)
{
	char *dir = xasprintf("%s/renewal", config_dir), *path = NULL, *text = NULL, *nt;
	size_t len = 0;
	int rc = -1;
	char now[64];
	time_t t = time(NULL);
	struct tm tm;

	if (dir == NULL)
		return -1;
	if (mkdir_p(dir, 0755) != 0) {
		log_error("%s: %s", dir, strerror(errno));
		goto out;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The format is described in renewal.h. */
	text = xasprintf("# p11acme renewal configuration for %s, written %s by p11acme issue.\n"
			 "# Format: \"key = value\" per line; '#' comments; 'domain' repeats.\n"
			 "# No secrets are stored here. Edit with care: renew repeats it exactly.\n"
			 "version = 1\n", name, now);
	if (text == NULL)
		goto out;
	len = strlen(text);
	for (size_t i = 0; i < n; i++) {
		if (kv[i].value == NULL)
			continue;
		if (strpbrk(kv[i].value, "\r\n") != NULL) {
			log_error("%s: a newline in the value of %s", name, kv[i].key);
			goto out;
		}
		nt = xasprintf("%s%s = %s\n", text, kv[i].key, kv[i].value);
		if (nt == NULL)
			goto out;
		free(text);
		text = nt;
	}
	len = strlen(text);
	if ((path = xasprintf("%s/%s.conf", dir, name)) == NULL)
		goto out;
	if (file_write_atomic(path, text, len, 0644) != 0) {
		log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(path);
	free(text);
	return rc;
}

/* The solver lines to record: the request's, except that a --reuse-only run keeps
 * the solver that an existing conf records (a fallback is not a way to renew). The
 * strings may point into *keep, which the caller frees. */
static void record_solver(const struct globals *g, const struct issue_req *r,
			  const char *port, const char *v[5], struct renewal_conf *keep)
{
	char err[512];
	const char *rec;

	v[0] = solver_name(r->solver.kind);
	v[1] = r->solver.webroot;
	v[2] = port[0] ? port : NULL;
	v[3] = r->solver.http_address;
	v[4] = r->solver.dns_hook;
	if (r->solver.kind != SOLVE_REUSE ||
	    renewal_read(g->config_dir, r->cert_name, keep, err, sizeof(err)) != EXIT_OK)
		return;
	rec = renewal_get(keep, "solver");
	if (rec == NULL || strcmp(rec, solver_name(SOLVE_REUSE)) == 0)
		return;
	v[0] = rec;
	v[1] = renewal_get(keep, "webroot");
	v[2] = renewal_get(keep, "http_port");
	v[3] = renewal_get(keep, "http_address");
	v[4] = renewal_get(keep, "dns_hook");
	log_info("%s: --reuse-only got this certificate; the renewal config keeps the solver "
		 "'%s' for renewals", r->cert_name, rec);
}

/* The webroot_map lines after kv[n]: the request's map, or the kept conf's when a
 * --reuse-only run keeps its webroot solver. The new strings go to maps[] (the
 * caller frees them). Returns the new n. */
static size_t record_map(const struct issue_req *r, const struct renewal_conf *keep,
			 struct conf_kv *kv, size_t n, char **maps)
{
	size_t from = 0, m = 0;
	const char *v;

	if (r->solver.kind == SOLVE_REUSE) {
		while (m++ < ISSUE_MAX_NAMES && (v = renewal_next(keep, "webroot_map", &from)) != NULL)
			kv[n++] = (struct conf_kv){ "webroot_map", v };
		return n;
	}
	for (size_t i = 0; i < r->solver.n_webroot_map; i++)
		if ((maps[i] = xasprintf("%s %s", r->solver.webroot_map[i].name,
					 r->solver.webroot_map[i].dir)) != NULL)
			kv[n++] = (struct conf_kv){ "webroot_map", maps[i] };
	return n;
}

int renewal_write(const struct globals *g, const struct issue_req *r, const char *account)
{
	struct conf_kv kv[2 * ISSUE_MAX_NAMES + 24];
	char *maps[ISSUE_MAX_NAMES] = { NULL };
	char *key = uri_redact_pin(g->key_uri, NULL), *ck = uri_redact_pin(r->cert_key, NULL);
	char port[16] = "", timeout[16];
	const char *sv[5];
	struct renewal_conf keep = { 0 };
	size_t n = 0;
	int rc;

	snprintf(timeout, sizeof(timeout), "%d", g->timeout);
	if (r->solver.http_port > 0)
		snprintf(port, sizeof(port), "%d", r->solver.http_port);
	record_solver(g, r, port, sv, &keep);
	kv[n++] = (struct conf_kv){ "cert_name", r->cert_name };
	kv[n++] = (struct conf_kv){ "server", g->server };
	kv[n++] = (struct conf_kv){ "account", account };
	if (g->signer != NULL) {
		/* The service holds the key; this host has no module and no PIN. */
		kv[n++] = (struct conf_kv){ "signer", g->signer };
	} else {
		kv[n++] = (struct conf_kv){ "key", key };
		kv[n++] = (struct conf_kv){ "module", g->module };
		kv[n++] = (struct conf_kv){ "module_args", g->module_args };
		kv[n++] = (struct conf_kv){ "pin_source", g->pin_source };
	}
	kv[n++] = (struct conf_kv){ "ca_bundle", g->ca_bundle };
	kv[n++] = (struct conf_kv){ "timeout", g->timeout_given ? timeout : NULL };
	for (size_t i = 0; i < r->n_names; i++)
		kv[n++] = (struct conf_kv){ "domain", r->names[i] };
	if (strcmp(sv[0], solver_name(SOLVE_WEBROOT)) == 0)
		n = record_map(r, &keep, kv, n, maps);
	kv[n++] = (struct conf_kv){ "solver", sv[0] };
	kv[n++] = (struct conf_kv){ "webroot", sv[1] };
	kv[n++] = (struct conf_kv){ "http_port", sv[2] };
	kv[n++] = (struct conf_kv){ "http_address", sv[3] };
	kv[n++] = (struct conf_kv){ "dns_hook", sv[4] };
	kv[n++] = (struct conf_kv){ "key_type", r->cert_key || r->csr_file ? NULL :
			r->key_type ? r->key_type : "ec256" };
	kv[n++] = (struct conf_kv){ "cert_key", ck };
	kv[n++] = (struct conf_kv){ "csr", r->csr_file };
	kv[n++] = (struct conf_kv){ "profile", r->profile };
	kv[n++] = (struct conf_kv){ "preferred_chain", r->preferred_chain };
	kv[n++] = (struct conf_kv){ "deploy_hook", r->deploy_hook };
	if (g->allow_extractable)
		kv[n++] = (struct conf_kv){ "allow_extractable_key", "yes" };
	rc = conf_write(g->config_dir, r->cert_name, kv, n);
	renewal_free(&keep);
	for (size_t i = 0; i < ISSUE_MAX_NAMES; i++)
		free(maps[i]);
	free(key);
	free(ck);
	return rc;
}
