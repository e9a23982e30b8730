/* libFuzzer target: acme_problem_parse (RFC 7807 with nested subproblems) and
 * acme_problem_is; every string as it would be printed is safe (fuzz_str_ok). */
#include "fuzz_parse_common.h"

static void problem_walk(const struct acme_problem *p, int depth)
{
	FUZZ_CHECK(depth < 64);
	FUZZ_CHECK(p->type == NULL || fuzz_str_ok(p->type));
	FUZZ_CHECK(p->detail == NULL || fuzz_str_ok(p->detail));
	FUZZ_CHECK(p->ident.value == NULL || fuzz_str_ok(p->ident.value));
	FUZZ_CHECK(p->n_sub <= ACME_MAX_SUBPROBLEMS);
	FUZZ_CHECK((p->sub == NULL) == (p->n_sub == 0) || p->sub != NULL);
	(void)acme_problem_is(p, "badNonce");
	(void)acme_problem_is(p, "");
	for (size_t i = 0; i < p->n_sub; i++)
		problem_walk(&p->sub[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_problem p;

	memset(&p, 0, sizeof(p));
	if (acme_problem_parse((const char *)data, size, &p) == 0)
		problem_walk(&p, 0);
	acme_problem_free(&p);
	acme_problem_free(&p);
	return 0;
}
