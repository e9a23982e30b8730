#!/bin/bash
# valgrind: yes
# The account key on one token and the certificate key (--cert-key) on another token
# of the same module: the signer opens both (two libp11 contexts on one module, which
# docs/PKCS11-NOTES.md warns about), signs with both, and tears both down cleanly (under
# valgrind in the valgrind run). The certificate carries the second token's key.
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_empty_token other
th_pkcs11_tool --token-label other --login --pin 1234 --keypairgen --key-type EC:prime256v1 \
	--label certk --id 0b >/dev/null
CERT_KEY="pkcs11:token=other;object=certk"
th_pebble_start
th_expect_exit 0 th_p11acme account register --email two@example.com --agree-tos
th_expect_exit 0 th_p11acme issue -d two.example.com --standalone --http-address 127.0.0.1 \
	--http-port "$TH_HTTP_PORT" --cert-key "$CERT_KEY"
live=$T/etc/live/two.example.com
th_verify_cert "$live/fullchain.pem" two.example.com
[ -e "$live/privkey.pem" ] && th_fail "a privkey.pem for a key that lives in a token"
th_expect_exit 0 $P11ACME --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" key show --key "$CERT_KEY"
sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$T/out" >"$T/token.pub"
openssl x509 -in "$live/cert.pem" -noout -pubkey >"$T/cert.pub"
cmp -s "$T/token.pub" "$T/cert.pub" || th_fail "the certificate does not carry the other token's key"
# and the account key is still the first token's
th_expect_exit 0 th_p11acme account show
th_log "two tokens, one module: ok"
