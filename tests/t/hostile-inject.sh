#!/usr/bin/env bash
# Hostile CA: terminal and log injection. A problem document whose detail and
# subproblems carry escape sequences (retitle, clear, a fake "all good" line),
# newlines, C1 controls and invalid UTF-8; a 900 KB detail; a termsOfService URL
# with escapes. p11acme prints each only escaped and bounded: no byte below 0x20
# but newline and no invalid UTF-8 on stderr, no line longer than a few KiB,
# "(N bytes cut)" for the huge detail; exit 1 and the previous live set intact.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail problem-inject 10 'rejectedIdentifier|pwned|all good'
hc_assert_clean "$T/out-problem-inject" problem-inject
grep -q 'victim.example.net\\nupdate add' "$T/out-problem-inject" ||
	hc_fail "the subproblem's identifier is not shown escaped: $(cat "$T/out-problem-inject")"
# the forged line must not start a line of its own
grep -q '^p11acme: all good' "$T/out-problem-inject" && hc_fail "a forged line reached stderr"

hc_expect_fail problem-huge 10 'bytes cut'
size=$(wc -c <"$T/out-problem-huge")
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/out-problem-huge")
th_log "problem-huge: $size bytes of output, longest line $longest"
[ "$longest" -le 4096 ] || hc_fail "a line of $longest bytes: the 900 KB detail is not bounded"
hc_assert_clean "$T/out-problem-huge" problem-huge

# termsOfService is printed by account register.
HC_MODE=tos-inject
hc_start tos-inject
rm -f "$T"/etc/accounts/*/directory.json
rc=0
$P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" --timeout "$HC_TIMEOUT" \
	account register --agree-tos --email admin@hostile.test >"$T/out-tos" 2>&1 || rc=$?
hc_stop
th_log "tos-inject: exit $rc: $(grep -m1 terms "$T/out-tos" || true)"
grep -q 'terms of service' "$T/out-tos" || hc_fail "the terms of service were not shown: $(cat "$T/out-tos")"
hc_assert_clean "$T/out-tos" tos-inject
hc_done
