# tests/lib/signer_users.sh: unix users for the signer service tests. Source it after
# harness.sh. Users and groups get random names (p11s<id><suffix>) and are removed
# at exit, so parallel or leftover runs cannot collide.
#
#   su_user SUFFIX [GROUP...]   create a user, print its name
#   su_group SUFFIX             create a group, print its name
#   su_run USER CMD...          run CMD as USER (its groups from the user database)
#   su_dir USER DIR             make DIR owned by USER (a config dir of its own)

SU_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
SU_USERS=""
SU_GROUPS=""

su_cleanup() {
	local u g
	for u in $SU_USERS; do userdel "$u" >/dev/null 2>&1 || true; done
	for g in $SU_GROUPS; do groupdel "$g" >/dev/null 2>&1 || true; done
}
th_on_exit su_cleanup

su_group() {
	local g="p11s${SU_ID}$1"
	groupadd "$g" || th_fail "groupadd $g"
	SU_GROUPS="$SU_GROUPS $g"
	echo "$g"
}

su_user() {
	local u="p11s${SU_ID}$1" groups
	shift
	groups=$(IFS=,; echo "$*")
	useradd -M -N -g nogroup ${groups:+-G "$groups"} -s /usr/sbin/nologin -d /nonexistent "$u" ||
		th_fail "useradd $u"
	SU_USERS="$SU_USERS $u"
	echo "$u"
}

su_run() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid=nogroup --init-groups --reset-env -- \
		env PATH=/usr/bin:/bin ${P11ACME_SIGNER:+P11ACME_SIGNER=$P11ACME_SIGNER} "$@"
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
