#!/bin/bash
# valgrind: yes
# account register (with and without EAB), show, thumbprint, rollover then issue with
# the new key, revoke, deactivate then refusal; exit codes and --help.
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start

# ---- thumbprint is offline: no server at all
tp=$($P11ACME --server https://127.0.0.1:9/nowhere --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" account thumbprint) || th_fail "offline thumbprint failed"
[ ${#tp} = 43 ] || th_fail "thumbprint '$tp' is not 43 base64url chars"
# ...and matches an independent RFC 7638 computation from the token's public key
pub=$(th_pkcs11_tool --token-label "$TH_TOKEN_LABEL" --read-object --type pubkey --label acct 2>/dev/null |
	openssl pkey -pubin -inform DER 2>/dev/null) || th_fail "cannot read the public key"
want=$(printf '%s\n' "$pub" | python3 -c '
import sys, json, hashlib, base64
from cryptography.hazmat.primitives.serialization import load_pem_public_key
k = load_pem_public_key(sys.stdin.read().encode()).public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
j = json.dumps({"crv": "P-256", "kty": "EC", "x": b(k.x), "y": b(k.y)}, separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(j.encode()).digest()).rstrip(b"=").decode())')
[ "$tp" = "$want" ] || th_fail "thumbprint $tp, RFC 7638 says $want"

# ---- show before register: no account, exit 1
th_expect_exit 1 th_p11acme account show
grep -q 'no account' "$T/out" || th_fail "show without account: $(cat "$T/out")"
# ---- register usage errors
th_expect_exit 2 th_p11acme account register --email a@example.com
th_expect_exit 2 th_p11acme account register --email 'not-an-address' --agree-tos
th_expect_exit 2 th_p11acme account register --agree-tos --eab-kid kid-1
th_expect_exit 2 $P11ACME --server "$TH_SERVER" account show   # no --key
th_expect_exit 0 th_p11acme account --help
th_expect_exit 0 th_p11acme account register --help

# ---- register, show (text and JSON), idempotent register
th_p11acme account register --email a@example.com --email b@example.com --agree-tos >"$T/reg" ||
	th_fail "register failed"
url=$(sed -n 's/^url: //p' "$T/reg")
case "$url" in https://*) ;; *) th_fail "register printed no url: $(cat "$T/reg")" ;; esac
[ -f "$T/etc/accounts/127.0.0.1:${TH_SERVER#https://127.0.0.1:}" ] 2>/dev/null || true
ls "$T"/etc/accounts/*/"$tp.json" >/dev/null || th_fail "account URL not cached by thumbprint"
rm -rf "$T/etc/accounts"   # show must find it by key (onlyReturnExisting)
th_p11acme account show >"$T/show" || th_fail "show failed"
grep -qx "url: $url" "$T/show" || th_fail "show lacks 'url: $url': $(cat "$T/show")"
grep -qx "status: valid" "$T/show" && grep -qx "contact: mailto:b@example.com" "$T/show" &&
	grep -qx "thumbprint: $tp" "$T/show" || th_fail "show output: $(cat "$T/show")"
th_p11acme --json account show >"$T/show.json" || th_fail "show --json failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["url"]==sys.argv[2] and d["status"]=="valid", d' \
	"$T/show.json" "$url" || th_fail "show --json: $(cat "$T/show.json")"
th_p11acme account register --email a@example.com --agree-tos >"$T/reg2" || th_fail "re-register failed"
grep -qx "url: $url" "$T/reg2" || th_fail "re-register gave another account"

# ---- a stale cached account URL: looked up again by key, and the run succeeds
cache=$(ls "$T"/etc/accounts/*/"$tp.json")
sed -i 's|my-account/[^"]*|my-account/stale0000|' "$cache"
th_p11acme issue -d stale.example.com --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" \
	>/dev/null 2>"$T/err" || { cat "$T/err" >&2; th_fail "issue with a stale cached account failed"; }
grep -q 'cached account URL is unknown' "$T/err" || th_fail "no stale-cache warning"
grep -q "$url" "$cache" || th_fail "the cache was not repaired"

# ---- issue, then revoke it
th_p11acme issue -d rev.example.com --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" \
	>/dev/null || th_fail "issue failed"
th_verify_cert "$T/etc/live/rev.example.com/fullchain.pem" rev.example.com
serial=$(openssl x509 -in "$T/etc/live/rev.example.com/cert.pem" -noout -serial | cut -d= -f2 |
	tr 'A-F' 'a-f' | sed 's/^0*//')
th_expect_exit 2 th_p11acme revoke --cert "$T/etc/live/rev.example.com/cert.pem" --reason 7
th_p11acme revoke --cert "$T/etc/live/rev.example.com/cert.pem" --reason 4 || th_fail "revoke failed"
curl -sf --cacert "$TH_CA_BUNDLE" "$TH_MGMT/cert-status-by-serial/$serial" | grep -qi '"Status": *"Revoked"' ||
	th_fail "Pebble does not list $serial as revoked"
th_expect_exit 1 th_p11acme revoke --cert "$T/etc/live/rev.example.com/cert.pem"
grep -q 'alreadyRevoked' "$T/out" || th_fail "second revoke: $(cat "$T/out")"

# ---- rollover to acct384, then issue with the new key; the old key is no account
newkey="pkcs11:token=$TH_TOKEN_LABEL;object=acct384"
th_expect_exit 2 th_p11acme account rollover
th_p11acme account rollover --new-key "$newkey" >"$T/roll" || th_fail "rollover failed"
grep -qx "url: $url" "$T/roll" || th_fail "rollover output: $(cat "$T/roll")"
oldkey=$TH_KEY
TH_KEY=$newkey
th_p11acme account show >"$T/show2" || th_fail "show with the new key failed"
grep -qx "url: $url" "$T/show2" || th_fail "the new key is not the same account"
th_p11acme issue -d roll.example.com --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" \
	>/dev/null || th_fail "issue with the rolled-over key failed"
th_verify_cert "$T/etc/live/roll.example.com/fullchain.pem" roll.example.com
TH_KEY=$oldkey
rm -rf "$T/etc/accounts"
th_expect_exit 1 th_p11acme account show
TH_KEY=$newkey

# ---- deactivate needs --yes; then every use is refused
th_expect_exit 2 th_p11acme account deactivate
th_p11acme account deactivate --yes >"$T/deact" || th_fail "deactivate failed"
grep -qx 'status: deactivated' "$T/deact" || th_fail "deactivate output: $(cat "$T/deact")"
th_expect_exit 1 th_p11acme issue -d after.example.com --standalone --http-address 127.0.0.1 \
	--http-port "$TH_HTTP_PORT"
grep -qi 'deactivated\|unauthorized' "$T/out" || th_fail "issue after deactivate: $(cat "$T/out")"
[ ! -e "$T/etc/live/after.example.com" ] || th_fail "a deactivated account got a certificate"

# ---- EAB: Pebble with the example EAB config
th_pebble_stop
TH_EAB=1 th_pebble_start
rm -rf "$T/etc"
TH_KEY="pkcs11:token=$TH_TOKEN_LABEL;object=acctrsa"
th_expect_exit 2 th_p11acme account register --email e@example.com --agree-tos
grep -qi 'external account' "$T/out" || th_fail "no EAB message: $(cat "$T/out")"
python3 -c 'import json; print(json.load(open("/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json"))["pebble"]["externalAccountMACKeys"]["kid-1"])' \
	>"$T/eab.key"
printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' >"$T/eab-wrong.key"
th_expect_exit 1 th_p11acme account register --email e@example.com --agree-tos --eab-kid kid-1 \
	--eab-hmac-key-file "$T/eab-wrong.key"
th_p11acme account register --email e@example.com --agree-tos --eab-kid kid-1 \
	--eab-hmac-key-file "$T/eab.key" >"$T/eab.out" || th_fail "EAB register failed"
grep -q '^url: https://' "$T/eab.out" || th_fail "EAB register output: $(cat "$T/eab.out")"
th_p11acme issue -d eab.example.com --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" \
	>/dev/null || th_fail "issue with the EAB account (RS256) failed"
th_verify_cert "$T/etc/live/eab.example.com/fullchain.pem" eab.example.com
echo ok
