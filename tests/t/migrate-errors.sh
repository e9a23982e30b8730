#!/bin/bash
# account migrate, bad input: each gets a clear message and exit 1 or 2, and the account
# stays where it was. Usage errors; a missing or unreadable directory; a corrupt key file;
# a key file readable by others (a warning only); no account for --server; several
# accounts without --account (listed); an account the CA does not know, or deactivated;
# a token key already bound to another account, or one that can leave the token; key
# types that cannot sign ACME requests; a CA that refuses the token key's type or
# answers 409; an interruption before and after the keyChange (a rerun finishes).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/migrate-common.inc"

tok="pkcs11:token=$TH_TOKEN_LABEL"
# mk NAME: a registered RSA or EC old key in $T/NAME.pem; its URL in $T/NAME.url
mk() {
	case $1 in
	rsa*) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$1.pem" 2>/dev/null ;;
	*) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.pem" 2>/dev/null ;;
	esac
	chmod 0600 "$T/$1.pem"
	ak "$T/$1.pem" register >"$T/$1.url" || th_fail "cannot register $1"
}
# unchanged NAME: the old key still owns its account
unchanged() { [ "$(ak "$T/$1.pem" lookup)" = "$(cat "$T/$1.url")" ] || th_fail "$1's account changed"; }
# expect CODE PATTERN ARGS...: migrate exits CODE and says PATTERN
expect() {
	local code=$1 pat=$2
	shift 2
	th_expect_exit "$code" mig account migrate "$@"
	grep -q -- "$pat" "$T/out" || { cat "$T/out" >&2; th_fail "no '$pat' for: $*"; }
}
mk ec1

# ---- usage
expect 2 'needs --from' --dry-run
expect 2 'FORMAT one of' --from "nope:$T"
expect 2 'FORMAT one of' --from "key:"
expect 2 'drop --account' --from "uacme:$T" --account x
expect 2 '--type' --from "key:$T/ec1.pem" --type ec521
th_expect_exit 2 mig --signer unix:/nonexistent account migrate --from "key:$T/ec1.pem"
grep -q 'not a signer service' "$T/out" || th_fail "--signer: $(cat "$T/out")"
th_expect_exit 2 $P11ACME --server "$TH_SERVER" account migrate --from "key:$T/ec1.pem"
grep -q -- '--key' "$T/out" || th_fail "no --key: $(cat "$T/out")"

# ---- a missing or unreadable directory
expect 2 "$T/none: No such file" --from "certbot:$T/none"
expect 2 "$T/none: No such file" --from "uacme:$T/none"
expect 2 "$T/none.pem: No such file" --from "key:$T/none.pem"
printf 'privkey = gpg:/etc/lacme/account.key.gpg\n' >"$T/gpg.conf"
expect 2 'decrypt a gpg: key' --from "lacme:$T/gpg.conf"
printf '# nothing\n' >"$T/empty.conf"
expect 2 'names no privkey' --from "lacme:$T/empty.conf"
shared=$(mktemp -d /tmp/p11acme-migrate-perm.XXXXXX)
th_on_exit "rm -rf '$shared'"
chmod 0755 "$shared"
mkdir -m 0700 "$shared/lego"
th_expect_exit 2 setpriv --reuid=65534 --regid=65534 --clear-groups "$TH_BUILD/p11acme" --server "$TH_SERVER" \
	--key "$MC_KEY" --config-dir "$shared/etc" account migrate --from "lego:$shared/lego"
grep -q "$shared/lego.*Permission denied" "$T/out" || th_fail "unreadable directory: $(cat "$T/out")"

# ---- a corrupt key file, a key file readable by others
printf 'not a key\n' >"$T/garbage.pem"
expect 2 'neither a PEM private key nor a JWK' --from "key:$T/garbage.pem"
head -c 200 "$T/ec1.pem" >"$T/cut.pem"
expect 2 'no PEM private key' --from "key:$T/cut.pem"
ak "$T/ec1.pem" jwk | sed 's/"d": "./"d": "A/' >"$T/wrongd.jwk"
expect 2 'unusable key' --from "key:$T/wrongd.jwk"
printf '{"kty": "EC", "crv": "P-256"' >"$T/cut.jwk"
expect 2 'not a usable private JWK' --from "key:$T/cut.jwk"
openssl pkey -in "$T/ec1.pem" -aes128 -passout pass:secret -out "$T/enc.pem"
expect 2 'encrypted with a passphrase' --from "key:$T/enc.pem"
cp "$T/ec1.pem" "$T/open.pem"
chmod 0644 "$T/open.pem"
expect 0 'readable by everyone' --from "key:$T/open.pem" --dry-run
unchanged ec1

# ---- key types that cannot sign ACME requests here
openssl genpkey -algorithm ED25519 -out "$T/ed.pem" 2>/dev/null
expect 2 'not supported' --from "key:$T/ed.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/rsa1024.pem" 2>/dev/null
expect 2 'RS256 needs 2048' --from "key:$T/rsa1024.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$T/p521.pem" 2>/dev/null
expect 2 'not supported' --from "key:$T/p521.pem"

# ---- no account for --server; several accounts without --account
host=${TH_SERVER#https://}
host=${host%%/*}
mk ec2
for n in ec1 ec2; do
	d="$T/cb/accounts/$host/dir/id-$n"
	mkdir -p "$d"
	ak "$T/$n.pem" jwk >"$d/private_key.json"
	chmod 0400 "$d/private_key.json"
	printf '{"body": {}, "uri": "%s"}\n' "$(cat "$T/$n.url")" >"$d/regr.json"
done
mkdir -p "$T/cb/accounts/acme.example.org/directory/x"
TH_SERVER="https://127.0.0.1:9/other" expect 2 'no account for https://127.0.0.1:9/other' --from "certbot:$T/cb"
grep -q "acme.example.org" "$T/out" || th_fail "the servers found are not listed: $(cat "$T/out")"
expect 2 '2 accounts' --from "certbot:$T/cb"
grep -q 'id-ec1' "$T/out" && grep -q 'id-ec2' "$T/out" || th_fail "the accounts are not listed: $(cat "$T/out")"
expect 2 "no account 'id-nope'" --from "certbot:$T/cb" --account id-nope
expect 0 'dry run' --from "certbot:$T/cb" --account id-ec2 --dry-run
grep -qx "url: $(cat "$T/ec2.url")" "$T/out" || th_fail "--account id-ec2: $(cat "$T/out")"
# certbot's metadata names another account than the key's
printf '{"uri": "%s"}\n' "$(cat "$T/ec1.url")" >"$T/cb/accounts/$host/dir/id-ec2/regr.json"
expect 1 'but the CA says its key belongs to' --from "certbot:$T/cb" --account id-ec2
unchanged ec1
unchanged ec2

# ---- an account the CA does not know; a deactivated one
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stranger.pem" 2>/dev/null
expect 1 'knows no account for the key' --from "key:$T/stranger.pem"
mk rsa3
ak "$T/rsa3.pem" deactivate || th_fail "cannot deactivate rsa3"
expect 1 'not valid' --from "key:$T/rsa3.pem"
[ "$(ak "$T/rsa3.pem" lookup)" = deactivated ] || th_fail "rsa3 changed"

# ---- a token key already bound to another account (the CA would answer 409)
TH_KEY="$tok;object=acct" th_p11acme account register --email t@example.com --agree-tos >/dev/null ||
	th_fail "cannot register the token key"
MIG_KEY="$tok;object=acct" expect 1 '409 Conflict' --from "key:$T/ec1.pem"
unchanged ec1
MIG_KEY="$tok;object=acct" expect 1 '409 Conflict' --from "key:$T/ec1.pem" --dry-run
ls "$T/etc/accounts/$host/" | grep -q '^migrated-' && th_fail "a refused move left a journal"
# an existing token key that can leave the token is refused like any account key
th_pkcs11_tool --token-label "$TH_TOKEN_LABEL" --login --pin 1234 --keypairgen --key-type EC:prime256v1 \
	--label leaky --id 09 --extractable >/dev/null 2>&1 || th_fail "cannot make an extractable key"
MIG_KEY="$tok;object=leaky" expect 2 'refusing key' --from "key:$T/ec1.pem"
unchanged ec1

# ---- the CA refuses the token key's type (badPublicKey), or answers the keyChange with
# 409 Conflict: Pebble accepts every key type p11acme makes and the check above stops a
# bound key first, so tests/lib/hostile_ca.py plays both answers
for mode in keychange-badkey keychange-conflict; do
	port=$(th_free_port)
	python3 "$TH_ROOT/tests/lib/hostile_ca.py" --mode "$mode" --port "$port" --cert "$TH_PEBBLE_CERT" \
		--key "$TH_PEBBLE_KEY" --log "$T/hc-$mode.log" 2>"$T/hc-$mode.stderr" &
	th_track $!
	th_wait_port 127.0.0.1 "$port"
	case $mode in
	*badkey) want="refuses the token key's type" ;;
	*) want="already belongs to account https://127.0.0.1:$port/acct/2 (409 Conflict)" ;;
	esac
	th_expect_exit 1 $P11ACME --server "https://127.0.0.1:$port/dir" --ca-bundle "$TH_CA_BUNDLE" \
		--key "$tok;object=acct384" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$T/etc-$mode" account migrate --from "key:$T/ec1.pem"
	grep -qF "$want" "$T/out" || { cat "$T/out" >&2; th_fail "$mode: no '$want'"; }
	grep -q 'POST /key-change' "$T/hc-$mode.log" || th_fail "$mode: no keyChange was sent"
done

# ---- interrupted (SIGKILL) before and after the keyChange: a rerun finishes the move
# int NAME KEY LINE: start the move, kill it when it logs LINE, rerun, check the result
int() {
	local n=$1 key=$2 line=$3 pid i
	"$TH_BUILD/p11acme" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$key" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" account migrate --from "key:$T/$n.pem" \
		>"$T/$n.int" 2>"$T/$n.int.err" &
	pid=$!
	for i in $(seq 3000); do grep -q "$line" "$T/$n.int.err" && break; sleep 0.01; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	grep -q "$line" "$T/$n.int.err" || { cat "$T/$n.int.err" >&2; th_fail "$n: never reached '$line'"; }
	th_log "$n killed after '$line'; the old key now finds: $(ak "$T/$n.pem" lookup)"
	TH_KEY=$key th_p11acme account migrate --from "key:$T/$n.pem" >"$T/$n.rerun" 2>"$T/$n.rerun.err" ||
		{ cat "$T/$n.rerun.err" >&2; th_fail "$n: the rerun failed"; }
	grep -qx "url: $(cat "$T/$n.url")" "$T/$n.rerun" || th_fail "$n: rerun: $(cat "$T/$n.rerun")"
	[ "$(ak "$T/$n.pem" lookup)" = none ] || th_fail "$n: the old key still finds an account"
	TH_KEY=$key th_p11acme account show | grep -qx "url: $(cat "$T/$n.url")" || th_fail "$n: show after the rerun"
}
mk ec4
int ec4 "$tok;object=int-before;id=d1" 'generated a ec256 key'
mk ec5
int ec5 "$tok;object=int-after;id=d2" 'keyChange done'
grep -q 'earlier run moved it' "$T/ec5.rerun.err" || th_fail "ec5: the rerun did not see the earlier move: $(cat "$T/ec5.rerun.err")"
