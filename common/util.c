#include "common/common.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <openssl/crypto.h>

void secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

char *str_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

char *str_next_line(char **cursor)
{
	char *line = *cursor, *nl;

	if (line == NULL)
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL)
		*nl++ = '\0';
	*cursor = nl;
	return line;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

void term_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Copy uri attribute by attribute (':', ';', '?' and '&' end one), so that a pin-value
 * is never copied: it is dropped with the '&' after it, or written as mask. */
char *uri_redact_pin(const char *uri, const char *mask)
{
	size_t len, mlen = mask != NULL ? strlen(mask) : 0, o = 0, n;
	const char *p, *end;
	char *out;

	if (uri == NULL)
		return NULL;
	len = strlen(uri);
	if ((out = malloc(len + (len / 10 + 1) * mlen + 1)) == NULL)
		return NULL;
	for (p = uri; *p != '\0'; p = end) {
		n = strcspn(p, ":;?&");
		end = p + n;
		if (n >= 10 && strncmp(p, "pin-value=", 10) == 0) {
			if (mask == NULL) {
				end += *end == '&';
				continue;
			}
			memcpy(out + o, "pin-value=", 10);
			memcpy(out + o + 10, mask, mlen);
			o += 10 + mlen;
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		if (*end != '\0')
			out[o++] = *end++;
	}
	/* A dropped last attribute leaves a trailing '&' or a bare '?'. */
	while (mask == NULL && o > 0 && (out[o - 1] == '&' || out[o - 1] == '?') &&
	       memchr(out, '?', o) != NULL)
		o--;
	out[o] = '\0';
	return out;
}
