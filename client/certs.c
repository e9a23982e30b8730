/*
 * client/certs.c: p11acme certificates (what is there, when it expires, how it
 * renews, where its key is) and p11acme delete (a certificate's renewal conf,
 * live link and archive, all or nothing).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "client/certs.h"
#include "client/cli.h"
#include "client/opts.h"
#include "client/ari.h"
#include "client/renewal.h"
#include "client/store.h"
#include "common/common.h"

#define DELETE_LOCK_WAIT 60   /* seconds: a running renewal of the name ends first */

static void certificates_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] certificates [--cert-name NAME]\n"
"\n"
"Lists the certificates in CONFIG_DIR (one per renewal/<name>.conf): names, expiry,\n"
"how renew renews it (the solver it repeats) and where the certificate key is.\n"
"With --json, one object per certificate and line: name, domains, not_after,\n"
"days_left, status (valid, expired, missing, unreadable, invalid), solver,\n"
"solver_detail, key_location (file, token or csr), key, live_dir, server, error.\n"
"Every renewal conf is checked; exit 2 when one is not valid.\n");
}

static void delete_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] delete --cert-name NAME\n"
"\n"
"Removes the certificate NAME: renewal/NAME.conf, live/NAME and archive/NAME, all\n"
"or nothing, under renew's lock for the name. It does not revoke the certificate:\n"
"run 'p11acme revoke --cert-name NAME' first when it should no longer be trusted.\n");
}

/* --cert-name (and --help) for both commands: EXIT_OK, EXIT_USAGE or -1 (help). */
static int name_opts(int argc, char **argv, const char **name, void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "cert-name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = opts_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'n': *name = optarg; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument: %s", argv[optind]);
	if (*name != NULL && !store_name_valid(*name))
		return cli_usage_error(argv[0], "--cert-name: not a certificate name: %s", *name);
	return EXIT_OK;
}

/* ---- certificates ---- */

/* What `certificates` says about one name. */
struct cert_view {
	const char *name, *status, *solver, *solver_detail, *key_location, *server;
	char *key, *live_dir, *domains;  /* domains: space separated */
	struct renewal_conf conf;        /* the strings above point into it */
	time_t not_after;
	char error[512];
};

static void view_free(struct cert_view *v)
{
	renewal_free(&v->conf);
	free(v->key);
	free(v->live_dir);
	free(v->domains);
}

static const char *solver_detail(const struct renewal_conf *c, const char *solver)
{
	if (solver == NULL)
		return NULL;
	if (strcmp(solver, "webroot") == 0)
		return renewal_get(c, "webroot");
	if (strcmp(solver, "dns-hook") == 0)
		return renewal_get(c, "dns_hook");
	if (strcmp(solver, "standalone") == 0)
		return renewal_get(c, "http_port");
	return NULL;
}

/* The conf's side: domains, solver, server and where the key is. */
static int view_conf(const struct globals *g, const struct renewal_conf *c, struct cert_view *v)
{
	const char *d, *ck = renewal_get(c, "cert_key");
	size_t from = 0;
	char *nd;

	if ((v->domains = strdup("")) == NULL)
		return -1;
	while ((d = renewal_next(c, "domain", &from)) != NULL) {
		if ((nd = xasprintf("%s%s%s", v->domains, *v->domains ? " " : "", d)) == NULL)
			return -1;
		free(v->domains);
		v->domains = nd;
	}
	v->solver = renewal_get(c, "solver");
	v->solver_detail = solver_detail(c, v->solver);
	v->server = renewal_get(c, "server");
	if (ck != NULL) {
		v->key_location = "token";
		v->key = strdup(ck);
	} else if ((d = renewal_get(c, "csr")) != NULL) {
		v->key_location = "csr";
		v->key = xasprintf("the key of %s (held elsewhere)", d);
	} else {
		v->key_location = "file";
		v->key = xasprintf("%s/live/%s/privkey.pem", g->config_dir, v->name);
	}
	return v->key == NULL ? -1 : 0;
}

/* One name: its conf, then its live certificate. EXIT_OK or EXIT_USAGE (conf). */
static int view_load(const struct globals *g, const char *name, struct cert_view *v)
{
	struct renewal_conf *c = NULL;
	struct cert_info ci = { 0 };
	char *path = NULL;
	int rc = EXIT_OK, r;

	v->name = name;
	v->live_dir = xasprintf("%s/live/%s", g->config_dir, name);
	c = &v->conf;
	if ((rc = renewal_read(g->config_dir, name, c, v->error, sizeof(v->error))) != EXIT_OK) {
		v->status = "invalid";
		goto out;
	}
	if (view_conf(g, c, v) != 0 || v->live_dir == NULL ||
	    (path = xasprintf("%s/cert.pem", v->live_dir)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	r = cert_info_load(path, &ci);
	if (r == 1) {
		v->status = "missing";
		snprintf(v->error, sizeof(v->error), "no live certificate (%s); renew issues one "
			 "and says so", path);
	} else if (r < 0) {
		v->status = "unreadable";
		snprintf(v->error, sizeof(v->error), "%s: not a readable certificate", path);
	} else {
		v->not_after = ci.not_after;
		v->status = time(NULL) >= ci.not_after ? "expired" : "valid";
	}
out:
	cert_info_free(&ci);
	free(path);
	return rc;
}

static void view_print_text(const struct cert_view *v)
{
	char na[32] = "";
	long days = 0;

	printf("Certificate Name: %s\n", v->name);
	if (v->domains != NULL)
		printf("  Domains: %s\n", v->domains);
	if (v->not_after != 0) {
		rfc3339_format(v->not_after, na, sizeof(na));
		days = (long)((v->not_after - time(NULL)) / 86400);
		printf("  Expiry: %s (%s: %ld days)\n", na, strcmp(v->status, "valid") == 0 ?
		       "VALID" : "EXPIRED", days);
	}
	if (v->solver != NULL)
		printf("  Renewal: %s%s%s%s\n", v->solver, v->solver_detail ? " (" : "",
		       v->solver_detail ? v->solver_detail : "", v->solver_detail ? ")" : "");
	if (v->key != NULL)
		printf("  Key (%s): %s\n", v->key_location, v->key);
	if (v->server != NULL)
		printf("  Server: %s\n", v->server);
	printf("  Live: %s\n", v->live_dir ? v->live_dir : "");
	if (v->error[0] != '\0')
		printf("  Problem: %s\n", v->error);
}

static void json_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void view_print_json(const struct cert_view *v)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char na[32], *dup = NULL, *tok, *save = NULL;

	if (o == NULL)
		return;
	json_str(o, "name", v->name);
	arr = cJSON_AddArrayToObject(o, "domains");
	if (arr != NULL && v->domains != NULL && (dup = strdup(v->domains)) != NULL)
		for (tok = strtok_r(dup, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
	if (v->not_after != 0) {
		rfc3339_format(v->not_after, na, sizeof(na));
		cJSON_AddStringToObject(o, "not_after", na);
		cJSON_AddNumberToObject(o, "days_left", (double)((v->not_after - time(NULL)) / 86400));
	} else {
		cJSON_AddNullToObject(o, "not_after");
		cJSON_AddNullToObject(o, "days_left");
	}
	json_str(o, "status", v->status);
	json_str(o, "solver", v->solver);
	json_str(o, "solver_detail", v->solver_detail);
	json_str(o, "key_location", v->key_location);
	json_str(o, "key", v->key);
	json_str(o, "live_dir", v->live_dir);
	json_str(o, "server", v->server);
	json_str(o, "error", v->error[0] ? v->error : NULL);
	cli_print_json(o, 1);
	free(dup);
	cJSON_Delete(o);
}

int cmd_certificates(const struct globals *g, int argc, char **argv)
{
	const char *only = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc, total = EXIT_OK;

	if ((rc = name_opts(argc, argv, &only, certificates_usage)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (renewal_names(g->config_dir, &names, &n) != 0)
		return EXIT_FAIL;
	if (n == 0 && !g->json)
		log_info("no certificates in %s/renewal", g->config_dir);
	for (size_t i = 0; i < n; i++) {
		struct cert_view v = { 0 };

		if (only == NULL || strcmp(only, names[i]) == 0) {
			rc = view_load(g, names[i], &v);
			if (rc != EXIT_OK)
				log_error("%s", v.error[0] ? v.error : names[i]);
			if (rc != EXIT_OK && total != EXIT_USAGE)
				total = rc;
			g->json ? view_print_json(&v) : view_print_text(&v);
			view_free(&v);
			only = only != NULL ? "" : NULL; /* "" matches nothing: found */
		}
		free(names[i]);
	}
	free(names);
	if (only != NULL && *only != '\0') {
		log_error("no renewal config %s/renewal/%s.conf", g->config_dir, only);
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 ? total : EXIT_FAIL;
}

/* ---- delete ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("%s: %s", path, strerror(errno));
	return 0;
}

/* rm -r without following symlinks (live/NAME is one; its target is in archive/). */
static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Trash directories of delete runs that were killed: CONFIG_DIR/.delete.<name>.<pid>. */
static void trash_sweep(const char *config_dir, const char *name)
{
	char *prefix = xasprintf(".delete.%s.", name), *p, *end;
	DIR *d = opendir(config_dir);
	struct dirent *e;
	long pid;

	while (d != NULL && prefix != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(prefix), &end, 10);
		if (*end != '\0' || pid <= 0 || !pid_is_gone(pid))
			continue;
		if ((p = xasprintf("%s/%s", config_dir, e->d_name)) != NULL)
			rm_tree(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	free(prefix);
}

static const char *const parts[][2] = {
	{ "renewal/%s.conf", "renewal.conf" },  /* first: renew stops seeing the name */
	{ "live/%s", "live" },
	{ "archive/%s", "archive" },
};
#define N_PARTS (sizeof(parts) / sizeof(parts[0]))

/* Move every part that exists into trash; on a failure, move the moved ones back.
 * *moved gets one flag per part. EXIT_OK, or EXIT_FAIL after logging. */
static int delete_move(const char *config_dir, const char *name, const char *trash,
		       int moved[N_PARTS])
{
	char *src[N_PARTS] = { NULL }, *dst[N_PARTS] = { NULL };
	struct stat st;
	int rc = EXIT_FAIL;
	size_t i;

	for (i = 0; i < N_PARTS; i++) {
		char *rel = xasprintf(parts[i][0], name);

		src[i] = rel != NULL ? xasprintf("%s/%s", config_dir, rel) : NULL;
		dst[i] = xasprintf("%s/%s", trash, parts[i][1]);
		free(rel);
		if (src[i] == NULL || dst[i] == NULL)
			goto undo;
		if (lstat(src[i], &st) != 0 && errno == ENOENT)
			continue;
		if (rename(src[i], dst[i]) != 0) {
			log_error("%s: %s; nothing was deleted", src[i], strerror(errno));
			goto undo;
		}
		moved[i] = 1;
	}
	rc = EXIT_OK;
	goto out;
undo:
	while (i-- > 0)
		if (moved[i] && rename(dst[i], src[i]) == 0)
			moved[i] = 0;
out:
	for (i = 0; i < N_PARTS; i++) {
		free(src[i]);
		free(dst[i]);
	}
	return rc;
}

static void delete_print(const struct globals *g, const char *name, const int moved[N_PARTS])
{
	cJSON *o, *arr;

	if (!g->json) {
		printf("%s: deleted (", name);
		for (size_t i = 0, k = 0; i < N_PARTS; i++)
			if (moved[i])
				printf("%s%s", k++ ? ", " : "", parts[i][1]);
		printf(")\n");
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "name", name);
	if ((arr = cJSON_AddArrayToObject(o, "deleted")) != NULL)
		for (size_t i = 0; i < N_PARTS; i++)
			if (moved[i])
				cJSON_AddItemToArray(arr, cJSON_CreateString(parts[i][1]));
	cli_print_json(o, 1);
	cJSON_Delete(o);
}

int cmd_delete(const struct globals *g, int argc, char **argv)
{
	const char *name = NULL;
	char *trash = NULL, *lockpath = NULL, *sub;
	int rc, lock = -1, moved[N_PARTS] = { 0 };

	if ((rc = name_opts(argc, argv, &name, delete_usage)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (name == NULL)
		return cli_usage_error("delete", "delete needs --cert-name NAME");
	rc = EXIT_FAIL;
	trash_sweep(g->config_dir, name);
	if ((lock = renewal_lock(g->config_dir, name, DELETE_LOCK_WAIT)) < 0)
		goto out;
	trash = xasprintf("%s/.delete.%s.%ld", g->config_dir, name, (long)getpid());
	lockpath = xasprintf("%s/renewal/.%s.lock", g->config_dir, name);
	if (trash == NULL || lockpath == NULL)
		goto out;
	rm_tree(trash);
	if (mkdir(trash, 0700) != 0) {
		log_error("%s: %s", trash, strerror(errno));
		goto out;
	}
	if ((rc = delete_move(g->config_dir, name, trash, moved)) != EXIT_OK)
		goto out;
	if (!moved[0] && !moved[1] && !moved[2]) {
		log_error("no certificate named %s in %s (no renewal conf, live or archive entry)",
			  name, g->config_dir);
		rc = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < N_PARTS; i++) {
		if ((sub = xasprintf("%s/%.*s", g->config_dir, (int)strcspn(parts[i][0], "/"),
				     parts[i][0])) != NULL)
			fsync_dir(sub);
		free(sub);
	}
	unlink(lockpath); /* still held: a waiting renew then finds no conf */
	log_info("%s: deleted; it was not revoked (p11acme revoke revokes)", name);
	delete_print(g, name, moved);
	rc = EXIT_OK;
out:
	if (trash != NULL)
		rm_tree(trash);
	if (lock >= 0)
		close(lock);
	free(trash);
	free(lockpath);
	return rc;
}
