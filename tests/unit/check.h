/* The unit tests' one assertion macro: a failed CHECK prints where and why, and the
 * test exits non-zero at the end (return failures != 0). */
#ifndef P11ACME_TEST_CHECK_H
#define P11ACME_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

static inline int streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

#endif
