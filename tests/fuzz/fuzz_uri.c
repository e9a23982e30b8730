/* libFuzzer target: the RFC 7512 URI parser (tokens/uri.c, tok_uri_parse).
 * The parser takes a C string, so the input is copied and NUL-terminated; an
 * input with an embedded NUL tests that only the prefix is read. Invariants: a
 * successful parse leaves id_len consistent with id, and a failure leaves a
 * message in err; tok_uri_free is safe either way and twice in a row. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokens/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_uri u;
	char err[256];
	char *s = malloc(size + 1);
	int rc;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = '\0';
	rc = tok_uri_parse(s, &u, err, sizeof(err));
	if (rc == TOK_OK) {
		if (u.id == NULL && u.id_len != 0)
			abort(); /* a length without bytes */
		if (u.id != NULL && u.id_len > strlen(s))
			abort(); /* %xx decoding can only shrink */
	} else {
		if (rc != TOK_ERR_CONFIG || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	}
	tok_uri_free(&u);
	tok_uri_free(&u);
	free(s);
	return 0;
}
