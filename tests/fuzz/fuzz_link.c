/* libFuzzer target: link_parse (RFC 8288 Link header values). The input is
 * split at '\n' into several header values appended to one list, as the client
 * does for a response with several Link headers. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct link *links = NULL;
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		/* copy so that each value ends exactly where ASan can see it */
		size_t l = i - start;
		char *v = malloc(l ? l : 1);

		if (v == NULL)
			break;
		memcpy(v, data + start, l);
		(void)link_parse(v, l, &links, &n);
		free(v);
		FUZZ_CHECK(n <= ACME_MAX_LIST);
		start = i + 1;
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(links[i].uri != NULL && links[i].rel != NULL);
	links_free(links, n);
	return 0;
}
