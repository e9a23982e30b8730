/*
 * client/migrate_read.c: where certbot, lego, uacme, dehydrated and lacme keep an
 * account (migrate.h). Only paths and metadata are read here; the old key file is
 * opened by the signer alone. The layouts are those of Debian 12's packages
 * (docs/MIGRATE.md):
 *
 *   certbot     CONFIG/accounts/<host[:port]>/<directory path>/<id>/private_key.json (JWK)
 *               beside regr.json {"uri": URL}
 *   lego        PATH/accounts/<host[_port]>/<email>/keys/<email>.key (PEM)
 *               beside account.json {"registration": {"uri": URL}}
 *   uacme       CONFDIR/private/key.pem; no URL (uacme looks the account up each run)
 *   dehydrated  BASEDIR/accounts/<base64url of the CA URL and a newline>/account_key.pem
 *               beside account_id.json {"url": URL} (once dehydrated has stored it)
 *   lacme       the key file, or lacme-accountd.conf (a name ending in .conf), whose
 *               "privkey = file:PATH" names it
 *   key         any PEM or JWK private key file
 */
#include "client/migrate.h"
#include "client/http.h"
#include "client/client.h"
#include "common/common.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#define META_MAX (1u << 20)
#define MAX_LISTED 64

void migrate_src_free(struct migrate_src *src)
{
	free(src->format);
	free(src->key_path);
	free(src->account_url);
	free(src->id);
	memset(src, 0, sizeof(*src));
}

/* 0 when path is a directory we can read, else EXIT_USAGE (logged). */
static int dir_usable(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		log_error("%s: %s: %s", what, path, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("%s: %s is not a directory", what, path);
		return EXIT_USAGE;
	}
	if (access(path, R_OK | X_OK) != 0) {
		log_error("%s: %s: %s (run as a user who can read it, e.g. root)", what, path,
			  strerror(errno));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subdirectories of dir (sorted, no dot names) into names (malloc'd each);
 * their number, or -1 when dir cannot be read (not logged; errno set). */
static int list_dirs(const char *dir, char **names, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char *p;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] == '.' || (p = xasprintf("%s/%s", dir, e->d_name)) == NULL)
			continue;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (names[n] = strdup(e->d_name)) != NULL)
			n++;
		free(p);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	return n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
}

/* A string member at a JSON path (up to two names) of a small metadata file;
 * malloc'd or NULL (not logged: metadata is optional). */
static char *meta_string(const char *path, const char *m1, const char *m2)
{
	char *text = NULL, *res = NULL;
	const cJSON *v;
	cJSON *j = NULL;
	size_t len = 0;

	if ((text = file_read(path, META_MAX, &len, 0)) == NULL)
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	v = cJSON_GetObjectItemCaseSensitive(j, m1);
	if (m2 != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, m2);
	if (cJSON_IsString(v) && strncmp(v->valuestring, "https://", 8) == 0)
		res = strdup(v->valuestring);
	cJSON_Delete(j);
	free(text);
	return res;
}

/* Pick one of n account names: the one asked for, or the only one. EXIT_OK and *pick,
 * else EXIT_USAGE after listing them. */
static int pick_account(const char *what, const char *where, char **names, int n,
			const char *want, int *pick)
{
	int i;

	if (n <= 0) {
		log_error("%s: no account under %s", what, where);
		return EXIT_USAGE;
	}
	for (i = 0; want != NULL && i < n; i++)
		if (strcmp(names[i], want) == 0) {
			*pick = i;
			return EXIT_OK;
		}
	if (want == NULL && n == 1) {
		*pick = 0;
		return EXIT_OK;
	}
	if (want != NULL)
		log_error("%s: no account '%s' under %s; there are:", what, want, where);
	else
		log_error("%s: %d accounts under %s; pick one with --account ID:", what, n, where);
	for (i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", names[i]);
	return EXIT_USAGE;
}

/* "No account for this server": name the servers the files do have accounts for. */
static int no_server(const char *what, const char *accounts, const char *server)
{
	char *names[MAX_LISTED];
	int n = list_dirs(accounts, names, MAX_LISTED);

	log_error("%s: no account for %s under %s%s", what, server, accounts,
		  n > 0 ? "; it has accounts for:" : "");
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", names[i]);
	free_names(names, n > 0 ? n : 0);
	return EXIT_USAGE;
}

/* The path part of a URL without its leading '/', malloc'd ("" for none). */
static char *url_path_part(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL, *res = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
		res = strdup(path[0] == '/' ? path + 1 : path);
	curl_free(path);
	curl_url_cleanup(u);
	return res;
}

static int read_certbot(const char *dir, const char *server, const char *want,
			struct migrate_src *src)
{
	char *host = url_host(server), *path = url_path_part(server), *names[MAX_LISTED];
	char *accounts = NULL, *base = NULL, *acct = NULL;
	int n = 0, pick = 0, rc = EXIT_USAGE;

	if (dir_usable("certbot", dir) != EXIT_OK)
		goto out;
	if (host == NULL || path == NULL || (accounts = xasprintf("%s/accounts", dir)) == NULL ||
	    (base = xasprintf("%s/%s%s%s", accounts, host, path[0] ? "/" : "", path)) == NULL)
		goto out;
	if ((n = list_dirs(base, names, MAX_LISTED)) < 0) {
		n = 0;
		rc = dir_usable("certbot", accounts) != EXIT_OK ? EXIT_USAGE
								 : no_server("certbot", accounts, server);
		goto out;
	}
	if ((rc = pick_account("certbot", base, names, n, want, &pick)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if ((acct = xasprintf("%s/%s", base, names[pick])) == NULL ||
	    (src->key_path = xasprintf("%s/private_key.json", acct)) == NULL ||
	    (src->id = strdup(names[pick])) == NULL)
		goto out;
	free(base);
	base = xasprintf("%s/regr.json", acct);
	src->account_url = base != NULL ? meta_string(base, "uri", NULL) : NULL;
	rc = EXIT_OK;
out:
	free_names(names, n);
	free(host);
	free(path);
	free(accounts);
	free(base);
	free(acct);
	return rc;
}

static int read_lego(const char *dir, const char *server, const char *want,
		     struct migrate_src *src)
{
	char *host = url_host(server), *names[MAX_LISTED], *accounts = NULL, *base = NULL;
	char *meta = NULL, *p;
	int n = 0, pick = 0, rc = EXIT_USAGE;

	if (dir_usable("lego", dir) != EXIT_OK)
		goto out;
	if (host == NULL || (accounts = xasprintf("%s/accounts", dir)) == NULL)
		goto out;
	for (p = host; *p != '\0'; p++)
		if (*p == ':')
			*p = '_'; /* lego's own name for host:port */
	if ((base = xasprintf("%s/%s", accounts, host)) == NULL)
		goto out;
	if ((n = list_dirs(base, names, MAX_LISTED)) < 0) {
		n = 0;
		rc = dir_usable("lego", accounts) != EXIT_OK ? EXIT_USAGE
							      : no_server("lego", accounts, server);
		goto out;
	}
	if ((rc = pick_account("lego", base, names, n, want, &pick)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if ((src->key_path = xasprintf("%s/%s/keys/%s.key", base, names[pick], names[pick])) == NULL ||
	    (meta = xasprintf("%s/%s/account.json", base, names[pick])) == NULL ||
	    (src->id = strdup(names[pick])) == NULL)
		goto out;
	src->account_url = meta_string(meta, "registration", "uri");
	rc = EXIT_OK;
out:
	free_names(names, n);
	free(host);
	free(accounts);
	free(base);
	free(meta);
	return rc;
}

static int read_uacme(const char *dir, struct migrate_src *src)
{
	if (dir_usable("uacme", dir) != EXIT_OK)
		return EXIT_USAGE;
	src->key_path = xasprintf("%s/private/key.pem", dir);
	return src->key_path != NULL ? EXIT_OK : EXIT_FAIL;
}

/* dehydrated names the directory after `echo "$CA" | urlbase64`: the URL and a newline. */
static int read_dehydrated(const char *dir, const char *server, struct migrate_src *src)
{
	char *line = xasprintf("%s\n", server), *hash = NULL, *accounts = NULL, *base = NULL;
	char *meta = NULL;
	struct stat st;
	int rc = EXIT_FAIL;

	if (line == NULL || (hash = b64url_encode((unsigned char *)line, strlen(line))) == NULL ||
	    (accounts = xasprintf("%s/accounts", dir)) == NULL ||
	    (base = xasprintf("%s/%s", accounts, hash)) == NULL)
		goto out;
	if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = dir_usable("dehydrated", dir) != EXIT_OK || dir_usable("dehydrated", accounts) != EXIT_OK
			     ? EXIT_USAGE : no_server("dehydrated", accounts, server);
		goto out;
	}
	if ((src->key_path = xasprintf("%s/account_key.pem", base)) == NULL ||
	    (meta = xasprintf("%s/account_id.json", base)) == NULL)
		goto out;
	src->account_url = meta_string(meta, "url", NULL);
	rc = EXIT_OK;
out:
	free(line);
	free(hash);
	free(accounts);
	free(base);
	free(meta);
	return rc;
}

/* lacme-accountd.conf (INI): the file of "privkey = file:FILE". Only a file whose name
 * ends in .conf is read as a config, so that the key file itself is never opened here. */
static int read_lacme(const char *path, struct migrate_src *src)
{
	size_t len = strlen(path), n = 0;
	char *text = NULL, *line, *save = NULL, *v;
	int rc = EXIT_USAGE;

	if (len < 5 || strcmp(path + len - 5, ".conf") != 0) {
		src->key_path = strdup(path);
		return src->key_path != NULL ? EXIT_OK : EXIT_FAIL;
	}
	if ((text = file_read(path, META_MAX, &n, 0)) == NULL) {
		log_error("lacme: %s: %s", path, strerror(errno));
		return EXIT_USAGE;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (strncmp(line, "privkey", 7) != 0 || (v = strchr(line, '=')) == NULL)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, " \t\r")] = '\0';
		if (strncmp(v, "file:", 5) == 0 && v[5] != '\0' && strchr(v, '%') == NULL) {
			src->key_path = strdup(v + 5);
			rc = src->key_path != NULL ? EXIT_OK : EXIT_FAIL;
		} else
			log_error("lacme: %s: privkey = %s: give the key file itself (lacme:FILE; "
				  "decrypt a gpg: key to a 0600 file first)", path, v);
		goto out;
	}
	log_error("lacme: %s names no privkey (a \"privkey = file:FILE\" line)", path);
out:
	free(text);
	return rc;
}

int migrate_find(const char *from, const char *server, const char *account_id,
		 struct migrate_src *src)
{
	static const char *const formats[] = { "certbot", "lego", "uacme", "dehydrated",
					       "lacme", "key" };
	const char *colon = from != NULL ? strchr(from, ':') : NULL, *path;
	size_t i, n = sizeof(formats) / sizeof(formats[0]);

	memset(src, 0, sizeof(*src));
	for (i = 0; colon != NULL && i < n; i++)
		if (strlen(formats[i]) == (size_t)(colon - from) &&
		    strncmp(from, formats[i], (size_t)(colon - from)) == 0)
			break;
	if (colon == NULL || i == n || colon[1] == '\0') {
		log_error("--from %s: give FORMAT:PATH, FORMAT one of certbot, lego, uacme, "
			  "dehydrated, lacme, key", from ? from : "");
		return EXIT_USAGE;
	}
	path = colon + 1;
	if ((src->format = strdup(formats[i])) == NULL)
		return EXIT_FAIL;
	if (account_id != NULL && i >= 2) {
		log_error("--account: %s keeps one account per %s; drop --account", formats[i],
			  i == 2 ? "directory" : i == 3 ? "CA" : "file");
		return EXIT_USAGE;
	}
	switch (i) {
	case 0: return read_certbot(path, server, account_id, src);
	case 1: return read_lego(path, server, account_id, src);
	case 2: return read_uacme(path, src);
	case 3: return read_dehydrated(path, server, src);
	case 4: return read_lacme(path, src);
	default:
		src->key_path = strdup(path);
		return src->key_path != NULL ? EXIT_OK : EXIT_FAIL;
	}
}
