#!/usr/bin/env bash
# tokens/: 8 processes open one SoftHSM token 25 times each (load module, log in, find
# the key, sign, close), all at once: 0 failures. SoftHSM rewrites its token file on
# every login, and without the per-token lock concurrent starts fail now and then.
. "$(dirname "$0")/../lib/harness.sh"

th_token tokconc
export P11ACME_LOCK_DIR="$T/locks"
mkdir -p "$P11ACME_LOCK_DIR"
PROCS=8 OPENS=25
for i in $(seq 1 $PROCS); do
	"$TH_BUILD/tests/tok_tool" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		loop $OPENS "$TH_KEY" >"$T/out.$i" 2>"$T/err.$i" &
	pids="${pids:-} $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
total=0
for i in $(seq 1 $PROCS); do
	f=$(sed -n 's/^failures: //p' "$T/out.$i")
	[ -n "$f" ] || th_fail "process $i printed no result: $(cat "$T/err.$i")"
	total=$((total + f))
done
if [ "$total" != 0 ] || [ "$bad" != 0 ]; then
	cat "$T"/err.* | sort | uniq -c | head -n 10 >&2
	th_fail "$total of $((PROCS * OPENS)) opens failed ($bad processes)"
fi
ls "$P11ACME_LOCK_DIR"/p11acme-*.lock >/dev/null || th_fail "no lock file in P11ACME_LOCK_DIR"
echo "tokens-concurrency: 0 of $((PROCS * OPENS)) opens failed"
