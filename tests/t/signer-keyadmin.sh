#!/usr/bin/env bash
# valgrind: yes
# key generate / key show through a signer child: generated keys are usable and
# reported as unable to leave the token; an extractable key is reported as able to,
# with status 2 unless allowed; an existing label is refused.
. "$(dirname "$0")/../lib/harness.sh"

th_token SIGADM
TOOL="$TH_BUILD/tests/sig_tool -m $TH_MODULE -p file:$TH_PIN_FILE"
tok="pkcs11:token=$TH_TOKEN_LABEL"

for pair in ec256:ES256 ec384:ES384 rsa2048:RS256; do
	type=${pair%%:*} alg=${pair#*:}
	uri="$tok;object=gen-$type"
	$TOOL "$uri" keygen "$type" || th_fail "key generate $type"
	$TOOL "$uri" keyshow >"$T/show" || th_fail "key show $type"
	grep -q "^algorithm: $alg" "$T/show" || th_fail "$type: algorithm"
	grep -q "^verdict: cannot leave the token$" "$T/show" || th_fail "$type: verdict"
	grep -q "^extractable: no$" "$T/show" || th_fail "$type: extractable"
	grep -q "BEGIN PUBLIC KEY" "$T/show" || th_fail "$type: no public key PEM"
	tp=$($TOOL "$uri" thumbprint) || th_fail "$type: the generated key does not sign"
	grep -q "^thumbprint: $tp$" "$T/show" || th_fail "$type: thumbprint differs"
	# The PEM is the key that signs: it matches the JWK's key.
	sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$T/show" | openssl pkey -pubin -noout ||
		th_fail "$type: bad PEM"
done

# A second key with the same label is refused, as a configuration error.
set +e
$TOOL "$tok;object=gen-ec256" keygen ec256 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || th_fail "generating over an existing label gave $rc, want 2"

# JSON report.
$TOOL "$TH_KEY" keyshow json >"$T/show.json" || th_fail "key show --json"
python3 - "$T/show.json" "$($TOOL "$TH_KEY" thumbprint)" <<'PY' || th_fail "key show JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["algorithm"] == "ES256", r
assert r["thumbprint"] == sys.argv[2], r
assert r["can_leave_token"] is False and r["verdict"] == "cannot leave the token", r
assert r["attributes"]["extractable"] is False and r["attributes"]["sensitive"] is True, r
assert r["jwk"]["kty"] == "EC" and r["label"] == "acct", r
PY

# An extractable key: reported as able to leave, status 2 unless explicitly allowed.
pkcs11-tool --module "$TH_MODULE" --token-label "$TH_TOKEN_LABEL" --login --pin 1234 \
	--keypairgen --key-type EC:prime256v1 --label leaky --id 09 --extractable >/dev/null 2>&1 ||
	th_fail "cannot make an extractable key"
set +e
$TOOL "$tok;object=leaky" keyshow >"$T/leaky" 2>"$T/leaky.err"
rc=$?
set -e
[ "$rc" = 2 ] || th_fail "key show of an extractable key gave $rc, want 2"
grep -q "^verdict: CAN LEAVE THE TOKEN: it is extractable (CKA_EXTRACTABLE=TRUE)$" "$T/leaky" || th_fail "extractable key verdict: $(cat "$T/leaky")"
grep -q "using it because" "$T/leaky.err" && th_fail "key show claims --allow-extractable-key was given: $(cat "$T/leaky.err")"
$TOOL -x "$tok;object=leaky" keyshow >/dev/null 2>&1 || th_fail "--allow-extractable-key"
echo ok
