/* libFuzzer target: acme_directory_parse. A success carries every required URL. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_directory d;

	memset(&d, 0, sizeof(d));
	if (acme_directory_parse((const char *)data, size, &d) == 0) {
		FUZZ_CHECK(fuzz_str_ok(d.new_nonce) && fuzz_str_ok(d.new_account) &&
			   fuzz_str_ok(d.new_order));
		FUZZ_CHECK(d.n_profiles <= ACME_MAX_LIST);
		FUZZ_CHECK(d.terms_of_service == NULL || fuzz_str_ok(d.terms_of_service));
		for (size_t i = 0; i < d.n_profiles; i++)
			FUZZ_CHECK(fuzz_str_ok(d.profiles[i]));
	}
	acme_directory_free(&d);
	acme_directory_free(&d);
	return 0;
}
