#!/usr/bin/env bash
# SIGTERM and SIGINT during an issuance still undo what the run created: the
# webroot challenge file (and the .well-known directories p11acme made for it) is
# removed, and the dns-01 hook's "failed" (its cleanup) runs for each challenge
# it began, within a few seconds; then p11acme dies of the signal (exit 143 /
# 130 from the shell). The hostile CA accepts the challenge but keeps the
# authorization pending, so the signal comes while p11acme polls it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_tls
mkdir -p "$T/webroot"

# interrupted SIGNAL EXIT SOLVER...: run issue, send SIGNAL once the challenge
# was answered, expect EXIT within a few seconds.
interrupted() {
	local sig=$1 want=$2 pid rc=0 start took
	shift 2
	hc_start authz-stuck
	# default dispositions: a background job of a script starts with SIGINT ignored
	env --default-signal=INT,TERM "$TH_BUILD/p11acme" --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
		--timeout 60 issue -d sig.test -d www.sig.test --force "$@" >"$T/out-$sig" 2>&1 &
	pid=$!
	th_track "$pid"
	for _ in $(seq 100); do
		[ "$(grep -c '^CHALLENGE-ANSWERED' "$HC_LOG")" = 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c '^CHALLENGE-ANSWERED' "$HC_LOG")" = 2 ] || th_fail "$sig: the challenges were not answered: $(cat "$T/out-$sig")"
	sleep 0.3
	start=$(date +%s.%N)
	kill "-$sig" "$pid"
	wait "$pid" || rc=$?
	th_untrack "$pid"
	took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	hc_stop
	th_log "$sig: exit $rc after ${took}s"
	[ "$rc" = "$want" ] || th_fail "$sig: exit $rc, expected $want: $(cat "$T/out-$sig")"
	awk -v t="$took" 'BEGIN { exit !(t <= 7) }' || th_fail "$sig: the cleanup took ${took}s"
}

interrupted TERM 143 --webroot "$T/webroot"
left=$(find "$T/webroot" -mindepth 1 | head -n 3)
[ -z "$left" ] || th_fail "SIGTERM left in the webroot: $left"

rm -f "$HC_HOOK_LOG"
interrupted INT 130 --dns-hook "$HC_HOOK"
begin=$(hc_hook_calls begin) failed=$(hc_hook_calls failed)
th_log "SIGINT: hook begin $begin, failed $failed"
[ "$begin" = 2 ] && [ "$failed" = 2 ] || th_fail "SIGINT: hook begin $begin, failed $failed; expected 2 and 2"
[ ! -e "$T/etc/live/sig.test" ] || th_fail "a live set after an interrupted run"
echo ok
