#!/usr/bin/env bash
# tokens/: every tokens/ path under valgrind (memcheck, --leak-check=full): success,
# every error path, key generation and a loop of opens. 0 bytes definitely lost and no
# memory errors; no suppressions.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"

th_token tokvg
VG="$TH_VALGRIND --log-file=$T/vg.%p.log"
vt() {
	local want=$1 rc=0
	shift
	$VG "$TH_BUILD/tests/tok_tool" --module "$TH_MODULE" "$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" = 99 ] && th_fail "valgrind reports errors or definite leaks: $*: $(cat "$T"/vg.*.log)"
	[ "$rc" = "$want" ] || th_fail "expected exit $want, got $rc: $*: $(cat "$T/out")"
}
P="file:$TH_PIN_FILE"
printf '9999\n' >"$T/wrong"
vt 0 --pin-source "$P" sign "$TH_KEY"
vt 0 --pin-source "$P" sign "pkcs11:token=tokvg;object=acctrsa"
vt 0 --pin-source "$P" info "pkcs11:token=tokvg;object=acct384"
vt 0 --pin-source "$P" export-check "pkcs11:token=tokvg;id=%01"
vt 0 --pin-source "$P" keygen ec256 "pkcs11:token=tokvg;object=vg;id=%44"
vt 0 --pin-source "$P" sign "pkcs11:token=tokvg;object=vg"
vt 1 --pin-source "$P" keygen ec256 "pkcs11:token=tokvg;object=vg;id=%45"
vt 0 --pin-source "$P" loop 3 "$TH_KEY"
P11ACME_VG_PIN=1234 vt 0 --pin-source env:P11ACME_VG_PIN open "$TH_KEY"
vt 0 open "$TH_KEY?pin-value=1234"
# a refused PIN (exit 2, marker written), then the same source again (marker read)
vt 2 --marker-dir "$T/state" --pin-source "file:$T/wrong" open "$TH_KEY"
vt 2 --marker-dir "$T/state" --pin-source "file:$T/wrong" open "$TH_KEY"
grep -q "refused the PIN from file:$T/wrong before" "$T/out" || th_fail "no marker refusal: $(cat "$T/out")"
vt 0 --marker-dir "$T/state" --pin-source "$P" open "$TH_KEY"
vt 2 --pin-source "$P" open "pkcs11:token=tokvg"
vt 2 --pin-source "$P" open "pkcs11:token=nosuch"
vt 2 --pin-source "$P" open "pkcs11:token=tokvg;bogus=1"
vt 2 --pin-source "$P" open "pkcs11:token=tokvg;object=nosuch"
vt 2 --pin-source "$P" --module /nonexistent.so open "$TH_KEY"
pkcs11-tool --module "$TH_MODULE" --token-label tokvg --login --pin 1234 --keypairgen \
	--key-type EC:prime256v1 --label leaky --id 09 --extractable >/dev/null 2>&1
vt 2 --pin-source "$P" open "pkcs11:token=tokvg;object=leaky"
vt 0 --pin-source "$P" --allow-extractable sign "pkcs11:token=tokvg;object=leaky"
grep -h 'definitely lost' "$T"/vg.*.log | grep -v ' 0 bytes' && th_fail "definite leaks"
echo "tokens-valgrind: ok"
