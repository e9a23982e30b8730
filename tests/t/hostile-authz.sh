#!/usr/bin/env bash
# Hostile CA: authorizations the order never asked for. An order for hostile.test
# whose second authorization is for victim.example.net; one whose identifiers are
# an nsupdate script ("...\nupdate add evil.example.net 60 TXT pwned\nsend") and
# "--..." with terminal escapes. p11acme must check every authorization against
# the names ordered before it answers any challenge or runs any hook: exit 1, an
# error naming the authorization, no hook call, no challenge POST, no webroot
# file, stderr without raw control bytes, the previous live set intact.
# Also: a pending order with no authorizations fails at once; a name with a
# leading hyphen is refused before any request; with 10 names and one failing
# authorization the dns hook's done/failed match each authorization's end.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup

for mode in authz-foreign authz-inject; do
	rm -f "$HC_HOOK_LOG"
	hc_expect_fail "$mode" 10 'not ordered|authorization' --dns-hook "$HC_HOOK"
	[ "$(hc_hook_calls begin)" = 0 ] || hc_fail "the dns hook ran for an order with a foreign authorization"
	grep -q '^CHALLENGE' "$HC_LOG" && hc_fail "a challenge was answered"
	hc_assert_clean "$T/out-$mode" "$mode stderr"
	hc_hook_argv_clean
	hc_expect_fail "$mode" 10 'not ordered|authorization' --webroot "$T/webroot"
	grep -q '^CHALLENGE' "$HC_LOG" && hc_fail "a challenge was answered (webroot)"
	[ -z "$(find "$T/webroot" -type f | head -n 1)" ] || hc_fail "a challenge file was written"
	hc_assert_clean "$T/out-$mode" "$mode stderr (webroot)"
done

hc_expect_fail empty-authz 5 'no authorizations'
polls=$(grep -c '^POST /order/1$' "$HC_LOG" || true)
[ "$polls" -le 1 ] || hc_fail "empty-authz: the order was polled $polls times"

# A name no CA may be asked for: refused before any request (exit 2).
HC_MODE=leading-hyphen
hc_start ok
rc=0
$P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" issue -d -x.example.org \
	--webroot "$T/webroot" >"$T/out-hyphen" 2>&1 || rc=$?
hc_stop
[ "$rc" = 2 ] || hc_fail "exit $rc for -d -x.example.org, expected 2: $(cat "$T/out-hyphen")"
grep -q 'not a DNS name' "$T/out-hyphen" || hc_fail "no message: $(cat "$T/out-hyphen")"
grep -Eq '^(GET|POST|HEAD) ' "$HC_LOG" && hc_fail "a request was sent before the name was checked: $(tr '\n' ' ' <"$HC_LOG")"

# 10 names, the fourth one's authorization fails: 9 done, 1 failed, for that name.
rm -f "$HC_HOOK_LOG"
set -- --dns-hook "$HC_HOOK"
for i in 1 2 3 4 5 6 7 8 9; do set -- "$@" -d "n$i.$HC_NAME"; done
hc_expect_fail authz-one-fails 15 'invalid|unauthorized|authoriz' "$@"
begin=$(hc_hook_calls begin) done=$(hc_hook_calls done) failed=$(hc_hook_calls failed)
th_log "authz-one-fails: hook begin $begin, done $done, failed $failed"
[ "$begin" = 10 ] && [ "$done" = 9 ] && [ "$failed" = 1 ] ||
	hc_fail "hook calls: begin $begin, done $done, failed $failed; expected 10, 9, 1"
/usr/bin/python3 - "$HC_HOOK_LOG" <<'PY' || hc_fail "the failed call is not for the fourth name (n3.hostile.test)"
import sys
calls = [c.split(b"\0") for c in open(sys.argv[1], "rb").read().split(b"\0\0") if c]
failed = [c[2] for c in calls if c[0] == b"failed"]
sys.exit(0 if failed == [b"n3.hostile.test"] else 1)
PY
hc_done
