#!/usr/bin/env bash
# tokens/: PIN sources. A PIN file ending in a newline works (and \r\n), an env: PIN
# is gone from the environment (and from /proc/self/environ) after reading, fd: works,
# pin-value works with a warning, and a wrong PIN costs exactly one C_Login, counted
# through OpenSC's pkcs11-spy, and leaves the token's CKF_USER_PIN_COUNT_LOW set;
# the same wrong PIN file is not tried again (no C_Login); a PIN file with two
# trailing newlines is refused before any login; a PIN file that group or others can
# read gets a warning.
. "$(dirname "$0")/../lib/harness.sh"

th_token tokpin
TOOL="$TH_BUILD/tests/tok_tool"
[ "${P11ACME_VALGRIND:-0}" = 1 ] && TOOL="$TH_VALGRIND $TOOL"
tt() { $TOOL --module "$TH_MODULE" --marker-dir "$T/state" "$@"; }
SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so

# file: with "\n" (the harness writes "1234\n") and with "\r\n"
th_expect_exit 0 tt --pin-source "file:$TH_PIN_FILE" sign "$TH_KEY"
grep -q '^sign ok EC' "$T/out" || th_fail "PIN file with a trailing newline: $(cat "$T/out")"
printf '1234\r\n' >"$T/pin-crlf"
th_expect_exit 0 tt --pin-source "file:$T/pin-crlf" open "$TH_KEY"
# exactly one newline is stripped: a PIN that ends in another one is refused before
# any login (no token try is spent on it)
printf '1234\n\n' >"$T/pin-2nl"
printf '1234\r\n\r\n' >"$T/pin-2crlf"
for f in pin-2nl pin-2crlf; do
	PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy-$f.log" \
		th_expect_exit 2 tt --module "$SPY" --pin-source "file:$T/$f" open "$TH_KEY"
	grep -q "ends in more than one line break" "$T/out" || th_fail "$f: $(cat "$T/out")"
	n=$(grep -c '^[0-9]*: C_Login' "$T/spy-$f.log" || true)
	[ "$n" = 0 ] || th_fail "$f: $n C_Login calls, expected none"
done
pkcs11-tool --module "$TH_MODULE" -T | grep -q 'user PIN count low' &&
	th_fail "a PIN with two newlines reached the token"
# a PIN file others can read: a warning, and the login goes on
cp "$TH_PIN_FILE" "$T/pin-644"
chmod 0644 "$T/pin-644"
th_expect_exit 0 tt --pin-source "file:$T/pin-644" open "$TH_KEY"
grep -q "warning: .*PIN file $T/pin-644 is readable by every user (mode 0644).*chmod 600" "$T/out" ||
	th_fail "no warning for a 0644 PIN file: $(cat "$T/out")"
chmod 0640 "$T/pin-644"
th_expect_exit 0 tt --pin-source "file:$T/pin-644" open "$TH_KEY"
grep -q "readable by its group (mode 0640)" "$T/out" || th_fail "0640: $(cat "$T/out")"
th_expect_exit 0 tt --pin-source "file:$TH_PIN_FILE" open "$TH_KEY"
grep -q "readable by" "$T/out" && th_fail "a warning for a 0600 PIN file: $(cat "$T/out")"

# env: the variable is unset and its value wiped in place
P11ACME_TEST_PIN=1234 th_expect_exit 0 tt --pin-source env:P11ACME_TEST_PIN \
	--environ "$T/environ" open "$TH_KEY"
grep -q '^pin-env: gone$' "$T/out" || th_fail "env PIN still set after reading: $(cat "$T/out")"
python3 - "$T/environ" <<'PY' || th_fail "the env PIN is still in /proc/self/environ"
import sys
env = open(sys.argv[1], "rb").read().split(b"\0")
bad = [e for e in env if e.startswith(b"P11ACME_TEST_PIN=") and b"1234" in e]
sys.exit(1 if bad else 0)
PY
P11ACME_TEST_PIN=1234 th_expect_exit 0 tt --pin-source env:P11ACME_TEST_PIN open "$TH_KEY"
th_expect_exit 2 tt --pin-source env:P11ACME_NO_SUCH_VAR open "$TH_KEY"
grep -q 'P11ACME_NO_SUCH_VAR is not set' "$T/out" || th_fail "unset env: $(cat "$T/out")"

# fd:N and pin-source/pin-value in the URI
th_expect_exit 0 tt --pin-source fd:7 open "$TH_KEY" 7<"$TH_PIN_FILE"
th_expect_exit 0 tt open "$TH_KEY?pin-source=file:$TH_PIN_FILE"
th_expect_exit 0 tt open "$TH_KEY?pin-value=1234"
grep -q 'warning: .*pin-value' "$T/out" || th_fail "pin-value without a warning: $(cat "$T/out")"
grep -q '1234' "$T/out" && th_fail "the PIN appears in a message: $(cat "$T/out")"
th_expect_exit 2 tt --pin-source bogus:1 open "$TH_KEY"
grep -q "unusable PIN source 'bogus:1'" "$T/out" || th_fail "bad source: $(cat "$T/out")"
# no source and no terminal: a clear error, no login attempt
th_expect_exit 2 tt open "$TH_KEY" </dev/null
grep -q 'no PIN source' "$T/out" || th_fail "no source: $(cat "$T/out")"

# a wrong PIN: one C_Login, a message that says so, and the token saw one failure
pkcs11-tool --module "$TH_MODULE" -T | grep -q 'user PIN count low' &&
	th_fail "the token reports an earlier wrong PIN before the test"
printf '9999\n' >"$T/pin-wrong"
PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy.log" \
	th_expect_exit 2 tt --module "$SPY" --pin-source "file:$T/pin-wrong" open "$TH_KEY"
grep -q "PIN for token 'tokpin' is wrong (CKR_PIN_INCORRECT)" "$T/out" ||
	th_fail "wrong PIN message: $(cat "$T/out")"
n=$(grep -c '^[0-9]*: C_Login' "$T/spy.log" || true)
[ "$n" = 1 ] || th_fail "a wrong PIN caused $n C_Login calls, expected exactly 1"
pkcs11-tool --module "$TH_MODULE" -T | grep -q 'user PIN count low' ||
	th_fail "the token does not report the failed login (CKF_USER_PIN_COUNT_LOW)"
# the same PIN file again: refused without a login, naming the marker
PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy1.log" \
	th_expect_exit 2 tt --module "$SPY" --pin-source "file:$T/pin-wrong" open "$TH_KEY"
n=$(grep -c '^[0-9]*: C_Login' "$T/spy1.log" || true)
[ "$n" = 0 ] || th_fail "the refused PIN file was tried again ($n C_Login calls)"
grep -q "refused the PIN from file:$T/pin-wrong before.*remove $T/state/pin-failed/tokpin\." "$T/out" ||
	th_fail "second try of a refused PIN: $(cat "$T/out")"
# the next open warns about the earlier failure, and succeeds with one C_Login
PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy2.log" \
	th_expect_exit 0 tt --module "$SPY" --pin-source "file:$TH_PIN_FILE" open "$TH_KEY"
grep -q 'CKF_USER_PIN_COUNT_LOW' "$T/out" || th_fail "no warning after a wrong PIN: $(cat "$T/out")"
n=$(grep -c '^[0-9]*: C_Login' "$T/spy2.log" || true)
[ "$n" = 1 ] || th_fail "a good open made $n C_Login calls, expected 1"
# a systemd credential ($CREDENTIALS_DIRECTORY/NAME) is a new copy on every start (new
# inode and mtime): it is still the same source, and refused until the marker goes
mkdir -p "$T/run1" "$T/run2"
printf '9998\n' >"$T/run1/pin"
CREDENTIALS_DIRECTORY=$T/run1 th_expect_exit 2 tt --pin-source "file:$T/run1/pin" open "$TH_KEY"
cp "$T/run1/pin" "$T/run2/pin"
CREDENTIALS_DIRECTORY=$T/run2 PKCS11SPY=$TH_MODULE PKCS11SPY_OUTPUT="$T/spy3.log" \
	th_expect_exit 2 tt --module "$SPY" --pin-source "file:$T/run2/pin" open "$TH_KEY"
n=$(grep -c '^[0-9]*: C_Login' "$T/spy3.log" || true)
[ "$n" = 0 ] || th_fail "a new copy of a refused credential was tried ($n C_Login calls)"
grep -q "the file the unit loads this credential from (LoadCredential=), then remove $T/state/pin-failed/" "$T/out" ||
	th_fail "credential: $(cat "$T/out")"
th_expect_exit 0 tt --pin-source "file:$TH_PIN_FILE" open "$TH_KEY"
echo "tokens-pin: ok"
