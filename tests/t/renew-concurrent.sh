#!/bin/bash
# Two `renew --all` runs at once over three certificates that are due (aged sets
# planted with tests/lib/age_cert.py: 80 days old, 10 days left). Each certificate is
# renewed exactly once (one new order per name in Pebble's log, one new archive
# entry), and the deploy hook runs exactly once per renewal: the run that waited
# for the per-name lock re-checks after taking it and finds the new certificate
# not due. Then: a lock held past --lock-wait makes renew skip the name, exit 1.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
fc_dns_hook "$T/hook"
export DEPLOY_LOG=$T/deploy.log
# The hook sleeps, so the lock is held long enough that the runs surely overlap.
cat >"$T/deploy.sh" <<'SH'
#!/bin/sh
echo "$P11ACME_CERT_NAME $(readlink "$P11ACME_LIVE_DIR")" >>"$DEPLOY_LOG"
sleep 1
SH
chmod +x "$T/deploy.sh"
names="c1.test c2.test c3.test"
for n in $names; do
	th_p11acme issue -d "$n" --dns-hook "$T/hook" --deploy-hook "$T/deploy.sh" >/dev/null 2>&1 ||
		th_fail "issue $n failed"
done

for round in 1 2; do
	for n in $names; do
		python3 "$TH_ROOT/tests/lib/age_cert.py" "$T/etc" "$n" 80 10 "$n" >"$T/aged.$n"
	done
	: >"$DEPLOY_LOG"
	o0=$(th_orders)
	th_expect_exit 0 th_p11acme renew --dry-run
	[ "$(grep -c 'would renew' "$T/out")" = 3 ] || th_fail "the aged certificates are not due: $(cat "$T/out")"
	th_p11acme renew --all >"$T/run1.out" 2>"$T/run1.err" &
	p1=$!
	th_p11acme renew --all >"$T/run2.out" 2>"$T/run2.err" &
	p2=$!
	th_track "$p1"
	th_track "$p2"
	rc1=0 rc2=0
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	th_untrack "$p1"
	th_untrack "$p2"
	[ "$rc1" = 0 ] && [ "$rc2" = 0 ] || {
		cat "$T/run1.err" "$T/run2.err" >&2
		th_fail "round $round: exits $rc1 and $rc2"
	}
	[ "$(th_orders)" = $((o0 + 3)) ] || th_fail "round $round: $(( $(th_orders) - o0 )) new orders for 3 names"
	for n in $names; do
		aged=$(cat "$T/aged.$n")
		renewed=$(cat "$T/run1.out" "$T/run2.out" | grep -c "^$n: renewed" || true)
		notdue=$(cat "$T/run1.out" "$T/run2.out" | grep -c "^$n: not due" || true)
		[ "$renewed" = 1 ] && [ "$notdue" = 1 ] ||
			th_fail "round $round: $n renewed $renewed times, not due $notdue times"
		[ "$(grep -c "^$n " "$DEPLOY_LOG")" = 1 ] ||
			th_fail "round $round: the deploy hook ran $(grep -c "^$n " "$DEPLOY_LOG") times for $n"
		# exactly one archive entry after the aged one, and live points at it
		[ -d "$T/etc/archive/$n/$((aged + 1))" ] && [ ! -e "$T/etc/archive/$n/$((aged + 2))" ] ||
			th_fail "round $round: $n archive: $(ls "$T/etc/archive/$n" | tr '\n' ' ')"
		[ "$(readlink "$T/etc/live/$n")" = "../archive/$n/$((aged + 1))" ] || th_fail "live/$n"
		grep -qx "$n ../archive/$n/$((aged + 1))" "$DEPLOY_LOG" || th_fail "hook saw: $(cat "$DEPLOY_LOG")"
		th_verify_cert "$T/etc/live/$n/fullchain.pem" "$n"
		th_cert_matches_key "$T/etc/live/$n/cert.pem" "$T/etc/live/$n/privkey.pem"
	done
	waited=$(cat "$T/run1.err" "$T/run2.err" | grep -c 'another renew holds the lock' || true)
	[ "$waited" -ge 1 ] || th_fail "round $round: the runs never met at a lock"
	th_log "round $round: 3 renewals, 3 hook runs; $waited lock waits"
done

# A lock held elsewhere past --lock-wait: skipped, said so, exit 1, nothing ordered.
o0=$(th_orders)
flock "$T/etc/renewal/.c1.test.lock" sleep 30 &
holder=$!
th_track $holder
th_wait_locked "$T/etc/renewal/.c1.test.lock"
python3 "$TH_ROOT/tests/lib/age_cert.py" "$T/etc" c1.test 80 10 c1.test >/dev/null
start=$(date +%s)
th_expect_exit 1 th_p11acme renew --cert-name c1.test --lock-wait 2
[ $(( $(date +%s) - start )) -le 10 ] || th_fail "--lock-wait 2 was not bounded"
grep -q 'c1.test: skipped: another renew still holds' "$T/out" || th_fail "no skip message: $(cat "$T/out")"
[ "$(th_orders)" = "$o0" ] || th_fail "a skipped name was ordered"
kill $holder; wait $holder 2>/dev/null || true; th_untrack $holder
th_expect_exit 0 th_p11acme renew --cert-name c1.test
grep -q '^c1.test: renewed' "$T/out" || th_fail "after the lock was freed: $(cat "$T/out")"
echo "renew-concurrent: ok"
