#!/bin/bash
# Atomicity of renewal: while `renew --force` runs 20 times, a reader keeps loading
# live/NAME/fullchain.pem and live/NAME/privkey.pem and checks that the certificate
# matches the key. A reader that opens live/NAME once and reads both files from it
# must never see a mismatch or a partial file. A reader that opens the two paths
# independently is measured and reported: with one live symlink, the switch can land
# between its two opens (that is why the deploy hook, which runs after the switch,
# is where a server should reload).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

N=${RENEW_ATOMIC_N:-20}
th_token
th_pebble_start
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
fc_dns_hook "$T/hook"
th_p11acme issue -d at.test --dns-hook "$T/hook" >/dev/null 2>&1 || th_fail "issue failed"
first=$(readlink "$T/etc/live/at.test")

python3 "$TH_ROOT/tests/lib/live_reader.py" "$T/etc" at.test "$T/stop" 400 >"$T/reader.json" &
reader=$!
th_track $reader
sleep 0.5
start=$(date +%s)
for i in $(seq "$N"); do
	th_p11acme renew --cert-name at.test --force >"$T/r.out" 2>"$T/r.err" || {
		cat "$T/r.err" >&2; th_fail "renewal $i failed"; }
	grep -q '^at.test: renewed' "$T/r.out" || th_fail "renewal $i: $(cat "$T/r.out")"
done
secs=$(( $(date +%s) - start ))
sleep 0.5
touch "$T/stop"
wait $reader
th_untrack $reader
[ "$(readlink "$T/etc/live/at.test")" != "$first" ] || th_fail "live never changed"
[ "$(ls "$T/etc/archive/at.test" | wc -l)" = $((N + 1)) ] || th_fail "archive: $(ls "$T/etc/archive/at.test")"
th_log "$N renewals in ${secs}s; reader: $(cat "$T/reader.json")"
python3 - "$T/reader.json" "$N" <<'PY' || th_fail "reader: $(cat "$T/reader.json")"
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
d = s["dir"]
assert d["iterations"] > 20 * n, "the reader barely ran"
assert d["mismatches"] == 0 and d["errors"] == 0, "dir reader saw a mismatch or a partial file"
assert d["certificates"] >= n // 2, "the dir reader saw too few of the renewals"
p = s["path"]
assert p["errors"] == 0, "path reader saw a partial file"
print("path reader: %d mismatches in %d reads (the symlink switched between its two opens)"
      % (p["mismatches"], p["iterations"]), file=sys.stderr)
PY
echo "renew-atomic: ok"
