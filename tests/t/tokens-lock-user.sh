#!/usr/bin/env bash
# The token lock of a user other than root lives where only that user can create
# files: $XDG_RUNTIME_DIR/p11acme when set, else /tmp/p11acme-<uid>, made 0700 and
# the user's own; the lock file is 0600 and the user's. Another user can neither
# create nor open a lock file in it, and a directory (or a symlink) that another
# user planted under that name beforehand is refused with a message naming it,
# never used. Runs p11acme as two throwaway users (useradd, removed at exit).
# Not under valgrind: its logs live in root's test directory, which these users
# cannot write.
. "$(dirname "$0")/../lib/harness.sh"

id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
UA="p11la$id"
UB="p11lb$id"
useradd -M -N -s /usr/sbin/nologin "$UA"
th_on_exit "userdel '$UA' 2>/dev/null"
useradd -M -N -s /usr/sbin/nologin "$UB"
th_on_exit "userdel '$UB' 2>/dev/null"
A=$(id -u "$UA")
B=$(id -u "$UB")
th_on_exit "rm -rf '/tmp/p11acme-$A' '/tmp/p11acme-$B'"
rm -rf "/tmp/p11acme-$A" "/tmp/p11acme-$B"

# A's token, PIN file and config dir, in a directory of A's own
chmod 0711 "$T"
mkdir -m 0700 "$T/ua"
th_token p11acme-test "$T/ua/softhsm"
cp "$TH_PIN_FILE" "$T/ua/pin"
mkdir -m 0700 "$T/ua/run" "$T/ua/etc"
chown -R "$UA" "$T/ua"
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups env -u P11ACME_LOCK_DIR "$@"
}
p11a() {
	as "$UA" "$@" "$TH_BUILD/p11acme" --server https://127.0.0.1:1/dir --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$T/ua/pin" --config-dir "$T/ua/etc" \
		account thumbprint
}
# lock_ok DIR: DIR is A's, 0700, and holds one lock file, A's, 0600
lock_ok() {
	local dir=$1 f
	[ "$(stat -c '%u %a' "$dir")" = "$A 700" ] || th_fail "$dir is $(stat -c '%U %a' "$dir")"
	f=$(ls "$dir"/p11acme-*.lock)
	[ "$(stat -c '%u %a %F' "$f")" = "$A 600 regular empty file" ] ||
		th_fail "$f is $(stat -c '%U %a %F' "$f")"
	echo "$f"
}

# ---- no XDG_RUNTIME_DIR: /tmp/p11acme-<uid>
p11a env -u XDG_RUNTIME_DIR >"$T/out" 2>&1 || th_fail "as $UA: $(cat "$T/out")"
lock=$(lock_ok "/tmp/p11acme-$A")
th_log "lock of $UA: $lock"
[ ! -e "$T/ua/run/p11acme" ] || th_fail "a lock dir in XDG_RUNTIME_DIR without it set"
# B can neither create a file there nor open A's lock
as "$UB" touch "/tmp/p11acme-$A/p11acme-0000000000000000.lock" 2>/dev/null &&
	th_fail "$UB created a file in $UA's lock directory"
as "$UB" flock -n "$lock" true 2>/dev/null && th_fail "$UB opened $UA's lock file"

# ---- with XDG_RUNTIME_DIR: there, not in /tmp
rm -rf "/tmp/p11acme-$A"
p11a env XDG_RUNTIME_DIR="$T/ua/run" >"$T/out" 2>&1 || th_fail "as $UA with XDG_RUNTIME_DIR: $(cat "$T/out")"
lock_ok "$T/ua/run/p11acme" >/dev/null
[ ! -e "/tmp/p11acme-$A" ] || th_fail "/tmp/p11acme-$A made although XDG_RUNTIME_DIR is set"

# planted WHAT DIR: A's run refuses /tmp/p11acme-<A> as B left it, names it, and
# creates nothing in DIR (where it leads)
planted() {
	local rc=0
	p11a env -u XDG_RUNTIME_DIR >"$T/out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || th_fail "$UA used a $1 planted by $UB: $(cat "$T/out")"
	grep -q "/tmp/p11acme-$A: not a directory of this user's.*P11ACME_LOCK_DIR" "$T/out" ||
		th_fail "no message naming the planted $1: $(cat "$T/out")"
	[ -z "$(ls -A "$2")" ] || th_fail "$UA created a lock in $UB's $1"
}

# ---- B plants the directory first (/tmp is writable by all): A refuses it
as "$UB" mkdir -m 0777 "/tmp/p11acme-$A"
planted directory "/tmp/p11acme-$A"
rm -rf "/tmp/p11acme-$A"

# ---- ... or a symlink to a directory of B's: refused too
as "$UB" mkdir -m 0777 "/tmp/p11acme-$B"
as "$UB" ln -s "/tmp/p11acme-$B" "/tmp/p11acme-$A"
planted symlink "/tmp/p11acme-$B"
echo ok
