#!/usr/bin/env bash
# SIGTERM and SIGKILL during issuance.
# 1. SIGTERM while the dns-01 hook runs: exit non-zero, the live set intact, the
#    signer child gone with its parent.
# 2. SIGKILL at 8 moments spread over a standalone issue (its duration measured
#    first, so the kills land from start-up to the commit): after each, the live
#    set is a complete set (old or new) whose certificate matches its key.
# 3. The next run succeeds, and then no partial archive entry or temporary file
#    is left in the config dir.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

NAME=signals.test
th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@signals.test
t0=$(date +%s.%N)
th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"
t1=$(date +%s.%N)
DUR=$(python3 -c "print($t1 - $t0)")
th_log "one issue takes ${DUR}s"
before=$(fc_live_hash "$T/etc" "$NAME")

p11() {
	exec $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
		--timeout 30 "$@"
}
# no p11acme process of this test is left (the signer child dies with its parent)
no_leftovers() {
	local n=0
	while pgrep -f -- "--config-dir $T/etc" >/dev/null; do
		n=$((n + 1))
		[ "$n" -ge 30 ] && th_fail "p11acme processes left after $1: $(pgrep -af -- "--config-dir $T/etc")"
		sleep 0.1
	done
}

# 1. SIGTERM inside the hook
fc_dns_hook "$T/hook-slow" "touch $T/hook-started; sleep 20"
(p11 issue -d "$NAME" --force --dns-hook "$T/hook-slow") >"$T/out-term" 2>&1 &
pid=$!
th_track "$pid"
n=0
until [ -e "$T/hook-started" ]; do
	n=$((n + 1))
	[ "$n" -ge 200 ] && th_fail "the hook never started: $(cat "$T/out-term")"
	sleep 0.1
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
th_untrack "$pid"
th_log "SIGTERM during the hook: exit $rc: $(tail -n 2 "$T/out-term" | tr '\n' ' ')"
[ "$rc" != 0 ] || th_fail "exit 0 after SIGTERM"
no_leftovers SIGTERM
pkill -f -- "$T/hook-slow" 2>/dev/null || true
[ "$(fc_live_hash "$T/etc" "$NAME")" = "$before" ] || th_fail "SIGTERM changed the live set"

# 2. SIGKILL at random moments
for i in 1 2 3 4 5 6 7 8; do
	delay=$(python3 -c "import random; print(round($DUR * ($i - 0.5 + random.uniform(-0.4, 0.4)) / 8, 3))")
	(p11 -q issue -d "$NAME" --force --standalone --http-port "$TH_HTTP_PORT") >"$T/out-kill$i" 2>&1 &
	pid=$!
	th_track "$pid"
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	th_untrack "$pid"
	no_leftovers "SIGKILL $i"
	pkcs11-tool --module "$TH_MODULE" -L 2>/dev/null | grep -q "token label *: *$TH_TOKEN_LABEL\$" ||
		th_fail "SIGKILL $i after ${delay}s destroyed the SoftHSM token (see fault-kill-token)"
	[ -s "$T/etc/live/$NAME/fullchain.pem" ] || th_fail "SIGKILL after ${delay}s left no live set"
	th_cert_matches_key "$T/etc/live/$NAME/cert.pem" "$T/etc/live/$NAME/privkey.pem"
	th_log "SIGKILL $i after ${delay}s: live -> $(readlink "$T/etc/live/$NAME"), $(ls "$T/etc/archive/$NAME" | wc -l) archive entries"
done

# 3. the next run, then nothing partial
th_expect_exit 0 th_p11acme issue -d "$NAME" --force --standalone --http-port "$TH_HTTP_PORT"
th_verify_cert "$T/etc/live/$NAME/fullchain.pem" "$NAME"
fc_check_sets "$T/etc" "$NAME"
