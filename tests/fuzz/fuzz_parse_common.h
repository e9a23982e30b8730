/* Shared by the client/parse.h fuzz targets. The input is passed as-is (libFuzzer
 * allocates exactly size bytes), so ASan catches any read past the end: the
 * parsers promise to work on buffers that are not NUL-terminated. */
#ifndef FUZZ_PARSE_COMMON_H
#define FUZZ_PARSE_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/parse.h"
#include "common/common.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* s as p11acme would print it (common/sanitize.c): only printable ASCII and
 * valid UTF-8, one line, bounded. Every string a CA sends is shown that way. */
static inline int fuzz_shown_ok(const char *s)
{
	char *o = sanitize_dup(s, strlen(s), SANITIZE_FIELD_MAX);
	const char *r = safe_str(s);
	int ok = o != NULL && text_is_safe(o, strlen(o)) && strchr(o, '\n') == NULL &&
		 strlen(o) <= SANITIZE_FIELD_MAX * 4 + SANITIZE_NOTE_MAX && strcmp(o, r) == 0;

	free(o);
	return ok;
}

static inline int fuzz_str_ok(const char *s)
{
	return s != NULL && strlen(s) < (1u << 24) && fuzz_shown_ok(s);
}
#endif
