#!/usr/bin/env bash
# A refused PIN costs one token try, not one per certificate and not one per run:
# - `renew --all` with three due certificates and a wrong PIN file makes exactly one
#   C_Login (counted with OpenSC's pkcs11-spy between p11acme and SoftHSM), exits 2,
#   and says the later certificates were not tried;
# - it leaves a marker in CONFIG_DIR/pin-failed/ that holds no PIN (nor the PIN's
#   length or a hash of it), mode 0600;
# - a second run makes no C_Login at all, exits 2, and says why and what to do
#   (fix the PIN file, or remove the marker, naming its path);
# - after the PIN file is fixed, the next run logs in once, renews all three and
#   removes the marker;
# - the same for env: (a marker that only its removal clears).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
[ -f "$SPY" ] || th_fail "pkcs11-spy not found at $SPY (package opensc)"
th_token pinref
th_pebble_start
fc_dns_hook "$T/hook"
PINF=$T/acme.pin
printf '1234\n' >"$PINF"
chmod 600 "$PINF"
p() { th_p11acme --pin-source "file:$PINF" "$@"; }
p account register --agree-tos --email ops@pin.test >/dev/null
for n in one two three; do
	p issue -d "$n.pin.test" --dns-hook "$T/hook" >/dev/null 2>"$T/issue.err" ||
		th_fail "issue $n: $(cat "$T/issue.err")"
done

spy_renew() { # LOG CODE PIN-SOURCE [RENEW ARGS]: renew through the spy, expecting CODE
	local log=$1 code=$2 src=$3
	shift 3
	PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$log" th_expect_exit "$code" \
		$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$SPY" --config-dir "$T/etc" --pin-source "$src" renew --days 3000 "$@"
}
logins() { grep -c '^[0-9]*: C_Login' "$1" 2>/dev/null || true; }

# ---- a wrong PIN, three due certificates: one C_Login, exit 2
printf '9876\n' >"$PINF"
spy_renew "$T/spy1.log" 2 "file:$PINF" --all
cp "$T/out" "$T/run1.out"
[ "$(logins "$T/spy1.log")" = 1 ] ||
	th_fail "$(logins "$T/spy1.log") C_Login calls for three due certificates, expected 1"
grep -q 'CKR_PIN_INCORRECT' "$T/run1.out" || th_fail "no CKR_PIN_INCORRECT: $(cat "$T/run1.out")"
[ "$(grep -c '^[a-z.]*: failed .*refused the PIN earlier in this run' "$T/run1.out")" = 2 ] ||
	th_fail "the two later certificates are not reported as not tried: $(cat "$T/run1.out")"
grep -q 9876 "$T/run1.out" && th_fail "the wrong PIN appears in the output"
marker=$(ls "$T/etc/pin-failed/"* 2>/dev/null)
[ -f "$marker" ] || th_fail "no marker in $T/etc/pin-failed: $(cat "$T/run1.out")"
[ "$(stat -c %a "$marker")" = 600 ] || th_fail "marker mode $(stat -c %a "$marker")"
grep -q "$marker" "$T/run1.out" || th_fail "the message does not name the marker: $(cat "$T/run1.out")"
grep -q '9876' "$marker" && th_fail "the marker holds the PIN"
grep -Eiq 'len|size|sha|hash' "$marker" && th_fail "the marker holds something derived from the PIN: $(cat "$marker")"
grep -q "^source: file:$PINF dev=" "$marker" || th_fail "marker: $(cat "$marker")"

# ---- a second run with the same file: no C_Login, exit 2, what happened and what to do
spy_renew "$T/spy2.log" 2 "file:$PINF" --all
[ "$(logins "$T/spy2.log")" = 0 ] || th_fail "the second run made $(logins "$T/spy2.log") C_Login calls"
grep -q "refused the PIN from file:$PINF before (CKR_PIN_INCORRECT" "$T/out" ||
	th_fail "second run, no reason given: $(cat "$T/out")"
grep -q "put the right PIN into the PIN file.* remove $marker" "$T/out" ||
	th_fail "second run, no way out given: $(cat "$T/out")"
th_log "second run: $(grep -m1 'refused the PIN from' "$T/out")"

# ---- the PIN file fixed: one login, three renewals, the marker gone
printf '1234\n' >"$PINF"
spy_renew "$T/spy3.log" 0 "file:$PINF" --all
[ "$(logins "$T/spy3.log")" = 3 ] || th_fail "after the fix: $(logins "$T/spy3.log") logins for 3 renewals"
[ "$(grep -c ': renewed' "$T/out")" = 3 ] || th_fail "after the fix: $(cat "$T/out")"
[ -e "$marker" ] && th_fail "the marker is still there after a good login"

# ---- env: a refused PIN is not tried again, even once it is right; removing the
# marker allows one try
P11ACME_TEST_PIN=5555 spy_renew "$T/spy4.log" 2 env:P11ACME_TEST_PIN --cert-name one.pin.test
[ "$(logins "$T/spy4.log")" = 1 ] || th_fail "env: $(logins "$T/spy4.log") logins"
P11ACME_TEST_PIN=1234 spy_renew "$T/spy5.log" 2 env:P11ACME_TEST_PIN --cert-name one.pin.test
[ "$(logins "$T/spy5.log")" = 0 ] || th_fail "env, second run: $(logins "$T/spy5.log") logins"
grep -q "set the right PIN in the variable, then remove $T/etc/pin-failed/" "$T/out" ||
	th_fail "env, second run: $(cat "$T/out")"
rm -f "$T/etc/pin-failed/"*
P11ACME_TEST_PIN=1234 spy_renew "$T/spy6.log" 0 env:P11ACME_TEST_PIN --cert-name one.pin.test
[ "$(logins "$T/spy6.log")" = 1 ] || th_fail "env, after removal: $(logins "$T/spy6.log") logins"
echo "tokens-pin-refused: ok"
