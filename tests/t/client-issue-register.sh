#!/bin/bash
# valgrind: yes
# issue --agree-tos [--email ADDR]: a first issuance registers the account in the same
# run (as certbot's and lego's do), with one newAccount and no onlyReturnExisting
# lookup in front of it. Without --agree-tos a key with no account stops before any
# order, naming both ways out; --email without --agree-tos is a usage error. With an
# account already there, --agree-tos finds it (same URL) and changes nothing; at a
# CA that requires EAB it only finds one (`account register` does EAB).
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start
issue() {
	th_p11acme issue --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" "$@"
}

# ---- usage errors: nothing is contacted
th_expect_exit 2 issue -d u.example.com --email reg@example.com
grep -q -- '--email registers an account: it needs --agree-tos' "$T/out" || th_fail "usage: $(cat "$T/out")"
th_expect_exit 2 issue -d u.example.com --agree-tos --email 'not an address'
grep -q -- '--email: not an address' "$T/out" || th_fail "bad --email: $(cat "$T/out")"
issue --help | grep -q -- '--agree-tos' || th_fail "--help lacks --agree-tos"

# ---- no account and no --agree-tos: exit 1 before any order, both ways out named
before=$(th_pebble_requests)
th_expect_exit 1 issue -d none.example.com
grep -q "no account for this key" "$T/out" && grep -q "account register" "$T/out" &&
	grep -q -- "--agree-tos" "$T/out" || th_fail "no-account message: $(cat "$T/out")"
th_pebble_request_list "$before" | grep -q '/order-plz' && th_fail "an order was made without an account"
[ ! -e "$T/etc/live/none.example.com" ] || th_fail "a certificate without an account"

# ---- --agree-tos --email: one run registers, orders, validates, commits
before=$(th_pebble_requests)
issue -d reg.example.com --agree-tos --email reg@example.com >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; th_fail "issue --agree-tos failed"; }
th_verify_cert "$T/etc/live/reg.example.com/fullchain.pem" reg.example.com
th_pebble_request_list "$before" >"$T/list"
n=$(grep -c 'POST /sign-me-up' "$T/list" || true)
# a badNonce (5% of nonces) repeats the newAccount POST with a fresh nonce
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || { cat "$T/list" >&2; th_fail "$n newAccount POSTs"; }
grep -q 'terms of service' "$T/out" || th_fail "the terms agreed to are not named: $(cat "$T/out")"
th_p11acme account show >"$T/show" || th_fail "show failed"
grep -qx "contact: mailto:reg@example.com" "$T/show" && grep -qx "status: valid" "$T/show" ||
	th_fail "account show: $(cat "$T/show")"
url=$(sed -n 's/^url: //p' "$T/show")

# ---- the account URL was cached: a second issue sends no newAccount at all
before=$(th_pebble_requests)
issue -d reg2.example.com --agree-tos >"$T/out" 2>&1 || { cat "$T/out" >&2; th_fail "second issue failed"; }
th_pebble_request_list "$before" | grep -q 'sign-me-up' && th_fail "newAccount although the URL is cached"

# ---- a fresh config dir, the key's account exists: --agree-tos finds the same one
rm -rf "$T/etc"
issue -d reg3.example.com --agree-tos --email other@example.com >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; th_fail "issue --agree-tos with an existing account failed"; }
th_p11acme account show >"$T/show" || th_fail "show failed"
grep -qx "url: $url" "$T/show" || th_fail "another account: $(cat "$T/show")"
grep -qx "contact: mailto:reg@example.com" "$T/show" || th_fail "the contact changed: $(cat "$T/show")"

# ---- a CA that requires EAB: sent to account register, nothing ordered
th_pebble_stop
TH_EAB=1 th_pebble_start
rm -rf "$T/etc"
th_expect_exit 1 issue -d eab.example.com --agree-tos
grep -q "external account binding: run 'p11acme account register'" "$T/out" ||
	th_fail "EAB message: $(cat "$T/out")"
[ ! -e "$T/etc/live/eab.example.com" ] || th_fail "a certificate without EAB"
# once account register (with EAB) made it, --agree-tos finds it from a fresh dir
python3 -c 'import json; print(json.load(open("/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json"))["pebble"]["externalAccountMACKeys"]["kid-1"])' \
	>"$T/eab.key"
th_expect_exit 0 th_p11acme account register --agree-tos --eab-kid kid-1 --eab-hmac-key-file "$T/eab.key"
rm -rf "$T/etc"
th_expect_exit 0 issue -d eab.example.com --agree-tos
th_verify_cert "$T/etc/live/eab.example.com/fullchain.pem" eab.example.com
echo ok
