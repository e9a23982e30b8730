/*
 * Unit tests for signer/wire.c: round trips, and every malformed frame the decoder
 * must refuse (each truncation of a valid frame, oversized prefix, trailing bytes,
 * bad version, field overruns, too many fields), the status byte of an error
 * response, plus the SOCK_SEQPACKET transport with an oversized message.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/check.h"

static void test_roundtrip(void)
{
	struct wire_field f[3] = {
		{ (const unsigned char *)"https://ca.test/x", 17 },
		{ (const unsigned char *)"", 0 },
		{ (const unsigned char *)"a\0b", 3 },
	};
	struct wire_msg m;
	unsigned char *frame = NULL;
	size_t len, cut;
	const char *why = NULL;
	char *s;

	CHECK(wire_encode(WIRE_OP_SIGN, f, 3, &frame, &len) == 0, "encode");
	CHECK(len == 4 + 2 + 3 * 4 + 17 + 0 + 3, "frame length %zu", len);
	CHECK(wire_decode(frame, len, &m, &why) == 0, "decode: %s", why);
	CHECK(m.version == WIRE_VERSION && m.op == WIRE_OP_SIGN && m.nfields == 3, "header");
	CHECK(m.f[0].len == 17 && memcmp(m.f[0].p, "https://ca.test/x", 17) == 0, "field 0");
	CHECK(m.f[1].len == 0 && m.f[2].len == 3, "fields 1, 2");
	s = wire_strdup(&m, 0);
	CHECK(s != NULL && strcmp(s, "https://ca.test/x") == 0, "strdup");
	free(s);
	CHECK(wire_strdup(&m, 2) == NULL, "a field with a NUL byte is not a string");
	CHECK(wire_strdup(&m, 3) == NULL, "a missing field is not a string");

	/* Every truncation fails, and so does one trailing byte. */
	for (cut = 0; cut < len; cut++)
		CHECK(wire_decode(frame, cut, &m, &why) < 0, "truncated to %zu accepted", cut);
	frame = realloc(frame, len + 1);
	frame[len] = 0;
	CHECK(wire_decode(frame, len + 1, &m, &why) < 0, "trailing byte accepted");

	/* A field length that runs past the frame. */
	frame[4 + 2 + 3] = 18;
	CHECK(wire_decode(frame, len, &m, &why) < 0 && strstr(why, "field") != NULL,
	      "field overrun accepted");
	frame[4 + 2 + 3] = 17;
	/* A field length near 2^32 must not wrap. */
	frame[4 + 2] = 0xff;
	frame[4 + 2 + 1] = 0xff;
	frame[4 + 2 + 2] = 0xff;
	frame[4 + 2 + 3] = 0xfe;
	CHECK(wire_decode(frame, len, &m, &why) < 0, "huge field length accepted");
	free(frame);
}

static void test_bad_headers(void)
{
	unsigned char f[] = { 0, 0, 0, 2, WIRE_VERSION, WIRE_OP_JWK };
	struct wire_msg m;
	const char *why;

	CHECK(wire_decode(f, sizeof(f), &m, &why) == 0 && m.nfields == 0, "empty request");
	f[4] = WIRE_VERSION + 1;
	CHECK(wire_decode(f, sizeof(f), &m, &why) < 0, "bad version accepted");
	CHECK(m.version == WIRE_VERSION + 1, "the peer's version not kept for the message");
	f[4] = 1;   /* version 1 sent the error status as text */
	CHECK(wire_decode(f, sizeof(f), &m, &why) < 0 && m.version == 1, "version 1 accepted");
	f[4] = WIRE_VERSION;
	f[3] = 1;
	CHECK(wire_decode(f, 5, &m, &why) < 0, "body without op accepted");
	f[0] = 0x80;
	f[3] = 2;
	CHECK(wire_decode(f, sizeof(f), &m, &why) < 0 && strstr(why, "64 KiB") != NULL,
	      "oversized prefix accepted");
}

static void test_bounds(void)
{
	struct wire_field f[WIRE_MAX_FIELDS + 1];
	unsigned char *big = calloc(1, WIRE_MAX_FRAME), *frame = NULL;
	struct wire_msg m;
	const char *why;
	size_t i, len;

	for (i = 0; i <= WIRE_MAX_FIELDS; i++) {
		f[i].p = (const unsigned char *)"x";
		f[i].len = 1;
	}
	CHECK(wire_encode(WIRE_OP_CSR, f, WIRE_MAX_FIELDS, &frame, &len) == 0, "max fields");
	CHECK(frame != NULL && wire_decode(frame, len, &m, &why) == 0 &&
	      m.nfields == WIRE_MAX_FIELDS, "decode max fields");
	free(frame);
	CHECK(wire_encode(WIRE_OP_CSR, f, WIRE_MAX_FIELDS + 1, &frame, &len) < 0, "too many fields");

	/* The largest payload that fits, and one byte more. */
	f[0].p = big;
	f[0].len = WIRE_MAX_BODY - 2 - 4;
	CHECK(wire_encode(WIRE_OP_SIGN, f, 1, &frame, &len) == 0 && len == WIRE_MAX_FRAME,
	      "largest frame");
	CHECK(frame != NULL && wire_decode(frame, len, &m, &why) == 0, "decode largest frame");
	free(frame);
	f[0].len++;
	CHECK(wire_encode(WIRE_OP_SIGN, f, 1, &frame, &len) < 0, "oversized frame encoded");
	free(big);
}

/* The transport: an oversized message is reported and the next one still arrives. */
static void test_transport(void)
{
	unsigned char *big = calloc(1, WIRE_MAX_FRAME + 100), *buf = malloc(WIRE_MAX_FRAME + 1);
	struct wire_field f = { (const unsigned char *)"ok", 2 };
	unsigned char *frame = NULL;
	struct wire_msg m;
	const char *why;
	size_t len, got;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	CHECK(send(sv[0], big, WIRE_MAX_FRAME + 100, 0) == WIRE_MAX_FRAME + 100, "send big");
	CHECK(wire_encode(WIRE_RESP_OK, &f, 1, &frame, &len) == 0 && wire_send(sv[0], frame, len) == 0,
	      "send frame");
	CHECK(wire_recv(sv[1], buf, WIRE_MAX_FRAME + 1, &got) == -2, "oversized message not reported");
	CHECK(wire_recv(sv[1], buf, WIRE_MAX_FRAME + 1, &got) == 1 && got == len &&
	      wire_decode(buf, got, &m, &why) == 0 && m.op == WIRE_RESP_OK, "next frame lost");
	CHECK(wire_send_err(sv[0], SIGNER_ERR_CONFIG) == 0, "send error");
	CHECK(wire_recv(sv[1], buf, WIRE_MAX_FRAME + 1, &got) == 1 &&
	      wire_decode(buf, got, &m, &why) == 0 && m.op == WIRE_RESP_ERR && m.nfields == 1 &&
	      m.f[0].len == 1 && m.f[0].p[0] == 2 && wire_err_status(&m) == SIGNER_ERR_CONFIG,
	      "error frame");
	close(sv[0]);
	CHECK(wire_recv(sv[1], buf, WIRE_MAX_FRAME + 1, &got) == 0, "EOF");
	close(sv[1]);
	free(frame);
	free(big);
	free(buf);
}

/* The status byte of an error response, both ways, and what a bad one means. */
static void test_err_status(void)
{
	static const int st[] = { SIGNER_ERR, SIGNER_ERR_CONFIG, SIGNER_ERR_PIN, SIGNER_ERR_DENIED };
	static const unsigned char bad[] = { 0, 5, 0xff };
	unsigned char *frame = NULL;
	struct wire_msg m = { .op = WIRE_RESP_ERR };
	const char *why;
	size_t len;

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		CHECK(wire_encode_err(st[i], i ? "why" : NULL, &frame, &len) == 0 &&
		      wire_decode(frame, len, &m, &why) == 0 && m.op == WIRE_RESP_ERR &&
		      m.nfields == (i ? 2u : 1u) && wire_err_status(&m) == st[i], "status byte");
		free(frame);
	}
	CHECK(wire_encode_err(-99, NULL, &frame, &len) == 0 &&
	      wire_decode(frame, len, &m, &why) == 0 && wire_err_status(&m) == SIGNER_ERR,
	      "an unknown status is not sent as SIGNER_ERR");
	free(frame);
	m.nfields = 1;
	m.f[0].len = 1;
	for (size_t i = 0; i < sizeof(bad); i++) {
		m.f[0].p = &bad[i];
		CHECK(wire_err_status(&m) == SIGNER_ERR, "a bad status byte is not SIGNER_ERR");
	}
	m.f[0].len = 0;
	CHECK(wire_err_status(&m) == SIGNER_ERR, "an empty status is not SIGNER_ERR");
	m.nfields = 0;
	CHECK(wire_err_status(&m) == SIGNER_ERR, "a missing status is not SIGNER_ERR");
	m.nfields = 1;
	m.f[0].p = (const unsigned char *)"-2";
	m.f[0].len = 2;
	CHECK(wire_err_status(&m) == SIGNER_ERR, "the version-1 text status is read");
}

int main(void)
{
	log_verbosity = LOG_QUIET;
	test_roundtrip();
	test_err_status();
	test_bad_headers();
	test_bounds();
	test_transport();
	if (failures > 0) {
		fprintf(stderr, "test_wire: %d failures\n", failures);
		return 1;
	}
	printf("test_wire: ok\n");
	return 0;
}
