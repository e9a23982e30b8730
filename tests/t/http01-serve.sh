#!/bin/bash
# serve-http01 with --thumbprint (no token on the host): the answer for a valid token,
# 404 for everything else (path tricks, too long, other paths, other methods), bounded
# headers, IPv4 and IPv6 on the default "every address", 50 concurrent clients, one
# log line per request, usage errors, and a clean exit 0 on SIGTERM and SIGINT.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"

TP=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs # RFC 7638 §3.1's example thumbprint
PORT=$(th_free_port)
BASE=http://127.0.0.1:$PORT/.well-known/acme-challenge

# no token at all on this host: nothing may load a module or ask for a PIN
unset SOFTHSM2_CONF P11ACME_KEY P11ACME_MODULE P11ACME_PIN_SOURCE

start_server() { # LISTEN LOG
	$P11ACME serve-http01 --listen "$1" --thumbprint "$TP" 2>"$2" &
	SERVE_PID=$!
	th_track $SERVE_PID
}

stop_server() { # SIGNAL: must exit 0
	local rc=0
	kill "-$1" "$SERVE_PID"
	wait "$SERVE_PID" || rc=$?
	th_untrack "$SERVE_PID"
	[ "$rc" = 0 ] || th_fail "serve-http01 exited $rc on SIG$1"
}

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- usage
th_expect_exit 2 $P11ACME serve-http01 --thumbprint short
th_expect_exit 2 $P11ACME serve-http01 --thumbprint "${TP%?}!"
th_expect_exit 2 $P11ACME serve-http01 --thumbprint "$TP" --listen ::1:80
th_expect_exit 2 $P11ACME serve-http01 --thumbprint "$TP" --listen 127.0.0.1:99999
th_expect_exit 2 $P11ACME serve-http01 --thumbprint "$TP" --listen host.example:80
th_expect_exit 2 $P11ACME serve-http01 --thumbprint "$TP" extra
th_expect_exit 2 $P11ACME serve-http01 # neither a key nor --thumbprint
th_expect_exit 0 $P11ACME serve-http01 --help
grep -q -- '--thumbprint' "$T/out" || th_fail "serve-http01 --help lacks --thumbprint"

# ---- one address
start_server "127.0.0.1:$PORT" "$T/serve.log"
th_wait_port 127.0.0.1 "$PORT"
N=0 # requests sent, to count log lines

tok=Abc_DEF-123_xyz
body=$(curl -sf -D "$T/headers" "$BASE/$tok") || th_fail "valid token not answered"
N=$((N + 1))
[ "$body" = "$tok.$TP" ] || th_fail "answer '$body'"
grep -qi '^content-type: text/plain' "$T/headers" || th_fail "not text/plain: $(cat "$T/headers")"
long=$(head -c 256 /dev/zero | tr '\0' a)
[ "$(curl -sf "$BASE/$long")" = "$long.$TP" ] || th_fail "256-character token not answered"
N=$((N + 1))
[ "$(code -I "$BASE/$tok")" = 200 ] || th_fail "HEAD not answered"
N=$((N + 1))

for path in \
	"/.well-known/acme-challenge/a%2Fb" \
	"/.well-known/acme-challenge/.." \
	"/.well-known/acme-challenge/a.b" \
	"/.well-known/acme-challenge/a%00b" \
	"/.well-known/acme-challenge/a%20b" \
	"/.well-known/acme-challenge/$long"a \
	"/.well-known/acme-challenge/" \
	"/.well-known/acme-challenge" \
	"/.well-known/acme-challenge/$tok/x" \
	"/.well-known/acme-challenge//$tok" \
	"/.well-known/acme-challenge/../acme-challenge/$tok" \
	"/.well-known/other/$tok" \
	"/$tok" \
	"/" \
	"/etc/passwd"; do
	c=$(code --path-as-is "http://127.0.0.1:$PORT$path")
	[ "$c" = 404 ] || th_fail "$path answered $c, expected 404"
	N=$((N + 1))
done
for m in POST PUT DELETE OPTIONS; do
	c=$(code -X "$m" -d x=1 "$BASE/$tok")
	[ "$c" = 404 ] || th_fail "$m answered $c, expected 404"
	N=$((N + 1))
done
# a header larger than the connection's memory is refused by libmicrohttpd itself
c=$(code -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" "$BASE/$tok")
case "$c" in 4*) ;; 000) ;; *) th_fail "a 40 kB header got $c" ;; esac

# 50 concurrent clients, each its own token
pids=""
for i in $(seq 1 50); do
	curl -s -m 10 "$BASE/tok$i" >"$T/par.$i" &
	pids="$pids $!"
done
wait $pids || true
bad=0
for i in $(seq 1 50); do
	[ "$(cat "$T/par.$i")" = "tok$i.$TP" ] || bad=$((bad + 1))
done
[ "$bad" = 0 ] || th_fail "$bad of 50 concurrent clients got a wrong answer"
N=$((N + 50))

# a slow client does not block the others: hold a connection open, still served
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /.well-known/acme-challenge/slow HTTP/1.1\r\n' >&5
[ "$(curl -s -m 5 "$BASE/fast")" = "fast.$TP" ] || th_fail "one slow client blocked the server"
N=$((N + 1))
exec 5>&-

stop_server TERM
sleep 0.2
lines=$(grep -c 'http01: [A-Z]* /' "$T/serve.log" || true)
[ "$lines" = "$N" ] || { cat "$T/serve.log" >&2; th_fail "$lines request log lines for $N requests"; }
grep -q "http01: GET /.well-known/acme-challenge/$tok 200 127.0.0.1\$" "$T/serve.log" ||
	th_fail "no log line with method, path, status and peer"
grep -q 'http01: POST /.well-known/acme-challenge/.* 404 127.0.0.1$' "$T/serve.log" ||
	th_fail "404 not logged"
# every line of the log is whole: nothing interleaved by the pool threads
bad=$(grep -cv '^p11acme: ' "$T/serve.log" || true)
[ "$bad" = 0 ] || th_fail "$bad garbled log lines"

# ---- every address (default): IPv4 and, where the host has it, IPv6
start_server "$PORT" "$T/serve-any.log"
th_wait_port 127.0.0.1 "$PORT"
[ "$(curl -sf "$BASE/v4")" = "v4.$TP" ] || th_fail "every-address server: no IPv4 answer"
if [ -e /proc/net/if_inet6 ] && ip -6 addr show dev lo | grep -q '::1'; then
	[ "$(curl -sf -g "http://[::1]:$PORT/.well-known/acme-challenge/v6")" = "v6.$TP" ] ||
		th_fail "every-address server: no IPv6 answer"
fi
stop_server INT

# ---- a port in use: exit 1 with a message, not a hang
start_server "127.0.0.1:$PORT" "$T/serve.log"
th_wait_port 127.0.0.1 "$PORT"
th_expect_exit 1 timeout 10 $P11ACME serve-http01 --listen "127.0.0.1:$PORT" --thumbprint "$TP"
grep -q 'cannot listen' "$T/out" || th_fail "no message for a busy port: $(cat "$T/out")"
stop_server TERM
echo "ok"
