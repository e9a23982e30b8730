#!/usr/bin/env bash
# Hostile CA: a directory that fails the origin checks is not cached. The CA's
# first directory names newOrder on another host; the run fails (exit 1, no
# request to the other host, live set intact). The CA is repaired (every later
# directory is right): the next run, with the same config dir and without
# removing any cache, must fetch the directory again and succeed.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_tls
hc_start dir-elsewhere-once
run() {
	local rc=0
	$P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
		--timeout 20 issue -d dircache.test --standalone --http-port "$(th_free_port)" \
		>"$T/out-$1" 2>&1 || rc=$?
	echo "$rc"
}
rc=$(run first)
[ "$rc" = 1 ] || th_fail "first run: exit $rc, expected 1: $(cat "$T/out-first")"
grep -q 'another host than its directory' "$T/out-first" || th_fail "first run: $(cat "$T/out-first")"
grep -q '^CONNECT elsewhere' "$HC_LOG" && th_fail "p11acme connected to the other host"
[ ! -e "$T/etc/live/dircache.test" ] || th_fail "a live set after the first run"
ls "$T"/etc/accounts/*/directory.json 2>/dev/null && th_fail "the bad directory was cached"
rc=$(run second)
[ "$rc" = 0 ] || th_fail "second run against the repaired CA: exit $rc: $(cat "$T/out-second")"
[ "$(grep -c '^GET /dir' "$HC_LOG")" = 2 ] || th_fail "the directory was not fetched again"
[ -f "$T/etc/live/dircache.test/fullchain.pem" ] || th_fail "no live set after the second run"
ls "$T"/etc/accounts/*/directory.json >/dev/null 2>&1 || th_fail "the good directory was not cached"
hc_stop
