#!/bin/bash
# Pebble rejecting half of all good nonces (PEBBLE_WFE_NONCEREJECT=50): 20
# certificates in a row, 0 failures, every chain verified. badNonce is retried with
# the nonce from the error response, inside the one signed-POST helper.
. "$(dirname "$0")/../lib/harness.sh"

th_token
PEBBLE_WFE_NONCEREJECT=50 th_pebble_start
th_p11acme account register --email nonce@example.com --agree-tos >/dev/null ||
	th_fail "register failed under nonce rejection"
(exec $P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	serve-http01 --listen "127.0.0.1:$TH_HTTP_PORT" 2>"$T/serve.log") &
SERVE_PID=$!
th_track $SERVE_PID
th_wait_port 127.0.0.1 "$TH_HTTP_PORT"

fail=0 retries=0
for i in $(seq 1 20); do
	if th_p11acme -v issue -d "n$i.example.com" --stateless >"$T/out.$i" 2>&1; then
		th_verify_cert "$T/etc/live/n$i.example.com/fullchain.pem" "n$i.example.com"
		th_cert_matches_key "$T/etc/live/n$i.example.com/cert.pem" "$T/etc/live/n$i.example.com/privkey.pem"
	else
		fail=$((fail + 1))
		cat "$T/out.$i" >&2
	fi
	retries=$((retries + $(grep -c 'badNonce, retry' "$T/out.$i" || true)))
done
th_log "20 issuances: $fail failures, $retries badNonce retries"
[ "$fail" = 0 ] || th_fail "$fail of 20 issuances failed at PEBBLE_WFE_NONCEREJECT=50"
[ "$retries" -gt 0 ] || th_fail "no badNonce was seen: is PEBBLE_WFE_NONCEREJECT honoured?"
echo ok
