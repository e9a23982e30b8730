#!/usr/bin/env bash
# Hostile CA: an order stuck in "processing" forever (Retry-After: 1), badNonce on
# every POST, and 429 rateLimited with a Retry-After of a day. p11acme ends within
# --timeout (15 s here) for the first, after a bounded number of retries for the
# second, and at once for the third (the Retry-After is past the deadline), each
# with exit 1 and a message saying why; the previous live set stays intact.
# Then Retry-After values of any size and form (see below).
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail processing-forever $((HC_TIMEOUT + 5)) 'processing|time.?out|timed out|deadline'
polls=$(grep -c '^POST /order/1$' "$HC_LOG" || true)
th_log "processing-forever: $polls order polls"
[ "$polls" -ge 2 ] || hc_fail "the order was polled $polls times: it should be polled until the deadline"
[ "$polls" -le $((HC_TIMEOUT * 3)) ] || hc_fail "$polls polls in ${HC_TIMEOUT}s ignore Retry-After: 1"

hc_expect_fail badnonce $((HC_TIMEOUT + 5)) 'nonce'
posts=$(grep -c '^POST ' "$HC_LOG" || true)
th_log "badnonce: $posts POSTs before giving up"
[ "$posts" -ge 2 ] || hc_fail "badNonce was not retried at all ($posts POSTs)"
[ "$posts" -le 50 ] || hc_fail "$posts POSTs: badNonce retries are not bounded"

hc_expect_fail ratelimit 5 'rate|retry|429|too many'
# the CA's own detail says nothing about when: that part must come from p11acme
grep -Eqi 'retry|try again|86400|hour|day|[0-9]{2}:[0-9]{2}|[0-9]{4}-[0-9]{2}|in [0-9]+ ?s' "$T/out-ratelimit" ||
	hc_fail "the message does not say when to try again: $(grep -i error "$T/out-ratelimit" | tr '\n' ' ')"

# Retry-After of any size (seconds past a long, an HTTP-date in 9999) on 429, on
# 503 and on an order poll: past the deadline, so the run ends at once, saying
# when to retry, and nothing overflows into a short or endless sleep.
for mode in ratelimit-huge ratelimit-date unavailable-huge processing-huge; do
	hc_expect_fail "$mode" 5 'try again|beyond the year 9999|retry'
	grep -q 'retrying in' "$T/out-$mode" && hc_fail "$mode: p11acme slept instead of giving up"
done
grep -q 'try again after 9999-12-31' "$T/out-ratelimit-date" ||
	hc_fail "ratelimit-date: the message does not give the date: $(grep error "$T/out-ratelimit-date")"
hc_done
