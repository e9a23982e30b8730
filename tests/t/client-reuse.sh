#!/bin/bash
# valgrind: yes
# --reuse-only both ways: with PEBBLE_AUTHZREUSE=100 an order after a validated one
# reuses its authorization and exits 0 without answering anything; a name that was
# never validated exits 3 and is named, as is each missing name of a mixed order.
. "$(dirname "$0")/../lib/harness.sh"

th_token
PEBBLE_AUTHZREUSE=100 th_pebble_start
th_p11acme account register --email reuse@example.com --agree-tos >/dev/null

# nothing valid yet: exit 3 naming the identifier, no certificate
th_expect_exit 3 th_p11acme issue -d shared.example.com --reuse-only
grep -q 'shared.example.com.*no valid authorization' "$T/out" || th_fail "exit 3 message: $(cat "$T/out")"
[ ! -e "$T/etc/live/shared.example.com" ] || th_fail "exit 3, yet a certificate"

# the "surrogate" validates the name over http-01
th_p11acme issue -d shared.example.com --cert-name surrogate --standalone --http-address 127.0.0.1 \
	--http-port "$TH_HTTP_PORT" >/dev/null || th_fail "standalone issue failed"

# the "internal host" (own config dir, same token) reuses it: exit 0, no challenge
# answered (nothing listens on the VA port), a fresh key
before=$(grep -c 'Attempting to validate' "$TH_PEBBLE_LOG" || true)
$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/internal" \
	issue -d shared.example.com --reuse-only >"$T/out" 2>&1 || { cat "$T/out" >&2; th_fail "reuse-only failed"; }
grep -q 'shared.example.com: authorization valid, reused' "$T/out" || th_fail "no reuse message: $(cat "$T/out")"
after=$(grep -c 'Attempting to validate' "$TH_PEBBLE_LOG" || true)
[ "$before" = "$after" ] || th_fail "reuse-only triggered a validation"
th_verify_cert "$T/internal/live/shared.example.com/fullchain.pem" shared.example.com
th_cert_matches_key "$T/internal/live/shared.example.com/cert.pem" "$T/internal/live/shared.example.com/privkey.pem"
cmp -s "$T/internal/live/shared.example.com/privkey.pem" "$T/etc/live/surrogate/privkey.pem" &&
	th_fail "both hosts have the same certificate key"
grep -qx 'solver = reuse-only' "$T/internal/renewal/shared.example.com.conf" || th_fail "renewal conf solver"

# a mixed order: the valid name is reused, each missing one is named, exit 3
th_expect_exit 3 th_p11acme issue -d shared.example.com -d new1.example.com -d new2.example.com --reuse-only --force
grep -q 'new1.example.com.*no valid authorization' "$T/out" &&
	grep -q 'new2.example.com.*no valid authorization' "$T/out" || th_fail "mixed order: $(cat "$T/out")"
grep -q 'shared.example.com.*no valid' "$T/out" && th_fail "a reusable name was reported missing"
echo ok
