#!/usr/bin/env bash
# Pebble rejects half of all good nonces (PEBBLE_WFE_NONCEREJECT=50): 50 standalone
# issuances in a row, 0 failures (badNonce is retried with the nonce from the
# error response, in one place). Reports the number of badNonce answers seen.
. "$(dirname "$0")/../lib/harness.sh"

N=${FAULT_NONCE_RUNS:-50}
th_token
PEBBLE_WFE_NONCEREJECT=50 th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@nonce.test
fails=0
start=$(date +%s)
for i in $(seq 1 "$N"); do
	rc=0
	th_p11acme -q issue -d "nonce$((i % 5)).test" --standalone --http-port "$TH_HTTP_PORT" \
		>"$T/out-$i" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		fails=$((fails + 1))
		th_log "run $i: exit $rc: $(tr '\n' ' ' <"$T/out-$i")"
	fi
done
# Pebble does not log its rejections: the POST count shows them (about 7 POSTs make
# one issuance here; at 50% rejection, each is sent twice on average).
posts=$(grep -c 'POST /' "$TH_PEBBLE_LOG" || true)
grep -q 'reject 50% of good nonces' "$TH_PEBBLE_LOG" || th_fail "Pebble did not take PEBBLE_WFE_NONCEREJECT=50"
th_log "$N issuances in $(( $(date +%s) - start ))s, $fails failed; $posts POSTs in all ($((posts / N)) per issuance)"
[ "$fails" = 0 ] || th_fail "$fails of $N issuances failed at PEBBLE_WFE_NONCEREJECT=50"
th_verify_cert "$T/etc/live/nonce1.test/fullchain.pem" nonce1.test
