#include "common/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <openssl/err.h>

int log_verbosity = LOG_INFO;

void logmsg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_verbosity)
		return;
	/* one whole line even when the http-01 server's threads log at once */
	flockfile(stderr);
	fputs("p11acme: ", stderr);
	if (level == LOG_ERROR)
		fputs("error: ", stderr);
	else if (level == LOG_WARN)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
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
