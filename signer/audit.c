/*
 * The signer service's audit log: one JSON object per line for every connection and
 * every request, allowed or not. Each line is written with a single write(2) to a file
 * opened O_APPEND, so lines of concurrent writers (a restarted service, logrotate's
 * copytruncate) never interleave, and a reader never sees half a line from us. The same
 * line goes to stderr for the journal.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_MAX_URL 1024

int audit_open(const char *path)
{
	int fd;

	if (path == NULL)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		log_error("signer: audit log %s: %s", path, strerror(errno));
	return fd < 0 ? -2 : fd;
}

static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

static void write_line(int fd, const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		log_warn("signer: short write to the audit log");
}

/* A client-supplied URL, bounded, for the log (cJSON escapes it). */
static char *url_for_log(const char *url)
{
	char *u;

	if (url == NULL)
		return strdup("");
	if (strlen(url) <= AUDIT_MAX_URL)
		return strdup(url);
	if ((u = malloc(AUDIT_MAX_URL + 4)) == NULL)
		return NULL;
	memcpy(u, url, AUDIT_MAX_URL);
	memcpy(u + AUDIT_MAX_URL, "...", 4);
	return u;
}

void audit_write(int fd, const struct audit_entry *a)
{
	cJSON *o = NULL, *arr;
	char when[64], *line = NULL, *url = NULL, *full = NULL;
	size_t i, len;

	rfc3339_now(when, sizeof(when));
	if ((o = cJSON_CreateObject()) == NULL || (url = url_for_log(a->url)) == NULL ||
	    cJSON_AddStringToObject(o, "time", when) == NULL ||
	    cJSON_AddStringToObject(o, "user", a->id->user) == NULL ||
	    cJSON_AddNumberToObject(o, "uid", (double)a->id->uid) == NULL ||
	    cJSON_AddNumberToObject(o, "pid", (double)a->id->pid) == NULL ||
	    cJSON_AddStringToObject(o, "op", a->op) == NULL ||
	    (arr = cJSON_AddArrayToObject(o, "names")) == NULL)
		goto out;
	for (i = 0; i < a->n_names; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(a->names[i])))
			goto out;
	if (cJSON_AddStringToObject(o, "url", url) == NULL ||
	    cJSON_AddStringToObject(o, "decision", a->decision) == NULL ||
	    cJSON_AddStringToObject(o, "reason", a->reason) == NULL ||
	    (line = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	len = strlen(line);
	if ((full = malloc(len + 2)) == NULL)
		goto out;
	memcpy(full, line, len);
	full[len] = '\n';
	full[len + 1] = '\0';
	if (fd >= 0)
		write_line(fd, full, len + 1);
	write_line(STDERR_FILENO, full, len + 1);
out:
	if (full == NULL)
		log_error("signer: out of memory writing the audit log");
	cJSON_Delete(o);
	free(line);
	free(url);
	free(full);
}
