/*
 * client/store.c: account cache, certificate sets and renewal configs (store.h).
 */
#include "client/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "client/http.h"
#include "common/common.h"

#define ACCOUNT_FILE_MAX 65536

int store_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255 || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static char *account_path(const char *config_dir, const char *server, const char *thumbprint)
{
	char *host = url_host(server), *path = NULL;

	if (host != NULL && b64url_valid(thumbprint, 128))
		path = xasprintf("%s/accounts/%s/%s.json", config_dir, host, thumbprint);
	free(host);
	return path;
}

char *store_account_load(const char *config_dir, const char *server, const char *thumbprint)
{
	char *path = account_path(config_dir, server, thumbprint), *buf = NULL, *url = NULL;
	cJSON *root = NULL, *u, *s;
	size_t len;

	if (path == NULL ||
	    (buf = file_read(path, ACCOUNT_FILE_MAX, &len, FILE_NOFOLLOW | FILE_REGULAR)) == NULL)
		goto out;
	root = cJSON_ParseWithLength(buf, len);
	u = cJSON_GetObjectItemCaseSensitive(root, "url");
	s = cJSON_GetObjectItemCaseSensitive(root, "server");
	/* Same host, different directory (e.g. another port or path): not ours. */
	if (!cJSON_IsString(u) || !cJSON_IsString(s) || strcmp(s->valuestring, server) != 0 ||
	    strncmp(u->valuestring, "https://", 8) != 0)
		goto out;
	url = strdup(u->valuestring);
out:
	cJSON_Delete(root);
	free(buf);
	free(path);
	return url;
}

int store_account_save(const char *config_dir, const char *server, const char *thumbprint,
		       const char *url)
{
	char *path = account_path(config_dir, server, thumbprint), *dir = NULL, *text = NULL;
	cJSON *root = NULL;
	int rc = -1;

	if (path == NULL)
		goto out;
	if ((dir = strdup(path)) == NULL)
		goto out;
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0755) != 0) {
		log_error("%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(root, "url", url) == NULL ||
	    cJSON_AddStringToObject(root, "server", server) == NULL ||
	    cJSON_AddStringToObject(root, "thumbprint", thumbprint) == NULL ||
	    (text = cJSON_Print(root)) == NULL)
		goto out;
	if (file_write_atomic(path, text, strlen(text), 0644) != 0) {
		log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	free(dir);
	free(path);
	return rc;
}

void store_account_remove(const char *config_dir, const char *server, const char *thumbprint)
{
	char *path = account_path(config_dir, server, thumbprint);

	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: %s", path, strerror(errno));
	free(path);
}

/* ---- directory cache ---- */

#define DIRECTORY_FILE_MAX (HTTP_BODY_MAX + 4096)

static char *directory_path(const char *config_dir, const char *server)
{
	char *host = url_host(server), *path = NULL;

	if (host != NULL)
		path = xasprintf("%s/accounts/%s/directory.json", config_dir, host);
	free(host);
	return path;
}

char *store_directory_load(const char *config_dir, const char *server, long max_age,
			   size_t *len)
{
	char *path = directory_path(config_dir, server), *buf = NULL, *text = NULL;
	cJSON *root = NULL, *s, *f, *d;
	double age;

	if (path == NULL ||
	    (buf = file_read(path, DIRECTORY_FILE_MAX, len, FILE_NOFOLLOW | FILE_REGULAR)) == NULL)
		goto out;
	root = cJSON_ParseWithLength(buf, *len);
	s = cJSON_GetObjectItemCaseSensitive(root, "server");
	f = cJSON_GetObjectItemCaseSensitive(root, "fetched");
	d = cJSON_GetObjectItemCaseSensitive(root, "directory");
	/* Another directory on the same host (port and path differ) is not ours. */
	if (!cJSON_IsString(s) || strcmp(s->valuestring, server) != 0 || !cJSON_IsNumber(f) ||
	    !cJSON_IsObject(d))
		goto out;
	/* A fetch time in the future (a clock set back) counts as stale, too. */
	age = difftime(time(NULL), (time_t)f->valuedouble);
	if (age < 0 || age >= (double)max_age)
		goto out;
	if ((text = cJSON_PrintUnformatted(d)) != NULL)
		*len = strlen(text);
out:
	cJSON_Delete(root);
	free(buf);
	free(path);
	return text;
}

int store_directory_save(const char *config_dir, const char *server, const char *body,
			 size_t len)
{
	char *path = directory_path(config_dir, server), *dir = NULL, *text = NULL;
	cJSON *root = NULL, *d = NULL;
	int rc = -1;

	if (path == NULL || (dir = strdup(path)) == NULL)
		goto out;
	*strrchr(dir, '/') = '\0';
	if ((d = cJSON_ParseWithLength(body, len)) == NULL || (root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(root, "server", server) == NULL ||
	    cJSON_AddNumberToObject(root, "fetched", (double)time(NULL)) == NULL)
		goto out;
	cJSON_AddItemToObject(root, "directory", d);
	d = NULL;
	if ((text = cJSON_Print(root)) == NULL)
		goto out;
	if (mkdir_p(dir, 0755) != 0 || file_write_atomic(path, text, strlen(text), 0644) != 0) {
		log_warn("%s: %s; the directory is fetched again next time", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(d);
	cJSON_Delete(root);
	free(text);
	free(dir);
	free(path);
	return rc;
}

void store_directory_remove(const char *config_dir, const char *server)
{
	char *path = directory_path(config_dir, server);

	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: %s", path, strerror(errno));
	free(path);
}

/* ---- certificate sets ---- */

static int write_new_file(const char *dir, const char *name, const char *data, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len = strlen(data), off = 0;
	int fd = -1, rc = -1;
	ssize_t w;

	if (path == NULL)
		return -1;
	/* A fresh directory: the file must not exist, and never through a link. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	log_error("%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* Highest numbered entry in archive/<name>/, 0 when none. */
static long archive_last(const char *archive)
{
	DIR *d = opendir(archive);
	struct dirent *e;
	long max = 0, v;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (parse_long(e->d_name, 1, LONG_MAX - 2, &v) == 0 && v > max)
			max = v;
	closedir(d);
	return max;
}

/* 1 when the temporary name "<prefix><pid><suffix>" belongs to a process that is
 * gone (killed mid-commit), so that its leftovers may be removed. */
static int tmp_is_stale(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), nl = strlen(name), sl = strlen(suffix);
	char *end;
	long pid;

	if (nl <= pl + sl || strncmp(name, prefix, pl) != 0 || strcmp(name + nl - sl, suffix) != 0)
		return 0;
	errno = 0;
	pid = strtol(name + pl, &end, 10);
	if (errno != 0 || pid <= 0 || (*end != '.' && *end != '\0' && strcmp(end, suffix) != 0))
		return 0;
	return pid == (long)getpid() || pid_is_gone(pid);
}

static void rm_dir_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((p = xasprintf("%s/%s", dir, e->d_name)) != NULL)
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Remove what a killed run left: archive/<name>/.tmp.<pid>/ and
 * live/.<name>.<pid>.<n>.tmp. Never touches numbered sets or live links. */
static void store_sweep(const char *config_dir, const char *name)
{
	char *archive = xasprintf("%s/archive/%s", config_dir, name);
	char *live = xasprintf("%s/live", config_dir), *prefix = xasprintf(".%s.", name), *p;
	struct dirent *e;
	DIR *d;

	if (archive != NULL && (d = opendir(archive)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (!tmp_is_stale(e->d_name, ".tmp.", ""))
				continue;
			if ((p = xasprintf("%s/%s", archive, e->d_name)) != NULL) {
				log_debug("removing %s, left by an interrupted run", p);
				rm_dir_flat(p);
			}
			free(p);
		}
		closedir(d);
	}
	if (live != NULL && prefix != NULL && (d = opendir(live)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (!tmp_is_stale(e->d_name, prefix, ".tmp"))
				continue;
			if ((p = xasprintf("%s/%s", live, e->d_name)) != NULL) {
				log_debug("removing %s, left by an interrupted run", p);
				unlink(p);
			}
			free(p);
		}
		closedir(d);
	}
	free(archive);
	free(live);
	free(prefix);
}

/* The new set is written in archive/<name>/.tmp.<pid>/ and renamed to <n> only when
 * complete, so a numbered entry is never partial, even after SIGKILL. */
static char *archive_tmp_dir(const char *config_dir, const char *name)
{
	char *archive = xasprintf("%s/archive/%s", config_dir, name), *dir = NULL;

	if (archive == NULL)
		return NULL;
	if (mkdir_p(archive, 0755) != 0) {
		log_error("%s: %s", archive, strerror(errno));
		goto out;
	}
	if ((dir = xasprintf("%s/.tmp.%ld", archive, (long)getpid())) == NULL)
		goto out;
	rm_dir_flat(dir); /* our own pid's leftover, from a process long gone */
	if (mkdir(dir, 0755) != 0) {
		log_error("%s: %s", dir, strerror(errno));
		free(dir);
		dir = NULL;
	}
out:
	free(archive);
	return dir;
}

/* rename(2) the complete temporary entry to the next free number. */
static int archive_publish(const char *config_dir, const char *name, const char *tmp,
			   long *num)
{
	char *archive = xasprintf("%s/archive/%s", config_dir, name), *dir = NULL;
	int rc = -1;

	if (archive == NULL)
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		*num = archive_last(archive) + 1;
		free(dir);
		if ((dir = xasprintf("%s/%ld", archive, *num)) == NULL)
			goto out;
		/* NOREPLACE: a concurrent run may have taken the number (an empty
		 * directory would otherwise be replaced silently). */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) == 0) {
			if (fsync_dir(archive) != 0) {
				log_error("%s: fsync: %s", archive, strerror(errno));
				goto out;
			}
			rc = 0;
			goto out;
		}
		if (errno != EEXIST && errno != ENOTEMPTY) {
			log_error("%s: %s", dir, strerror(errno));
			goto out;
		}
	}
	log_error("%s: could not create a new archive entry", archive);
out:
	free(archive);
	free(dir);
	return rc;
}

/* Replace live/<name> with a symlink to ../archive/<name>/<num> in one rename(2). */
static int live_switch(const char *config_dir, const char *name, long num)
{
	char *live = xasprintf("%s/live", config_dir), *link = NULL, *tmp = NULL,
	     *target = NULL;
	int rc = -1;

	if (live == NULL)
		return -1;
	if (mkdir_p(live, 0755) != 0) {
		log_error("%s: %s", live, strerror(errno));
		goto out;
	}
	link = xasprintf("%s/%s", live, name);
	target = xasprintf("../archive/%s/%ld", name, num);
	tmp = xasprintf("%s/.%s.%ld.%ld.tmp", live, name, (long)getpid(), num);
	if (link == NULL || target == NULL || tmp == NULL)
		goto out;
	unlink(tmp);
	if (symlink(target, tmp) != 0) {
		log_error("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, link) != 0) {
		log_error("%s: %s", link, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fsync_dir(live);
	rc = 0;
out:
	free(live);
	free(link);
	free(tmp);
	free(target);
	return rc;
}

int store_commit(const char *config_dir, const char *name, const struct cert_set *set,
		 char **live_dir)
{
	char *tmp = NULL;
	long num = 0;
	int rc = -1;

	if (!store_name_valid(name)) {
		log_error("%s: not a usable certificate name", name);
		return -1;
	}
	store_sweep(config_dir, name);
	if ((tmp = archive_tmp_dir(config_dir, name)) == NULL)
		goto out;
	if (write_new_file(tmp, "cert.pem", set->cert_pem, 0644) != 0 ||
	    write_new_file(tmp, "chain.pem", set->chain_pem, 0644) != 0 ||
	    write_new_file(tmp, "fullchain.pem", set->fullchain_pem, 0644) != 0)
		goto out;
	if (set->privkey_pem != NULL &&
	    write_new_file(tmp, "privkey.pem", set->privkey_pem, 0600) != 0)
		goto out;
	/* Everything durable before it gets a number, and before live points at it. */
	if (fsync_dir(tmp) != 0) {
		log_error("%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	if (archive_publish(config_dir, name, tmp, &num) != 0)
		goto out;
	if (live_switch(config_dir, name, num) != 0)
		goto out;
	if (live_dir != NULL && (*live_dir = xasprintf("%s/live/%s", config_dir, name)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc != 0 && tmp != NULL)
		rm_dir_flat(tmp); /* a no-op once published: tmp no longer exists */
	free(tmp);
	return rc;
}

/* ---- renewal config ---- */

/* ---- revoked certificates ---- */

void store_mark_revoked(const char *config_dir, const char *cert_path, const char *reason)
{
	char *archive = xasprintf("%s/archive", config_dir), *marker = NULL, *line = NULL;
	char real[PATH_MAX], areal[PATH_MAX], *slash;
	size_t al;

	if (archive == NULL || realpath(cert_path, real) == NULL ||
	    realpath(archive, areal) == NULL)
		goto out;
	al = strlen(areal);
	slash = strrchr(real, '/');
	/* only a set of ours: archive/<name>/<n>/cert.pem */
	if (strncmp(real, areal, al) != 0 || real[al] != '/' || slash == NULL ||
	    strcmp(slash, "/cert.pem") != 0)
		goto out;
	*slash = '\0';
	marker = xasprintf("%s/revoked", real);
	line = xasprintf("revoked at %ld, reason %s\n", (long)time(NULL), reason);
	if (marker == NULL || line == NULL)
		goto out;
	if (file_write_atomic(marker, line, strlen(line), 0644) != 0)
		log_warn("%s: %s; renew will not know that this certificate is revoked", marker,
			 strerror(errno));
	else
		log_info("%s is marked revoked: the next renew replaces it", real);
out:
	free(archive);
	free(marker);
	free(line);
}

int store_live_revoked(const char *config_dir, const char *name)
{
	char *marker = xasprintf("%s/live/%s/revoked", config_dir, name);
	int r = marker != NULL && access(marker, F_OK) == 0;

	free(marker);
	return r;
}
/* ---- before newOrder: can the commit succeed? ---- */

#define CHECK_BYTES (64 * 1024)  /* a set with a long chain is ~20 KiB, the conf ~2 KiB */

/* Write and remove CHECK_BYTES in dir: 0, or -1 with errno (ENOSPC, EROFS, EACCES). */
static int dir_takes_writes(const char *dir)
{
	char *path = NULL, *buf = NULL;
	int fd = -1, rc = -1, saved = 0;
	ssize_t w;

	if ((buf = calloc(1, CHECK_BYTES)) == NULL)
		goto out;
	/* an unnamed file: a run killed here leaves nothing behind */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* named as file_write_atomic's temporaries, which it sweeps */
		if ((path = xasprintf("%s/.p11acme-tmp-%ld-check", dir, (long)getpid())) == NULL)
			goto out;
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		goto out;
	/* No fsync: ext4, XFS, btrfs and tmpfs reserve the blocks at write(), so a
	 * full disk or quota answers here, and an fsync per directory would cost
	 * every issuance three journal commits. */
	w = write(fd, buf, CHECK_BYTES);
	if (w == CHECK_BYTES)
		rc = 0;
	else if (w >= 0 && w < CHECK_BYTES)
		errno = ENOSPC;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (path != NULL)
		unlink(path);
	free(path);
	free(buf);
	errno = saved;
	return rc;
}

/* live/<name> must be ours to replace: a symlink, or absent. */
static int live_replaceable(const char *config_dir, const char *name)
{
	char *link = xasprintf("%s/live/%s", config_dir, name);
	struct stat st;
	int rc = 0;

	if (link == NULL)
		return -1;
	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
		log_error("%s is a real %s, not p11acme's link to archive/%s/N: the new "
			  "certificate could not replace it. Move it away (p11acme renews into "
			  "live/%s); nothing was ordered", link, S_ISDIR(st.st_mode) ? "directory" :
			  "file", name, name);
		rc = -1;
	}
	free(link);
	return rc;
}

int store_commit_check(const char *config_dir, const char *name)
{
	const char *subs[] = { "archive", "live", "renewal" };
	char *dir = NULL;
	int rc = -1;

	if (!store_name_valid(name)) {
		log_error("%s: not a usable certificate name", name);
		return -1;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		free(dir);
		if ((dir = xasprintf("%s/%s", config_dir, subs[i])) == NULL)
			goto out;
		if (mkdir_p(dir, 0755) != 0 || dir_takes_writes(dir) != 0) {
			log_error("%s: %s: the new certificate could not be stored; nothing was "
				  "ordered", dir, strerror(errno));
			goto out;
		}
	}
	rc = live_replaceable(config_dir, name);
out:
	free(dir);
	return rc;
}

long store_archive_newest(const char *config_dir, const char *name)
{
	char *archive = xasprintf("%s/archive/%s", config_dir, name);
	long n = archive != NULL ? archive_last(archive) : 0;

	free(archive);
	return n;
}
