#!/bin/bash
# valgrind: yes
# dns-01 through a uacme-style hook that sets TXT records in challtestsrv: a
# multi-name order with a wildcard, the hook contract (argv, env, begin/done/failed,
# no PIN), a declining hook, and the PIN kept out of hooks with an env: pin source.
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start
export TH_CHALL_MGMT HOOK_LOG=$T/hook.log
hook=$TH_ROOT/tests/lib/dns_hook.sh
# The PIN comes from the environment: the signer must take it and no hook may see it.
export P11ACME_TEST_PIN=1234
p11() {
	$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source env:P11ACME_TEST_PIN --config-dir "$T/etc" "$@"
}
th_p11acme account register --email dns@example.com --agree-tos >/dev/null

# ---- wildcard + apex + another name, one order, all by dns-01
p11 issue -d '*.wild.example.com' -d wild.example.com -d other.example.com --dns-hook "$hook" \
	>"$T/out" || th_fail "dns-01 issue failed"
live=$T/etc/live/wild.example.com
th_verify_cert "$live/fullchain.pem" '*.wild.example.com' wild.example.com other.example.com
th_cert_matches_key "$live/cert.pem" "$live/privkey.pem"
# three begins (two for wild.example.com: the wildcard and the apex are separate
# authorizations) and a done for each, nothing failed
[ "$(grep -c '^begin dns-01 ' "$HOOK_LOG")" = 3 ] || th_fail "hook log: $(cat "$HOOK_LOG")"
[ "$(grep -c '^done dns-01 ' "$HOOK_LOG")" = 3 ] || th_fail "hook log: $(cat "$HOOK_LOG")"
grep -q '^failed' "$HOOK_LOG" && th_fail "a hook reported failed: $(cat "$HOOK_LOG")"
grep -q '\*' "$HOOK_LOG" && th_fail "IDENT kept the '*.': $(cat "$HOOK_LOG")"
grep -q 'pin=yes' "$HOOK_LOG" && th_fail "the PIN reached a hook"
# argv and environment carry the same values; AUTH = b64url(sha256(token.thumbprint))
tp=$(th_p11acme account thumbprint)
while read -r m ty id tok auth bar em ety eid etok eauth rest; do
	[ "$m $ty $id $tok $auth" = "$em $ety $eid $etok $eauth" ] || th_fail "argv != env: $m $id"
	want=$(printf '%s.%s' "$tok" "$tp" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
	[ "$auth" = "$want" ] || th_fail "AUTH for $id is $auth, expected $want"
done <"$HOOK_LOG"
grep -q 'wildcard\|\*.wild' "$T/etc/renewal/wild.example.com.conf" || th_fail "renewal conf lacks the wildcard"
grep -qx "dns_hook = $hook" "$T/etc/renewal/wild.example.com.conf" || th_fail "renewal conf lacks the hook"

# ---- a hook that declines: exit 1 naming the identifier, no certificate, no done/failed
: >"$HOOK_LOG"
HOOK_DECLINE=no.example.com th_expect_exit 1 p11 issue -d no.example.com --dns-hook "$hook"
grep -q 'no.example.com.*declined' "$T/out" || th_fail "decline message: $(cat "$T/out")"
[ "$(wc -l <"$HOOK_LOG")" = 1 ] || th_fail "a declined challenge got more hook calls: $(cat "$HOOK_LOG")"
[ ! -e "$T/etc/live/no.example.com" ] || th_fail "declined, yet a certificate"

# ---- a hook that sets the wrong value: validation fails, the hook hears "failed"
: >"$HOOK_LOG"
cat >"$T/badhook.sh" <<SH
#!/bin/sh
[ "\$1" = begin ] && curl -sf -X POST -d "{\"host\":\"_acme-challenge.\$3.\",\"value\":\"wrong\"}" "$TH_CHALL_MGMT/set-txt" >/dev/null
echo "\$1 \$3" >>"$HOOK_LOG"
exit 0
SH
chmod +x "$T/badhook.sh"
th_expect_exit 1 p11 --timeout 30 issue -d bad.example.com --dns-hook "$T/badhook.sh"
grep -q 'bad.example.com.*urn:ietf:params:acme:error:\|urn:ietf:params:acme:error:.*bad.example.com\|bad.example.com' "$T/out" ||
	th_fail "failure message: $(cat "$T/out")"
grep -qx 'failed bad.example.com' "$HOOK_LOG" || th_fail "no 'failed' hook call: $(cat "$HOOK_LOG")"
echo ok
