#!/bin/bash
# valgrind: yes
# A key with CKA_ALWAYS_AUTHENTICATE (PIV slot 9c and many HSM policies) needs the PIN
# again before every signature (C_Login with CKU_CONTEXT_SPECIFIC; SoftHSM enforces it).
# p11acme gives it from the PIN source: `key show` says so, an account on such a key
# registers and issues, every signature is preceded by a context-specific login
# (counted with pkcs11-spy), and nothing ever prompts on the terminal.
. "$(dirname "$0")/../lib/harness.sh"

SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
[ -f "$SPY" ] || th_fail "pkcs11-spy not found at $SPY (package opensc)"
th_token
th_pkcs11_tool --token-label "$TH_TOKEN_LABEL" --login --pin 1234 --keypairgen \
	--key-type EC:prime256v1 --label aa --id 0a --always-auth --usage-sign >/dev/null
th_pkcs11_tool --token-label "$TH_TOKEN_LABEL" --login --pin 1234 --list-objects --type privkey |
	grep -A4 'label: *aa' | grep -q 'always authenticate' ||
	th_fail "pkcs11-tool did not make an always-authenticate key"
KEY="pkcs11:token=$TH_TOKEN_LABEL;object=aa"
p11() {
	$P11ACME --server "${TH_SERVER:-https://127.0.0.1:1/dir}" --ca-bundle "${TH_CA_BUNDLE:-/dev/null}" \
		--module "${MOD:-$TH_MODULE}" --pin-source "file:$TH_PIN_FILE" --key "$KEY" \
		--config-dir "$T/etc" "$@" </dev/null
}

# ---- key show: usable, and says the PIN is needed for every signature
th_expect_exit 0 p11 key show
grep -q '^PIN for every signature: yes' "$T/out" || { cat "$T/out" >&2; th_fail "key show does not say so"; }
grep -q '^verdict: cannot leave the token' "$T/out" || th_fail "verdict: $(cat "$T/out")"
th_expect_exit 0 p11 --json key show
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["attributes"]["always_authenticate"] is True, d' \
	"$T/out" || th_fail "--json: $(cat "$T/out")"
th_expect_exit 0 $P11ACME --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" key show --key "$TH_KEY"
grep -q '^PIN for every signature: no' "$T/out" || th_fail "the ordinary key: $(cat "$T/out")"

# ---- an account on that key: register and issue (under valgrind in the valgrind run)
th_pebble_start
th_expect_exit 0 p11 account register --email aa@example.com --agree-tos
th_expect_exit 0 p11 issue -d aa.example.com --standalone --http-address 127.0.0.1 \
	--http-port "$TH_HTTP_PORT"
grep -qi 'enter.*pin' "$T/out" && th_fail "something prompted for a PIN: $(cat "$T/out")"
th_verify_cert "$T/etc/live/aa.example.com/fullchain.pem" aa.example.com

# ---- through pkcs11-spy (not under valgrind: the spy itself leaks at C_Initialize):
# every C_Sign of the account key follows a C_Login(CKU_CONTEXT_SPECIFIC)
export PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy.log"
P11ACME=$TH_BUILD/p11acme MOD=$SPY th_expect_exit 0 p11 issue -d aa2.example.com --standalone \
	--http-address 127.0.0.1 --http-port "$TH_HTTP_PORT"
signs=$(grep -c '^[0-9]*: C_Sign$' "$T/spy.log" || true)
ctx=$(grep -A3 'C_Login$' "$T/spy.log" | grep -c 'CKU_CONTEXT_SPECIFIC' || true)
th_log "spy: $signs C_Sign, $ctx context-specific logins"
[ "$signs" -ge 4 ] || th_fail "only $signs signatures seen by pkcs11-spy"
[ "$ctx" = "$signs" ] || th_fail "$signs signatures but $ctx context-specific logins"
grep -q 1234 "$T/out" && th_fail "the PIN appears in the output"
th_log "always-authenticate key: ok"
