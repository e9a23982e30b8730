#!/usr/bin/env bash
# valgrind: yes
# Key pairs made by other tools may have no CKA_ID, and libp11 then can pair a private
# key with another key's public half. The signer proves each pair with one signature
# before it builds a JWK: a run either prints the key's true thumbprint or refuses with
# a message about the id. It never uses a wrong public key.
. "$(dirname "$0")/../lib/harness.sh"

th_softhsm_conf "$T/softhsm"
M=$TH_SOFTHSM_MODULE
softhsm2-util --init-token --free --label noid --pin 1234 --so-pin 5678 >/dev/null
for k in a:EC:prime256v1 b:EC:secp384r1 c:EC:prime256v1; do
	pkcs11-tool --module "$M" --token-label noid --login --pin 1234 --keypairgen \
		--key-type "${k#*:}" --label "${k%%:*}" >/dev/null
done
printf '1234\n' >"$T/pin"

# The true thumbprint of b, from the EC point of its public-key object.
pkcs11-tool --module "$M" --token-label noid --list-objects --type pubkey >"$T/objs" 2>/dev/null
want=$(python3 - "$T/objs" <<'PY'
import base64, hashlib, json, re, sys
text = open(sys.argv[1]).read()
for block in text.split("Public Key Object")[1:]:
    if re.search(r"label:\s+b\n", block):
        point = bytes.fromhex(re.search(r"EC_POINT:\s+([0-9a-f]+)", block).group(1))
        point = point[2:]  # DER OCTET STRING header; then 04 || x || y
        x, y = point[1:49], point[49:97]
        b = lambda v: base64.urlsafe_b64encode(v).rstrip(b"=").decode()
        j = json.dumps({"crv": "P-384", "kty": "EC", "x": b(x), "y": b(y)},
                       separators=(",", ":"), sort_keys=True)
        print(base64.urlsafe_b64encode(hashlib.sha256(j.encode()).digest()).rstrip(b"=").decode())
PY
)
[ -n "$want" ] || th_fail "cannot compute b's thumbprint"

ok=0 refused=0
for i in $(seq 1 12); do
	rc=0
	got=$($P11ACME --key "pkcs11:token=noid;object=b" --module "$M" \
		--pin-source "file:$T/pin" account thumbprint 2>"$T/err") || rc=$?
	if [ "$rc" = 0 ]; then
		[ "$got" = "$want" ] || th_fail "run $i printed thumbprint $got of another key (want $want)"
		ok=$((ok + 1))
	else
		grep -q 'unique id' "$T/err" || { cat "$T/err" >&2; th_fail "run $i failed without saying why"; }
		refused=$((refused + 1))
	fi
done
th_log "12 runs: $ok with the true thumbprint, $refused refused as mispaired"

# Keys that p11acme generates always get an id, so they pair correctly every time.
$P11ACME --module "$M" --pin-source "file:$T/pin" key generate \
	--key "pkcs11:token=noid;object=d" --type ec384 2>"$T/gen" || th_fail "key generate"
grep -q 'with id [0-9a-f]\{32\}' "$T/gen" || th_fail "generated key has no id"
for i in 1 2 3 4 5 6; do
	$P11ACME --key "pkcs11:token=noid;object=d" --module "$M" --pin-source "file:$T/pin" \
		account thumbprint >/dev/null || th_fail "generated key d does not pair (run $i)"
done
