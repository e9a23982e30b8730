/* libFuzzer target: retry_after_parse (delta-seconds or IMF-fixdate). The first
 * 8 bytes give "now", so dates around any time are tried. A success never gives
 * a negative wait. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long secs = -12345;
	time_t now = 1700000000;
	uint64_t v = 0;

	if (size >= 8) {
		memcpy(&v, data, 8);
		now = (time_t)(v % 8000000000ull); /* 1970..2223 */
		data += 8;
		size -= 8;
	}
	if (retry_after_parse((const char *)data, size, now, &secs) == 0)
		FUZZ_CHECK(secs >= 0);
	return 0;
}
