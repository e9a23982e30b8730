# tests/lib/netns.sh: two hosts in network namespaces for the end-to-end tests.
# Source it after harness.sh. Needs root, iproute2 and policy routing (no firewall).
#
#   root namespace: Pebble (ACME API and VA), challtestsrv (DNS), the test itself
#      |-- veth -- "public"   NN_PUB,  address NN_PUB_ADDR: the surrogate; the VA reaches it
#      '-- veth -- "internal" NN_INT,  address NN_INT_ADDR: reaches Pebble's API only
#
# Pebble listens on NN_INT_GW (the root end of the internal veth). An address of the
# root namespace is local there whatever interface a packet arrives on, so both
# namespaces reach it without IP forwarding. The internal namespace refuses every
# inbound TCP or UDP packet except the replies from Pebble's API port, with policy
# routing (there is no nft or iptables): its "lookup local" rule moves behind
# "unreachable" rules limited to TCP and UDP, so ARP keeps working, and a VA that
# dials it gets "no route to host" at once instead of a timeout. That is a host
# behind a firewall that allows outbound connections only.
#
# Names carry a random id, so parallel or leftover runs do not collide; everything is
# removed at exit (th_on_exit), processes in the namespaces first.

NN_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NN_PUB=p11acme-pub-$NN_ID
NN_INT=p11acme-int-$NN_ID
NN_PUB_IF=p11p$NN_ID
NN_INT_IF=p11i$NN_ID
NN_STARTED=""

# Pick a /30 pair in 198.18.0.0/15 (RFC 2544 benchmarking, never routed) that no
# interface uses now; under a lock, so that parallel tests pick different ones.
nn_pick_subnet() {
	local n
	for _ in $(seq 1 100); do
		n=$(( $(od -An -N1 -tu1 /dev/urandom) ))
		if ! ip -4 -o addr show | grep -q " 198\.1[89]\.$n\."; then
			NN_PUB_GW=198.18.$n.1 NN_PUB_ADDR=198.18.$n.2
			NN_INT_GW=198.19.$n.1 NN_INT_ADDR=198.19.$n.2
			return 0
		fi
	done
	th_fail "no free 198.18/15 subnet"
}

nn_link() { # NS IF GW ADDR
	ip link add "$2" type veth peer name eth0 netns "$1"
	ip addr add "$3/30" dev "$2"
	ip link set "$2" up
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$4/30" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$3"
}

# nn_setup: both namespaces and links. Call before nn_pebble_start.
nn_setup() {
	[ "$(id -u)" = 0 ] || th_fail "network namespace tests need root"
	command -v ip >/dev/null || th_fail "iproute2 missing"
	th_on_exit nn_teardown
	(
		exec 8>/run/p11acme-netns.lock
		flock 8
		nn_pick_subnet
		ip netns add "$NN_PUB"
		ip netns add "$NN_INT"
		nn_link "$NN_PUB" "$NN_PUB_IF" "$NN_PUB_GW" "$NN_PUB_ADDR"
		nn_link "$NN_INT" "$NN_INT_IF" "$NN_INT_GW" "$NN_INT_ADDR"
		printf '%s %s %s %s\n' "$NN_PUB_GW" "$NN_PUB_ADDR" "$NN_INT_GW" "$NN_INT_ADDR" >"$T/nn.addrs"
	) || th_fail "cannot create the namespaces"
	read -r NN_PUB_GW NN_PUB_ADDR NN_INT_GW NN_INT_ADDR <"$T/nn.addrs"
	export NN_PUB NN_INT NN_PUB_ADDR NN_INT_ADDR NN_PUB_GW NN_INT_GW
}

# nn_firewall_internal PORT: inbound TCP/UDP to the internal namespace is refused,
# except replies from the ACME API at NN_INT_GW:PORT.
nn_firewall_internal() {
	local port=$1
	ip -n "$NN_INT" rule add pref 10 iif eth0 from "$NN_INT_GW" ipproto tcp sport "$port" lookup local
	ip -n "$NN_INT" rule add pref 20 iif eth0 ipproto tcp unreachable
	ip -n "$NN_INT" rule add pref 21 iif eth0 ipproto udp unreachable
	ip -n "$NN_INT" rule add pref 100 lookup local
	ip -n "$NN_INT" rule del pref 0
	# the kernel answers an unreachable input route with ICMP only when the interface
	# forwards; without it the VA's connection would hang until its own timeout
	ip netns exec "$NN_INT" sysctl -qw net.ipv4.conf.all.forwarding=1
}

nn_teardown() {
	local ns pid
	for pid in $NN_STARTED; do kill "$pid" 2>/dev/null; done
	for pid in $NN_STARTED; do wait "$pid" 2>/dev/null; done
	for ns in "$NN_PUB" "$NN_INT"; do
		# anything else still running in our namespaces was started by this test
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	ip link del "$NN_PUB_IF" 2>/dev/null
	ip link del "$NN_INT_IF" 2>/dev/null
	ip netns del "$NN_PUB" 2>/dev/null
	ip netns del "$NN_INT" 2>/dev/null
	return 0
}

# nn_pebble_start: Pebble and challtestsrv in the root namespace. The API listens on
# NN_INT_GW; every name resolves to the surrogate (NN_PUB_ADDR); the VA dials port
# TH_HTTP_PORT there. Then the internal namespace's firewall goes up. Honours
# PEBBLE_AUTHZREUSE like th_pebble_start.
nn_pebble_start() {
	export TH_PEBBLE_ADDR=$NN_INT_GW TH_DNS_ADDR=$NN_PUB_ADDR
	if [ -z "${TH_PEBBLE_PORT:-}" ]; then
		TH_PEBBLE_PORT=$(th_free_port)
		TH_MGMT_PORT=$(th_free_port)
		TH_HTTP_PORT=$(th_free_port)
		TH_TLS_PORT=$(th_free_port)
		nn_firewall_internal "$TH_PEBBLE_PORT"
	fi
	th_pebble_start
}

# nn_set_a NAME ADDR: challtestsrv answers NAME with ADDR (instead of the surrogate).
nn_set_a() {
	curl -sf -d "{\"host\":\"$1.\",\"addresses\":[\"$2\"]}" "$TH_CHALL_MGMT/add-a" >/dev/null ||
		th_fail "challtestsrv add-a $1"
}

# nn_pub CMD... / nn_int CMD...: run in a namespace (foreground).
nn_pub() { ip netns exec "$NN_PUB" "$@"; }
nn_int() { ip netns exec "$NN_INT" "$@"; }

# nn_bg NS LOG CMD...: start CMD in namespace NS in the background, stdout and stderr
# to LOG; its PID (ip netns exec execs CMD) is in NN_PID and stopped at exit.
nn_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	NN_PID=$!
	NN_STARTED="$NN_STARTED $NN_PID"
}

# nn_stop PID: SIGTERM and reap one process started with nn_bg; prints its status.
nn_stop() {
	local rc=0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || rc=$?
	NN_STARTED=$(echo " $NN_STARTED " | sed "s/ $1 / /")
	return "$rc"
}

# nn_wait_port NS ADDR PORT: until something in NS accepts connections on ADDR:PORT.
nn_wait_port() {
	local n=0
	until ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -ge 100 ] && th_fail "nothing listens on $2:$3 in $1"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- the two hosts
# Each host has its own config directory ($T/pub/etc, $T/int/etc): they share only
# the account key in the token. NN_INT_MODULE and NN_INT_ENV let the internal host
# reach the token differently (p11-kit-client.so, scenario C).

NN_INT_MODULE=""
NN_INT_ENV=""
NN_INT_HIDE="" # a directory hidden (empty tmpfs over it) from the internal host's p11acme

pub_acme() {
	ip netns exec "$NN_PUB" $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$T/pub/etc" "$@"
}

int_acme() {
	local hide=()
	# ip netns exec runs the command in a private mount namespace: a tmpfs mounted
	# there hides the token directory from this command only
	[ -n "$NN_INT_HIDE" ] &&
		hide=(sh -c 'mount -t tmpfs -o size=64k,mode=0700 p11acme-hidden "$0" && exec "$@"' "$NN_INT_HIDE")
	# shellcheck disable=SC2086 # NN_INT_ENV is a list of VAR=VALUE words
	ip netns exec "$NN_INT" "${hide[@]}" env $NN_INT_ENV $P11ACME --server "$TH_SERVER" \
		--ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "${NN_INT_MODULE:-$TH_MODULE}" \
		--pin-source "file:$TH_PIN_FILE" --config-dir "$T/int/etc" "$@"
}

# nn_expect_exit CODE LOG CMD...: run CMD, output to LOG; fail unless it exits CODE.
nn_expect_exit() {
	local want=$1 log=$2 rc=0
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$log" >&2
		th_fail "expected exit $want, got $rc: $*"
	fi
}

# nn_account_url HOSTFN: the `url:` line of `account show` on that host.
nn_account_url() {
	"$1" account show 2>"$T/account.err" | sed -n 's/^url: //p'
}

# nn_assert_shared NAME PUBCERT INTCERT: the invariants of every scenario:
# one account URL on both hosts; both chains verify against Pebble's root for NAME;
# different certificate keys; the account key still cannot leave the token.
nn_assert_shared() {
	local name=$1 pub=$2 int=$3 u1 u2 k1 k2
	u1=$(nn_account_url pub_acme)
	u2=$(nn_account_url int_acme)
	[ -n "$u1" ] || th_fail "no account URL on the surrogate: $(cat "$T/account.err")"
	[ "$u1" = "$u2" ] || th_fail "account URLs differ: surrogate $u1, internal '$u2'"
	th_verify_cert "$pub" "$name"
	th_verify_cert "$int" "$name"
	k1=$(openssl x509 -in "$pub" -noout -pubkey | sha256sum)
	k2=$(openssl x509 -in "$int" -noout -pubkey | sha256sum)
	[ "$k1" != "$k2" ] || th_fail "both hosts' certificates share one key"
	$P11ACME --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" key show --key "$TH_KEY" \
		>"$T/keyshow" 2>&1 || { cat "$T/keyshow" >&2; th_fail "key show: the key can leave the token"; }
	grep -qx 'extractable: no' "$T/keyshow" || th_fail "key show lacks 'extractable: no'"
	th_log "same account $u1; both certificates verify for $name; key non-extractable"
}
