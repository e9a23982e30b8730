/* libFuzzer target: the signer's wire decoder (signer/wire.c, wire_decode), the
 * code that reads every frame crossing the process boundary. Invariants on
 * success: the fields lie inside the frame and fill the body exactly, the
 * count is within WIRE_MAX_FIELDS, and re-encoding the decoded message gives
 * back the same bytes. wire_strdup must agree with memchr about NUL bytes. An
 * error response's status is a known signer_status whatever its fields hold, and
 * a frame refused for its version keeps that version (never ours). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m;
	const char *why = NULL;
	unsigned char *again = NULL;
	size_t againlen = 0, sum = 0;

	memset(&m, 0xa5, sizeof(m));
	if (wire_decode(data, size, &m, &why) != 0) {
		if (why == NULL)
			abort(); /* a failure always says why */
		if (m.version == WIRE_VERSION && strstr(why, "version") != NULL)
			abort(); /* our own version refused */
		return 0;
	}
	if (m.op == WIRE_RESP_ERR &&
	    (wire_err_status(&m) > SIGNER_ERR || wire_err_status(&m) < SIGNER_ERR_DENIED))
		abort();
	if (m.nfields > WIRE_MAX_FIELDS || m.version != WIRE_VERSION)
		abort();
	for (size_t i = 0; i < m.nfields; i++) {
		const unsigned char *p = m.f[i].p;
		char *s;

		if (m.f[i].len > 0 && (p < data || p + m.f[i].len > data + size))
			abort();
		sum += 4 + m.f[i].len;
		s = wire_strdup(&m, i);
		if (s != NULL) {
			if (memchr(p, '\0', m.f[i].len) != NULL || strlen(s) != m.f[i].len ||
			    memcmp(s, p, m.f[i].len) != 0)
				abort();
			free(s);
		}
	}
	if (sum + 4 + 2 != size)
		abort(); /* the fields must fill the body exactly */
	if (wire_strdup(&m, m.nfields) != NULL)
		abort(); /* a missing field */
	if (wire_encode(m.op, m.f, m.nfields, &again, &againlen) != 0)
		abort(); /* what decodes must encode */
	if (againlen != size || memcmp(again, data, size) != 0)
		abort();
	free(again);
	return 0;
}
