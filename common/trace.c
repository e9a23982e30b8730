/*
 * common/trace.c: P11ACME_TRACE phase timestamps (trace.h).
 */
#include "common/trace.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int trace_fd = -1;

void trace_open(void)
{
	const char *path = getenv("P11ACME_TRACE");

	if (trace_fd >= 0) {
		close(trace_fd);
		trace_fd = -1;
	}
	if (path == NULL || *path == '\0')
		return;
	trace_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int trace_on(void)
{
	return trace_fd >= 0;
}

long long trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void trace(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	if (trace_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %d ", trace_now_ns(), (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m < sizeof(line) - (size_t)n - 1 ? m : (int)(sizeof(line) - (size_t)n - 2);
	line[n++] = '\n';
	if (write(trace_fd, line, (size_t)n) < 0)
		return;
}
