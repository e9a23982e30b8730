#!/usr/bin/env bash
# tokens/: selection and key safety. Modules by path, by p11-kit registered name
# (module-name=, --module NAME) and by searching the registered modules. Two tokens with one label, and two private keys
# that match one URI, fail with errors that list the candidates; the public half of a
# pair is no ambiguity. A generated key cannot be exported (CKR_ATTRIBUTE_SENSITIVE,
# CKR_KEY_UNEXTRACTABLE); a key made with pkcs11-tool --extractable is refused, and
# accepted with allow_extractable plus a warning. Key generation refuses duplicates.
# A key with CKA_SIGN=FALSE is refused with that reason.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"

th_token toksel
TOOL="$TH_BUILD/tests/tok_tool"
[ "${P11ACME_VALGRIND:-0}" = 1 ] && TOOL="$TH_VALGRIND $TOOL"
tt() { $TOOL --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" "$@"; }
p11() { pkcs11-tool --module "$TH_MODULE" --token-label toksel --login --pin 1234 "$@"; }
has() { grep -q -- "$1" "$T/out" || th_fail "expected '$1' in: $(cat "$T/out")"; }

# every fixture key by label, by id, by type=private; the pair (no type) is one key
for k in "object=acct" "id=%01" "object=acct384;id=%02" "object=acctrsa;type=private"; do
	th_expect_exit 0 tt sign "pkcs11:token=toksel;$k"
done
th_expect_exit 2 tt open "pkcs11:token=toksel;object=acct;type=public"
has "type=public names no private key"
th_expect_exit 2 tt open "pkcs11:token=toksel;object=nosuch"
has "no private key on token 'toksel' matches"
has "private key present: label 'acct', id 01"

# module selection: module-path in the URI, and a URI error names the attribute
th_expect_exit 0 "$TH_BUILD/tests/tok_tool" --pin-source "file:$TH_PIN_FILE" open \
	"$TH_KEY?module-path=$TH_MODULE"
# by p11-kit's registered name (module-name=, --module NAME), and with no module at all
# (the registered modules are searched for the token)
notool() { $TOOL --pin-source "file:$TH_PIN_FILE" "$@"; }
# The search loads every registered module, and some leak in a C_Initialize that fails
# for want of their device (tpm2-pkcs11 without a TPM): not under valgrind.
search() { "$TH_BUILD/tests/tok_tool" --pin-source "file:$TH_PIN_FILE" "$@"; }
th_expect_exit 0 notool sign "$TH_KEY?module-name=softhsm2"
th_expect_exit 0 notool --module softhsm2 sign "$TH_KEY"
th_expect_exit 0 search sign "$TH_KEY"
th_expect_exit 2 notool --module nosuch open "$TH_KEY"
has "no PKCS#11 module is registered with p11-kit as 'nosuch' (registered: .*softhsm2"
th_expect_exit 2 search open "pkcs11:token=nosuch;object=acct"
has "no PKCS#11 module registered with p11-kit (.*softhsm2.*) has a token that matches"
th_expect_exit 2 tt open "pkcs11:token=toksel;objekt=acct"
has "unknown attribute 'objekt'"

# no token or several tokens: the error lists the tokens present
th_expect_exit 2 tt open "pkcs11:token=nosuch;object=acct"
has "no token in module"
has "token present: label 'toksel'"
th_empty_token twin
th_empty_token twin
th_expect_exit 2 tt open "pkcs11:token=twin;object=acct"
has "more than one token"
[ "$(grep -c "token present: label 'twin'" "$T/out")" = 2 ] || th_fail "twins not listed: $(cat "$T/out")"
has "token present: label 'toksel'"

# two private keys that match: both listed
p11 --keypairgen --key-type EC:prime256v1 --label acct --id 05 >/dev/null 2>&1
th_expect_exit 2 tt open "pkcs11:token=toksel;object=acct"
has "more than one private key on token 'toksel' matches"
has "candidate: label 'acct', id 01"
has "candidate: label 'acct', id 05"
th_expect_exit 0 tt sign "pkcs11:token=toksel;object=acct;id=%05"

# generated keys: sensitive, never extractable, and they cannot be exported
n=0
for ty in ec256 ec384 rsa2048; do
	n=$((n + 1))
	th_expect_exit 0 tt keygen "$ty" "pkcs11:token=toksel;object=gen-$ty;id=%a$n"
	th_expect_exit 0 tt export-check "pkcs11:token=toksel;object=gen-$ty"
	has "get-value: CKR_ATTRIBUTE_SENSITIVE"
	has "wrap: CKR_KEY_UNEXTRACTABLE"
	th_expect_exit 0 tt info "pkcs11:token=toksel;object=gen-$ty"
	has "extractable: 0"
	has "sensitive: 1"
	has "never_extractable: 1"
	th_expect_exit 0 tt sign "pkcs11:token=toksel;object=gen-$ty"
done
p11 --list-objects --type privkey >"$T/out" 2>&1
grep -A3 'gen-ec256' "$T/out" | grep -q 'Usage: *sign$' || th_fail "generated key is not sign-only: $(cat "$T/out")"
# ...and a second key with the same label or id is refused
th_expect_exit 1 tt keygen ec256 "pkcs11:token=toksel;object=gen-ec256;id=%77"
has "already holds a key with this label"
th_expect_exit 1 tt keygen ec256 "pkcs11:token=toksel;object=fresh;id=%01"
has "already holds a key with this id"
th_expect_exit 1 tt keygen ec521 "pkcs11:token=toksel;object=fresh;id=%78"
has "unknown key type 'ec521'"

# an extractable key: refused, accepted with allow_extractable and a warning
p11 --keypairgen --key-type EC:prime256v1 --label leaky --id 09 --extractable >/dev/null 2>&1
th_expect_exit 2 tt open "pkcs11:token=toksel;object=leaky"
has "refusing key 'leaky'"
has "CKA_EXTRACTABLE=TRUE"
th_expect_exit 0 tt --allow-extractable sign "pkcs11:token=toksel;object=leaky"
has "warning: .*key 'leaky' .*can leave the token"
th_expect_exit 1 tt --allow-extractable export-check "pkcs11:token=toksel;object=leaky"
has "wrap: CKR_OK"
# a key the token will not sign with: refused at once, saying why
p11 --keypairgen --key-type EC:prime256v1 --label nosign --id 0b >/dev/null 2>&1
th_expect_exit 0 tt nosign "pkcs11:token=toksel;object=nosign"
th_expect_exit 2 tt sign "pkcs11:token=toksel;object=nosign"
has "key 'nosign' on token 'toksel' cannot sign: it has CKA_SIGN=FALSE"
echo "tokens-select: ok"
