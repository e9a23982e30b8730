#!/bin/bash
# The signer service with an env: PIN source: it signs (through its key child), and
# the service process itself, which parses every client's input, holds no copy of
# the PIN: neither its environment nor any of its writable memory contains it (the
# key child read it; signer/parent.c keeps no copy for a relogin child).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
fc_unique_pin Sv7
th_pebble_start
mkdir -p "$T/run"
printf '[user root]\nnames = *\nallow = order revoke account\n' >"$T/policy"
SOCK=$T/run/signer.sock
P11ACME_SVC_PIN=$PIN "$TH_BUILD/p11acme" --server "$TH_SERVER" --key "$TH_KEY" \
	--module "$TH_MODULE" --pin-source env:P11ACME_SVC_PIN signer serve --socket "$SOCK" \
	--policy "$T/policy" 2>"$T/svc.log" &
SVC=$!
th_track $SVC
th_wait_log "$T/svc.log" 'listening on' 30 "the signer service" $SVC
client() {
	"$TH_BUILD/p11acme" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--signer "unix:$SOCK" --config-dir "$T/etc" "$@"
}
client account register --email ops@example.com --agree-tos >/dev/null || th_fail "register through the service"
client account show | grep -q '^url: https://' || th_fail "account show through the service"
grep -qaF -- "$PIN" "/proc/$SVC/environ" && th_fail "the PIN is in the service's environment"
/usr/bin/python3 - "$SVC" "$PIN" <<'PY' || th_fail "the PIN is in the service process's memory"
import re, sys
pid, pin = sys.argv[1], sys.argv[2].encode()
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r.)", line)
        if not m:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        try:
            mem.seek(lo)
            if pin in mem.read(hi - lo):
                print("found in", line.strip())
                sys.exit(1)
        except (OSError, ValueError, OverflowError):
            pass
PY
echo "signer-service-envpin: ok"
