#!/usr/bin/env bash
# A 429 rateLimited or a 503 from the CA is reported once on stderr, with the
# CA's Retry-After (when to try again), whether the wait runs past the deadline
# (ratelimit: Retry-After 86400) or the retries run out (ratelimit-short: 429 with
# Retry-After: 1 on every newOrder; unavailable-short: 503, Retry-After: 1).
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_bare

for mode in ratelimit ratelimit-short unavailable-short; do
	hc_run "$mode"
	out="$T/out-$mode"
	[ "$HC_RC" = 1 ] || hc_fail "exit $HC_RC, expected 1: $(cat "$out")"
	n=$(grep -c 'error:' "$out" || true)
	[ "$n" = 1 ] || hc_fail "$n error lines, expected 1: $(cat "$out")"
	grep 'error:' "$out" | grep -Eq 'HTTP (429|503)' || hc_fail "the error does not give the HTTP status: $(cat "$out")"
	grep "error:" "$out" | grep -Eq "asks to wait [0-9]+ s.*try again after" ||
		hc_fail "the error does not give the Retry-After: $(cat "$out")"
done
grep 'error:' "$T/out-ratelimit" | grep -q 'too many new orders recently' ||
	hc_fail "ratelimit: the CA's detail is not reported: $(cat "$T/out-ratelimit")"
grep 'error:' "$T/out-ratelimit" | grep -q 'try again after' ||
	hc_fail "ratelimit: no time to try again: $(cat "$T/out-ratelimit")"
for mode in ratelimit-short unavailable-short; do
	[ "$(grep -c 'retrying in 1 s' "$T/out-$mode")" = 3 ] ||
		hc_fail "$mode: not retried 3 times: $(cat "$T/out-$mode")"
	grep 'error:' "$T/out-$mode" | grep -q 'asks to wait 1 s again after 3 retries; try again after' ||
		hc_fail "$mode: the error does not say it gave up after the retries: $(cat "$T/out-$mode")"
done
hc_done
echo ok
