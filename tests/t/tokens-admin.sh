#!/usr/bin/env bash
# scripts/p11acme-token: init makes a token whose user PIN (from a file, never argv)
# works with tokens/, list shows it and its keys by exact label, PINs on the command
# line are refused, --help works; a second init with an existing label is refused
# (and makes no token); delete refuses without --yes-really-delete, names the serials
# of an ambiguous label and takes --serial, and deletes the token with its keys.
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

# a second init with the same label: refused, no second token
ntok() { pkcs11-tool --module "$M" --list-slots 2>/dev/null | grep -c "token label *: $1\$" || true; }
th_expect_exit 1 sh "$S" --module "$M" init --label admin --so-pin-file "$T/so" --pin-file "$T/pin"
grep -q "a token labelled 'admin' already exists.*serial [0-9a-f]*).*p11acme-token delete --label 'admin' --yes-really-delete" "$T/out" ||
	th_fail "second init: $(cat "$T/out")"
[ "$(ntok admin)" = 1 ] || th_fail "a second init made $(ntok admin) tokens labelled admin"

# delete: refused without the confirmation flag; the token and its key stay
th_expect_exit 2 sh "$S" --module "$M" delete --label admin
grep -q "not deleting token 'admin' (serial [0-9a-f]*).*--yes-really-delete" "$T/out" ||
	th_fail "delete without confirmation: $(cat "$T/out")"
[ "$(ntok admin)" = 1 ] || th_fail "delete without confirmation deleted the token"
th_expect_exit 1 sh "$S" --module "$M" delete --label nosuch --yes-really-delete
grep -q "no token labelled 'nosuch'" "$T/out" || th_fail "delete nosuch: $(cat "$T/out")"
# an ambiguous label (made behind the script's back): delete asks for --serial
softhsm2-util --init-token --free --label admin --pin 1234 --so-pin 8765 >/dev/null
th_expect_exit 1 sh "$S" --module "$M" delete --label admin --yes-really-delete
grep -q "several tokens are labelled 'admin' (slot .* serial .*; slot .* serial .*); add --serial" "$T/out" ||
	th_fail "ambiguous delete: $(cat "$T/out")"
[ "$(ntok admin)" = 2 ] || th_fail "an ambiguous delete deleted something"
keyed=$(pkcs11-tool --module "$M" --list-slots | awk '/token label *: admin$/ { l = 1; next } l && /serial num/ { print $NF; exit }')
others=$(pkcs11-tool --module "$M" --list-slots | awk '/token label *: admin$/ { n++ } n == 2 && /serial num/ { print $NF; exit }')
th_expect_exit 0 sh "$S" --module "$M" delete --label admin --serial "$others" --yes-really-delete
grep -q "deleted token 'admin' (serial $others)" "$T/out" || th_fail "delete --serial: $(cat "$T/out")"
[ "$(ntok admin)" = 1 ] || th_fail "after delete --serial: $(ntok admin) tokens"
# the remaining one (with its key) goes too; admin2 stays; the label is free again
th_expect_exit 0 sh "$S" --module "$M" delete --label admin --yes-really-delete
grep -q "deleted token 'admin' (serial $keyed)" "$T/out" || th_fail "delete: $(cat "$T/out")"
[ "$(ntok admin)" = 0 ] && [ "$(ntok admin2)" = 1 ] || th_fail "delete removed the wrong tokens"
th_expect_exit 0 sh "$S" --module "$M" init --label admin --so-pin-file "$T/so" --pin-file "$T/pin"
echo "tokens-admin: ok"
