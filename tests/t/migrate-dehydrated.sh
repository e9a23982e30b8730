#!/bin/bash
# account migrate --from dehydrated: Debian's dehydrated (its account key in PEM, the URL
# in account_id.json) registers and gets a certificate over http-01 (WELLKNOWN is a
# webroot that nginx serves); then mc_flow (migrate-common.inc).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/migrate-common.inc"

name=dehydrated-peer.example.com
mc_webroot
mkdir -p "$T/dh"
printf 'CA="%s"\nCHALLENGETYPE="http-01"\nWELLKNOWN="%s"\nBASEDIR="%s"\nCONTACT_EMAIL=peer@example.com\nKEY_ALGO=prime256v1\nKEYSIZE=2048\nCURL_OPTS="--cacert %s"\n' \
	"$TH_SERVER" "$T/www/.well-known/acme-challenge" "$T/dh" "$TH_CA_BUNDLE" >"$T/dh/config"
peer_order() { dehydrated -f "$T/dh/config" -c -x -d "$name"; }

mc_peer "$T/dh0.log" dehydrated -f "$T/dh/config" --register --accept-terms ||
	{ cat "$T/dh0.log" >&2; th_fail "dehydrated --register failed"; }
mc_peer "$T/dh1.log" peer_order || { cat "$T/dh1.log" >&2; th_fail "dehydrated's first issuance failed"; }
key=$(ls "$T"/dh/accounts/*/account_key.pem)
url=$(ak "$key" lookup)
case "$url" in https://*) ;; *) th_fail "dehydrated's key has no account: $url" ;; esac
mc_flow "dehydrated:$T/dh" "$url" "$name"
grep -qi 'accountDoesNotExist\|urn:ietf:params:acme:error' "$T/peer3.log" ||
	th_fail "dehydrated failed, but not at the CA: $(tail -5 "$T/peer3.log")"
