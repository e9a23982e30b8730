#!/usr/bin/env bash
# The poll schedule after finalize (client/acme.c poll_pause): a backoff from 10 ms,
# doubling to 1.6 s, that is also the floor of every pause. Against
# tests/lib/hostile_ca.py, whose order stays "processing" after finalize:
#  - poll-storm (Retry-After: 0): the CA cannot shorten the pauses, so a 5 s run
#    polls about 10 times (a 30 s one about 25), not hundreds; every pause is >= 10 ms and none is shorter
#    than the one before;
#  - processing-forever (Retry-After: 1): a Retry-After longer than the backoff is
#    honoured: no pause under 1 s.
# The pauses are read from P11ACME_TRACE (common/trace.h), the polls from the CA's log.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_tls
TIMEOUT=5
[ "${P11ACME_VALGRIND:-0}" = 1 ] && TIMEOUT=30

# poll_run MODE: one issuance against the hostile CA in MODE, traced; sets POLLS.
poll_run() {
	local mode=$1 rc=0
	hc_start "$mode"
	rm -f "$T/trace-$mode"
	P11ACME_TRACE="$T/trace-$mode" timeout -k 5 $((TIMEOUT * 3)) $P11ACME --server "$HC_SERVER" \
		--ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc-$mode" --timeout "$TIMEOUT" \
		issue -d poll.test --standalone --http-port "$(th_free_port)" >"$T/out-$mode" 2>&1 || rc=$?
	hc_stop
	[ "$rc" = 1 ] || th_fail "$mode: exit $rc, expected 1: $(tail -n 3 "$T/out-$mode")"
	grep -Eqi 'error:.*(deadline|processing)' "$T/out-$mode" ||
		th_fail "$mode: no message about the deadline: $(tail -n 3 "$T/out-$mode")"
	POLLS=$(grep -c '^POST /order/1$' "$HC_LOG" || true)
	awk '$3 == "pause" { print $4 }' "$T/trace-$mode" >"$T/pauses-$mode"
	th_log "$mode: $POLLS order polls in ${TIMEOUT}s; pauses (ms): $(tr '\n' ' ' <"$T/pauses-$mode")"
}

poll_run poll-storm
[ "$POLLS" -ge 3 ] || th_fail "poll-storm: only $POLLS polls: the order was not polled until the deadline"
# The schedule allows about 8 polls in its first 2.6 s, then one per 1.6 s: the most a
# run of TIMEOUT seconds can make, with room for one slow poll (valgrind runs 30 s).
max=$((10 + TIMEOUT * 1000 / 1600))
[ "$POLLS" -le "$max" ] || th_fail "poll-storm: $POLLS polls in ${TIMEOUT}s (at most $max): Retry-After: 0 made a poll storm"
awk 'NR == 1 && $1 < 10 { print "first pause " $1 " ms < 10 ms"; exit 1 }
     NR > 1 && $1 < prev { print "pause " $1 " ms after " prev " ms"; exit 1 }
     { prev = $1 } END { if (NR < 3) { print "only " NR " pauses"; exit 1 } }' \
	"$T/pauses-poll-storm" >"$T/why" || th_fail "poll-storm: $(cat "$T/why")"

poll_run processing-forever
[ "$POLLS" -ge 2 ] || th_fail "processing-forever: only $POLLS polls"
awk '$1 < 1000 { print "pause " $1 " ms under the CA'\''s Retry-After: 1"; exit 1 }' \
	"$T/pauses-processing-forever" >"$T/why" || th_fail "processing-forever: $(cat "$T/why")"
