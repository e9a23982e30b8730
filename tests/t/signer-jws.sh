#!/usr/bin/env bash
# valgrind: yes
# The signer process with SoftHSM keys: ES256, ES384 and RS256 JWSs verified by an
# independent verifier (python3-cryptography) against the public key read from the
# token with pkcs11-tool (not our JWK); tampered JWSs fail; the RFC 7638 thumbprint
# matches; short r/s stay 64 bytes; key-change inner JWS and CSR verify.
. "$(dirname "$0")/../lib/harness.sh"

th_token SIGJWS
SIG="$TH_BUILD/tests/sig_tool -m $TH_MODULE -p file:$TH_PIN_FILE"
tok="pkcs11:token=$TH_TOKEN_LABEL"

cat >"$T/verify.py" <<'PY'
import base64, hashlib, json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def die(msg):
    print("verify.py: " + msg, file=sys.stderr)
    sys.exit(1)

def jwk_of(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        i2b = lambda v: v.to_bytes((v.bit_length() + 7) // 8, "big")
        return {"e": b64e(i2b(n.e)), "kty": "RSA", "n": b64e(i2b(n.n))}
    n = pub.public_numbers()
    size = (pub.curve.key_size + 7) // 8
    crv = {256: "P-256", 384: "P-384"}[pub.curve.key_size]
    return {"crv": crv, "kty": "EC", "x": b64e(n.x.to_bytes(size, "big")),
            "y": b64e(n.y.to_bytes(size, "big"))}

def thumbprint(jwk):
    keys = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canon = json.dumps({k: jwk[k] for k in keys}, separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(canon.encode()).digest())

def check_sig(pub, alg, signing_input, sig):
    """True when sig verifies; also enforces the fixed JWS signature length."""
    if alg == "RS256":
        if len(sig) != pub.key_size // 8:
            die("RS256 signature of %d bytes" % len(sig))
        try:
            pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            return False
    half = {"ES256": 32, "ES384": 48}[alg]
    if len(sig) != 2 * half:
        die("%s signature of %d bytes, want %d" % (alg, len(sig), 2 * half))
    r, s = int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big")
    h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
    try:
        pub.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(h))
        return True
    except InvalidSignature:
        return False

def verify(pub, jws):
    if set(jws) != {"protected", "payload", "signature"}:
        die("not a flattened JWS: %r" % sorted(jws))
    hdr = json.loads(b64d(jws["protected"]))
    sig = b64d(jws["signature"])
    ok = check_sig(pub, hdr["alg"], (jws["protected"] + "." + jws["payload"]).encode(), sig)
    return ok, hdr, sig

def tamper(s):
    c = "A" if s[0] != "A" else "B"
    return c + s[1:]

cmd, pubfile = sys.argv[1], sys.argv[2]
pub = serialization.load_der_public_key(open(pubfile, "rb").read())
if cmd == "thumbprint":           # thumbprint JWK_JSON
    jwk = json.loads(sys.argv[4])
    if jwk != jwk_of(pub):
        die("JWK %r differs from the token's public key %r" % (jwk, jwk_of(pub)))
    if sys.argv[3] != thumbprint(jwk_of(pub)):
        die("thumbprint %s, want %s" % (sys.argv[3], thumbprint(jwk_of(pub))))
elif cmd == "one":                # one ALG URL NONCE KID|- PAYLOAD  < jws
    alg, url, nonce, kid, payload = sys.argv[3:8]
    jws = json.loads(sys.stdin.read())
    ok, hdr, sig = verify(pub, jws)
    if not ok:
        die("signature does not verify")
    want = {"alg": alg, "nonce": nonce, "url": url}
    want.update({"kid": kid} if kid != "-" else {"jwk": jwk_of(pub)})
    if hdr != want:
        die("protected header %r, want %r" % (hdr, want))
    if b64d(jws["payload"]) != payload.encode():
        die("payload %r" % b64d(jws["payload"]))
    if payload == "" and jws["payload"] != "":
        die("POST-as-GET payload must be the empty string")
    # Forgeries: each part altered must fail.
    for part in ("payload", "protected", "signature"):
        t = dict(jws)
        if part == "payload":
            t[part] = b64e(b'{"evil":1}')
        elif part == "protected":
            h = dict(hdr); h["url"] = url + "x"
            t[part] = b64e(json.dumps(h).encode())
        else:
            t[part] = tamper(jws[part])
        if check_sig(pub, hdr["alg"], (t["protected"] + "." + t["payload"]).encode(),
                     b64d(t["signature"])):
            die("tampered %s verifies" % part)
elif cmd == "many":               # many HALF  < jws lines; prints the count of short r/s
    half, short, n = int(sys.argv[3]), 0, 0
    for line in sys.stdin:
        ok, hdr, sig = verify(pub, json.loads(line))
        if not ok:
            die("JWS %d does not verify" % n)
        if sig[0] == 0 or sig[half] == 0:
            short += 1
        n += 1
    print(short)
elif cmd == "keychange":          # keychange OLD_PUB URL ACCOUNT  < inner jws
    old = serialization.load_der_public_key(open(sys.argv[3], "rb").read())
    jws = json.loads(sys.stdin.read())
    ok, hdr, sig = verify(pub, jws)
    if not ok:
        die("inner JWS does not verify with the new key")
    if hdr != {"alg": hdr["alg"], "jwk": jwk_of(pub), "url": sys.argv[4]}:
        die("inner header %r" % hdr)
    if json.loads(b64d(jws["payload"])) != {"account": sys.argv[5], "oldKey": jwk_of(old)}:
        die("inner payload %r" % b64d(jws["payload"]))
else:
    die("bad command")
PY

# The token's public key as SPKI DER, read with pkcs11-tool. OpenSC 0.23 cannot export
# a P-384 public key ("cannot create EVP_PKEY"), so EC keys come from the EC_POINT that
# --list-objects prints (a DER OCTET STRING around the uncompressed point).
pubkey() {
	local label=$1 point
	pkcs11-tool --module "$TH_MODULE" --token-label "$TH_TOKEN_LABEL" --read-object \
		--type pubkey --label "$label" -o "$T/$label.der" >/dev/null 2>&1 && return 0
	point=$(pkcs11-tool --module "$TH_MODULE" --token-label "$TH_TOKEN_LABEL" --list-objects \
		--type pubkey 2>/dev/null | awk -v l="$label" '
		/EC_POINT:/ { p = $2 } /label:/ { if ($2 == l) { print p; exit } }')
	[ -n "$point" ] || th_fail "cannot read the public key $label"
	python3 - "$point" "$T/$label.der" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
raw = bytes.fromhex(sys.argv[1])[2:]          # drop the OCTET STRING tag and length
curve = {65: ec.SECP256R1(), 97: ec.SECP384R1()}[len(raw)]
key = ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
open(sys.argv[2], "wb").write(key.public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))
PY
}

for pair in acct:ES256 acct384:ES384 acctrsa:RS256; do
	label=${pair%%:*} alg=${pair#*:}
	uri="$tok;object=$label"
	pubkey "$label"
	[ "$($SIG "$uri" alg)" = "$alg" ] || th_fail "$label: alg is not $alg"
	python3 "$T/verify.py" thumbprint "$T/$label.der" "$($SIG "$uri" thumbprint)" \
		"$($SIG "$uri" jwk)" || th_fail "$label: JWK or thumbprint wrong"
	# New-account style (jwk) with a payload, and POST-as-GET (kid, empty payload).
	$SIG "$uri" sign https://ca.test/new-acct nonce-1 - '{"termsOfServiceAgreed":true}' |
		python3 "$T/verify.py" one "$T/$label.der" "$alg" https://ca.test/new-acct nonce-1 - \
			'{"termsOfServiceAgreed":true}' || th_fail "$label: jwk JWS"
	$SIG "$uri" sign https://ca.test/order/7 nonce-2 https://ca.test/acct/1 '' |
		python3 "$T/verify.py" one "$T/$label.der" "$alg" https://ca.test/order/7 nonce-2 \
			https://ca.test/acct/1 '' || th_fail "$label: POST-as-GET JWS"
done

# The signer refuses a payload that is not a JSON object: it signs requests, not bytes.
if $SIG "$TH_KEY" sign https://ca.test/x n - 'not json' >/dev/null 2>"$T/err"; then
	th_fail "a non-JSON payload was signed"
fi
grep -q "not a JSON object" "$T/err" || th_fail "no message for a non-JSON payload"

# Short r or s (~1 in 128 signatures): 1500 ES256 JWSs through the token, every one
# exactly 64 signature bytes and valid, and at least one with a short half.
$SIG "$TH_KEY" sign-many 1500 https://ca.test/x >"$T/many"
[ "$(wc -l <"$T/many")" = 1500 ] || th_fail "sign-many did not give 1500 JWSs"
short=$(python3 "$T/verify.py" many "$T/acct.der" 32 <"$T/many") || th_fail "a JWS of the 1500 is bad"
[ "$short" -ge 1 ] || th_fail "no short r or s in 1500 signatures"
th_log "short r or s in $short of 1500 ES256 signatures, all 64 bytes and valid"

# Key rollover: inner JWS signed by the new key, oldKey is the account key's JWK.
$SIG -n "$tok;object=acct384" "$TH_KEY" keychange https://ca.test/key-change https://ca.test/acct/1 |
	python3 "$T/verify.py" keychange "$T/acct384.der" "$T/acct.der" https://ca.test/key-change \
		https://ca.test/acct/1 || th_fail "key-change inner JWS"

# CSR signed by a certificate key in the token: CN, SANs, valid self-signature, and the
# token's public key.
for label in acct acctrsa; do
	$SIG -c "$tok;object=$label" "$TH_KEY" csr www.example.test example.test >"$T/csr.der" ||
		th_fail "CSR with $label"
	openssl req -inform DER -in "$T/csr.der" -verify -noout 2>&1 | grep -q "verify OK" ||
		th_fail "CSR signature with $label does not verify"
	openssl req -inform DER -in "$T/csr.der" -noout -text >"$T/csr.txt"
	grep -q "Subject: CN *= *www.example.test" "$T/csr.txt" || th_fail "CSR subject"
	grep -q "DNS:www.example.test, DNS:example.test" "$T/csr.txt" || th_fail "CSR SANs"
	cmp -s <(openssl req -inform DER -in "$T/csr.der" -noout -pubkey | openssl pkey -pubin -outform DER) \
		"$T/$label.der" || th_fail "CSR public key is not the token's $label"
done
# Without a certificate key the CSR op is a configuration error, not a crash.
if $SIG "$TH_KEY" csr a.test >/dev/null 2>&1; then th_fail "CSR without --cert-key"; fi
echo "ok"
