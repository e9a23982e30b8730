#!/bin/bash
# valgrind: yes
# p11acme renew against Pebble with a SoftHSM account key: a certificate that is not
# due is left alone (exit 0, no newOrder in Pebble's log); --days above the remaining
# lifetime renews and switches the live set; --dry-run orders nothing; --json prints
# one object per certificate; renew repeats the conf with no global options at all;
# the conf's deploy hook runs once per renewal with the documented environment and no
# PIN; a failing hook exits 1 with a clear message and keeps the new certificate;
# configuration and usage errors exit 2.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
fc_dns_hook "$T/hook"
cat >"$T/deploy.sh" <<'SH'
#!/bin/sh
{ echo "run name=$P11ACME_CERT_NAME live=$P11ACME_LIVE_DIR domains=$P11ACME_DOMAINS"
  env | grep -c '1234\|P11ACME_PIN' || true; } >>"$DEPLOY_LOG"
SH
chmod +x "$T/deploy.sh"
export DEPLOY_LOG=$T/deploy.log
: >"$DEPLOY_LOG"
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" --deploy-hook "$T/deploy.sh" >/dev/null
th_p11acme issue -d b.test --cert-name bee --dns-hook "$T/hook" --key-type ec384 >/dev/null
: >"$DEPLOY_LOG"
# one 'Added order' line per order Pebble created (POST /order-plz lines also count
# requests that a 5% badNonce rejection made the client repeat)
live=$T/etc/live
a1=$(readlink "$live/a.test")
b1=$(readlink "$live/bee")
o0=$(th_orders)
[ "$o0" = 2 ] || th_fail "expected 2 orders after two issues, Pebble logged $o0"

# ---- not due: exit 0, no new order, nothing changes
th_p11acme renew >"$T/r1.out" 2>"$T/r1.err" || th_fail "renew (not due) failed: $(cat "$T/r1.err")"
[ "$(th_orders)" = "$o0" ] || th_fail "renew of certificates that are not due made $(( $(th_orders) - o0 )) orders"
grep -q '^a.test: not due' "$T/r1.out" && grep -q '^bee: not due' "$T/r1.out" ||
	th_fail "renew said: $(cat "$T/r1.out")"
[ "$(readlink "$live/a.test")" = "$a1" ] && [ "$(readlink "$live/bee")" = "$b1" ] || th_fail "live changed"
[ -s "$DEPLOY_LOG" ] && th_fail "the deploy hook ran without a renewal"

# ---- --json: one object per certificate
th_p11acme --json renew --all >"$T/r.json" || th_fail "renew --json failed"
python3 - "$T/r.json" <<'PY' || th_fail "renew --json: $(cat "$T/r.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [o["name"] for o in objs] == ["a.test", "bee"], objs
for o in objs:
    assert o["renewed"] is False and o["error"] is None and o["not_after"].endswith("Z"), o
    assert o["reason"] and o["renew_at"], o
PY

# ---- --dry-run with --days beyond the lifetime: would renew both, orders nothing
th_p11acme renew --dry-run --days 3000 >"$T/dry.out" 2>"$T/dry.err" || th_fail "dry-run failed: $(cat "$T/dry.err")"
[ "$(grep -c 'would renew' "$T/dry.out")" = 2 ] || th_fail "dry-run said: $(cat "$T/dry.out")"
[ "$(th_orders)" = "$o0" ] || th_fail "--dry-run made an order"
[ "$(readlink "$live/a.test")" = "$a1" ] || th_fail "--dry-run changed the live set"
[ -s "$DEPLOY_LOG" ] && th_fail "--dry-run ran the deploy hook"

# ---- --days above the remaining lifetime (Pebble: 5 years): renews, live switches
th_p11acme renew --cert-name a.test --days 3000 >"$T/r2.out" 2>"$T/r2.err" ||
	th_fail "renew --days failed: $(cat "$T/r2.err")"
grep -q '^a.test: renewed (.*fewer than --days 3000' "$T/r2.out" || th_fail "renew said: $(cat "$T/r2.out")"
a2=$(readlink "$live/a.test")
[ "$a2" != "$a1" ] || th_fail "the live set did not change"
[ "$(th_orders)" = $((o0 + 1)) ] || th_fail "expected one new order"
cmp -s "$T/etc/archive/a.test/1/cert.pem" "$live/a.test/cert.pem" && th_fail "same certificate"
th_verify_cert "$live/a.test/fullchain.pem" a.test www.a.test
th_cert_matches_key "$live/a.test/cert.pem" "$live/a.test/privkey.pem"
[ "$(readlink "$live/bee")" = "$b1" ] || th_fail "--cert-name a.test renewed bee too"
[ "$(grep -c '^run ' "$DEPLOY_LOG")" = 1 ] || th_fail "deploy hook ran $(grep -c '^run ' "$DEPLOY_LOG") times"
grep -qx "run name=a.test live=$live/a.test domains=a.test www.a.test" "$DEPLOY_LOG" ||
	th_fail "deploy hook environment: $(cat "$DEPLOY_LOG")"
[ "$(tail -n1 "$DEPLOY_LOG")" = 0 ] || th_fail "the PIN reached the deploy hook"

# ---- renew with no global options: everything comes from the conf
: >"$DEPLOY_LOG"
$P11ACME --config-dir "$T/etc" renew --cert-name bee --force >"$T/r3.out" 2>"$T/r3.err" ||
	th_fail "renew from the conf alone failed: $(cat "$T/r3.err")"
[ "$(readlink "$live/bee")" != "$b1" ] || th_fail "--force did not renew bee"
openssl pkey -in "$live/bee/privkey.pem" -noout -text | grep -q secp384r1 || th_fail "key type not repeated"
[ -s "$DEPLOY_LOG" ] && th_fail "bee has no deploy hook, yet one ran"

# ---- a failing deploy hook (given to renew): exit 1, message, the new cert stays;
# the conf keeps its own hook
a2=$(readlink "$live/a.test")
rc=0
th_p11acme --json renew --cert-name a.test --force --deploy-hook 'exit 7' >"$T/r4.json" 2>"$T/r4.err" || rc=$?
[ "$rc" = 1 ] || th_fail "a failing deploy hook: exit $rc"
grep -q "deploy hook 'exit 7' exited with 7" "$T/r4.err" || th_fail "no clear message: $(cat "$T/r4.err")"
a3=$(readlink "$live/a.test")
[ "$a3" != "$a2" ] || th_fail "the renewal was undone"
th_cert_matches_key "$live/a.test/cert.pem" "$live/a.test/privkey.pem"
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); assert d["renewed"] is True and "deploy hook" in d["error"] and d["exit"]==1, d' \
	"$T/r4.json" || th_fail "json: $(cat "$T/r4.json")"
grep -qx "deploy_hook = $T/deploy.sh" "$T/etc/renewal/a.test.conf" || th_fail "renew --deploy-hook replaced the conf's hook"
grep -q "exit 7" "$T/etc/renewal/a.test.conf" && th_fail "the one-run hook was recorded"
grep -q '^run ' "$DEPLOY_LOG" && th_fail "the conf's hook ran although --deploy-hook replaced it"

# ---- usage and configuration errors: exit 2
th_expect_exit 2 th_p11acme renew --cert-name nosuch
grep -q 'no such renewal config' "$T/out" || th_fail "missing conf: $(cat "$T/out")"
th_expect_exit 2 th_p11acme renew --cert-name a.test --all
th_expect_exit 2 th_p11acme renew --days many
th_expect_exit 2 th_p11acme renew extra
printf 'cert_name = broken\ndomain = broken.test\nsolver = dns-hook\ndns_hook = /bin/true\nbogus = 1\n' \
	>"$T/etc/renewal/broken.conf"
th_expect_exit 2 th_p11acme renew
grep -q "unknown key 'bogus'" "$T/out" && grep -q '^a.test: not due' "$T/out" && grep -q '^bee: not due' "$T/out" ||
	th_fail "a broken conf among good ones: $(cat "$T/out")"
rm "$T/etc/renewal/broken.conf"
th_expect_exit 0 th_p11acme renew --help
echo "renew-basic: ok"
