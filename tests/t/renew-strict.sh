#!/usr/bin/env bash
# renew trusts a renewal conf only as OpenSSH's StrictModes trusts authorized_keys:
# its deploy_hook runs as the user running renew (root, from the timer). A conf
# writable by others (0666), one owned by another user, and a renewal directory
# of mode 0777 are refused with exit 2, a message naming the file and the fix, and
# no hook run. A NUL byte, a control character or invalid UTF-8 in a conf is an
# error naming the line, not the end of the file. A FIFO in place of
# live/NAME/cert.pem does not block renew --all: that name fails at once and the
# next one is still checked. No CA and no token are needed: all of this happens
# before either is used.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"

E=$T/etc
mkdir -p "$E/renewal" "$E/live"
chmod 0755 "$E/renewal"
# a live certificate far from due: renew says "not due" and contacts nobody but
# the (unreachable) ARI directory
mk_live() {
	mkdir -p "$E/archive/$1/1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -keyout "$E/archive/$1/1/privkey.pem" \
		-out "$E/archive/$1/1/cert.pem" 2>/dev/null
	ln -sfn "../archive/$1/1" "$E/live/$1"
	printf 'version = 1\ncert_name = %s\nserver = https://127.0.0.1:1/dir\ndomain = %s\nsolver = webroot\nwebroot = %s\ndeploy_hook = touch %s/deployed\n' \
		"$1" "$1" "$T/www" "$T" >"$E/renewal/$1.conf"
	chmod 0644 "$E/renewal/$1.conf"
}
renew() {
	local rc=0
	timeout 20 $P11ACME --config-dir "$E" --timeout 5 renew "$@" >"$T/out" 2>&1 || rc=$?
	echo "$rc"
}
expect() { # expect EXIT REGEX WHAT [renew args]
	local want=$1 re=$2 what=$3 rc
	shift 3
	rc=$(renew "$@")
	[ "$rc" = "$want" ] || th_fail "$what: exit $rc, expected $want: $(cat "$T/out")"
	grep -Eq "$re" "$T/out" || th_fail "$what: the message does not say /$re/: $(cat "$T/out")"
	[ ! -e "$T/deployed" ] || th_fail "$what: the deploy hook ran"
}
mk_live b.test
conf=$E/renewal/b.test.conf
expect 0 'b.test: not due' "a conf of mode 0644" --cert-name b.test

chmod 0666 "$conf"
expect 2 "$conf: writable by others \(mode 0666\).*Fix: chmod go-w $conf" "a conf of mode 0666" --cert-name b.test
chmod 0620 "$conf"
expect 2 "$conf: writable by its group" "a conf of mode 0620" --cert-name b.test
chmod 0644 "$conf"
chown nobody "$conf"
expect 2 "$conf: owned by uid [0-9]+, not by root or the user running renew.*Fix: chown 0 $conf" \
	"a conf owned by nobody" --cert-name b.test
chown 0 "$conf"
chmod 0777 "$E/renewal"
expect 2 "$E/renewal: writable by others \(mode 0777\)" "a renewal dir of mode 0777" --all
chmod 0755 "$E/renewal"
expect 0 'b.test: not due' "back to safe modes" --all

# Bytes that are not text: the line is named, nothing after it is silently dropped.
cp "$conf" "$T/conf.good"
printf 'domain = b.test\000\ndomain = c.test\n' >>"$conf"
expect 2 "$conf:[0-9]+: a NUL byte" "a NUL byte" --cert-name b.test
cp "$T/conf.good" "$conf"
printf 'domain = c.test\033[2J\n' >>"$conf"
expect 2 "$conf:8: a control character or invalid UTF-8" "an escape" --cert-name b.test
cp "$T/conf.good" "$conf"
printf 'domain = c\377.test\n' >>"$conf"
expect 2 "$conf:8: a control character or invalid UTF-8" "invalid UTF-8" --cert-name b.test
cp "$T/conf.good" "$conf"

# A FIFO where a.test's certificate should be: a.test fails at once, b.test is
# still checked, the run ends well within its bound.
mk_live a.test
rm "$E/archive/a.test/1/cert.pem"
mkfifo "$E/archive/a.test/1/cert.pem"
start=$(date +%s)
rc=$(renew --all)
took=$(($(date +%s) - start))
th_log "FIFO: exit $rc after ${took}s"
[ "$rc" = 1 ] || th_fail "FIFO: exit $rc, expected 1: $(cat "$T/out")"
[ "$took" -le 10 ] || th_fail "FIFO: renew took ${took}s"
grep -q 'a.test/cert.pem: a FIFO, not a regular file' "$T/out" || th_fail "FIFO: no message naming it: $(cat "$T/out")"
grep -q 'b.test: not due' "$T/out" || th_fail "FIFO: b.test was not checked after a.test: $(cat "$T/out")"
echo ok
