#!/usr/bin/env bash
# Hostile CA: --preferred-chain with alternates that fail. The certificate's
# Link headers name three alternate chains: one answers 404, one is on another
# host, the third is issued by "hostile alternate root". p11acme skips the two
# with a warning each, picks the third, and installs the certificate (exit 0);
# with a preferred chain that no alternate has, it warns and installs the
# default chain. An issued certificate is never thrown away for the chain.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_tls
run() {
	local name=$1 chain=$2 rc=0
	hc_start alt-chains
	$P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
		--timeout 20 issue -d "$name" --standalone --http-port "$(th_free_port)" \
		--preferred-chain "$chain" >"$T/out-$name" 2>&1 || rc=$?
	hc_stop
	[ "$rc" = 0 ] || th_fail "$name: exit $rc: $(cat "$T/out-$name")"
	[ -f "$T/etc/live/$name/fullchain.pem" ] || th_fail "$name: no live set"
}
run alt.test 'hostile alternate root'
grep -q 'alt-404.*could not be fetched' "$T/out-alt.test" || th_fail "no warning for the 404 alternate: $(cat "$T/out-alt.test")"
grep -q 'another host' "$T/out-alt.test" || th_fail "no warning for the alternate on another host"
grep -q '^CONNECT elsewhere' "$HC_LOG" && th_fail "p11acme connected to the other host"
openssl x509 -in "$T/etc/live/alt.test/chain.pem" -noout -issuer | grep -q 'hostile alternate root' ||
	th_fail "the alternate chain was not chosen: $(openssl x509 -in "$T/etc/live/alt.test/chain.pem" -noout -issuer)"
run default.test 'no such root'
grep -q "no chain issued by 'no such root'; using the default chain" "$T/out-default.test" ||
	th_fail "no warning about the default chain: $(cat "$T/out-default.test")"
openssl x509 -in "$T/etc/live/default.test/chain.pem" -noout -issuer | grep -q 'hostile test CA' ||
	th_fail "the default chain was not kept"
