#!/bin/bash
# account migrate --from lego: Debian's lego (EC P-256 account key, PEM) registers and
# gets a certificate over http-01 (its own server); then mc_flow (migrate-common.inc).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/migrate-common.inc"

name=lego-peer.example.com
peer_order() {
	LEGO_CA_CERTIFICATES="$TH_CA_BUNDLE" lego --accept-tos --email peer@example.com \
		--server "$TH_SERVER" --path "$T/lego" --key-type ec256 -d "$name" \
		--http --http.port "127.0.0.1:$TH_HTTP_PORT" run
}
mc_peer "$T/lego1.log" peer_order || { cat "$T/lego1.log" >&2; th_fail "lego's first issuance failed"; }
acct=$(ls "$T"/lego/accounts/*/*/account.json)
url=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["uri"])' "$acct")
mc_flow "lego:$T/lego" "$url" "$name"
grep -q 'urn:ietf:params:acme:error:' "$T/peer3.log" || th_fail "lego failed, but not at the CA: $(tail -5 "$T/peer3.log")"
