#!/usr/bin/env bash
# Pebble is killed (SIGKILL) in the middle of an order: the dns-01 hook's "begin"
# kills it after newOrder and before the challenge is answered. The run fails
# with exit 1 and an error; the previous live set is intact; Pebble is restarted
# on the same ports (it forgets everything, so the account is registered again);
# the next issue succeeds; no partial archive entry or temporary file exists.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

NAME=restart.test
th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@restart.test
th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"
before=$(fc_live_hash "$T/etc" "$NAME")

fc_dns_hook "$T/hook-kill" "kill -9 $TH_PEBBLE_PID; sleep 0.5"
th_expect_exit 1 timeout -k 5 60 $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
	--key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	--config-dir "$T/etc" --timeout 20 issue -d "$NAME" --force --dns-hook "$T/hook-kill"
grep -qi error "$T/out" || th_fail "no error message after Pebble died: $(cat "$T/out")"
th_log "with Pebble gone: $(grep -i -m1 error "$T/out")"
kill -0 "$TH_PEBBLE_PID" 2>/dev/null && th_fail "the hook did not kill Pebble"
[ "$(fc_live_hash "$T/etc" "$NAME")" = "$before" ] || th_fail "the live set changed"

th_pebble_restart
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@restart.test
th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --force --http-port "$TH_HTTP_PORT"
[ "$(fc_live_hash "$T/etc" "$NAME")" != "$before" ] || th_fail "the next issue did not replace the live set"
th_verify_cert "$T/etc/live/$NAME/fullchain.pem" "$NAME"
fc_check_sets "$T/etc" "$NAME"
