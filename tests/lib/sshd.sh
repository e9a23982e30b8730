# shellcheck shell=bash
# tests/lib/sshd.sh: a token host with a real sshd, and throw-away unix users, for the
# signer service's end-to-end test. Source it after harness.sh and netns.sh.
#
#   NN_INT (internal hosts) --- veth "tok0" 192.0.2.2 <-> 192.0.2.1 --- SSH_NS (token host)
#
# The token host is a third network namespace with one link only, to the internal
# namespace: it reaches neither Pebble nor the surrogate (the signer service needs no
# network). Its sshd is Debian's openssh-server (/usr/sbin/sshd -D -e -f CONFIG) with
# its own host key, AuthorizedKeysFile per user in the test directory and StrictModes
# off (the test directory is not root-owned 0755 all the way up). The addresses are
# TEST-NET-1 and exist only inside the two private namespaces, so parallel runs do not
# collide. Everything is removed at exit (th_on_exit): processes, the namespace, the
# users and their groups.

SSH_NS=p11acme-tok-$NN_ID
SSH_IF=tok$NN_ID
SSH_ADDR=192.0.2.1
SSH_CLIENT_ADDR=192.0.2.2
SSH_DIR=$T/sshd
SSH_USERS=""

# ssh_tok_setup: the token host's namespace and its link to NN_INT. Call after nn_setup.
ssh_tok_setup() {
	th_on_exit ssh_tok_teardown
	ip netns add "$SSH_NS" || th_fail "cannot create namespace $SSH_NS"
	ip link add "$SSH_IF" netns "$SSH_NS" type veth peer name tok0 netns "$NN_INT" ||
		th_fail "cannot link $SSH_NS to $NN_INT"
	ip -n "$SSH_NS" link set lo up
	ip -n "$SSH_NS" addr add "$SSH_ADDR/30" dev "$SSH_IF"
	ip -n "$SSH_NS" link set "$SSH_IF" up
	ip -n "$NN_INT" addr add "$SSH_CLIENT_ADDR/30" dev tok0
	ip -n "$NN_INT" link set tok0 up
	export SSH_NS SSH_ADDR
}

ssh_tok_teardown() {
	local pid ns
	# everything in the token host's and the internal hosts' namespaces was started by
	# this test (sshd's session children, the clients' ssh): stop it before userdel
	for ns in "$SSH_NS" "$NN_INT"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	for _ in $(seq 1 20); do
		[ -z "$(ip netns pids "$SSH_NS" 2>/dev/null)$(ip netns pids "$NN_INT" 2>/dev/null)" ] && break
		sleep 0.1
	done
	ip netns del "$SSH_NS" 2>/dev/null
	ssh_users_remove
	return 0
}

# tok_bg LOG CMD...: start CMD on the token host in the background (PID in NN_PID,
# stopped at exit like nn_bg's).
tok_bg() { nn_bg "$SSH_NS" "$@"; }
tok() { ip netns exec "$SSH_NS" "$@"; }

# ---------------------------------------------------------------- users

# ssh_user_add VAR TAG: a new system user named p11t<id>-TAG (at most 32 characters)
# with its own group, no password (pubkey logins only: '*' is not a locked account for
# sshd), /bin/sh and a home $T/home/TAG; its name goes to variable VAR (not through
# $(...): the list of users to remove at exit lives in this shell). Removed at exit.
ssh_user_add() {
	local name="p11t$NN_ID-$2" home="$T/home/$2"
	mkdir -p "$T/home"
	chmod 0711 "$T/home"
	useradd --system --user-group --shell /bin/sh --home-dir "$home" --create-home \
		--password '*' "$name" >/dev/null 2>"$T/useradd.err" ||
		th_fail "useradd $name: $(cat "$T/useradd.err")"
	SSH_USERS="$SSH_USERS $name"
	chmod 0700 "$home"
	printf -v "$1" '%s' "$name"
}

ssh_users_remove() {
	local u
	for u in $SSH_USERS; do
		userdel "$u" 2>/dev/null || { sleep 0.5; userdel "$u" 2>/dev/null; }
		getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null
	done
	SSH_USERS=""
	return 0
}

# as_user USER CMD...: run CMD as USER (its own groups), with a clean environment
# (HOME, PATH, and the variables named in AS_USER_ENV, a list of VAR=VALUE words).
as_user() {
	local u=$1 home
	shift
	home=$(getent passwd "$u" | cut -d: -f6)
	# shellcheck disable=SC2086 # AS_USER_ENV is a list of VAR=VALUE words
	setpriv --reuid="$u" --regid="$u" --init-groups \
		env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 ${AS_USER_ENV:-} "$@"
}

# ---------------------------------------------------------------- sshd

# ssh_sshd_start PORT: host key, config and sshd on SSH_ADDR:PORT in SSH_NS. Waits
# until it accepts connections. SSH_SSHD_PID, SSH_KNOWN_HOSTS (a known_hosts line
# file for clients), log in $SSH_DIR/sshd.log.
ssh_sshd_start() {
	local port=$1 n=0
	[ -x /usr/sbin/sshd ] || th_fail "/usr/sbin/sshd missing (openssh-server)"
	mkdir -p "$SSH_DIR/authorized_keys"
	chmod 0755 "$SSH_DIR" "$SSH_DIR/authorized_keys"
	# privilege separation directory, as the package's unit makes it
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C "p11acme test token host" -f "$SSH_DIR/host_ed25519" ||
		th_fail "ssh-keygen (host key)"
	cat >"$SSH_DIR/sshd_config" <<EOF
ListenAddress $SSH_ADDR:$port
HostKey $SSH_DIR/host_ed25519
PidFile none
AuthorizedKeysFile $SSH_DIR/authorized_keys/%u
AuthorizedPrincipalsFile none
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitUserEnvironment no
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
EOF
	tok_bg "$SSH_DIR/sshd.log" /usr/sbin/sshd -D -e -f "$SSH_DIR/sshd_config"
	SSH_SSHD_PID=$NN_PID
	until ip netns exec "$NN_INT" bash -c "exec 3<>/dev/tcp/$SSH_ADDR/$port" 2>/dev/null; do
		kill -0 "$SSH_SSHD_PID" 2>/dev/null || th_fail "sshd exited: $(cat "$SSH_DIR/sshd.log")"
		n=$((n + 1))
		[ "$n" -ge 100 ] && th_fail "sshd does not listen on $SSH_ADDR:$port"
		sleep 0.1
	done
	printf '[%s]:%s %s\n' "$SSH_ADDR" "$port" "$(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519.pub")" \
		>"$SSH_DIR/known_hosts"
	chmod 0644 "$SSH_DIR/known_hosts"
	SSH_PORT=$port
	SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts
}

# ssh_client_key USER NAME COMMENT: a key pair HOME/NAME(.pub) for USER (owned by it,
# mode 0600). Prints the private key's path.
ssh_client_key() {
	local u=$1 home
	home=$(getent passwd "$u" | cut -d: -f6)
	as_user "$u" ssh-keygen -q -t ed25519 -N '' -C "$3" -f "$home/$2" >/dev/null ||
		th_fail "ssh-keygen for $u"
	echo "$home/$2"
}

# ssh_authorize USER OPTIONS PUBKEYFILE: one authorized_keys line for USER on the token
# host, "OPTIONS KEY".
ssh_authorize() {
	printf '%s %s\n' "$2" "$(cat "$3")" >>"$SSH_DIR/authorized_keys/$1"
	chmod 0644 "$SSH_DIR/authorized_keys/$1"
}

# ssh_cmd USER KEY: the ssh command line (as words) that USER on an internal host uses
# to reach the token host as USER.
ssh_cmd() {
	printf '%s\n' ssh -F /dev/null -T -i "$2" -p "$SSH_PORT" -o BatchMode=yes -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o LogLevel=ERROR -o ConnectTimeout=10 "$1@$SSH_ADDR"
}
