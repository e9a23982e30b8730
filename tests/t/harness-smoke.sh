#!/usr/bin/env bash
# The harness itself: a SoftHSM token with the three fixture keys, and a Pebble whose
# directory answers over verified TLS and whose roots were fetched.
. "$(dirname "$0")/../lib/harness.sh"

th_token
objs=$(pkcs11-tool --module "$TH_MODULE" --token-label "$TH_TOKEN_LABEL" --login \
	--pin 1234 --list-objects --type privkey 2>/dev/null)
for l in acct acct384 acctrsa; do
	echo "$objs" | grep -q "label: *$l\$" || th_fail "fixture key $l missing"
done
echo "$objs" | grep -Eq 'Access:(.*, )? *extractable' && th_fail "fixture keys must not be extractable"

th_pebble_start
curl -sf --cacert "$TH_CA_BUNDLE" "$TH_SERVER" | grep -q newNonce ||
	th_fail "Pebble's directory is not served"
grep -q 'BEGIN CERTIFICATE' "$TH_ROOT_PEM" || th_fail "no Pebble root fetched"
curl -sf "$TH_CHALL_MGMT/set-txt" -d '{"host":"_acme-challenge.x.test.","value":"v"}' ||
	th_fail "challtestsrv management API does not answer"

# th_free_port hands out a port once per run (a CI failure: Pebble's
# management port was also drawn as the client's --http-port).
ports=$(for _ in $(seq 40); do th_free_port; done)
[ "$(echo "$ports" | wc -l)" = 40 ] || th_fail "th_free_port gave no port"
[ "$(echo "$ports" | sort -u | wc -l)" = 40 ] || th_fail "th_free_port gave a port twice"
for p in $TH_PEBBLE_PORT $TH_MGMT_PORT $TH_HTTP_PORT $TH_DNS_PORT; do
	echo "$ports" | grep -qx "$p" && th_fail "th_free_port gave Pebble's port $p again"
done
true
