/* libFuzzer target: the signer service's request path (signer/policy.c,
 * signer/enforce.c, the stream framing of signer/wire.c), everything that reads a
 * client's bytes before anything is signed. The input is a policy, a NUL byte,
 * then the bytes of a client's stream: frames are cut from it by their length
 * prefixes, as the service does, decoded, and decided for a client of user "int1"
 * in group "ops". Invariants: an allowed SIGN has a payload to sign that is empty
 * or a JSON object, every name it carries is a valid DNS name the policy grants,
 * and a denial always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer/internal.h"

static const char svcfz_default_policy[] =
	"[user int1]\nnames = int.example.com *.int.example.org\nallow = order revoke\n"
	"[group ops]\nnames = *.ops.test\nallow = account\n";

static unsigned svcfz_perm_of(int op)
{
	if (op == REQ_NEW_ORDER || op == REQ_FINALIZE)
		return POLICY_ORDER;
	return op == REQ_REVOKE ? POLICY_REVOKE : 0;
}

static void svcfz_check(const struct policy_rules *r, const struct wire_msg *m,
			   const struct decision *d, int rc)
{
	unsigned perm = svcfz_perm_of(d->op);
	cJSON *j;
	size_t i;

	if (rc != 0) {
		if (d->reason[0] == '\0' || d->allow)
			abort();
		return;
	}
	if (m->op != WIRE_OP_SIGN)
		return;
	if (d->payload == NULL)
		abort();
	if (d->payload[0] != '\0') {
		j = cJSON_Parse(d->payload);
		if (!cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
	}
	for (i = 0; i < d->n_names; i++)
		if (!dns_name_valid(d->names[i], 1) || (perm != 0 && !policy_allows(r, perm, d->names[i])))
			abort();
}

static void svcfz_decide(const struct policy *p, const unsigned char *frame, size_t len)
{
	static const char *const groups[] = { "ops" };
	struct peer_id id = { .known = 1, .user = "int1", .groups = (char **)groups,
			      .n_groups = 1 };
	struct policy_rules r;
	struct enforce_ctx e;
	struct decision d;
	struct wire_msg m;
	const char *why = NULL;
	int rc;

	if (wire_decode(frame, len, &m, &why) != 0)
		return;
	if (policy_match(p, &id, &r) > 0) {
		e = (struct enforce_ctx){ &r, "int1", "https://ca.test:443" };
		rc = enforce_request(&e, &m, &d);
		svcfz_check(&r, &m, &d, rc);
		decision_free(&d);
	}
	policy_rules_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size), *s;
	struct policy *p = NULL;
	char err[600];
	size_t plen, have, off;
	long need;

	plen = nul != NULL ? (size_t)(nul - data) : 0;
	if (nul == NULL || policy_parse("fuzz", (const char *)data, plen, &p, err,
					sizeof(err)) != 0) {
		if (nul != NULL && err[0] == '\0')
			abort();   /* a policy error always names file:line */
		if (policy_parse("default", svcfz_default_policy, strlen(svcfz_default_policy), &p, err,
				 sizeof(err)) != 0)
			abort();
	}
	s = nul != NULL ? nul + 1 : data;
	have = size - (size_t)(s - data);
	for (off = 0; off < have;) {
		need = wire_frame_need(s + off, have - off);
		if (need < 0 || (size_t)need > have - off)
			break;   /* oversized: the service closes; short: it waits */
		svcfz_decide(p, s + off, (size_t)need);
		off += (size_t)need;
	}
	policy_free(p);
	return 0;
}
