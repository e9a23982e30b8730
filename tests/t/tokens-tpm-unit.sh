#!/usr/bin/env bash
# The systemd side of a TPM account key:
# - every unit reads EnvironmentFile=-/etc/default/p11acme, and so does the cron
#   wrapper;
# - the drop-in scripts/p11acme-tpm.conf, beside the renew unit, passes
#   `systemd-analyze verify`, and the merged unit (systemd-analyze security) allows
#   /dev/tpmrm0 rw and nothing else of /dev, and its writable store is the store the
#   module is told to use;
# - the renew unit's ExecStart, run with an empty environment plus an environment file
#   (as EnvironmentFile= gives it) that names the TPM module by its p11-kit name and
#   the module's store and TCTI, and the PIN as a credential file, renews a
#   certificate whose account key is in the TPM (tpm2-pkcs11 on swtpm); so does the
#   cron wrapper with that file as its /etc/default/p11acme.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/tpm.sh"
. "$(dirname "$0")/fault-common.inc"

command -v systemd-analyze >/dev/null || th_fail "systemd-analyze missing (package systemd)"
for u in "$TH_ROOT"/scripts/*.service; do
	grep -qx 'EnvironmentFile=-/etc/default/p11acme' "$u" ||
		th_fail "$(basename "$u") does not read /etc/default/p11acme"
done
grep -q 'defaults=${P11ACME_DEFAULTS:-/etc/default/p11acme}' "$TH_ROOT/scripts/p11acme-renew-all" ||
	th_fail "the cron wrapper does not read /etc/default/p11acme"

# the drop-in, merged with the unit
bin=$(readlink -f "$TH_BUILD/p11acme")
mkdir -p "$T/units/p11acme-renew.service.d"
sed "s|/usr/local/bin/p11acme |$bin |; /^Documentation=/d" "$TH_ROOT/scripts/p11acme-renew.service" \
	>"$T/units/p11acme-renew.service"
cp "$TH_ROOT/scripts/p11acme-tpm.conf" "$T/units/p11acme-renew.service.d/tpm.conf"
systemd-analyze verify "$T/units/p11acme-renew.service" >"$T/out" 2>&1 ||
	th_fail "systemd-analyze verify: $(cat "$T/out")"
systemd-analyze security --offline=yes "$T/units/p11acme-renew.service" >"$T/sec" 2>&1 ||
	th_fail "systemd-analyze security: $(cat "$T/sec")"
grep -E '^. DeviceAllow=' "$T/sec" | grep -q '/dev/tpmrm0:rw' ||
	th_fail "the merged unit does not allow /dev/tpmrm0: $(grep DeviceAllow "$T/sec")"
grep -E '^. DeviceAllow=' "$T/sec" | sed 's/.*ACL with some special devices: //' | tr ' ' '\n' |
	grep -v -e '^char-rtc:r$' -e '^/dev/tpmrm0:rw$' -e '^$' -e '^[0-9.]*$' | grep -q . &&
	th_fail "the merged unit allows more devices: $(grep DeviceAllow "$T/sec")"
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec")
awk -v e="$exposure" 'BEGIN { exit !(e <= 4.0) }' || th_fail "exposure level $exposure > 4.0 with the drop-in"
store=$(sed -n 's/^ReadWritePaths=//p' "$TH_ROOT/scripts/p11acme-tpm.conf")
grep -qx "Environment=TPM2_PKCS11_STORE=$store" "$TH_ROOT/scripts/p11acme-tpm.conf" ||
	th_fail "the drop-in's writable path is not the module's store"
th_log "renew unit with the TPM drop-in: exposure $exposure"

# the ExecStart line, environment from a file only, against a TPM key
th_tpm_start
th_tpm_token unit
th_pebble_start
fc_dns_hook "$T/hook"
K="pkcs11:token=unit;object=acct"
cat >"$T/default" <<ENV
P11ACME_MODULE=tpm2_pkcs11
P11ACME_KEY=$K
P11ACME_SERVER=$TH_SERVER
P11ACME_CA_BUNDLE=$TH_CA_BUNDLE
P11ACME_CONFIG_DIR=$T/etc
TPM2_PKCS11_STORE=$TPM2_PKCS11_STORE
TPM2_PKCS11_TCTI=$TPM2_PKCS11_TCTI
DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS
ENV
mkdir -p "$T/credentials"
cp "$TH_TPM_PIN_FILE" "$T/credentials/pin"
envrun() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CREDENTIALS_DIRECTORY="$T/credentials" \
	$(cat "$T/default") "$@"; }
th_expect_exit 0 envrun "$bin" --pin-source "file:$T/credentials/pin" key generate --key "$K" --type ec256
th_expect_exit 0 envrun "$bin" --pin-source "file:$T/credentials/pin" account register --agree-tos \
	--email unit@tpm.test
th_expect_exit 0 envrun "$bin" --pin-source "file:$T/credentials/pin" issue -d unit.tpm.test \
	--dns-hook "$T/hook"
exec_start=$(sed -n 's/^ExecStart=//p' "$T/units/p11acme-renew.service")
exec_start=${exec_start//'${CREDENTIALS_DIRECTORY}'/$T/credentials}
before=$(readlink "$T/etc/live/unit.tpm.test")
th_expect_exit 0 envrun $exec_start --days 3000
grep -q '^unit.tpm.test: renewed' "$T/out" || th_fail "ExecStart: $(cat "$T/out")"
[ "$(readlink "$T/etc/live/unit.tpm.test")" != "$before" ] || th_fail "nothing was renewed"
# the cron wrapper, with the same file as its /etc/default/p11acme (and no syslog)
before=$(readlink "$T/etc/live/unit.tpm.test")
th_expect_exit 0 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin P11ACME="$bin" P11ACME_DEFAULTS="$T/default" \
	P11ACME_PIN_SOURCE="file:$T/credentials/pin" P11ACME_LOG_SOCKET="$T/no-syslog" \
	sh "$TH_ROOT/scripts/p11acme-renew-all" --days 3000
grep -q 'unit.tpm.test: renewed' "$T/out" || th_fail "cron wrapper: $(cat "$T/out")"
[ "$(readlink "$T/etc/live/unit.tpm.test")" != "$before" ] || th_fail "the cron wrapper renewed nothing"
echo "tokens-tpm-unit: ok"
