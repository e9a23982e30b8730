# tests/lib/harness.sh: the shared test harness. Source it from a test script:
#   . "$(dirname "$0")/../lib/harness.sh"
# It sets `set -eu`, makes a private temp dir $T, and removes it (and stops every
# server it started, by PID) on exit. Real parts only: SoftHSM2 tokens made per test,
# Debian's pebble + pebble-challtestsrv on loopback, real HTTP.
#
# Variables: TH_ROOT (repo), TH_BUILD (build dir, from P11ACME_BUILD), P11ACME (the
# binary; wrapped in valgrind when P11ACME_VALGRIND=1), TH_CACHE (per-run fixture cache,
# shared by the runner), T (this test's temp dir).
set -eu

TH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TH_BUILD=${P11ACME_BUILD:-build}
case "$TH_BUILD" in /*) ;; *) TH_BUILD="$TH_ROOT/$TH_BUILD" ;; esac
TH_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/p11acme-test-$TH_NAME.XXXXXX")
chmod 0700 "$T"
TH_CACHE=${P11ACME_TEST_CACHE:-$T/cache}
mkdir -p "$TH_CACHE"
# python3 is Debian's /usr/bin/python3, with the python3-cryptography that make deps
# installs (DEB_TEST), for the harness, the tests and every child (hooks, helper
# scripts, "#!/usr/bin/env python3"): not whatever python3 comes first in PATH. A
# pyenv interpreter has its own packages (or none), and its shim is a shell script
# that costs about a second per call on a busy machine.
if [ -x /usr/bin/python3 ]; then
	mkdir -p "$TH_CACHE/bin"
	[ -e "$TH_CACHE/bin/python3" ] || ln -s /usr/bin/python3 "$TH_CACHE/bin/python3" 2>/dev/null || true
	PATH="$TH_CACHE/bin:$PATH"
	export PATH
fi
TH_SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
TH_PIDS=""
TH_EXIT_CMDS=""

TH_VALGRIND="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --show-leak-kinds=definite --child-silent-after-fork=no"
if [ "${P11ACME_VALGRIND:-0}" = 1 ]; then
	# Each process (the signer child too, which valgrind follows across fork) logs to
	# its own file; cleanup fails the test when any of them reports an error or leak.
	# The logs live beside $T, not in it: tests watch $T for stray files.
	TH_VGDIR="$T.valgrind"
	mkdir -p "$TH_VGDIR"
	P11ACME="$TH_VALGRIND --log-file=$TH_VGDIR/%p.log $TH_BUILD/p11acme"
else
	P11ACME="$TH_BUILD/p11acme"
fi

th_log() { printf '# %s\n' "$*" >&2; }

th_fail() {
	printf 'FAIL: %s: %s\n' "$TH_NAME" "$*" >&2
	exit 1
}

# Run CMD under valgrind (definite leaks and errors fail with exit 99).
th_valgrind() { $TH_VALGRIND "$@"; }

# Register a shell command to run at exit (before servers are stopped).
th_on_exit() { TH_EXIT_CMDS="$1
$TH_EXIT_CMDS"; }

# Under P11ACME_VALGRIND=1: 0 when no p11acme process logged a valgrind error or a
# definite leak (warnings about large allocations are not errors).
th_valgrind_clean() {
	local f bad=""
	[ -n "${TH_VGDIR:-}" ] && [ -d "$TH_VGDIR" ] || return 0
	for f in "$TH_VGDIR"/*.log; do
		[ -s "$f" ] || continue
		grep -v '^==[0-9]*== Warning:' "$f" | grep -q . && bad="$bad $f"
	done
	[ -z "$bad" ] && return 0
	echo "valgrind reported errors or leaks in p11acme:" >&2
	for f in $bad; do sed 's/^/    /' "$f" | head -n 40 >&2; done
	return 1
}

th_cleanup() {
	local rc=$? pid
	set +e
	[ -n "$TH_EXIT_CMDS" ] && eval "$TH_EXIT_CMDS"
	for pid in $TH_PIDS; do kill "$pid" 2>/dev/null; done
	for pid in $TH_PIDS; do wait "$pid" 2>/dev/null; done
	th_valgrind_clean || rc=1
	if [ "$rc" != 0 ] && [ -n "${TH_PEBBLE_LOG:-}" ] && [ -f "$TH_PEBBLE_LOG" ]; then
		echo "--- last lines of the Pebble log:" >&2
		tail -n 15 "$TH_PEBBLE_LOG" >&2
	fi
	if [ "${P11ACME_KEEP_TMP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T" "$T.valgrind"; fi
	exit "$rc"
}
trap th_cleanup EXIT
trap 'exit 130' INT TERM

# Remember a background server so that cleanup stops it by PID.
th_track() { TH_PIDS="$TH_PIDS $1"; }
th_untrack() { TH_PIDS=$(echo " $TH_PIDS " | sed "s/ $1 / /"); }
# th_stop PID: end a tracked background process (SIGTERM), reap it, stop tracking it.
th_stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	th_untrack "$1"
}

# Print a TCP+UDP port that is free on loopback now. Ports are random, so two runs
# on one machine rarely collide, and they lie below the kernel's ephemeral range
# (ip_local_port_range), where outgoing connections would take them. A port is
# handed out once per run: the ledger $TH_CACHE/ports (locked) lists those given,
# so two ports of one test (Pebble's management port and the client's --http-port,
# say) or of two tests running at once are never the same, even before anything
# binds them. th_free_port N: the first of N consecutive such ports (swtpm's control
# port is its port + 1), all N recorded.
th_free_port() {
	mkdir -p "$TH_CACHE"
	TH_PORTS="$TH_CACHE/ports" TH_NPORTS="${1:-1}" python3 - <<'PY'
import fcntl, os, random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    low = 32768
low = max(low, 12000)
with open(os.environ["TH_PORTS"], "a+") as ledger:
    fcntl.flock(ledger, fcntl.LOCK_EX)
    ledger.seek(0)
    given = {int(w) for w in ledger.read().split() if w.isdigit()}
    n = int(os.environ["TH_NPORTS"])
    def free(p):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
            finally:
                s.close()
        return True
    for _ in range(400):
        p = random.randint(10000, low - n)
        ports = range(p, p + n)
        if any(q in given for q in ports) or not all(free(q) for q in ports):
            continue
        ledger.write("".join("%d\n" % q for q in ports))
        print(p)
        break
PY
}

# th_wait_port HOST PORT [SECONDS] [PID [LOG]]: wait until a TCP port accepts
# connections (default 20 s). With PID, fail at once when that server exits first,
# showing LOG.
th_wait_port() {
	local host=$1 port=$2 n=0 max=$(( ${3:-20} * 10 )) pid=${4:-} log=${5:-}
	until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			[ -n "$log" ] && [ -f "$log" ] && sed 's/^/    /' "$log" >&2
			th_fail "the server for $host:$port (pid $pid) exited before it listened"
		fi
		n=$((n + 1))
		[ "$n" -ge "$max" ] && th_fail "nothing listens on $host:$port"
		sleep 0.1
	done
}

# th_wait_log LOG REGEX SECONDS WHAT [PID]: wait until a line of LOG matches REGEX
# (grep's basic regex), e.g. a server's start-up line. Fails with "WHAT: <LOG>" after
# SECONDS, and at once when PID is given and that process has exited.
th_wait_log() {
	local log=$1 re=$2 max=$(( $3 * 10 )) what=$4 pid=${5:-} n=0
	until grep -q -- "$re" "$log" 2>/dev/null; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			th_fail "$what: it exited: $(cat "$log" 2>/dev/null)"
		fi
		n=$((n + 1))
		[ "$n" -gt "$max" ] && th_fail "$what: $(cat "$log" 2>/dev/null)"
		sleep 0.1
	done
}

# th_wait_locked FILE [SECONDS]: wait until another process holds flock(2) on FILE
# (a lock holder started in the background: under valgrind a fixed sleep can end before
# flock(1) took the lock). flock -n succeeds only while nobody holds it.
th_wait_locked() {
	local f=$1 max=$(( ${2:-20} * 20 )) n=0
	while flock -n "$f" true 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -gt "$max" ] && th_fail "nobody took the lock on $f"
		sleep 0.05
	done
}

# ---------------------------------------------------------------- SoftHSM2 tokens

# th_softhsm_conf DIR: write a SoftHSM config with its own token directory, export it.
th_softhsm_conf() {
	mkdir -p "$1/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
		"$1" >"$1/softhsm2.conf"
	export SOFTHSM2_CONF="$1/softhsm2.conf"
}

th_pkcs11_tool() { pkcs11-tool --module "$TH_SOFTHSM_MODULE" "$@"; }

# Build a token with the three fixture keys in DIR (used once per run per label).
th_build_fixture_token() {
	local dir=$1 label=$2
	(
		th_softhsm_conf "$dir"
		softhsm2-util --init-token --free --label "$label" --pin 1234 --so-pin 5678 >/dev/null
		th_pkcs11_tool --token-label "$label" --login --pin 1234 --keypairgen \
			--key-type EC:prime256v1 --label acct --id 01 >/dev/null
		th_pkcs11_tool --token-label "$label" --login --pin 1234 --keypairgen \
			--key-type EC:secp384r1 --label acct384 --id 02 >/dev/null
		th_pkcs11_tool --token-label "$label" --login --pin 1234 --keypairgen \
			--key-type rsa:2048 --label acctrsa --id 03 >/dev/null
	)
}

# th_token [LABEL] [DIR]: a fresh SoftHSM2 token in DIR (default $T/softhsm) with its
# own SOFTHSM2_CONF, user PIN 1234 and SO PIN 5678, and non-extractable keys:
#   object=acct id=01 (EC P-256), acct384 id=02 (P-384), acctrsa id=03 (RSA 2048).
# RSA generation is slow, so the token is built once per run and copied.
# Exports SOFTHSM2_CONF TH_MODULE TH_PIN_FILE TH_SO_PIN_FILE TH_TOKEN_LABEL TH_KEY.
th_token() {
	local label=${1:-p11acme-test} dir=${2:-$T/softhsm} fixture
	fixture="$TH_CACHE/fixture-$label"
	if [ ! -d "$fixture/tokens" ]; then
		(
			exec 9>"$TH_CACHE/fixture.lock"
			flock 9
			if [ ! -d "$fixture/tokens" ]; then
				th_build_fixture_token "$fixture.tmp.$$" "$label"
				mv "$fixture.tmp.$$" "$fixture"
			fi
		)
	fi
	th_softhsm_conf "$dir"
	cp -a "$fixture/tokens/." "$dir/tokens/"
	export TH_MODULE=$TH_SOFTHSM_MODULE
	export TH_TOKEN_LABEL=$label
	export TH_PIN_FILE="$T/pin" TH_SO_PIN_FILE="$T/so-pin"
	printf '1234\n' >"$TH_PIN_FILE"
	printf '5678\n' >"$TH_SO_PIN_FILE"
	chmod 0600 "$TH_PIN_FILE" "$TH_SO_PIN_FILE"
	export TH_KEY="pkcs11:token=$label;object=acct"
}

# th_empty_token LABEL: an additional, key-less token in the current SOFTHSM2_CONF.
th_empty_token() {
	softhsm2-util --init-token --free --label "$1" --pin 1234 --so-pin 5678 >/dev/null
}

# ---------------------------------------------------------------- Pebble

# The TLS certificate for Pebble's own listener (Debian's package lacks the one its
# example config names): a small CA and a leaf for 127.0.0.1, localhost and
# $TH_PEBBLE_ADDR. Exports TH_CA_BUNDLE.
th_pebble_tls() {
	local dir="$TH_CACHE/pebble-tls-${TH_PEBBLE_ADDR:-127.0.0.1}"
	if [ ! -f "$dir/cert.pem" ]; then
		(
			exec 9>"$TH_CACHE/tls.lock"
			flock 9
			[ -f "$dir/cert.pem" ] && exit 0
			mkdir -p "$dir.tmp.$$"
			cd "$dir.tmp.$$"
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout ca.key -out ca.pem -days 30 -subj "/CN=p11acme test listener CA" \
				2>/dev/null
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout key.pem -out req.csr -subj "/CN=pebble" 2>/dev/null
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:%s\n' \
				"${TH_PEBBLE_ADDR:-127.0.0.1}" >ext.cnf
			openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-out cert.pem -days 30 -extfile ext.cnf 2>/dev/null
			cd - >/dev/null
			mv "$dir.tmp.$$" "$dir"
		)
	fi
	export TH_CA_BUNDLE="$dir/ca.pem"
	TH_PEBBLE_CERT="$dir/cert.pem"
	TH_PEBBLE_KEY="$dir/key.pem"
}

th_pebble_config() {
	local eab_required=false eab_keys='{}'
	if [ "${TH_EAB:-0}" = 1 ]; then
		eab_required=true
		eab_keys=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["pebble"]["externalAccountMACKeys"]))' \
			/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json)
	fi
	cat >"$T/pebble.json" <<JSON
{ "pebble": {
  "listenAddress": "${TH_PEBBLE_ADDR:-127.0.0.1}:$TH_PEBBLE_PORT",
  "managementListenAddress": "127.0.0.1:$TH_MGMT_PORT",
  "certificate": "$TH_PEBBLE_CERT",
  "privateKey": "$TH_PEBBLE_KEY",
  "httpPort": $TH_HTTP_PORT,
  "tlsPort": $TH_TLS_PORT,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": $eab_required,
  "externalAccountMACKeys": $eab_keys
} }
JSON
}

# th_challtestsrv_start: DNS for the tests. Every name resolves to $TH_DNS_ADDR
# (default 127.0.0.1), no AAAA; its own challenge servers are off. Exports
# TH_DNS_PORT and TH_CHALL_MGMT.
th_challtestsrv_start() {
	local try n
	for try in 1 2 3; do
		TH_DNS_PORT=$(th_free_port)
		TH_CHALL_PORT=$(th_free_port)
		pebble-challtestsrv -http01 "" -https01 "" -tlsalpn01 "" \
			-dns01 "127.0.0.1:$TH_DNS_PORT" -management "127.0.0.1:$TH_CHALL_PORT" \
			-defaultIPv4 "${TH_DNS_ADDR:-127.0.0.1}" -defaultIPv6 "" \
			>"$T/challtestsrv.log" 2>&1 &
		TH_CHALL_PID=$!
		th_track "$TH_CHALL_PID"
		n=0
		until (exec 3<>"/dev/tcp/127.0.0.1/$TH_CHALL_PORT") 2>/dev/null; do
			kill -0 "$TH_CHALL_PID" 2>/dev/null && [ "$n" -lt 200 ] || break
			n=$((n + 1))
			sleep 0.1
		done
		kill -0 "$TH_CHALL_PID" 2>/dev/null && [ "$n" -lt 200 ] && break
		kill "$TH_CHALL_PID" 2>/dev/null
		wait "$TH_CHALL_PID" 2>/dev/null
		th_untrack "$TH_CHALL_PID"
		[ "$try" = 3 ] && th_fail "pebble-challtestsrv did not start: $(tail -n 3 "$T/challtestsrv.log")"
	done
	export TH_DNS_PORT TH_CHALL_MGMT="http://127.0.0.1:$TH_CHALL_PORT"
}

# th_pebble_start: start challtestsrv and Pebble on free loopback ports.
# Honours PEBBLE_AUTHZREUSE (default 0 here; Pebble's own default is 50),
# PEBBLE_WFE_NONCEREJECT (unset = Pebble's default 5%), TH_EAB=1 (the EAB example
# keys), TH_DNS_ADDR, TH_PEBBLE_ADDR. Exports TH_SERVER TH_CA_BUNDLE TH_HTTP_PORT
# TH_MGMT TH_CHALL_MGMT TH_ROOTS TH_PEBBLE_LOG.
# th_orders: how many orders this test's Pebble has created so far.
th_orders() { grep -c 'Added order' "$TH_PEBBLE_LOG" || true; }

th_pebble_start() {
	local try
	th_pebble_tls
	[ -n "${TH_CHALL_PID:-}" ] || th_challtestsrv_start
	export TH_PEBBLE_LOG="$T/pebble.log"
	for try in 1 2 3; do
		if [ -z "${TH_PEBBLE_PORT:-}" ] || [ "$try" -gt 1 ]; then
			TH_PEBBLE_PORT=$(th_free_port)
			TH_MGMT_PORT=$(th_free_port)
			TH_HTTP_PORT=$(th_free_port)
			TH_TLS_PORT=$(th_free_port)
		fi
		th_pebble_config
		PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=${PEBBLE_AUTHZREUSE:-0} \
			pebble -config "$T/pebble.json" -dnsserver "127.0.0.1:$TH_DNS_PORT" \
			>>"$TH_PEBBLE_LOG" 2>&1 &
		TH_PEBBLE_PID=$!
		th_track "$TH_PEBBLE_PID"
		th_pebble_wait && break
		# a port taken between th_free_port and Pebble's bind: new ports, once more
		th_pebble_stop
		[ "$try" = 3 ] && th_fail "Pebble did not start (see $TH_PEBBLE_LOG)"
		th_log "Pebble did not start (a port was taken?); trying other ports"
	done
	export TH_HTTP_PORT
	export TH_SERVER="https://${TH_PEBBLE_ADDR:-127.0.0.1}:$TH_PEBBLE_PORT/dir"
	export TH_MGMT="https://127.0.0.1:$TH_MGMT_PORT"
	th_fetch_roots
}

# 0 once both Pebble listeners answer; 1 when Pebble exits first or 20 s pass.
th_pebble_wait() {
	local n=0
	until (exec 3<>"/dev/tcp/${TH_PEBBLE_ADDR:-127.0.0.1}/$TH_PEBBLE_PORT") 2>/dev/null &&
		(exec 3<>"/dev/tcp/127.0.0.1/$TH_MGMT_PORT") 2>/dev/null; do
		kill -0 "$TH_PEBBLE_PID" 2>/dev/null || return 1
		n=$((n + 1))
		[ "$n" -ge 200 ] && return 1
		sleep 0.1
	done
}

# Pebble makes a new root and intermediate on every start: fetch them for verification.
th_fetch_roots() {
	export TH_ROOTS="$T/pebble-roots.pem"
	curl -sf --cacert "$TH_CA_BUNDLE" "$TH_MGMT/roots/0" >"$TH_ROOTS.tmp"
	echo >>"$TH_ROOTS.tmp"
	curl -sf --cacert "$TH_CA_BUNDLE" "$TH_MGMT/intermediates/0" >>"$TH_ROOTS.tmp"
	mv "$TH_ROOTS.tmp" "$TH_ROOTS"
	curl -sf --cacert "$TH_CA_BUNDLE" "$TH_MGMT/roots/0" >"$T/pebble-root.pem"
	export TH_ROOT_PEM="$T/pebble-root.pem"
}

th_pebble_stop() {
	[ -n "${TH_PEBBLE_PID:-}" ] || return 0
	th_stop "$TH_PEBBLE_PID"
	TH_PEBBLE_PID=""
}

# Restart Pebble on the same ports (e.g. with another PEBBLE_AUTHZREUSE). Its state
# (accounts, authorizations, roots) is lost, as with any Pebble restart.
th_pebble_restart() {
	th_pebble_stop
	th_pebble_start
}

# Number of HTTP requests Pebble has logged so far. Pebble 2.4 logs exactly one line
# "<METHOD> <path> -> calling handler()" per request it handles; nothing else in its
# log (validation, bookkeeping) has that form.
th_pebble_requests() { grep -c -- '-> calling handler()' "$TH_PEBBLE_LOG" 2>/dev/null || true; }

# th_pebble_request_list FROM: "<METHOD> <path>" of each request Pebble logged after
# the first FROM (a th_pebble_requests count), one per line. Pebble logs the path
# without the object's id ("POST /my-order/").
th_pebble_request_list() {
	grep -- '-> calling handler()' "$TH_PEBBLE_LOG" 2>/dev/null | tail -n +"$(($1 + 1))" |
		sed -E 's/.* (GET|HEAD|POST|PUT|DELETE) ([^ ]*) -> calling handler\(\).*/\1 \2/'
}

# ---------------------------------------------------------------- nginx

# th_nginx_conf DIR LISTEN SNIPPET: a foreground, single-process nginx in DIR (its
# config, pid, logs and temp files) that listens on LISTEN (ADDR:PORT), serves $T/www
# and includes SNIPPET in its server block. Start it with nginx -p DIR -c DIR/nginx.conf.
th_nginx_conf() {
	local dir=$1 listen=$2 snippet=$3
	mkdir -p "$dir/logs" "$dir/tmp" "$T/www"
	cat >"$dir/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    server {
        listen $listen;
        root $T/www;
        include $snippet;
    }
}
NGINX
}

# ---------------------------------------------------------------- running p11acme

# th_p11acme ARGS...: p11acme with the test's server, CA bundle, token and config dir.
th_p11acme() {
	# under valgrind everything (RSA key generation above all) is 20-50 times slower
	$P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc" "$@"
}

# th_verify_cert FULLCHAIN NAME...: the chain verifies against Pebble's root, and the
# leaf carries exactly the expected DNS names.
th_verify_cert() {
	local chain=$1 want got
	shift
	openssl verify -CAfile "$TH_ROOT_PEM" -untrusted "$chain" "$chain" >/dev/null ||
		th_fail "$chain does not verify against Pebble's root"
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	got=$(openssl x509 -in "$chain" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *DNS://p' | sort | tr '\n' ' ')
	[ "$want" = "$got" ] || th_fail "$chain names '$got', expected '$want'"
}

# th_cert_matches_key CERT KEY: the certificate's public key is the key's.
th_cert_matches_key() {
	local a b
	a=$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
	b=$(openssl pkey -in "$2" -pubout -outform DER | sha256sum)
	[ "$a" = "$b" ] || th_fail "$1 does not match $2"
}

# th_expect_exit CODE CMD...: run CMD, fail unless it exits with CODE. Output in $T/out.
th_expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$T/out" >&2
		th_fail "expected exit $want, got $rc: $*"
	fi
}
