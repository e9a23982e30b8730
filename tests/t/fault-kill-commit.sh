#!/usr/bin/env bash
# SIGKILL inside the commit, at two points made reachable with strace's syscall
# delay injection (the commit takes a millisecond; a plain kill never hits it):
#  a. while the new archive entry is written (every fsync delayed 1 s; the kill
#     comes once archive/NAME/.tmp* or archive/NAME/<n+1>/ exists);
#  b. between the temporary live symlink and its rename (every rename delayed 2 s;
#     the kill comes once live/.NAME.*.tmp exists).
# After each kill the previous live set is intact. Then a normal run succeeds,
# and after it no partial archive entry and no temporary file is left in the
# config dir (issue 7: "no temporary files are left behind once the next run
# finishes").
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

command -v strace >/dev/null || th_fail "strace is missing (make deps installs it)"
# Not marked "valgrind: yes": the kills are timed against strace, not valgrind.
NAME=commit.test
th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@commit.test
th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"
before=$(fc_live_hash "$T/etc" "$NAME")

# matches GLOB...: some GLOB (space-separated) matches a path.
matches() {
	local g
	for g in $1; do compgen -G "$g" >/dev/null && return 0; done
	return 1
}

# kill_when GLOBS STRACE_ARGS...: issue under strace; SIGKILL p11acme (not strace)
# as soon as one of GLOBS (space-separated) matches a path.
kill_when() {
	local glob=$1 n=0 pid spid
	shift
	strace -f -qq -o /dev/null "$@" $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$T/etc" --timeout 60 issue -d "$NAME" --standalone --force \
		--http-port "$TH_HTTP_PORT" >"$T/out-strace" 2>&1 &
	spid=$!
	th_track "$spid"
	# shellcheck disable=SC2086
	until matches "$glob"; do
		n=$((n + 1))
		[ "$n" -ge 600 ] && th_fail "never saw $glob: $(cat "$T/out-strace")"
		kill -0 "$spid" 2>/dev/null || th_fail "p11acme ended before $glob appeared: $(cat "$T/out-strace")"
		sleep 0.05
	done
	pid=$(pgrep -o -f -- "^$TH_BUILD/p11acme .*--config-dir $T/etc")
	[ -n "$pid" ] || th_fail "cannot find p11acme's pid"
	kill -KILL "$pid"
	wait "$spid" 2>/dev/null || true
	th_untrack "$spid"
	sleep 0.3
	th_log "killed p11acme at $glob: $(ls -A "$T/etc/live") | archive: $(ls "$T/etc/archive/$NAME" | tr '\n' ' ')"
	[ "$(fc_live_hash "$T/etc" "$NAME")" = "$before" ] || th_fail "the live set changed after a kill at $glob"
}

last=$(ls "$T/etc/archive/$NAME" | sort -n | tail -n 1)
# the entry is written under a temporary name (.tmp*) or, in a simpler store, in place
kill_when "$T/etc/archive/$NAME/.tmp* $T/etc/archive/$NAME/$((last + 1))" -e trace=fsync,fdatasync \
	-e inject=fsync,fdatasync:delay_enter=1000000
kill_when "$T/etc/live/.$NAME.*" -e trace=rename,renameat,renameat2 \
	-e inject=rename,renameat,renameat2:delay_enter=2000000

th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --force --http-port "$TH_HTTP_PORT"
th_verify_cert "$T/etc/live/$NAME/fullchain.pem" "$NAME"
th_log "after the next run: live: $(ls -A "$T/etc/live" | tr '\n' ' ') archive: $(ls "$T/etc/archive/$NAME" | tr '\n' ' ')"
fc_check_sets "$T/etc" "$NAME"
