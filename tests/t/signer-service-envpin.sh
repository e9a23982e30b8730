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
P11ACME_SANITIZE=${P11ACME_SANITIZE:-} /usr/bin/python3 - "$SVC" "$PIN" <<'PY' ||
# Read each readable mapping in 4 MiB chunks (overlapping by the PIN's length).
# Mappings over 64 GiB are skipped: only a sanitizer's shadow reservation is that
# large, and it holds no strings (reading it whole is a MemoryError).
# Under ASan one hit is expected and allowed: the sanitizer runtime's own verbatim
# copy of the whole initial environment (sanitizer_common's GetEnv reads
# /proc/self/environ into a buffer at start, before main). It is recognised as
# exactly that block: /proc/PID/environ as it is now (the service wiped the PIN in
# place) with the PIN put back.
import os, re, sys
pid, pin = sys.argv[1], sys.argv[2].encode()
CHUNK, HUGE = 4 << 20, 64 << 30
var = b"P11ACME_SVC_PIN="
now = open(f"/proc/{pid}/environ", "rb").read()
initial = now.replace(var + b"\0" * len(pin), var + pin, 1)
k = initial.find(var + pin) + len(var)

def is_sanitizer_env_copy(mem, addr):
    if os.environ.get("P11ACME_SANITIZE") != "1" or initial == now:
        return False
    try:
        mem.seek(addr - k)
        return mem.read(len(initial)) == initial
    except (OSError, ValueError, OverflowError):
        return False

def hits(mem, lo, hi):
    pos = lo
    while pos < hi:
        n = min(CHUNK, hi - pos)
        try:
            mem.seek(pos)
            buf = mem.read(n + len(pin) - 1 if pos + n < hi else n)
        except (OSError, ValueError, OverflowError):
            return
        i = buf.find(pin)
        while i >= 0:
            yield pos + i
            i = buf.find(pin, i + 1)
        pos += n

with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r.)", line)
        if not m:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > HUGE:
            continue
        for addr in list(hits(mem, lo, hi)):
            if not is_sanitizer_env_copy(mem, addr):
                print("found at", hex(addr), "in", line.strip())
                sys.exit(1)
PY
	th_fail "the PIN is in the service process's memory"
echo "signer-service-envpin: ok"
