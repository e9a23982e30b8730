#!/bin/bash
# valgrind: yes
# renew as it runs unattended, against one Pebble (issue 15): every renewal conf is
# checked on every run, due or not, and a bad one is reported with its file and line
# like a conf error; `renew --check` is the health check (exit 0 only when every
# renewal would work: conf, token login and account, nothing ordered); live/NAME
# removed by hand is renewed with a message that says so; a dangling live link that
# renew repairs is reported as renewed (text and JSON); a failed renewal carries the
# real error in its JSON; --pre-hook and --post-hook run once per run when something
# is due, never when nothing is; several --webroot paths map to their -d names
# (certbot's webroot map), and renew repeats the map.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
t0=$SECONDS
fc_dns_hook "$T/hook"
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
th_p11acme issue -d a.test --dns-hook "$T/hook" >/dev/null || th_fail "issue a.test"
th_p11acme issue -d b.test --dns-hook "$T/hook" >/dev/null || th_fail "issue b.test"

# ---- every conf is checked on every run, not on the day it is due
cp "$T/etc/renewal/b.test.conf" "$T/etc/renewal/bad.conf"
sed -i -e 's/^cert_name = .*/cert_name = bad/' -e 's/^solver = .*/solver = standalone/' \
	-e 's/^dns_hook = .*/http_port = eighty/' "$T/etc/renewal/bad.conf"
line=$(grep -n '^http_port' "$T/etc/renewal/bad.conf" | cut -d: -f1)
th_expect_exit 2 th_p11acme renew
grep -q "renewal/bad.conf:$line: http_port: not a port: eighty" "$T/out" || th_fail "bad conf: $(cat "$T/out")"
grep -q "try 'p11acme" "$T/out" && th_fail "a conf error reads like a command-line error: $(cat "$T/out")"
grep -q '^a.test: not due' "$T/out" && grep -q '^b.test: not due' "$T/out" || th_fail "the good confs: $(cat "$T/out")"
printf 'solver = webroot\n' >>"$T/etc/renewal/bad.conf"
th_expect_exit 2 th_p11acme renew --cert-name bad
grep -q "renewal/bad.conf:[0-9]*: 'solver' given twice" "$T/out" || th_fail "repeated key: $(cat "$T/out")"

# ---- renew --check: the health check
th_expect_exit 2 th_p11acme renew --check
grep -q 'renewal/bad.conf' "$T/out" || th_fail "--check did not report the bad conf: $(cat "$T/out")"
rm "$T/etc/renewal/bad.conf"
o=$(th_orders)
th_p11acme --json renew --check >"$T/check.json" 2>"$T/check.err" || th_fail "--check: $(cat "$T/check.err")"
python3 - "$T/check.json" <<'PY' || th_fail "--check --json: $(cat "$T/check.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [o["name"] for o in objs] == ["a.test", "b.test"], objs
assert all(o["check"] == "ok" and o["error"] is None and o["exit"] == 0 for o in objs), objs
PY
[ "$(th_orders)" = "$o" ] || th_fail "--check ordered"
th_expect_exit 2 th_p11acme --pin-source "file:$T/nosuch-pin" renew --check
grep -q 'a.test: .*check failed' "$T/out" || th_fail "--check with no PIN: $(cat "$T/out")"

# ---- live/NAME removed by hand: renewed, and said why
rm "$T/etc/live/a.test"
th_p11acme renew >"$T/r1.out" 2>"$T/r1.err" || th_fail "renew after rm live: $(cat "$T/r1.err")"
grep -q '^a.test: renewed (live/a.test is missing, though archive/a.test/1 exists: removed by hand?' "$T/r1.out" ||
	th_fail "rm live: $(cat "$T/r1.out")"
grep -q 'p11acme delete' "$T/r1.err" "$T/r1.out" || th_fail "rm live: no hint at delete: $(cat "$T/r1.err")"

# ---- a dangling live link (its set removed): repaired and reported as renewed
rm -rf "$T/etc/archive/b.test/1"
th_p11acme --json renew --cert-name b.test >"$T/r2.json" 2>"$T/r2.err" || th_fail "dangling: $(cat "$T/r2.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["renewed"] is True and d["due"] is True and d["error"] is None, d' \
	"$T/r2.json" || th_fail "dangling, --json: $(cat "$T/r2.json")"
[ -s "$T/etc/live/b.test/cert.pem" ] || th_fail "the dangling link was not repaired"
rm -rf "$T/etc/archive/b.test"/*
th_p11acme renew --cert-name b.test >"$T/r3.out" 2>&1 || th_fail "dangling, text: $(cat "$T/r3.out")"
grep -q '^b.test: renewed' "$T/r3.out" || th_fail "dangling, text: $(cat "$T/r3.out")"

# ---- a failed renewal: its JSON carries the real error
cat >"$T/hook-no" <<'SH'
#!/bin/sh
echo "dns provider says no" >&2
exit 4
SH
chmod +x "$T/hook-no"
th_p11acme issue -d c.test --dns-hook "$T/hook" >/dev/null || th_fail "issue c.test"
sed -i "s|^dns_hook = .*|dns_hook = $T/hook-no|" "$T/etc/renewal/c.test.conf"
rc=0
th_p11acme --json renew --cert-name c.test --force >"$T/r4.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || th_fail "failing hook: exit $rc"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["renewed"] is False and "dns hook" in d["error"] and d["exit"]==1, d' \
	"$T/r4.json" || th_fail "failed renewal, --json: $(cat "$T/r4.json")"
sed -i "s|^dns_hook = .*|dns_hook = $T/hook|" "$T/etc/renewal/c.test.conf"

# ---- --pre-hook / --post-hook: once per run when something is due
cat >"$T/ph" <<SH
#!/bin/sh
echo "\$1 \$(ls "$T/etc/archive/a.test" | wc -l)" >>"$T/ph.log"
SH
chmod +x "$T/ph"
: >"$T/ph.log"
th_p11acme renew --pre-hook "$T/ph pre" --post-hook "$T/ph post" >/dev/null 2>&1 || th_fail "renew, nothing due"
[ -s "$T/ph.log" ] && th_fail "hooks ran with nothing due: $(cat "$T/ph.log")"
n=$(ls "$T/etc/archive/a.test" | wc -l)
th_p11acme renew --force --pre-hook "$T/ph pre" --post-hook "$T/ph post" >/dev/null 2>"$T/ph.err" ||
	th_fail "renew --force with hooks: $(cat "$T/ph.err")"
[ "$(cat "$T/ph.log")" = "pre $n
post $((n + 1))" ] || th_fail "pre/post hooks: $(cat "$T/ph.log")"

# ---- several --webroot paths, each for the -d names after it
mkdir -p "$T/wr/w1.test" "$T/wr/w2.test"
ln -s "$T/wr/w1.test" "$T/wr/www.w1.test"   # one web server root for both names
(exec python3 "$TH_ROOT/tests/lib/webroot_server.py" --vhost "$T/wr" 127.0.0.1 "$TH_HTTP_PORT" 2>"$T/wr.log") &
th_track $!
th_wait_port 127.0.0.1 "$TH_HTTP_PORT" 20 $! "$T/wr.log"
th_p11acme issue --webroot "$T/wr/w1.test" -d w1.test -d www.w1.test --webroot "$T/wr/w2.test" -d w2.test \
	>/dev/null 2>"$T/w.err" || th_fail "webroot map: $(cat "$T/w.err")"
th_verify_cert "$T/etc/live/w1.test/fullchain.pem" w1.test www.w1.test w2.test
grep -q "GET /.well-known/acme-challenge/" "$T/wr.log" || th_fail "the webroots were not asked"
c=$T/etc/renewal/w1.test.conf
grep -qx "webroot_map = w1.test $T/wr/w1.test" "$c" && grep -qx "webroot_map = w2.test $T/wr/w2.test" "$c" ||
	th_fail "the map is not recorded: $(cat "$c")"
th_p11acme renew --cert-name w1.test --force >"$T/w.out" 2>"$T/w.err" || th_fail "renew of the map: $(cat "$T/w.err")"
grep -q '^w1.test: renewed' "$T/w.out" || th_fail "renew of the map: $(cat "$T/w.out")"
th_log "unattended-renew: $((SECONDS - t0)) s after Pebble started"
echo "unattended-renew: ok"
