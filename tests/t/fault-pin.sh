#!/usr/bin/env bash
# Token faults, through `issue` against a real Pebble:
# - a wrong PIN: exactly one failed C_Login (counted with OpenSC's pkcs11-spy
#   between p11acme and SoftHSM), the token's "user PIN count low" flag set after
#   it (SoftHSM's visible state of a failed login), and a message that
#   says the PIN is wrong; the PIN itself is in no message; no POST reaches the
#   CA (no JWS can be made; the HEAD newNonce sent while the token opens carries
#   nothing of the account); exit 2 (fix the PIN: a configuration error);
# - a token that is not there: a message naming the token's label;
# - a key that is not there: a message naming the key's label;
# - a module that is not there: a message naming the module's path.
. "$(dirname "$0")/../lib/harness.sh"

SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
th_token
th_pebble_start
run() {
	$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --config-dir "$T/etc" \
		--timeout 20 "$@" issue -d pin.test --force --standalone --http-port "$TH_HTTP_PORT"
}

# wrong PIN
pkcs11-tool --module "$TH_MODULE" -T | grep -q 'user PIN count low' &&
	th_fail "the fixture token already reports a failed login"
printf '9876\n' >"$T/pin-wrong"
posts=$(grep -c 'POST /.* -> calling handler()' "$TH_PEBBLE_LOG" || true)
[ -f "$SPY" ] || th_fail "pkcs11-spy not found at $SPY (package opensc)"
PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy.log" th_expect_exit 2 \
	run --key "$TH_KEY" --module "$SPY" --pin-source "file:$T/pin-wrong"
th_log "wrong PIN: $(grep -i error "$T/out" | tr '\n' ' ')"
grep -i error "$T/out" | grep -Eqi 'PIN.*(wrong|incorrect)|(wrong|incorrect).*PIN' ||
	th_fail "the message does not say the PIN is wrong: $(cat "$T/out")"
grep -q 9876 "$T/out" && th_fail "the wrong PIN appears in the output"
logins=$(grep -c 'C_Login' "$T/spy.log" || true)
bad=$(grep -A 20 'C_Login' "$T/spy.log" | grep -c 'CKR_PIN_INCORRECT' || true)
[ "$logins" = 1 ] || th_fail "$logins C_Login calls for one wrong PIN, expected exactly 1"
[ "$bad" = 1 ] || th_fail "expected one CKR_PIN_INCORRECT in the spy log, got $bad"
pkcs11-tool --module "$TH_MODULE" -T | grep -q 'user PIN count low' ||
	th_fail "the token does not show the failed login"
[ "$(grep -c 'POST /.* -> calling handler()' "$TH_PEBBLE_LOG" || true)" = "$posts" ] ||
	th_fail "a POST reached the CA although the token could not be opened"

# a good PIN afterwards works (and resets SoftHSM's count)
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@pin.test

# token missing
th_expect_exit_in() { # CODES CMD...: exit status is one of CODES (space-separated)
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>&1 || rc=$?
	case " $want " in *" $rc "*) ;; *) cat "$T/out" >&2; th_fail "exit $rc, expected one of $want: $*" ;; esac
	th_log "exit $rc: $(grep -i -m2 error "$T/out" | tr '\n' ' ')"
}
th_expect_exit_in "1 2" run --key "pkcs11:token=no-such-token;object=acct" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE"
grep -i error "$T/out" | grep -q 'no-such-token' || th_fail "the message does not name the missing token: $(cat "$T/out")"

# key missing
th_expect_exit_in "1 2" run --key "pkcs11:token=$TH_TOKEN_LABEL;object=no-such-key" \
	--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE"
grep -i error "$T/out" | grep -q 'no-such-key' || th_fail "the message does not name the missing key: $(cat "$T/out")"

# module missing
th_expect_exit 2 run --key "$TH_KEY" --module "$T/no-such-module.so" --pin-source "file:$TH_PIN_FILE"
grep -i error "$T/out" | grep -q 'no-such-module.so: No such file' || th_fail "the message does not name the missing module: $(cat "$T/out")"

# a module that is not a PKCS#11 module
printf 'not an ELF file\n' >"$T/junk.so"
th_expect_exit_in "1 2" run --key "$TH_KEY" --module "$T/junk.so" --pin-source "file:$TH_PIN_FILE"
grep -i error "$T/out" | grep -q 'junk.so' || th_fail "the message does not name the bad module: $(cat "$T/out")"

# PIN file missing
th_expect_exit_in "1 2" run --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$T/no-such-pin"
grep -i error "$T/out" | grep -q 'no-such-pin' || th_fail "the message does not name the missing PIN file: $(cat "$T/out")"
