#!/bin/bash
# valgrind: yes
# The signer service stays up for everyone else whatever one client does: garbage,
# truncated, oversized and malformed frames, a client that connects and sends nothing
# (closed after --idle-timeout), one that stops inside a frame (closed after
# --client-timeout), one killed mid-request, one that never reads its answer; past
# --max-clients a client is told "busy", and past --max-per-user a user is, while
# another user is still served. Six raw clients signing at once each get their own
# answers (the key child is pipelined). 16 concurrent clients (two users) issue
# through one service with 0 failures. SIGKILL of the service mid-issuance: the client
# exits 1 naming the signer, the live certificate is untouched, the key process goes
# too, and a restarted service (over the stale socket file) serves again. SIGTERM
# stops it cleanly (exit 0, socket file removed).
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/signer_users.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
th_pebble_start
cp "$TH_CA_BUNDLE" "$T/ca.pem"
chmod 0644 "$T/ca.pem"
RAW="/usr/bin/python3 $TH_ROOT/tests/lib/signer_raw.py"
G1=$(su_group sock)
U1=$(su_user one "$G1")
U2=$(su_user two)
ADM=$(su_user adm)
cat >"$T/policy" <<EOF
[user $U1]
names = *.one.example.com
allow = order
[user $U2]
names = *.two.example.com
allow = order
[user $ADM]
names = *
allow = order revoke account
[user root]
EOF
chmod 0644 "$T/policy"
mkdir -p "$T/run"
chmod 0755 "$T/run"
SOCK=$T/run/signer.sock
# The deadlines are checked on a second service with no real clients (a real one can
# be idle for seconds while Pebble validates); under valgrind everything is slower.
IDLE=${TH_VGDIR:+20}
IDLE=${IDLE:-3}

start_service() {   # start_service LOG [serve options...]
	local log=$1
	shift
	$P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --key "$TH_KEY" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" signer serve --policy "$T/policy" \
		--audit-log "$T/audit.log" "$@" 2>>"$log" &
	SVC=$!
	th_track $SVC
	for _ in $(seq 1 600); do [ -S "$SOCK" ] && grep -q 'listening on' "$log" && break
		kill -0 $SVC 2>/dev/null || break; sleep 0.1; done
	grep -q 'listening on' "$log" || th_fail "the service did not start: $(cat "$log")"
}
# The clients are not run under valgrind even in the valgrind suite: the service is
# what this test checks, and 16 clients under valgrind at once would only measure the
# machine (signer-service-policy runs its clients under valgrind).
client() {
	local u=$1
	shift
	su_run "$u" "$TH_BUILD/p11acme" --server "$TH_SERVER" --ca-bundle "$T/ca.pem" \
		--signer "unix:$SOCK" --config-dir "$T/etc-$u" "$@"
}
for u in "$U1" "$U2" "$ADM"; do su_dir "$u" "$T/etc-$u"; done

start_service "$T/svc.log" --socket "$SOCK" --max-clients 40
client "$ADM" account register --email ops@example.com --agree-tos >/dev/null || th_fail "register"
su_spawn root "$TH_BUILD/p11acme" --signer "unix:$SOCK" serve-http01 --listen "127.0.0.1:$TH_HTTP_PORT" \
	2>"$T/http01.log"
H01=$SU_PID
th_wait_port 127.0.0.1 "$TH_HTTP_PORT" 20 $H01 "$T/http01.log"
JWK=$($RAW "$SOCK" jwk) || th_fail "raw JWK request"

# ---- 6 raw clients at once (two users), 150 signatures each: every answer reaches its own client
# (the service keeps two requests at its key child and decides the next meanwhile)
ORIGIN=$(echo "$TH_SERVER" | sed -E 's|^(https://[^/]+).*|\1|')
pids=""
for k in 1 2 3 4 5 6; do
	if [ $((k % 2)) = 0 ]; then u=$U2; else u=$U1; fi
	su_run "$u" /usr/bin/python3 "$TH_ROOT/tests/lib/signer_raw.py" "$SOCK" signmany 150 \
		"$ORIGIN" "p$k" >"$T/many$k.out" 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
[ "$fails" = 0 ] || th_fail "$fails of 6 pipelined clients failed: $(cat "$T"/many*.out)"

# ---- bad frames: each is refused, and the same or the next client is served
out=$($RAW "$SOCK" oversized) || th_fail "oversized frame: $out"
echo "$out" | grep -q 'frame larger than 64 KiB' || th_fail "oversized: $out"
out=$($RAW "$SOCK" badversion) || th_fail "bad version: $out"
echo "$out" | grep -q 'unsupported protocol version' || th_fail "bad version: $out"
[ "$(echo "$out" | tail -n1)" = "$JWK" ] || th_fail "no JWK after a bad frame on the same connection"
out=$($RAW "$SOCK" badfields) || th_fail "bad fields: $out"
echo "$out" | grep -q 'truncated field' || th_fail "bad fields: $out"
for _ in 1 2 3; do $RAW "$SOCK" garbage >/dev/null || th_fail "garbage"; done
$RAW "$SOCK" truncated || th_fail "truncated"
$RAW "$SOCK" noread || th_fail "noread"
# a client killed in the middle of a frame
$RAW "$SOCK" hold 30 &
HOLD=$!
sleep 0.5
kill -9 $HOLD
wait $HOLD 2>/dev/null || true
[ "$($RAW "$SOCK" jwk)" = "$JWK" ] || th_fail "the service stopped serving after bad clients"

# ---- a silent client and a stalled one hold slots, and everybody else is served
$RAW "$SOCK" hold 60 &
H1=$!
$RAW "$SOCK" partial 60 >/dev/null 2>&1 &
H2=$!
sleep 0.3
client "$U1" issue -d a.one.example.com --stateless >/dev/null 2>"$T/a.err" ||
	th_fail "issue beside a silent and a stalled client failed: $(cat "$T/a.err")"
kill $H1 $H2 2>/dev/null || true
wait $H1 $H2 2>/dev/null || true
grep -q '"op":"bad-frame".*inside a frame' "$T/audit.log" || th_fail "no truncated-frame audit line"

# ---- 16 concurrent clients, two users, 0 failures (dns-01: Pebble 2.4 has been seen
# to stall for a minute on concurrent http-01 authorization updates)
fc_dns_hook "$T/dns-hook.sh"
chmod 0755 "$T/dns-hook.sh"
pids=""
for i in $(seq 1 16); do
	if [ $((i % 2)) = 0 ]; then u=$U2; d=c$i.two.example.com; else u=$U1; d=c$i.one.example.com; fi
	client "$u" issue -d "$d" --dns-hook "$T/dns-hook.sh" >/dev/null 2>"$T/c$i.err" &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
[ "$fails" = 0 ] || th_fail "$fails of 16 concurrent clients failed: $(cat "$T"/c*.err)"
for i in $(seq 1 16); do
	if [ $((i % 2)) = 0 ]; then u=$U2; d=c$i.two.example.com; else u=$U1; d=c$i.one.example.com; fi
	th_verify_cert "$T/etc-$u/live/$d/fullchain.pem" "$d"
done

# ---- past --max-clients: busy
kill -TERM $SVC
wait $SVC || th_fail "SIGTERM: the service did not exit 0"
th_untrack $SVC
[ -e "$SOCK" ] && th_fail "SIGTERM left the socket file"
# ---- the deadlines: a silent client is closed after --idle-timeout, one stalled inside
# a frame after --client-timeout; and past --max-clients a client is told "busy"
start_service "$T/svc2.log" --socket "$SOCK" --max-clients 3 --max-per-user 2 \
	--idle-timeout "$IDLE" --client-timeout 2
$RAW "$SOCK" idle $((IDLE + 20)) >"$T/idle.out" &
IDLEPID=$!
$RAW "$SOCK" partial 20 >"$T/partial.out" &
PARTPID=$!
wait $PARTPID || th_fail "a stalled client was not closed: $(cat "$T/partial.out")"
wait $IDLEPID || th_fail "a silent client was not closed: $(cat "$T/idle.out")"
grep -q '"op":"timeout".*did not send a whole frame in time' "$T/audit.log" ||
	th_fail "no timeout audit line for the stalled client"
grep -q '"op":"timeout".*idle connection' "$T/audit.log" || th_fail "no idle audit line"
$RAW "$SOCK" hold 20 &
H1=$!
$RAW "$SOCK" hold 20 &
H2=$!
sleep 0.5
# root holds its --max-per-user 2: a third root connection is busy, another user is served
out=$($RAW "$SOCK" busy) || th_fail "no busy answer: $out"
echo "$out" | grep -q 'signer service busy (user root already has 2 connections' ||
	th_fail "per-user busy: $out"
grep -q '"user":"root".*"op":"busy".*already has 2 connections' "$T/audit.log" ||
	th_fail "no audit line for the per-user limit"
client "$U1" account thumbprint >/dev/null || th_fail "another user was refused beside root's limit"
# the third slot taken by another user: now every newcomer is busy (--max-clients 3)
su_spawn "$U2" /usr/bin/python3 "$TH_ROOT/tests/lib/signer_raw.py" "$SOCK" hold 20
H3=$SU_PID
sleep 0.5
th_expect_exit 1 client "$U1" account thumbprint
grep -q 'signer service busy (too many clients)' "$T/out" || th_fail "client busy: $(cat "$T/out")"
kill $H1 $H2 $H3 2>/dev/null || true
wait $H1 $H2 $H3 2>/dev/null || true

# ---- SIGKILL of the service mid-issuance; the live certificate stays
live=$T/etc-$U1/live/a.one.example.com
before=$(sha256sum "$live/cert.pem")
cat >"$T/hook.sh" <<EOF
#!/bin/sh
[ "\$1" = begin ] && touch "$T/etc-$U1/in-hook" && sleep 3
exit 0
EOF
chmod 0755 "$T/hook.sh"
KEYPID=$(pgrep -P $SVC | head -n1)
client "$U1" issue -d a.one.example.com --force --dns-hook "$T/hook.sh" >/dev/null 2>"$T/kill.err" &
CL=$!
for _ in $(seq 1 600); do [ -e "$T/etc-$U1/in-hook" ] && break; sleep 0.05; done
[ -e "$T/etc-$U1/in-hook" ] || th_fail "the client never reached its hook: $(cat "$T/kill.err")"
kill -9 $SVC
wait $SVC 2>/dev/null || true
th_untrack $SVC
rc=0
wait $CL || rc=$?
[ "$rc" = 1 ] || th_fail "client exit $rc after the service was killed: $(cat "$T/kill.err")"
grep -q 'signer: ' "$T/kill.err" || th_fail "the client did not name the signer: $(cat "$T/kill.err")"
[ "$(sha256sum "$live/cert.pem")" = "$before" ] || th_fail "the live certificate changed"
th_verify_cert "$live/fullchain.pem" a.one.example.com
for _ in $(seq 1 50); do kill -0 "$KEYPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KEYPID" 2>/dev/null && th_fail "the key process outlived the killed service"
[ -S "$SOCK" ] || th_fail "expected the stale socket file after SIGKILL"
start_service "$T/svc3.log" --socket "$SOCK" --socket-group "$G1"
[ "$(stat -c '%a %G' "$SOCK")" = "660 $G1" ] || th_fail "socket: $(stat -c '%a %G' "$SOCK")"
client "$U1" issue -d a.one.example.com --force --stateless >/dev/null 2>"$T/again.err" ||
	th_fail "issue through the restarted service failed: $(cat "$T/again.err")"
th_expect_exit 1 client "$U2" account thumbprint
grep -q 'connect: Permission denied' "$T/out" || th_fail "--socket-group: $(cat "$T/out")"
[ "$(sha256sum "$live/cert.pem")" != "$before" ] || th_fail "no new certificate after the restart"
kill -TERM $SVC
wait $SVC || th_fail "the restarted service did not stop cleanly"
th_untrack $SVC
echo ok
