/* libFuzzer target: pem_chain_split. Each block it returns is a NUL-terminated
 * CERTIFICATE PEM ending in "\n", and there are 1..ACME_MAX_LIST of them. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **certs = NULL;
	size_t n = 0;

	if (pem_chain_split((const char *)data, size, &certs, &n) == 0) {
		FUZZ_CHECK(n >= 1 && n <= ACME_MAX_LIST && certs != NULL);
		for (size_t i = 0; i < n; i++) {
			size_t l;

			FUZZ_CHECK(certs[i] != NULL);
			l = strlen(certs[i]);
			FUZZ_CHECK(l > 0 && certs[i][l - 1] == '\n');
			FUZZ_CHECK(strncmp(certs[i], "-----BEGIN CERTIFICATE-----", 27) == 0);
			FUZZ_CHECK(strstr(certs[i], "-----END CERTIFICATE-----") != NULL);
			FUZZ_CHECK(l <= size + 1); /* the splitter may add the final "\n" */
		}
	}
	pem_chain_free(certs, n);
	return 0;
}
