/* libFuzzer target: acme_account_parse. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_account a;

	memset(&a, 0, sizeof(a));
	if (acme_account_parse((const char *)data, size, &a) == 0) {
		FUZZ_CHECK(fuzz_str_ok(a.status));
		FUZZ_CHECK(a.n_contacts <= ACME_MAX_LIST);
		for (size_t i = 0; i < a.n_contacts; i++)
			FUZZ_CHECK(fuzz_str_ok(a.contacts[i]));
	}
	acme_account_free(&a);
	acme_account_free(&a);
	return 0;
}
