#!/bin/bash
# account migrate --from certbot: Debian's certbot (RSA account key, JWK file) registers
# and gets a certificate over http-01; then tests/t/migrate-common.inc's mc_flow: dry
# run, move, account show, issue --reuse-only from a fresh config dir, certbot's next
# order fails at the CA.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/migrate-common.inc"

name=certbot-peer.example.com
cb() {
	REQUESTS_CA_BUNDLE="$TH_CA_BUNDLE" certbot certonly --non-interactive --agree-tos \
		-m peer@example.com --no-eff-email --server "$TH_SERVER" --config-dir "$T/cb/etc" \
		--work-dir "$T/cb/work" --logs-dir "$T/cb/logs" --standalone --preferred-challenges http \
		--http-01-port "$TH_HTTP_PORT" --http-01-address 127.0.0.1 -d "$name" "$@"
}
peer_order() { cb --force-renewal; }

MC_PEER_DEBUG_LOG=$T/cb/logs/letsencrypt.log
mc_peer "$T/cb1.log" cb || { cat "$T/cb1.log" >&2; th_fail "certbot's first issuance failed"; }
regr=$(ls "$T"/cb/etc/accounts/*/*/*/regr.json)
url=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uri"])' "$regr")
mc_flow "certbot:$T/cb/etc" "$url" "$name"
# Pebble answers certbot's kid + RS256 with "malformed" (the account's key is the token's
# EC key now); certbot 2.1 then crashes with AttributeError, a known certbot bug.
grep -q 'urn:ietf:params:acme:error:' "$T"/cb/logs/letsencrypt.log ||
	th_fail "certbot failed, but not at the CA: $(tail -5 "$T/peer3.log")"
