#!/usr/bin/env bash
# Hostile CA: challenge tokens with "../", "/" and a NUL (JSON \u0000, followed by
# "/../../escaped"). With --webroot, p11acme must refuse the token before it
# builds a file name or answers the challenge: exit 1, an error naming the token
# (or rejecting the whole document as malformed),
# no file outside the webroot (the "../../../escaped" token would land in $T), no
# file left in the webroot, and no challenge POST seen by the CA (a client that
# truncates at the NUL would answer "abc...z", a token the CA never sent).
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
for mode in token-dotdot token-slash token-nul; do
	hc_expect_fail "$mode" 10 'token|malformed' --webroot "$T/webroot"
	grep -q '^CHALLENGE-RESPONDED' "$HC_LOG" &&
		hc_fail "p11acme answered a challenge whose token it should have refused"
	left=$(find "$T/webroot" -type f | head -n 3)
	[ -z "$left" ] || hc_fail "files left in the webroot: $left"
	[ ! -e "$T/escaped" ] || hc_fail "a file was written through the token's ../"
	find "$T" -name escaped -print | grep -q . && hc_fail "a file named 'escaped' exists"
done
hc_done
