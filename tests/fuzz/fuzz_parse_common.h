/* Shared by the client/parse.h fuzz targets. The input is passed as-is (libFuzzer
 * allocates exactly size bytes), so ASan catches any read past the end: the
 * parsers promise to work on buffers that are not NUL-terminated. */
#ifndef FUZZ_PARSE_COMMON_H
#define FUZZ_PARSE_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/parse.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

static inline int fuzz_str_ok(const char *s)
{
	return s != NULL && strlen(s) < (1u << 24);
}
#endif
