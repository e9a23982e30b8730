#!/bin/bash
# valgrind: yes
# account migrate with key: (an RSA PEM key and an EC JWK key) and lacme: (lacme-accountd's
# config naming its PEM key file): --dry-run changes nothing; the move (to a generated key and to
# an existing one); account show; the old key finds no account and cannot order; a rerun
# says "already moved".
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start
ak() { /usr/bin/python3 "$TH_ROOT/tests/lib/acme_key.py" --server "$TH_SERVER" --ca "$TH_CA_BUNDLE" "$@"; }
mig() { local key=$1; shift; TH_KEY=$key th_p11acme "$@"; }
tok="pkcs11:token=$TH_TOKEN_LABEL"

# ---- the old accounts: an RSA key (PEM) and an EC key (kept as a private JWK)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
chmod 0600 "$T/rsa.pem" "$T/ec.pem"
ak "$T/ec.pem" jwk >"$T/ec.jwk"
chmod 0600 "$T/ec.jwk"
rsa_url=$(ak "$T/rsa.pem" register) || th_fail "cannot register the RSA account"
ec_url=$(ak "$T/ec.pem" register) || th_fail "cannot register the EC account"

# ---- --dry-run: every check, no change (no token key, no files, the old key still works)
mig "$tok;object=mig-ec;id=a1" account migrate --from "key:$T/ec.jwk" --dry-run >"$T/dry" 2>"$T/dry.err" ||
	{ cat "$T/dry.err" >&2; th_fail "dry run failed"; }
grep -qx "url: $ec_url" "$T/dry" || th_fail "dry run output: $(cat "$T/dry")"
grep -q 'nothing was changed' "$T/dry.err" || th_fail "dry run message: $(cat "$T/dry.err")"
[ "$(ak "$T/ec.pem" lookup)" = "$ec_url" ] || th_fail "dry run changed the account"
ak "$T/ec.pem" order dry.example.com || th_fail "after the dry run, the old key cannot order"
kshow() { $P11ACME --json --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" key show --key "$1"; }
th_expect_exit 2 kshow "$tok;object=mig-ec"
grep -q 'matches' "$T/out" || th_fail "dry run: key show: $(cat "$T/out")"
[ ! -e "$T/etc/accounts" ] || ls "$T"/etc/accounts/*/ | grep -v directory.json | grep -q . &&
	th_fail "dry run wrote account files: $(ls -R "$T/etc/accounts")" || true

# ---- key: with a JWK (EC), to a key generated in the token
mig "$tok;object=mig-ec;id=a1" account migrate --from "key:$T/ec.jwk" >"$T/mig" 2>"$T/mig.err" ||
	{ cat "$T/mig.err" >&2; th_fail "migrate (EC JWK) failed"; }
grep -qx "url: $ec_url" "$T/mig" || th_fail "migrate output: $(cat "$T/mig")"
grep -q 'generated a ec256 key' "$T/mig.err" || th_fail "no key generated: $(cat "$T/mig.err")"
grep -q 'remove the old key files from every host' "$T/mig.err" || th_fail "no next steps: $(cat "$T/mig.err")"
kshow "$tok;object=mig-ec" >"$T/ks" ||
	th_fail "the generated key does not pass key show"
grep -q '"extractable":[[:space:]]*false' "$T/ks" || th_fail "generated key: $(cat "$T/ks")"
mig "$tok;object=mig-ec" account show >"$T/show" || th_fail "account show failed"
grep -qx "url: $ec_url" "$T/show" || th_fail "account show: $(cat "$T/show")"
tp=$(sed -n 's/^thumbprint: //p' "$T/mig")
grep -q "$ec_url" "$T"/etc/accounts/*/"$tp.json" || th_fail "the account is not in the cache"
[ "$(ak "$T/ec.pem" lookup)" = none ] || th_fail "the old EC key still finds an account"
out=$(ak "$T/ec.pem" order after.example.com) && th_fail "the old EC key can still order"
case "$out" in *accountDoesNotExist*) ;; *) th_fail "old key's order: $out" ;; esac
# a rerun: already moved, nothing to do but say so
mig "$tok;object=mig-ec" account migrate --from "key:$T/ec.jwk" >"$T/again" 2>"$T/again.err" ||
	{ cat "$T/again.err" >&2; th_fail "rerun failed"; }
grep -q 'already uses the token key' "$T/again.err" && grep -qx "url: $ec_url" "$T/again" ||
	th_fail "rerun: $(cat "$T/again.err")"

# ---- key: with a PEM (RSA), to an existing token key (the fixture's P-384 key)
mig "$tok;object=acct384" account migrate --from "key:$T/rsa.pem" >"$T/mig2" 2>"$T/mig2.err" ||
	{ cat "$T/mig2.err" >&2; th_fail "migrate (RSA PEM) failed"; }
grep -qx "url: $rsa_url" "$T/mig2" || th_fail "migrate output: $(cat "$T/mig2")"
grep -q 'generated' "$T/mig2.err" && th_fail "an existing key was generated again"
mig "$tok;object=acct384" account show | grep -qx "url: $rsa_url" || th_fail "show after the RSA move"
[ "$(ak "$T/rsa.pem" lookup)" = none ] || th_fail "the old RSA key still finds an account"

# ---- lacme: lacme-accountd's config (Debian's own, with privkey set as its man page
# says) and the RSA key file it names
[ -f /etc/lacme/lacme-accountd.conf ] || th_fail "lacme-accountd is not installed (make deps)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/lacme.key" 2>/dev/null
chmod 0600 "$T/lacme.key"
sed "s|^#privkey = file:.*|privkey = file:$T/lacme.key|" /etc/lacme/lacme-accountd.conf >"$T/lacme-accountd.conf"
grep -q "^privkey = file:$T/lacme.key" "$T/lacme-accountd.conf" || th_fail "lacme-accountd.conf has no privkey line to set"
lacme_url=$(ak "$T/lacme.key" register) || th_fail "cannot register the lacme account"
# (under strace: only the signer child opens the old key; the process that talks to the
# network never does; the binary itself, as valgrind would hide the processes)
mkdir "$T/st"
strace -ff -o "$T/st/p" -e trace=open,openat -- "$TH_BUILD/p11acme" --server "$TH_SERVER" \
	--ca-bundle "$TH_CA_BUNDLE" --key "$tok;object=mig-lacme;id=a2" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
	--json account migrate --from "lacme:$T/lacme-accountd.conf" >"$T/mig3" 2>"$T/mig3.err" ||
	{ cat "$T/mig3.err" >&2; th_fail "migrate (lacme) failed"; }
main=$(grep -l 'execve\|openat(AT_FDCWD, "/etc/ld.so.cache"' "$T"/st/p.* | head -n 1)
readers=$(grep -l "\"$T/lacme.key\"" "$T"/st/p.* || true)
[ -n "$readers" ] || th_fail "strace saw nobody open the old key"
for f in $readers; do [ "$f" != "$main" ] || th_fail "the network process opened the old key"; done
th_log "the old key was opened by $(echo $readers | wc -w) signer process(es), not by $(basename "$main")"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["url"]==sys.argv[2] and not d["dry_run"], d' \
	"$T/mig3" "$lacme_url" || th_fail "migrate --json: $(cat "$T/mig3")"
[ "$(ak "$T/lacme.key" lookup)" = none ] || th_fail "the old lacme key still finds an account"

th_expect_exit 0 th_p11acme account migrate --help
grep -q -- '--dry-run' "$T/out" || th_fail "migrate --help lacks --dry-run"
