#!/bin/bash
# valgrind: yes
# `p11acme certificates` and `p11acme delete` against one Pebble (issue 15): the list
# names each certificate with its domains, expiry, renewal method and key location
# (a privkey.pem, a token URI), also as one JSON object per line; a broken renewal
# conf is listed with its file and line and makes exit 2; `register --email` updates
# the contact of an existing account; `revoke --cert-name NAME --reason NAME` marks
# the live set revoked and renew replaces it; delete removes the renewal conf, live/
# and archive/ of one name and nothing else, and renew no longer sees it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
t0=$SECONDS
fc_dns_hook "$T/hook"
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" >/dev/null
th_p11acme issue -d b.test --cert-name bee --dns-hook "$T/hook" \
	--cert-key "pkcs11:token=$TH_TOKEN_LABEL;object=acct384" >/dev/null

# ---- certificates, text
th_p11acme certificates >"$T/c.out" 2>"$T/c.err" || th_fail "certificates: $(cat "$T/c.err")"
for want in "Certificate Name: a.test" "  Domains: a.test www.a.test" "  Renewal: dns-hook ($T/hook)" \
	"  Key (file): $T/etc/live/a.test/privkey.pem" "Certificate Name: bee" \
	"  Key (token): pkcs11:token=$TH_TOKEN_LABEL;object=acct384" "  Live: $T/etc/live/bee"; do
	grep -qxF -- "$want" "$T/c.out" || th_fail "certificates lacks '$want': $(cat "$T/c.out")"
done
grep -Eq '^  Expiry: 20[0-9-]+T[0-9:]+Z \(VALID: [0-9]+ days\)$' "$T/c.out" || th_fail "expiry: $(cat "$T/c.out")"
th_p11acme certificates --cert-name bee >"$T/c1.out" || th_fail "certificates --cert-name"
[ "$(grep -c '^Certificate Name' "$T/c1.out")" = 1 ] || th_fail "--cert-name bee: $(cat "$T/c1.out")"
th_expect_exit 2 th_p11acme certificates --cert-name nosuch

# ---- certificates --json (after the command), one object per line
th_p11acme certificates --json >"$T/c.json" || th_fail "certificates --json"
python3 - "$T/c.json" "$T/etc" "$T/hook" <<'PY' || th_fail "certificates --json: $(cat "$T/c.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
etc, hook = sys.argv[2], sys.argv[3]
assert [o["name"] for o in objs] == ["a.test", "bee"], objs
a, b = objs
assert a["domains"] == ["a.test", "www.a.test"] and a["status"] == "valid", a
assert a["solver"] == "dns-hook" and a["solver_detail"] == hook, a
assert a["key_location"] == "file" and a["key"] == etc + "/live/a.test/privkey.pem", a
assert a["not_after"].endswith("Z") and a["days_left"] > 300 and a["error"] is None, a
assert a["live_dir"] == etc + "/live/a.test" and a["server"].startswith("https://"), a
assert b["key_location"] == "token" and b["key"].startswith("pkcs11:") and "pin" not in b["key"], b
PY

# ---- a broken conf: listed, with file and line, exit 2; the others still listed
printf 'cert_name = broken\ndomain = broken.test\nsolver = dns-hook\nbogus = 1\n' >"$T/etc/renewal/broken.conf"
th_expect_exit 2 th_p11acme certificates
grep -q "renewal/broken.conf:4: unknown key 'bogus'" "$T/out" && grep -q '^Certificate Name: bee' "$T/out" ||
	th_fail "broken conf: $(cat "$T/out")"
rm "$T/etc/renewal/broken.conf"

# ---- register --email on an existing account updates its contact
th_p11acme account register --email new@example.com --email ops2@example.com --agree-tos >/dev/null 2>"$T/reg.err" ||
	th_fail "register again: $(cat "$T/reg.err")"
grep -q 'contact updated' "$T/reg.err" || th_fail "register again: $(cat "$T/reg.err")"
th_p11acme --json account show >"$T/acct.json" || th_fail "account show"
python3 -c 'import json,sys; c=sorted(json.load(open(sys.argv[1]))["contact"]); assert c==["mailto:new@example.com","mailto:ops2@example.com"], c' \
	"$T/acct.json" || th_fail "contact not updated: $(cat "$T/acct.json")"
th_p11acme account register --email new@example.com --email ops2@example.com --agree-tos >/dev/null 2>"$T/reg.err"
grep -q 'contact updated' "$T/reg.err" && th_fail "the same contacts were sent again"

# ---- revoke --cert-name with a reason name: the live certificate is due, renew
# replaces it and says why
th_expect_exit 2 th_p11acme revoke --cert-name a.test --reason privilegeWithdrawn
th_expect_exit 2 th_p11acme revoke --cert-name a.test --cert "$T/etc/live/a.test/cert.pem"
th_p11acme --json revoke --cert-name a.test --reason key-compromise >"$T/rv.json" 2>"$T/rv.err" ||
	th_fail "revoke --cert-name: $(cat "$T/rv.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["revoked"] is True and d["reason"]=="keyCompromise" and d["name"]=="a.test", d' \
	"$T/rv.json" || th_fail "revoke --json: $(cat "$T/rv.json")"
[ -f "$T/etc/live/a.test/revoked" ] || th_fail "no revoked marker in the live set"
before=$(readlink "$T/etc/live/a.test")
th_p11acme renew --cert-name a.test >"$T/rr.out" 2>"$T/rr.err" || th_fail "renew of a revoked cert: $(cat "$T/rr.err")"
grep -q '^a.test: renewed (the live certificate is revoked)' "$T/rr.out" || th_fail "renew: $(cat "$T/rr.out")"
[ "$(readlink "$T/etc/live/a.test")" != "$before" ] && [ ! -e "$T/etc/live/a.test/revoked" ] ||
	th_fail "the revoked certificate is still live"
th_p11acme renew --cert-name a.test >"$T/rr.out" 2>&1
grep -q '^a.test: not due' "$T/rr.out" || th_fail "renew after the replacement: $(cat "$T/rr.out")"

# ---- delete
a_target=$(readlink "$T/etc/live/a.test")
th_p11acme --json delete --cert-name bee >"$T/d.json" 2>"$T/d.err" || th_fail "delete: $(cat "$T/d.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"name":"bee","deleted":["renewal.conf","live","archive"]}, d' \
	"$T/d.json" || th_fail "delete --json: $(cat "$T/d.json")"
grep -q 'not revoked' "$T/d.err" || th_fail "delete does not say that it did not revoke: $(cat "$T/d.err")"
for p in renewal/bee.conf renewal/.bee.lock live/bee archive/bee; do
	[ -e "$T/etc/$p" ] || [ -L "$T/etc/$p" ] && th_fail "delete left $p"
done
ls -A "$T/etc" | grep -q '^\.delete' && th_fail "delete left its trash: $(ls -A "$T/etc")"
[ "$(readlink "$T/etc/live/a.test")" = "$a_target" ] && [ -f "$T/etc/renewal/a.test.conf" ] ||
	th_fail "delete touched another certificate"
th_p11acme renew >"$T/r.out" 2>&1 || th_fail "renew after delete: $(cat "$T/r.out")"
grep -q bee "$T/r.out" && th_fail "renew still sees bee: $(cat "$T/r.out")"
th_expect_exit 2 th_p11acme delete --cert-name bee
grep -q 'no certificate named bee' "$T/out" || th_fail "delete twice: $(cat "$T/out")"
th_expect_exit 2 th_p11acme delete
th_expect_exit 2 th_p11acme delete --cert-name ../etc
# a half-made certificate (archive only, e.g. after a failed first issue) is deleted too
mkdir -p "$T/etc/archive/half/1"
th_p11acme delete --cert-name half >"$T/d2.out" || th_fail "delete of an archive-only name"
grep -qx 'half: deleted (archive)' "$T/d2.out" || th_fail "delete half: $(cat "$T/d2.out")"
th_log "unattended-certs: $((SECONDS - t0)) s after Pebble started"
echo "unattended-certs: ok"
