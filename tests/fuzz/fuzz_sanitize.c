/* libFuzzer target: the sanitiser (common/sanitize.c) on raw bytes. Whatever the
 * input, the output is printable ASCII and valid UTF-8 without C1 controls, holds
 * no newline, fits its buffer, and says how much was cut. The first byte picks
 * the bound and the buffer size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char small[300], *o;
	size_t max, n;

	if (size < 1)
		return 0;
	max = (size_t)data[0] * 8;
	data++;
	size--;
	o = sanitize_dup((const char *)data, size, max);
	FUZZ_CHECK(o != NULL);
	n = strlen(o);
	FUZZ_CHECK(text_is_safe(o, n) && strchr(o, '\n') == NULL);
	FUZZ_CHECK(n <= (size < max ? size : max) * 4 + SANITIZE_NOTE_MAX);
	FUZZ_CHECK(size <= max || strstr(o, "bytes cut)") != NULL);
	free(o);
	n = sanitize_into(small, sizeof(small), (const char *)data, size, max);
	FUZZ_CHECK(n < sizeof(small) && n == strlen(small) && text_is_safe(small, n));
	return 0;
}
