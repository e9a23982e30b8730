/* libFuzzer target: acme_authz_parse and acme_challenge_parse (the first byte
 * picks which). Challenge tokens are untrusted: the parser may keep any string
 * (the solver checks it with b64url_valid before use, client/solve.c), so the
 * invariants here are only about memory and counts. */
#include "fuzz_parse_common.h"
#include "client/validate.h"

static void authz_check_chall(const struct acme_challenge *c)
{
	FUZZ_CHECK(fuzz_str_ok(c->type));
	if (c->token != NULL)
		FUZZ_CHECK(fuzz_str_ok(c->token));
}

/* An authorization that passes the identifier check names an ordered name. */
static void authz_names_check(const struct acme_authz *a)
{
	char *names[] = { "a.example", "*.b.example" };
	size_t idx = 9;

	if (authz_ident_check(a, names, 2, "u", &idx) == 0)
		FUZZ_CHECK(idx < 2 && strcmp(a->ident.type, "dns") == 0 &&
			   strchr(a->ident.value, '\n') == NULL && a->ident.value[0] != '-');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct acme_challenge c;

		memset(&c, 0, sizeof(c));
		if (acme_challenge_parse((const char *)data + 1, size - 1, &c) == 0)
			authz_check_chall(&c);
		acme_challenge_free(&c);
		acme_challenge_free(&c);
	} else {
		struct acme_authz a;

		memset(&a, 0, sizeof(a));
		if (acme_authz_parse((const char *)data + 1, size - 1, &a) == 0) {
			FUZZ_CHECK(fuzz_str_ok(a.status));
			FUZZ_CHECK(fuzz_str_ok(a.ident.type) && fuzz_str_ok(a.ident.value));
			FUZZ_CHECK(a.n_challs <= ACME_MAX_LIST);
			for (size_t i = 0; i < a.n_challs; i++)
				authz_check_chall(&a.challs[i]);
			authz_names_check(&a);
		}
		acme_authz_free(&a);
		acme_authz_free(&a);
	}
	return 0;
}
