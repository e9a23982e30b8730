# tests/lib/signer_users.sh: unix users for the signer service tests. Source it after
# harness.sh. Users and groups get random names (p11s<id><suffix>) and are removed
# at exit, so parallel or leftover runs cannot collide.
#
#   su_user SUFFIX [GROUP...]   create a user, print its name
#   su_group SUFFIX             create a group, print its name
#   su_run USER CMD...          run CMD as USER (its groups from the user database)
#   su_spawn USER CMD...        the same in the background, tracked; PID in SU_PID
#   su_dir USER DIR             make DIR owned by USER (a config dir of its own)

SU_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
# The names are kept in files, not variables: su_user runs inside $(...), a subshell.
SU_LIST=$T/su-created

su_cleanup() {
	local kind name
	[ -f "$SU_LIST" ] || return 0
	# users first: a group cannot go while it is a user's primary group
	sort -r "$SU_LIST" | while read -r kind name; do
		case $kind in
		user) userdel -f "$name" >/dev/null 2>&1 || true ;;   # -f: its servers may still run
		group) groupdel "$name" >/dev/null 2>&1 || true ;;
		esac
	done
}
th_on_exit su_cleanup

su_group() {
	local g="p11s${SU_ID}$1"
	groupadd "$g" || th_fail "groupadd $g"
	echo "group $g" >>"$SU_LIST"
	echo "$g"
}

su_user() {
	local u="p11s${SU_ID}$1" groups
	shift
	groups=$(IFS=,; echo "$*")
	useradd -M -N -g nogroup ${groups:+-G "$groups"} -s /usr/sbin/nologin -d /nonexistent "$u" ||
		th_fail "useradd $u"
	echo "user $u" >>"$SU_LIST"
	echo "$u"
}

su_run() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid=nogroup --init-groups --reset-env -- \
		env PATH=/usr/bin:/bin ${P11ACME_SIGNER:+P11ACME_SIGNER=$P11ACME_SIGNER} "$@"
}

# su_spawn USER CMD...: CMD as USER in the background, tracked; its PID in SU_PID.
# The PID is CMD's own (exec all the way down): `su_run ... &` would give a
# subshell's, and stopping that one leaves CMD running after the test.
su_spawn() {
	local u=$1
	shift
	(exec setpriv --reuid="$u" --regid=nogroup --init-groups --reset-env -- \
		env PATH=/usr/bin:/bin ${P11ACME_SIGNER:+P11ACME_SIGNER=$P11ACME_SIGNER} "$@") &
	SU_PID=$!
	th_track "$SU_PID"
}

su_dir() {
	mkdir -p "$2"
	chown "$1" "$2"
	chmod 0700 "$2"
}

# $T is 0700; the clients need to reach the service's socket, the CA bundle and their
# own directories below it (nothing secret is readable: the PIN file and the token
# stay 0600/0700 root).
chmod 0711 "$T"
if [ -n "${TH_VGDIR:-}" ]; then chmod 1777 "$TH_VGDIR"; fi
