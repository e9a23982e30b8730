#!/bin/bash
# renew with ACME Renewal Information (RFC 9773). Pebble 2.4.0 has no ARI, so
# tests/lib/ari_server.py fronts it: every request goes to Pebble, the directory
# gains renewalInfo, and /renewal-info/<certID> answers a window the test sets.
# A window in the future: not due, no newOrder. A window in the past: renewed,
# and the newOrder payload carries `replaces` = the old certificate's certID,
# which the test computes itself from the certificate (AKI "." serial). A window
# past notAfter is reported and bounded by a safe point before notAfter.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
ARI_PORT=$(th_free_port)
WINDOW=$T/window.json
ARI_LOG=$T/ari.jsonl
: >"$ARI_LOG"
python3 "$TH_ROOT/tests/lib/ari_server.py" 127.0.0.1 "$ARI_PORT" "$TH_PEBBLE_CERT" "$TH_PEBBLE_KEY" \
	"https://127.0.0.1:$TH_PEBBLE_PORT" "$TH_CA_BUNDLE" "$WINDOW" "$ARI_LOG" 2>"$T/ari.err" &
ARI_PID=$!
th_track $ARI_PID
th_wait_port 127.0.0.1 "$ARI_PORT" 30 "$ARI_PID" "$T/ari.err"
TH_SERVER="https://127.0.0.1:$ARI_PORT/dir"

th_p11acme account register --email ops@example.com --agree-tos >/dev/null
fc_dns_hook "$T/hook"
th_p11acme issue -d ari.test --dns-hook "$T/hook" >/dev/null || th_fail "issue through the ARI front failed"
live=$T/etc/live/ari.test
grep -qx "server = $TH_SERVER" "$T/etc/renewal/ari.test.conf" || th_fail "the conf does not name the ARI front"

# The certID, computed independently: base64url(AKI keyIdentifier) "." base64url(serial DER content).
cert_id() {
	python3 - "$1" <<'PY'
import base64, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
serial = n.to_bytes((n.bit_length() + 8) // 8, "big")  # DER INTEGER content: keeps a leading 0 when needed
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
print(b(aki) + "." + b(serial))
PY
}
window() {
	python3 - "$1" "$2" >"$WINDOW.tmp" <<'PY'
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc)
f = lambda h: (now + datetime.timedelta(hours=float(h))).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"start": f(sys.argv[1]), "end": f(sys.argv[2])}))
PY
	mv "$WINDOW.tmp" "$WINDOW"
}
orders() { grep -c '"event": "newOrder"' "$ARI_LOG" || true; }

id1=$(cert_id "$live/cert.pem")
th_log "certID of the first certificate: $id1"
first=$(readlink "$live")

# ---- a window in the future: not due, exit 0, no new order
window 24 48
o0=$(orders)
th_p11acme --json renew --cert-name ari.test >"$T/r1.json" 2>"$T/r1.err" || {
	cat "$T/r1.err" >&2; th_fail "renew with a future window did not exit 0"; }
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); assert d["renewed"] is False and d["due"] is False and d["error"] is None and "ARI window" in d["reason"], d' \
	"$T/r1.json" || th_fail "future window: $(cat "$T/r1.json")"
[ "$(orders)" = "$o0" ] || th_fail "a future window made a new order"
[ "$(readlink "$live")" = "$first" ] || th_fail "a future window changed the live set"
grep -q "\"certID\": \"$id1\"" "$ARI_LOG" || th_fail "renew asked renewalInfo for another certID: $(grep certID "$ARI_LOG")"
# --days 1 (not reached: Pebble certificates last 5 years) changes nothing
th_expect_exit 0 th_p11acme renew --days 1
[ "$(orders)" = "$o0" ] || th_fail "--days 1 with a future window made a new order"

# ---- --dry-run with a window in the past: says it would renew and replace, orders nothing
window -48 -24
th_p11acme renew --dry-run >"$T/dry.out" 2>"$T/dry.err" || th_fail "dry-run failed: $(cat "$T/dry.err")"
grep -q "ari.test: would renew.*would replace $id1" "$T/dry.out" || th_fail "dry-run said: $(cat "$T/dry.out")"
[ "$(orders)" = "$o0" ] || th_fail "--dry-run made a new order"
[ "$(readlink "$live")" = "$first" ] || th_fail "--dry-run changed the live set"

# ---- a window in the past: renewed, and newOrder carries replaces = certID
th_p11acme --json renew >"$T/r2.json" 2>"$T/r2.err" || { cat "$T/r2.err" >&2; th_fail "renew with a past window failed"; }
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); assert d["renewed"] is True and d["replaces"]==sys.argv[2] and d["error"] is None, d' \
	"$T/r2.json" "$id1" || th_fail "past window: $(cat "$T/r2.json")"
[ "$(orders)" = $((o0 + 1)) ] || th_fail "expected exactly one new order, got $(( $(orders) - o0 ))"
replaces=$(grep '"event": "newOrder"' "$ARI_LOG" | tail -n1 |
	python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["payload"].get("replaces",""))')
[ "$replaces" = "$id1" ] || th_fail "the new order's replaces is '$replaces', expected '$id1'"
[ "$(readlink "$live")" != "$first" ] || th_fail "the live set did not change"
th_verify_cert "$live/fullchain.pem" ari.test
th_cert_matches_key "$live/cert.pem" "$live/privkey.pem"
id2=$(cert_id "$live/cert.pem")
[ "$id2" != "$id1" ] || th_fail "the new certificate has the old certID"

# ---- the new certificate, with the CA's window now in the future again: not due
window 24 48
o1=$(orders)
th_expect_exit 0 th_p11acme renew
[ "$(orders)" = "$o1" ] || th_fail "the renewed certificate was renewed again"
grep -q "\"certID\": \"$id2\"" "$ARI_LOG" || th_fail "renewalInfo was not asked for the new certID"

# ---- the CA's renewalInfo fails (404): fall back to the lifetime rule, with a warning
rm -f "$WINDOW"
th_p11acme renew >"$T/r3.out" 2>"$T/r3.err" || th_fail "a failing renewalInfo made renew fail"
grep -q "no renewal information" "$T/r3.err" || th_fail "no warning about the missing window: $(cat "$T/r3.err")"
grep -q "ari.test: not due" "$T/r3.out" || th_fail "fallback: $(cat "$T/r3.out")"
[ "$(orders)" = "$o1" ] || th_fail "fallback made a new order"
# ---- the CA says the certificate was replaced already (another host of the account
# renewed it): the order is repeated once without `replaces`, and the renewal succeeds
window -48 -24
touch "$WINDOW.replaced"
o2=$(orders)
th_p11acme --json renew >"$T/r4.json" 2>"$T/r4.err" || { cat "$T/r4.err" >&2; th_fail "renew after alreadyReplaced failed"; }
grep -q "already replaced; ordering without" "$T/r4.err" || th_fail "no warning: $(cat "$T/r4.err")"
[ "$(grep -c '"event": "alreadyReplaced"' "$ARI_LOG")" = 1 ] || th_fail "expected one refused order"
[ "$(orders)" = $((o2 + 1)) ] || th_fail "expected one new order after the refusal"
grep '"event": "newOrder"' "$ARI_LOG" | tail -n1 | grep -q replaces &&
	th_fail "the repeated order still carries replaces"
th_verify_cert "$live/fullchain.pem" ari.test
[ "$(cert_id "$live/cert.pem")" != "$id2" ] || th_fail "the live set did not change"
rm -f "$WINDOW.replaced"

# ---- a window that ends after the certificate expires (100 years long, or 50
# years out): the moment is never later than the safe point before notAfter (a
# sixth of the lifetime), and the window is reported
na=$(date -d "$(openssl x509 -in "$live/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
nb=$(date -d "$(openssl x509 -in "$live/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
safe=$((na - (na - nb) / 6))
for w in "1 $((100 * 365 * 24))" "$((50 * 365 * 24)) $((50 * 365 * 24 + 48))"; do
	# shellcheck disable=SC2086
	window $w
	o3=$(orders)
	th_p11acme --json renew >"$T/r5.json" 2>"$T/r5.err" || { cat "$T/r5.err" >&2; th_fail "renew with window $w failed"; }
	grep -q "ends after the certificate expires" "$T/r5.err" || th_fail "window $w not reported: $(cat "$T/r5.err")"
	at=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["renew_at"])' "$T/r5.json")
	[ "$(date -d "$at" +%s)" -le "$safe" ] || th_fail "window $w: renews at $at, after the safe point $(date -u -d "@$safe")"
	[ "$(orders)" = "$o3" ] || th_fail "window $w: a new order"
done
echo "renew-ari: ok (certIDs $id1 -> $id2)"
