#!/usr/bin/env bash
# Every wait is bounded by the run's deadline (--timeout), even where the other
# side is local:
#  - the signer process stops answering (SIGSTOP, as a hung token would): the run
#    ends by the deadline with exit 1 and a message, instead of blocking in recv();
#  - another process holds the token lock: after a second p11acme names the lock
#    file it waits for, and the run ends by the deadline (exit 1);
#  - the lock file is created 0600, in a directory only its user can create files
#    in; a lock directory writable by others is refused, naming the fix; root's
#    default is /run/lock/p11acme, 0700 and root's own.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

th_token
th_pebble_tls
export P11ACME_LOCK_DIR=$T/locks
mkdir -m 0755 "$P11ACME_LOCK_DIR"
HC_PORT=$(th_free_port)
HC_ELSE_PORT=$(th_free_port)
HC_SERVER="https://127.0.0.1:$HC_PORT/dir"
p11() {
	$P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" "$@"
}

# ---- the lock file: 0600, ours
th_expect_exit 0 p11 account thumbprint
lock=$(ls "$P11ACME_LOCK_DIR"/p11acme-*.lock)
[ "$(stat -c %a "$lock")" = 600 ] || th_fail "the lock file has mode $(stat -c %a "$lock")"

# ---- a held lock: named after a second, given up at the deadline
# -o: the lock stays with flock itself, so that killing it releases the lock
flock -o "$lock" sleep 60 &
holder=$!
th_track "$holder"
th_wait_locked "$lock"
start=$(date +%s)
rc=0
timeout 30 "$TH_BUILD/p11acme" --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
	--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" --timeout 4 \
	issue -d lock.test --standalone --http-port "$(th_free_port)" >"$T/out-lock" 2>&1 || rc=$?
took=$(($(date +%s) - start))
pkill -P "$holder" sleep 2>/dev/null || true
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
th_log "held lock: exit $rc after ${took}s"
[ "$rc" = 1 ] || th_fail "held lock: exit $rc, expected 1: $(cat "$T/out-lock")"
[ "$took" -le 25 ] || th_fail "held lock: ${took}s for --timeout 4 (not bounded)"
grep -q "waiting for the token lock $lock" "$T/out-lock" || th_fail "the lock file is not named: $(cat "$T/out-lock")"
grep -q 'no answer from the signer process by the deadline' "$T/out-lock" ||
	th_fail "no deadline message: $(cat "$T/out-lock")"

# ---- a lock directory of another user's is refused; one of ours that others
# could write to is narrowed to 0700 (an older p11acme made /run/lock/p11acme 01777)
mkdir -m 0777 "$T/badlocks"
chmod 0777 "$T/badlocks"
chown nobody "$T/badlocks"
rc=0
P11ACME_LOCK_DIR=$T/badlocks p11 account thumbprint >"$T/out-bad" 2>&1 || rc=$?
[ "$rc" != 0 ] || th_fail "a lock directory of nobody's, mode 0777, was used"
grep -q "$T/badlocks: not a directory of this user's" "$T/out-bad" ||
	th_fail "no message for nobody's lock dir: $(cat "$T/out-bad")"
chown root "$T/badlocks"
chmod 01777 "$T/badlocks"
P11ACME_LOCK_DIR=$T/badlocks p11 account thumbprint >"$T/out-bad" 2>&1 ||
	th_fail "our own 01777 lock dir: $(cat "$T/out-bad")"
grep -q "narrowed to 0700" "$T/out-bad" || th_fail "no warning: $(cat "$T/out-bad")"
[ "$(stat -c %a "$T/badlocks")" = 700 ] || th_fail "the lock dir is $(stat -c %a "$T/badlocks")"

# ---- root's default lock directory
unset P11ACME_LOCK_DIR
th_expect_exit 0 p11 account thumbprint
[ "$(stat -c '%a %U' /run/lock/p11acme)" = "700 root" ] ||
	th_fail "/run/lock/p11acme is $(stat -c '%a %U' /run/lock/p11acme)"
export P11ACME_LOCK_DIR=$T/locks

# ---- a stopped signer: the run ends by the deadline
hc_start processing-forever
start=$(date +%s)
rc=0
"$TH_BUILD/p11acme" --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
	--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" --timeout 12 \
	issue -d stop.test --standalone --http-port "$(th_free_port)" >"$T/out-stop" 2>&1 &
client=$!
th_track "$client"
for _ in $(seq 200); do grep -q '^POST /order/1$' "$HC_LOG" && break; sleep 0.1; done
grep -q '^POST /order/1$' "$HC_LOG" || th_fail "the order was never polled: $(cat "$T/out-stop")"
signer=$(pgrep -P "$client" | head -n 1)
[ -n "$signer" ] || th_fail "no signer process under $client"
kill -STOP "$signer"
th_log "stopped signer $signer of client $client"
wait "$client" || rc=$?
th_untrack "$client"
took=$(($(date +%s) - start))
kill -CONT "$signer" 2>/dev/null || true
hc_stop
th_log "stopped signer: exit $rc after ${took}s"
[ "$rc" = 1 ] || th_fail "stopped signer: exit $rc, expected 1: $(cat "$T/out-stop")"
[ "$took" -le 60 ] || th_fail "stopped signer: ${took}s for --timeout 12 (not bounded)"
grep -q 'no answer from the signer process by the deadline' "$T/out-stop" ||
	th_fail "stopped signer: $(tail -n 5 "$T/out-stop")"
echo ok
