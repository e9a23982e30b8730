#!/usr/bin/env bash
# NSS softoken (libsoftokn3.so, a module that needs C_Initialize arguments: its
# database) through --module-args: key generate, key show (cannot leave the token),
# account register and issue against Pebble; the renewal conf records module_args
# like module, and renew repeats the issuance from the conf alone; P11ACME_MODULE_ARGS
# works too; without the arguments the module cannot start, and the message says so.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

NSS=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
[ -f "$NSS" ] || th_fail "NSS softoken not found at $NSS (package libnss3)"
mkdir -p "$T/nssdb"
printf 'nss-db-pass\n' >"$T/nss.pin"
chmod 600 "$T/nss.pin"
certutil -N -d "sql:$T/nssdb" -f "$T/nss.pin" || th_fail "certutil -N"
ARGS="configdir='sql:$T/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
K="pkcs11:token=NSS%20Certificate%20DB;object=acct"
th_pebble_start
fc_dns_hook "$T/hook"
np() { $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --module "$NSS" \
	--pin-source "file:$T/nss.pin" --config-dir "$T/etc" "$@"; }

th_expect_exit 0 np --module-args "$ARGS" key generate --key "$K" --type ec256
th_expect_exit 0 np --module-args "$ARGS" key show --key "$K"
grep -q '^algorithm: ES256 ' "$T/out" && grep -q '^verdict: cannot leave the token$' "$T/out" ||
	th_fail "key show: $(cat "$T/out")"
P11ACME_MODULE_ARGS=$ARGS th_expect_exit 0 np --key "$K" account register --agree-tos \
	--email nss@example.com
th_expect_exit 0 np --module-args "$ARGS" --key "$K" issue -d nss.test --dns-hook "$T/hook"
th_verify_cert "$T/etc/live/nss.test/fullchain.pem" nss.test
grep -qxF "module_args = $ARGS" "$T/etc/renewal/nss.test.conf" ||
	th_fail "the renewal conf does not record module_args: $(cat "$T/etc/renewal/nss.test.conf")"
before=$(readlink "$T/etc/live/nss.test")
th_expect_exit 0 $P11ACME --config-dir "$T/etc" renew --cert-name nss.test --days 3000
[ "$(readlink "$T/etc/live/nss.test")" != "$before" ] || th_fail "renew from the conf: $(cat "$T/out")"

# without its arguments the module does not initialise: say which module and what to do
th_expect_exit_in() { local want=$1 rc=0; shift; "$@" >"$T/out" 2>&1 || rc=$?
	case " $want " in *" $rc "*) ;; *) cat "$T/out" >&2; th_fail "exit $rc: $*" ;; esac; }
th_expect_exit_in "1 2" np --key "$K" key show
grep -q "libsoftokn3.so.*--module-args" "$T/out" || th_fail "no hint at --module-args: $(cat "$T/out")"
echo "tokens-nss: ok"
