#!/usr/bin/env bash
# valgrind: no definite leak and no memory error in the signer, parent and child
# (valgrind follows fork; each process is checked at its exit), on the success paths,
# the error paths (missing key, wrong PIN, malformed frames) and in its unit tests.
. "$(dirname "$0")/../lib/harness.sh"

command -v valgrind >/dev/null || th_fail "valgrind is not installed"
th_token SIGVG
TOOL=$TH_BUILD/tests/sig_tool
tok="pkcs11:token=$TH_TOKEN_LABEL"
SIG="$TOOL -m $TH_MODULE -p file:$TH_PIN_FILE"

vg() {
	local what=$1 rc
	shift
	set +e
	th_valgrind "$@" >"$T/vg.out" 2>"$T/vg.err"
	rc=$?
	set -e
	if [ "$rc" = 99 ] || grep -q "definitely lost: [1-9]" "$T/vg.err"; then
		cat "$T/vg.err" >&2
		th_fail "valgrind: $what"
	fi
	echo "$rc"
}

[ "$(vg "test_wire" "$TH_BUILD/tests/test_wire")" = 0 ] || th_fail "test_wire under valgrind"
[ "$(vg "test_jws" "$TH_BUILD/tests/test_jws")" = 0 ] || th_fail "test_jws under valgrind"
[ "$(vg "sign" $SIG -n "$tok;object=acctrsa" -c "$tok;object=acct384" "$TH_KEY" \
	sign https://ca.test/x n1 - '{"a":1}')" = 0 ] || th_fail "sign under valgrind"
[ "$(vg "sign-many" $SIG "$TH_KEY" sign-many 20 https://ca.test/x)" = 0 ] || th_fail "sign-many"
[ "$(vg "keychange" $SIG -n "$tok;object=acctrsa" "$TH_KEY" keychange https://ca.test/kc \
	https://ca.test/acct/1)" = 0 ] || th_fail "keychange under valgrind"
[ "$(vg "csr" $SIG -c "$tok;object=acct384" "$TH_KEY" csr a.test b.test)" = 0 ] ||
	th_fail "csr under valgrind"
[ "$(vg "jwk" $SIG "$TH_KEY" jwk)" = 0 ] || th_fail "jwk under valgrind"
[ "$(vg "malformed" $SIG "$TH_KEY" malformed)" = 0 ] || th_fail "malformed under valgrind"
[ "$(vg "key show" $SIG "$TH_KEY" keyshow json)" = 0 ] || th_fail "key show under valgrind"
[ "$(vg "key generate" $SIG "$tok;object=vgnew" keygen ec256)" = 0 ] ||
	th_fail "key generate under valgrind"
[ "$(vg "missing key" $SIG "$tok;object=nosuchkey" alg)" = 2 ] || th_fail "missing key status"
printf '9999\n' >"$T/badpin"
[ "$(vg "wrong PIN" $TOOL -m "$TH_MODULE" -p "file:$T/badpin" "$TH_KEY" alg)" = 2 ] ||
	th_fail "wrong PIN status"
echo ok
