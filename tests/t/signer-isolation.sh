#!/usr/bin/env bash
# valgrind: yes
# Process isolation of the signer: the parent maps no PKCS#11 module and keeps no PIN
# (env: wiped, fd: closed); the child holds no inherited descriptor, dies within 1 s
# when the parent is SIGKILLed, answers malformed frames with errors and keeps
# serving; configuration errors and runtime errors give different statuses.
. "$(dirname "$0")/../lib/harness.sh"

th_token SIGISO
TOOL=$TH_BUILD/tests/sig_tool

# env: PIN. The child reads it after the fork; the parent wipes it without reading it.
out=$(P11ACME_TEST_PIN=1234 $TOOL -m "$TH_MODULE" -p env:P11ACME_TEST_PIN "$TH_KEY" \
	isolation P11ACME_TEST_PIN 1234) || th_fail "env: PIN: signer failed or parent not isolated"
[ "$out" = isolated ] || th_fail "env: PIN: $out"

# fd: PIN. The parent closes the descriptor; the signer still logged in.
out=$($TOOL -m "$TH_MODULE" -p fd:5 "$TH_KEY" isolation 5<"$TH_PIN_FILE") ||
	th_fail "fd: PIN: signer failed or parent not isolated"
[ "$out" = isolated ] || th_fail "fd: PIN: $out"

# file: PIN, and a PIN source given in the URI itself.
out=$($TOOL -m "$TH_MODULE" "$TH_KEY?pin-source=file:$TH_PIN_FILE" isolation) ||
	th_fail "pin-source in the URI"
[ "$out" = isolated ] || th_fail "URI pin-source: $out"

# The child closes what it inherited, and dies with its parent.
$TOOL -m "$TH_MODULE" -p "file:$TH_PIN_FILE" "$TH_KEY" hold >"$T/hold.pid" 7</dev/null 8>"$T/leak" &
parent=$!
th_track "$parent"
for _ in $(seq 100); do [ -s "$T/hold.pid" ] && break; sleep 0.05; done
child=$(cat "$T/hold.pid")
[ -n "$child" ] && [ -d "/proc/$child" ] || th_fail "no signer child"
[ "$(awk '/^PPid:/ {print $2}' "/proc/$child/status")" = "$parent" ] || th_fail "child's parent"
for fd in 7 8; do
	[ -e "/proc/$child/fd/$fd" ] && th_fail "the signer kept inherited descriptor $fd"
done
kill -9 "$parent"
wait "$parent" 2>/dev/null || true
th_untrack "$parent"
gone=0
for _ in $(seq 20); do
	if [ ! -d "/proc/$child" ] || grep -q '^State:[[:space:]]*Z' "/proc/$child/status" 2>/dev/null; then
		gone=1
		break
	fi
	sleep 0.05
done
[ "$gone" = 1 ] || { kill -9 "$child" 2>/dev/null; th_fail "the signer outlived its parent by 1 s"; }

# Malformed frames: truncated, oversized (as a message and as a prefix), unknown op,
# bad version, bad key selector, short prefix. Each gets an error; the signer serves on
# and exits with status 0 at EOF.
out=$($TOOL -m "$TH_MODULE" -p "file:$TH_PIN_FILE" "$TH_KEY" malformed 2>"$T/malformed.err") ||
	{ cat "$T/malformed.err" >&2; th_fail "malformed frames: $out"; }
[ "$out" = ok ] || th_fail "malformed frames: $out"
grep -q "unknown operation" "$T/malformed.err" || th_fail "no message for an unknown op"
grep -q "larger than" "$T/malformed.err" || th_fail "no message for an oversized frame"

# Exit statuses: a key that does not exist is a configuration error (SIGNER_ERR_CONFIG
# -> 2, reported through the ready frame); so is a wrong PIN (SIGNER_ERR_PIN -> 2).
set +e
$TOOL -m "$TH_MODULE" -p "file:$TH_PIN_FILE" "pkcs11:token=$TH_TOKEN_LABEL;object=nosuchkey" alg 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || th_fail "a missing key gave status $rc, want 2"
printf '9999\n' >"$T/badpin"
set +e
$TOOL -m "$TH_MODULE" -p "file:$T/badpin" "$TH_KEY" alg 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || th_fail "a wrong PIN gave status $rc, want 2"
echo ok
