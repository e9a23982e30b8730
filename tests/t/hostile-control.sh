#!/usr/bin/env bash
# The control for the hostile-* tests: tests/lib/hostile_ca.py in mode "ok"
# carries p11acme through newNonce, newAccount (onlyReturnExisting), newOrder,
# finalize and the download, and the run succeeds with a certificate for
# the CSR's key. Without this, a hostile-* test could pass because the fake CA
# is broken rather than because p11acme handled the misbehaviour.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_tls
hc_start ok
th_expect_exit 0 $P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
	--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
	--timeout 20 issue -d control.test --standalone --http-port "$(th_free_port)"
hc_stop
live="$T/etc/live/control.test"
[ -f "$live/fullchain.pem" ] && [ -f "$live/privkey.pem" ] || th_fail "no live set: $(cat "$T/out")"
th_cert_matches_key "$live/cert.pem" "$live/privkey.pem"
openssl x509 -in "$live/cert.pem" -noout -ext subjectAltName | grep -q 'DNS:control.test' ||
	th_fail "the certificate does not name control.test"
for step in 'POST /new-acct onlyReturnExisting' 'POST /new-order' \
	'POST /order/1/finalize' 'POST /cert/1'; do
	grep -q "^$step" "$HC_LOG" || th_fail "the client never sent '$step' (log: $(tr '\n' ' ' <"$HC_LOG"))"
done
# newOrder answers "ready": its authorizations are valid by definition (RFC 8555
# §7.1.6), so fetching one would be a wasted request (the token modes fetch them).
if grep -q '^POST /authz/' "$HC_LOG"; then th_fail "an authorization of a ready order was fetched"; fi
