#!/usr/bin/env bash
# scripts/p11acme-token: init makes a token whose user PIN (from a file, never argv)
# works with tokens/, list shows it and its keys by exact label, PINs on the command
# line are refused, --help works.
. "$(dirname "$0")/../lib/harness.sh"

th_softhsm_conf "$T/hsm"
S="$TH_ROOT/scripts/p11acme-token"
M=/usr/lib/softhsm/libsofthsm2.so
printf '4321\n' >"$T/pin"
printf '8765\n' >"$T/so"
sh "$S" --help | grep -q '^usage: p11acme-token' || th_fail "--help"
th_expect_exit 2 sh "$S" init --label x --pin 4321
th_expect_exit 0 sh "$S" --module "$M" init --label admin2 --so-pin-file "$T/so" --pin-file "$T/pin"
th_expect_exit 0 sh "$S" --module "$M" init --label admin --so-pin-file "$T/so" --pin-file "$T/pin"
grep -q "initialised token 'admin'" "$T/out" || th_fail "init: $(cat "$T/out")"
th_expect_exit 0 "$TH_BUILD/tests/tok_tool" --module "$M" --pin-source "file:$T/pin" \
	keygen ec256 "pkcs11:token=admin;object=acct;id=%01"
th_expect_exit 0 sh "$S" --module "$M" list --label admin --pin-file "$T/pin"
grep -q 'label: *acct' "$T/out" || th_fail "list does not show the key: $(cat "$T/out")"
grep -q 'token label *: admin2' "$T/out" || th_fail "list does not show the tokens"
th_expect_exit 1 sh "$S" --module "$M" list --label adm --pin-file "$T/pin"
echo "tokens-admin: ok"
