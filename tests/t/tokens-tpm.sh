#!/usr/bin/env bash
# A TPM 2.0 token (tpm2-pkcs11 on swtpm, through tpm2-abrmd; tests/lib/tpm.sh):
# - `key generate` makes ec256, ec384 and rsa2048 keys (the template has no public
#   usage flags, and RSA gets CKA_DECRYPT, which tpm2-pkcs11 signs RSA with);
# - `key show` says each cannot leave the token;
# - each registers an account and issues a certificate against Pebble (ES256, ES384,
#   RS256), named by the URI p11tool prints for the token (its model is NUL-padded:
#   %00 in the URI) plus object=;
# - `renew --all` of those three with a wrong PIN makes exactly one C_Login (counted
#   with pkcs11-spy), and the TPM's lockout counter goes up by one, not three;
#   the next run makes none;
# - with no module given, the registered modules are searched and the TPM's found; a
#   URI that a SoftHSM token matches too is an error naming both modules;
#   module-name=tpm2_pkcs11 and --module tpm2_pkcs11 pick it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/tpm.sh"
. "$(dirname "$0")/fault-common.inc"

SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
th_tpm_start
th_tpm_token tpmacme
th_pebble_start
fc_dns_hook "$T/hook"
M=$TH_TPM_MODULE
tp() { $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --module "$M" \
	--pin-source "file:$TH_TPM_PIN_FILE" --config-dir "$T/etc" "$@"; }

# the URI p11tool prints for the token
url=$(p11tool --provider "$M" --list-tokens 2>/dev/null | sed -n 's/^[[:space:]]*URL: \(pkcs11:.*token=tpmacme\)$/\1/p')
case "$url" in *model=*%00*) ;; *) th_fail "p11tool's URI has no NUL-padded model: '$url'" ;; esac
th_log "p11tool: $url"

for t in ec256:ES256 ec384:ES384 rsa2048:RS256; do
	type=${t%%:*} alg=${t#*:}
	key="pkcs11:token=tpmacme;object=acct-$type"
	start=$(date +%s)
	th_expect_exit 0 tp key generate --key "$key" --type "$type"
	th_expect_exit 0 tp key show --key "$key"
	grep -q "^algorithm: $alg " "$T/out" || th_fail "$type: $(cat "$T/out")"
	grep -q '^verdict: cannot leave the token$' "$T/out" || th_fail "$type verdict: $(cat "$T/out")"
	grep -q '^never-extractable: yes$' "$T/out" || th_fail "$type: $(cat "$T/out")"
	# register and issue with p11tool's URI for the token
	th_expect_exit 0 tp --key "$url;object=acct-$type" account register --agree-tos \
		--email "$type@tpm.test"
	th_expect_exit 0 tp --key "$url;object=acct-$type" issue -d "$type.tpm.test" \
		--dns-hook "$T/hook"
	th_verify_cert "$T/etc/live/$type.tpm.test/fullchain.pem" "$type.tpm.test"
	th_log "$type ($alg): generate, show, register, issue in $(( $(date +%s) - start )) s"
done

# no module given: the registered modules are searched, and tpm2_pkcs11 has the token
th_expect_exit 0 $P11ACME --pin-source "file:$TH_TPM_PIN_FILE" --config-dir "$T/etc" key show \
	--key "pkcs11:token=tpmacme;object=acct-ec256"
grep -q '^verdict: cannot leave the token$' "$T/out" || th_fail "search: $(cat "$T/out")"
# a URI that names no token matches a SoftHSM token too: an error naming both modules
th_softhsm_conf "$T/hsm"
th_empty_token other
th_expect_exit 2 $P11ACME --pin-source "file:$TH_TPM_PIN_FILE" --config-dir "$T/etc" key show \
	--key "pkcs11:object=acct-ec256"
grep -q "the tokens of several PKCS#11 modules match the URI; add module-name=NAME" "$T/out" &&
	grep -q "module 'softhsm2' (.*label 'other'" "$T/out" &&
	grep -q "module 'tpm2_pkcs11' (.*label 'tpmacme'" "$T/out" || th_fail "ambiguity: $(cat "$T/out")"
th_expect_exit 0 $P11ACME --pin-source "file:$TH_TPM_PIN_FILE" --config-dir "$T/etc" key show \
	--key "pkcs11:object=acct-ec256?module-name=tpm2_pkcs11"
th_expect_exit 0 $P11ACME --module tpm2_pkcs11 --pin-source "file:$TH_TPM_PIN_FILE" \
	--config-dir "$T/etc" key show --key "pkcs11:object=acct-ec256"

# a wrong PIN: three due certificates, one C_Login, one step on the lockout counter
before=$(th_tpm_lockout_counter)
printf '9999\n' >"$T/wrong"
chmod 600 "$T/wrong"
for run in 1 2; do
	PKCS11SPY=$M PKCS11SPY_OUTPUT="$T/spy$run.log" th_expect_exit 2 \
		$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --module "$SPY" \
		--pin-source "file:$T/wrong" --config-dir "$T/etc" renew --all --days 3000
	n=$(grep -c '^[0-9]*: C_Login' "$T/spy$run.log" || true)
	want=$((2 - run))
	[ "$n" = "$want" ] || th_fail "wrong PIN, run $run: $n C_Login calls, expected $want: $(cat "$T/out")"
done
grep -q "refused the PIN from file:$T/wrong before" "$T/out" || th_fail "second run: $(cat "$T/out")"
after=$(th_tpm_lockout_counter)
[ $((after - before)) = 1 ] || th_fail "the lockout counter went from $before to $after"
th_log "lockout counter $before -> $after"
echo "tokens-tpm: ok"
