#include "common/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>

#define LOG_LINE_MAX 16384   /* one message, after its fields were bounded */

int log_verbosity = LOG_INFO;

static int sd_prefixes;
static pthread_once_t sd_once = PTHREAD_ONCE_INIT;

/* systemd connects a service's stderr to the journal and names that stream in
 * JOURNAL_STREAM ("dev:ino"); the name only counts while stderr is still it, not
 * after a redirection to a file. */
static void sd_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM"), *force = getenv("P11ACME_LOG_PRIORITIES");
	unsigned long long dev, ino;
	struct stat st;

	if (force != NULL && *force != '\0') {
		sd_prefixes = strcmp(force, "0") != 0;
		return;
	}
	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return;
	sd_prefixes = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

const char *log_sd_prefix(int level)
{
	pthread_once(&sd_once, sd_detect);
	if (!sd_prefixes)
		return "";
	switch (level) {
	case LOG_ERROR: return "<3>";
	case LOG_WARN: return "<4>";
	case LOG_INFO: return "<6>";
	default: return "<7>";
	}
}

/* The last error line (also one that -q printed nowhere), for log_last_error. */
static char last_error[512];

const char *log_last_error(void)
{
	return last_error;
}

void log_last_error_clear(void)
{
	last_error[0] = '\0';
}

void logmsg(int level, const char *fmt, ...)
{
	va_list ap;
	char *raw = NULL, *line = NULL;
	int n;

	if (level > log_verbosity && level != LOG_ERROR)
		return;
	va_start(ap, fmt);
	n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Whatever a caller passed, no control character or invalid UTF-8 reaches
	 * the terminal or the journal, and one message stays one bounded line. */
	line = sanitize_dup(raw, (size_t)n, LOG_LINE_MAX);
	if (level == LOG_ERROR && line != NULL)
		snprintf(last_error, sizeof(last_error), "%s", line);
	if (level > log_verbosity) {
		free(line);
		free(raw);
		return;
	}
	/* one whole line even when the http-01 server's threads log at once */
	flockfile(stderr);
	fputs(log_sd_prefix(level), stderr);
	fputs("p11acme: ", stderr);
	if (level == LOG_ERROR)
		fputs("error: ", stderr);
	else if (level == LOG_WARN)
		fputs("warning: ", stderr);
	fputs(line != NULL ? line : "(out of memory)", stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
	free(line);
	free(raw);
}

void log_openssl_errors(const char *context)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("%s: openssl: %s", context, buf);
	}
}
