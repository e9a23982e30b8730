#!/bin/bash
# Hooks are bounded: --hook-timeout (default 300 s) ends a dns-01 or deploy hook that
# hangs, with its whole process group (SIGTERM, SIGKILL 5 s later for a hook that
# ignores it), and the run fails with a message; the new certificate of a run whose
# deploy hook hung stays live. A SIGTERM to p11acme while a hook runs reaches the hook's
# group too, so no hook outlives p11acme. Bad values are usage errors.
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start
th_p11acme account register --email hook@example.com --agree-tos >/dev/null
export MARK=$T/mark

# A hook that starts a long child and waits for it (only for "begin", so that the
# "failed" call after a timeout returns at once). Records its own and its child's PID.
cat >"$T/hang.sh" <<'SH'
#!/bin/sh
[ "${1:-begin}" = begin ] || exit 0
[ -z "${IGNORE_TERM:-}" ] || trap '' TERM
[ -z "${NOTE_TERM:-}" ] || trap 'echo TERM >"$MARK.term"; exit 1' TERM
sleep 1000 &
echo $! >"$MARK.child"
echo $$ >"$MARK.pid"
wait
SH
chmod +x "$T/hang.sh"

# alive PID: running (a zombie, dead but not yet reaped by its new parent, is not)
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# gone PIDFILE...: every recorded process has ended (within a second: an orphan
# killed with its group may still be on its way out)
gone() {
	local f pid n
	for f in "$@"; do
		[ -s "$f" ] || th_fail "$f: the hook did not record its PID"
		pid=$(cat "$f")
		n=0
		while alive "$pid"; do
			n=$((n + 1))
			[ $n -gt 10 ] && th_fail "process $pid ($f) outlived p11acme: $(ps -o pid,pgid,stat,cmd -p "$pid" | tail -n1)"
			sleep 0.1
		done
	done
	return 0
}
elapsed_ok() { # START MIN MAX
	local d=$(($(date +%s) - $1))
	[ "$d" -ge "$2" ] && [ "$d" -le "$3" ] || th_fail "took $d s, expected $2..$3 s"
}

# ---- a dns-01 hook that hangs: stopped after --hook-timeout, the issuance fails
rm -f "$MARK".*
t0=$(date +%s)
th_expect_exit 1 th_p11acme --hook-timeout 2 issue -d hang.example.com --dns-hook "$T/hang.sh"
elapsed_ok "$t0" 2 12
grep -q 'still running after 2 s (--hook-timeout)' "$T/out" || { cat "$T/out" >&2; th_fail "no timeout message"; }
gone "$MARK.pid" "$MARK.child"
[ -e "$T/etc/live/hang.example.com" ] && th_fail "a live set for a failed issuance"

# ---- a hook that ignores SIGTERM gets SIGKILL 5 s later
rm -f "$MARK".*
t0=$(date +%s)
IGNORE_TERM=1 th_expect_exit 1 th_p11acme --hook-timeout 1 issue -d stubborn.example.com \
	--dns-hook "$T/hang.sh"
elapsed_ok "$t0" 6 16
gone "$MARK.pid" "$MARK.child"

# ---- SIGTERM to p11acme while its hook runs: the hook's group gets it first
rm -f "$MARK".*
NOTE_TERM=1 $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
	--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" \
	issue -d term.example.com --dns-hook "$T/hang.sh" >"$T/term.out" 2>&1 &
pid=$!
n=0
until [ -s "$MARK.pid" ]; do
	n=$((n + 1)); [ $n -gt 300 ] && th_fail "the hook never started"; sleep 0.1
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 143 ] || { cat "$T/term.out" >&2; th_fail "p11acme exit $rc after SIGTERM, expected 143"; }
[ "$(cat "$MARK.term" 2>/dev/null)" = TERM ] || th_fail "the hook did not get SIGTERM"
gone "$MARK.pid" "$MARK.child"

# ---- a deploy hook that hangs: the run fails, the new certificate stays live
rm -f "$MARK".*
th_expect_exit 1 th_p11acme --hook-timeout 1 issue -d deploy.example.com --standalone \
	--http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" --deploy-hook "$T/hang.sh"
grep -q "did not finish; the new certificate stays in" "$T/out" || { cat "$T/out" >&2; th_fail "no deploy message"; }
th_verify_cert "$T/etc/live/deploy.example.com/fullchain.pem" deploy.example.com
gone "$MARK.pid" "$MARK.child"

# ---- 0 means no limit; a quick hook is unaffected
th_expect_exit 0 th_p11acme --hook-timeout 0 issue -d quick.example.com --standalone \
	--http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" --deploy-hook 'echo deployed "$P11ACME_CERT_NAME"'
grep -q 'deployed quick.example.com' "$T/out" || th_fail "the deploy hook did not run"

# ---- bad values
for v in -1 abc 86401 ''; do
	th_expect_exit 2 $P11ACME --hook-timeout "$v" --version
	grep -q 'hook-timeout' "$T/out" || th_fail "--hook-timeout '$v': no message"
done
P11ACME_HOOK_TIMEOUT=soon th_expect_exit 2 $P11ACME --version
grep -q 'P11ACME_HOOK_TIMEOUT' "$T/out" || th_fail "P11ACME_HOOK_TIMEOUT: no message"
th_log "hook timeouts: ok"
