#!/usr/bin/env bash
# --webroot under the timer unit's UMask=0077: the challenge file (0644) and the
# directories p11acme creates for it (0755) must be readable by a web server that
# runs as another user. Here the web server runs as nobody, the webroot is a
# fresh directory under /tmp, and issue runs with umask 077: Pebble can only
# validate when nobody could read the file. Also: the renew unit gives the token
# lock its shared directory (ReadWritePaths=/run/lock/p11acme).
. "$(dirname "$0")/../lib/harness.sh"

unit=$TH_ROOT/scripts/p11acme-renew.service
grep -qx 'ReadWritePaths=/run/lock/p11acme' "$unit" ||
	th_fail "the renew unit does not give the token lock its directory"
grep -q '^ExecStartPre=+.*mkdir .*-m 0700 /run/lock/p11acme' "$unit" ||
	th_fail "the renew unit does not create the lock directory 0700"

th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@umask.test
www=$(mktemp -d /tmp/p11acme-www.XXXXXX)
th_on_exit "rm -rf '$www'"
chmod 0755 "$www"
(exec setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 \
	"$TH_ROOT/tests/lib/webroot_server.py" "$www" 127.0.0.1 "$TH_HTTP_PORT" 2>"$T/www.log") &
th_track $!
th_wait_port 127.0.0.1 "$TH_HTTP_PORT"
(umask 077 && th_p11acme issue -d umask.example.com --webroot "$www" >"$T/out" 2>&1) ||
	th_fail "webroot issue under umask 077 failed: $(tail -n 5 "$T/out"; tail -n 3 "$T/www.log")"
grep -q 'acme-challenge' "$T/www.log" || th_fail "the VA never fetched from the webroot"
grep 'acme-challenge' "$T/www.log" | grep -q ' 200 ' ||
	th_fail "the web server (as nobody) could not read the challenge: $(grep acme-challenge "$T/www.log" | head -n 2)"
[ -z "$(ls -A "$www")" ] || th_fail "challenge files or directories were left: $(find "$www")"
th_verify_cert "$T/etc/live/umask.example.com/fullchain.pem" umask.example.com
