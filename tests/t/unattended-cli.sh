#!/bin/bash
# valgrind: yes
# The command line as a new administrator types it (issue 15), against one Pebble:
# global options after the command (`renew --all --json`, `issue -d N --server URL`,
# `-v`/`-q` anywhere); long options are never abbreviated, and a mistyped option's
# value (`--pin 1234`) is echoed nowhere; `-q renew` prints nothing when nothing
# happened; with stderr on the journal (JOURNAL_STREAM) every message carries its
# sd-daemon priority (<3> errors); --timeout defaults to more than --hook-timeout and
# is recorded only when given; a --profile the CA does not offer is refused before
# any order.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
t0=$SECONDS
# the environment carries what the command line does not
p11() { P11ACME_KEY=$TH_KEY P11ACME_MODULE=$TH_MODULE P11ACME_PIN_SOURCE=file:$TH_PIN_FILE \
	P11ACME_CA_BUNDLE=$TH_CA_BUNDLE P11ACME_CONFIG_DIR=$T/etc $P11ACME "$@"; }
fc_dns_hook "$T/hook"

# ---- global options after the command
p11 account register --email ops@example.com --agree-tos --server "$TH_SERVER" >/dev/null ||
	th_fail "register with --server after the command"
p11 account show --json --server "$TH_SERVER" >"$T/show.json" || th_fail "account show --json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["url"]' "$T/show.json" ||
	th_fail "account show --json after the command: $(cat "$T/show.json")"
p11 issue -d a.test --dns-hook "$T/hook" --server "$TH_SERVER" --hook-timeout 7 -v -v \
	>"$T/issue.out" 2>"$T/issue.err" || th_fail "issue -d N --server URL: $(cat "$T/issue.err")"
grep -q 'bounds: 97 s for the issuance (--timeout), 7 s for each hook run' "$T/issue.err" ||
	th_fail "--timeout default with --hook-timeout 7: $(grep bounds "$T/issue.err")"
[ "$(cat "$T/issue.out")" = "$T/etc/live/a.test" ] || th_fail "issue printed: $(cat "$T/issue.out")"
grep -q '^timeout' "$T/etc/renewal/a.test.conf" && th_fail "a default --timeout was recorded"
grep -qx "server = $TH_SERVER" "$T/etc/renewal/a.test.conf" || th_fail "the server after the command was not used"
p11 -v -v issue -d b.test --cert-name bee --dns-hook "$T/hook" --server "$TH_SERVER" --timeout 200 \
	>/dev/null 2>"$T/issue2.err" || th_fail "issue --timeout 200: $(cat "$T/issue2.err")"
grep -q 'bounds: 390 s\|bounds: 200 s' "$T/issue2.err" && ! grep -q 'bounds: 390' "$T/issue2.err" ||
	th_fail "--timeout 200: $(grep bounds "$T/issue2.err")"
grep -qx 'timeout = 200' "$T/etc/renewal/bee.conf" || th_fail "a given --timeout was not recorded"
p11 -v -v account show --server "$TH_SERVER" 2>&1 >/dev/null | grep -q 'bounds: 390 s for the issuance' ||
	th_fail "the default --timeout is not 90 + the default --hook-timeout 300"
p11 renew --all --json >"$T/r.json" || th_fail "renew --all --json"
python3 - "$T/r.json" <<'PY' || th_fail "renew --all --json: $(cat "$T/r.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [o["name"] for o in objs] == ["a.test", "bee"], objs
assert all(o["renewed"] is False for o in objs), objs
PY
# key's own --key wins over the global one of the same name, after the command too
p11 key show --key "$TH_KEY" --json >"$T/key.json" || th_fail "key show --json after the command"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/key.json" || th_fail "key show --json: $(cat "$T/key.json")"

# ---- long options are never abbreviated; a mistyped option's value is echoed nowhere
for args in "--pin 4321 renew" "renew --pin 4321" "renew --pin=4321" "--conf $T/etc renew" \
	"issue -d x.test --stateless --pin 4321" "renew --cert-nam a.test" "--json renew --al"; do
	rc=0
	# shellcheck disable=SC2086
	p11 $args >"$T/ab.out" 2>"$T/ab.err" || rc=$?
	[ "$rc" = 2 ] || th_fail "'$args': exit $rc, expected 2 (an abbreviation was taken?)"
	grep -q "unknown option '--" "$T/ab.err" || th_fail "'$args': $(head -n 2 "$T/ab.err")"
	grep -q 4321 "$T/ab.out" "$T/ab.err" && th_fail "'$args': the value was echoed"
done
grep -q "unknown option '--al'" "$T/ab.err" || th_fail "the message names the option: $(head -n1 "$T/ab.err")"
th_expect_exit 2 p11 renew --days
grep -q "option '--days' needs a value" "$T/out" || th_fail "missing value: $(head -n1 "$T/out")"
th_expect_exit 2 p11 renew --json=yes
th_expect_exit 2 p11 renew -x
grep -q "unknown option '-x'" "$T/out" || th_fail "short: $(head -n1 "$T/out")"
[ "$(th_orders)" = 2 ] || th_fail "a refused command line made an order"

# ---- -q renew: nothing to say, nothing printed (stdout and stderr)
p11 -q renew >"$T/q.out" 2>"$T/q.err" || th_fail "-q renew failed"
[ -s "$T/q.out" ] || [ -s "$T/q.err" ] && th_fail "-q renew printed: $(cat "$T/q.out" "$T/q.err")"
p11 renew -q --all >"$T/q.out" 2>"$T/q.err" || th_fail "renew -q failed"
[ -s "$T/q.out" ] || [ -s "$T/q.err" ] && th_fail "renew -q printed: $(cat "$T/q.out" "$T/q.err")"
p11 renew >"$T/nq.out" 2>/dev/null
grep -q '^a.test: not due' "$T/nq.out" || th_fail "renew without -q: $(cat "$T/nq.out")"
# a renewal is something: -q still reports it
p11 -q renew --cert-name bee --force >"$T/q.out" 2>"$T/q.err" || th_fail "-q renew --force: $(cat "$T/q.err")"
grep -q '^bee: renewed' "$T/q.out" || th_fail "-q hid a renewal: $(cat "$T/q.out")"
[ -s "$T/q.err" ] && th_fail "-q renew --force said: $(cat "$T/q.err")"

# ---- journal priorities: only while stderr is the stream JOURNAL_STREAM names
: >"$T/j.err"
js=$(stat -c '%d:%i' "$T/j.err")
rc=0
JOURNAL_STREAM=$js p11 renew --cert-name nosuch 2>>"$T/j.err" >/dev/null || rc=$?
[ "$rc" = 2 ] || th_fail "renew --cert-name nosuch: exit $rc"
grep -q '^<3>p11acme: error: nosuch: .*no such renewal config' "$T/j.err" || th_fail "journal: $(cat "$T/j.err")"
grep -v '^<[0-7]>' "$T/j.err" | grep -q . && th_fail "a line without a priority: $(cat "$T/j.err")"
: >"$T/j.err"
JOURNAL_STREAM=$js p11 renew --days x 2>>"$T/j.err" >/dev/null || true
grep -q '^<3>p11acme: --days: not a number' "$T/j.err" || th_fail "usage error in the journal: $(cat "$T/j.err")"
JOURNAL_STREAM=$js p11 -v renew --cert-name a.test 2>>"$T/j.err" >/dev/null
grep -q '^<7>p11acme: ' "$T/j.err" || th_fail "no debug line at <7>: $(cat "$T/j.err")"
# another stream (stderr redirected elsewhere): plain lines
JOURNAL_STREAM=1:1 p11 renew --cert-name nosuch 2>"$T/nj.err" >/dev/null || true
grep -q '^p11acme: error: nosuch' "$T/nj.err" || th_fail "not the journal: $(cat "$T/nj.err")"

# ---- --profile: Pebble 2.4 offers none, so any is refused, before newOrder
o=$(th_orders)
th_expect_exit 2 p11 issue -d c.test --dns-hook "$T/hook" --profile tlsserver --server "$TH_SERVER"
grep -q -- '--profile tlsserver: .* offers no profiles' "$T/out" || th_fail "--profile: $(cat "$T/out")"
[ "$(th_orders)" = "$o" ] || th_fail "--profile that is not offered still ordered"
[ -e "$T/etc/renewal/c.test.conf" ] && th_fail "a refused --profile left a renewal conf"
th_log "unattended-cli: $((SECONDS - t0)) s after Pebble started"
echo "unattended-cli: ok"
