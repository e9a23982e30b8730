#!/usr/bin/env bash
# 8 `issue` runs at once, for 8 names, against the same SoftHSM token (one token
# directory, so the signers' logins contend: tokens/ serialises them), the same
# account and the same config dir, with dns-01 through a hook (one standalone
# port could not serve 8 runs). All 8 succeed; each live set verifies and matches
# its key; no temporary file is left.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@concurrent.test
fc_dns_hook "$T/hook"
pids=""
for i in 1 2 3 4 5 6 7 8; do
	th_p11acme issue -d "c$i.test" --dns-hook "$T/hook" >"$T/out-$i" 2>&1 &
	pids="$pids $!"
	th_track $!
done
i=0
fails=0
for pid in $pids; do
	i=$((i + 1))
	rc=0
	wait "$pid" || rc=$?
	th_untrack "$pid"
	if [ "$rc" != 0 ]; then
		fails=$((fails + 1))
		th_log "run $i (c$i.test): exit $rc: $(tr '\n' ' ' <"$T/out-$i")"
	fi
done
[ "$fails" = 0 ] || th_fail "$fails of 8 concurrent issues failed"
for i in 1 2 3 4 5 6 7 8; do
	th_verify_cert "$T/etc/live/c$i.test/fullchain.pem" "c$i.test"
	fc_check_sets "$T/etc" "c$i.test"
done
