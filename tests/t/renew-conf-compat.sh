#!/bin/bash
# valgrind: yes
# Renewal configs written by p11acme 0.1.0 (tests/fixtures/renewal-v1, "version = 1")
# are read by this p11acme: renew with no global options at all repeats each one
# (dns-01 hook with two names, ec384, preferred chain, deploy hook; standalone with
# port and address), and the conf it writes back is the same, line for line, but for
# the date in its first comment.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
acct=$(th_p11acme account show | sed -n 's/^url: //p')
[ -n "$acct" ] || th_fail "no account URL from account show"
fc_dns_hook "$T/hook"
cat >"$T/deploy.sh" <<'SH'
#!/bin/sh
echo "run name=$P11ACME_CERT_NAME domains=$P11ACME_DOMAINS" >>"$DEPLOY_LOG"
SH
chmod +x "$T/deploy.sh"
export DEPLOY_LOG=$T/deploy.log
: >"$DEPLOY_LOG"

# The fixtures, with this run's values in place of the placeholders.
mkdir -p "$T/etc/renewal" "$T/want"
for f in "$TH_ROOT"/tests/fixtures/renewal-v1/*.conf; do
	sed -e "s|@SERVER@|$TH_SERVER|g" -e "s|@ACCOUNT@|$acct|g" -e "s|@KEY@|$TH_KEY|g" \
	    -e "s|@MODULE@|$TH_MODULE|g" -e "s|@PIN_FILE@|$TH_PIN_FILE|g" \
	    -e "s|@CA_BUNDLE@|$TH_CA_BUNDLE|g" -e "s|@DNS_HOOK@|$T/hook|g" \
	    -e "s|@DEPLOY_HOOK@|$T/deploy.sh|g" -e "s|@HTTP_PORT@|$TH_HTTP_PORT|g" \
	    "$f" >"$T/want/$(basename "$f")"
	cp "$T/want/$(basename "$f")" "$T/etc/renewal/"
done
grep -q '@' "$T"/want/*.conf && th_fail "a placeholder is left: $(grep '@' "$T"/want/*.conf)"

# ---- no global options: server, key, module, PIN source, CA bundle come from the confs
$P11ACME ${TH_VGDIR:+--timeout 900} --config-dir "$T/etc" renew >"$T/r.out" 2>"$T/r.err" ||
	th_fail "renew of the 0.1.0 confs failed: $(cat "$T/r.err")"
grep -q '^a.test: renewed (no live certificate)' "$T/r.out" &&
	grep -q '^sa: renewed (no live certificate)' "$T/r.out" || th_fail "renew said: $(cat "$T/r.out")"
live=$T/etc/live
th_verify_cert "$live/a.test/fullchain.pem" a.test www.a.test
th_verify_cert "$live/sa/fullchain.pem" sa.test
th_cert_matches_key "$live/a.test/cert.pem" "$live/a.test/privkey.pem"
openssl pkey -in "$live/a.test/privkey.pem" -noout -text | grep -q 'NIST CURVE: P-384' ||
	th_fail "key_type = ec384 was not used"
openssl pkey -in "$live/sa/privkey.pem" -noout -text | grep -q 'NIST CURVE: P-256' ||
	th_fail "key_type = ec256 was not used"
[ "$(cat "$DEPLOY_LOG")" = "run name=a.test domains=a.test www.a.test" ] ||
	th_fail "deploy hook runs: $(cat "$DEPLOY_LOG")"

# ---- the confs written back: the same lines but for the date of the first comment
# (and the timeout, which the --timeout given under valgrind overrides)
keep() { if [ -n "${TH_VGDIR:-}" ]; then sed -e 1d -e '/^timeout = /d' "$1"; else sed 1d "$1"; fi; }
for f in "$T"/want/*.conf; do
	got=$T/etc/renewal/$(basename "$f")
	diff <(keep "$f") <(keep "$got") >"$T/diff" ||
		th_fail "$(basename "$f") changed on renewal: $(cat "$T/diff")"
	head -n1 "$got" | grep -q "^# p11acme renewal configuration for $(basename "$f" .conf), written " ||
		th_fail "first line of $got: $(head -n1 "$got")"
done

# ---- and read again: not due now, nothing ordered
$P11ACME ${TH_VGDIR:+--timeout 900} --config-dir "$T/etc" renew >"$T/r2.out" 2>"$T/r2.err" ||
	th_fail "second renew failed: $(cat "$T/r2.err")"
grep -q '^a.test: not due' "$T/r2.out" && grep -q '^sa: not due' "$T/r2.out" ||
	th_fail "second renew said: $(cat "$T/r2.out")"
