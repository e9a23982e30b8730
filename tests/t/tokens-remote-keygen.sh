#!/usr/bin/env bash
# Key generation through p11-kit-client.so to a `p11-kit server` exporting a SoftHSM
# token: ec256, ec384 and rsa2048 are made with p11acme's template on the far side,
# and `key show` through the client says each cannot leave the token.
. "$(dirname "$0")/../lib/harness.sh"

th_token remote
CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
SOCK=$T/p11kit.sock
p11-kit server -f -n "$SOCK" --provider "$TH_MODULE" "pkcs11:token=remote" >"$T/p11kit.log" 2>&1 &
th_track $!
n=0
until [ -S "$SOCK" ]; do
	n=$((n + 1))
	[ "$n" -lt 100 ] || th_fail "p11-kit server made no socket: $(cat "$T/p11kit.log")"
	sleep 0.05
done
rp() { P11_KIT_SERVER_ADDRESS="unix:path=$SOCK" $P11ACME --module "$CLIENT" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" "$@"; }
for type in ec256 ec384 rsa2048; do
	th_expect_exit 0 rp key generate --key "pkcs11:token=remote;object=gen-$type" --type "$type"
	th_expect_exit 0 rp key show --key "pkcs11:token=remote;object=gen-$type"
	grep -q '^verdict: cannot leave the token$' "$T/out" || th_fail "$type: $(cat "$T/out")"
done
echo "tokens-remote-keygen: ok"
