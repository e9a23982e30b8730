# tests/lib/tpm.sh: a TPM 2.0 token for tests, on a software TPM. Source it after
# harness.sh. Debian's swtpm, tpm2-abrmd and tpm2-pkcs11 (packages in the Makefile's
# DEB_TEST); everything lives in $T/tpm and stops with the test.
#
# tpm2_ptool needs a resource manager: with the direct swtpm: TCTI it runs out of TPM
# object slots even in addtoken. So: swtpm on two loopback ports, a private D-Bus
# session bus, tpm2-abrmd on it (--session), and the module and tools talk to abrmd.
# The module's store is TPM2_PKCS11_STORE; without it the module would silently create
# an empty store in $HOME/.tpm2_pkcs11 or the current directory.

TH_TPM_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so

# th_tpm_start: start swtpm, a session bus and tpm2-abrmd; export what the module and
# tpm2-tools need (TPM2_PKCS11_TCTI, TPM2TOOLS_TCTI, TPM2_PKCS11_STORE,
# DBUS_SESSION_BUS_ADDRESS).
th_tpm_start() {
	local d="$T/tpm" port n=0
	mkdir -p "$d/state" "$d/store"
	port=$(th_free_port 2)   # swtpm: port and port + 1 (control)
	swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		--flags not-need-init,startup-clear --tpmstate "dir=$d/state" >"$d/swtpm.log" 2>&1 &
	th_track $!
	th_wait_port 127.0.0.1 "$port" 10 $! "$d/swtpm.log"
	dbus-daemon --session --address="unix:path=$d/bus" --nofork >"$d/dbus.log" 2>&1 &
	th_track $!
	until [ -S "$d/bus" ]; do
		n=$((n + 1))
		[ "$n" -lt 100 ] || th_fail "the session bus did not start: $(cat "$d/dbus.log")"
		sleep 0.05
	done
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$d/bus"
	tpm2-abrmd --allow-root --session --tcti="swtpm:host=127.0.0.1,port=$port" --flush-all \
		>"$d/abrmd.log" 2>&1 &
	th_track $!
	export TPM2TOOLS_TCTI=tabrmd:bus_type=session TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_STORE="$d/store" TH_TPM_PORT=$port
	# abrmd answers about a second after it starts
	n=0
	until tpm2_getcap properties-fixed >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -lt 100 ] || th_fail "tpm2-abrmd does not answer: $(tail -n 5 "$d/abrmd.log")"
		sleep 0.1
	done
}

# th_tpm_token LABEL: a token in the TPM store, user PIN 1234, SO PIN 5678. Exports
# TH_TPM_PIN_FILE.
th_tpm_token() {
	tpm2_ptool init --path "$TPM2_PKCS11_STORE" >"$T/tpm/ptool.log" 2>&1 ||
		th_fail "tpm2_ptool init: $(cat "$T/tpm/ptool.log")"
	tpm2_ptool addtoken --pid=1 --label="$1" --sopin=5678 --userpin=1234 \
		--path "$TPM2_PKCS11_STORE" >>"$T/tpm/ptool.log" 2>&1 ||
		th_fail "tpm2_ptool addtoken: $(cat "$T/tpm/ptool.log")"
	export TH_TPM_PIN_FILE="$T/tpm-pin"
	printf '1234\n' >"$TH_TPM_PIN_FILE"
	chmod 0600 "$TH_TPM_PIN_FILE"
}

# The TPM's dictionary-attack failure counter (TPM2_PT_LOCKOUT_COUNTER).
th_tpm_lockout_counter() {
	tpm2_getcap properties-variable | awk '/TPM2_PT_LOCKOUT_COUNTER/ { print $2; exit }'
}
