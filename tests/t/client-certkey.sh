#!/bin/bash
# valgrind: yes
# Certificate keys other than a fresh file: a key held in the token (--cert-key,
# CSR signed through the signer, no privkey.pem), a CSR from a file (--csr), and
# --preferred-chain choosing Pebble's alternate chain by its root's CN.
. "$(dirname "$0")/../lib/harness.sh"

th_token
PEBBLE_ALTERNATE_ROOTS=1 th_pebble_start
th_p11acme account register --email ck@example.com --agree-tos >/dev/null
sa() { th_p11acme issue --standalone --http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" "$@"; }

# ---- certificate key in the token (acct384; the account key is acct)
certkey="pkcs11:token=$TH_TOKEN_LABEL;object=acct384"
sa -d tok.example.com --cert-key "$certkey" >/dev/null || th_fail "issue with --cert-key failed"
live=$T/etc/live/tok.example.com
th_verify_cert "$live/fullchain.pem" tok.example.com
[ ! -e "$live/privkey.pem" ] || th_fail "privkey.pem written for a token key"
# (pkcs11-tool 0.23 cannot read an EC P-384 public key object: "cannot create
# EVP_PKEY"; key show prints the token's public key PEM)
$P11ACME --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" key show --key "$certkey" |
	sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' >"$T/acct384.pem"
a=$(openssl x509 -in "$live/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
b=$(openssl pkey -pubin -in "$T/acct384.pem" -outform DER | sha256sum)
[ "$a" = "$b" ] || th_fail "the certificate is not for the token's acct384 key"
grep -qx "cert_key = $certkey" "$T/etc/renewal/tok.example.com.conf" || th_fail "renewal conf lacks cert_key"
grep -q '^key_type' "$T/etc/renewal/tok.example.com.conf" && th_fail "renewal conf has a key_type for a token key"
# the account key itself is refused as a certificate key? (it would work, but is a
# bad idea; we only check that a missing key is a configuration error, exit 2)
th_expect_exit 2 sa -d tok.example.com --force --cert-key "pkcs11:token=$TH_TOKEN_LABEL;object=nosuchkey"
th_expect_exit 2 sa -d tok.example.com --cert-key "$certkey" --key-type ec256

# ---- --csr FILE: names from the CSR, no privkey.pem, key matches
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/csr.key" -out "$T/req.csr" \
	-subj /CN=csr.example.com -addext 'subjectAltName=DNS:csr.example.com,DNS:www.csr.example.com' 2>/dev/null
sa --csr "$T/req.csr" >/dev/null || th_fail "issue --csr failed"
live=$T/etc/live/csr.example.com
th_verify_cert "$live/fullchain.pem" csr.example.com www.csr.example.com
th_cert_matches_key "$live/cert.pem" "$T/csr.key"
[ ! -e "$live/privkey.pem" ] || th_fail "privkey.pem written for --csr"
th_expect_exit 2 sa --csr "$T/req.csr" -d other.example.com

# ---- --preferred-chain: the default chain ends at roots/0; pick roots/1 by CN
curl -sf --cacert "$TH_CA_BUNDLE" "$TH_MGMT/roots/1" >"$T/root1.pem" || th_fail "no alternate root"
cn1=$(openssl x509 -in "$T/root1.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
sa -d chain.example.com --preferred-chain "$cn1" >/dev/null || th_fail "issue --preferred-chain failed"
full=$T/etc/live/chain.example.com/fullchain.pem
openssl verify -CAfile "$T/root1.pem" -untrusted "$full" "$full" >/dev/null ||
	th_fail "the chosen chain does not lead to '$cn1'"
openssl verify -CAfile "$TH_ROOT_PEM" -untrusted "$full" "$full" >/dev/null 2>&1 &&
	th_fail "the default chain was kept"
grep -qx "preferred_chain = $cn1" "$T/etc/renewal/chain.example.com.conf" || th_fail "renewal conf chain"
# an unknown CN: warning, default chain
sa -d chain2.example.com --preferred-chain "No Such CA" >/dev/null 2>"$T/err" || th_fail "unknown chain CN failed"
grep -q "no chain issued by 'No Such CA'" "$T/err" || th_fail "no warning: $(cat "$T/err")"
th_verify_cert "$T/etc/live/chain2.example.com/fullchain.pem" chain2.example.com
echo ok
