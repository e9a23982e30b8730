/* libFuzzer target: acme_order_parse. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_order o;

	memset(&o, 0, sizeof(o));
	if (acme_order_parse((const char *)data, size, &o) == 0) {
		FUZZ_CHECK(fuzz_str_ok(o.status));
		FUZZ_CHECK(o.n_idents <= ACME_MAX_LIST && o.n_authzs <= ACME_MAX_LIST);
		for (size_t i = 0; i < o.n_idents; i++)
			FUZZ_CHECK(fuzz_str_ok(o.idents[i].type) && fuzz_str_ok(o.idents[i].value));
		for (size_t i = 0; i < o.n_authzs; i++)
			FUZZ_CHECK(fuzz_str_ok(o.authzs[i]));
		if (o.error != NULL)
			(void)acme_problem_is(o.error, "rejectedIdentifier");
	}
	acme_order_free(&o);
	acme_order_free(&o);
	return 0;
}
