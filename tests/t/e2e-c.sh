#!/bin/bash
# valgrind: yes
# Two hosts in network namespaces, scenario C (PEBBLE_AUTHZREUSE=0): the internal host
# has no token of its own. `p11-kit server` exports the surrogate's token on a unix
# socket (a file: it crosses namespaces as `ssh -L` would carry it), and the internal
# host signs through p11-kit-client.so with --module alone. Its token directory is
# hidden (empty tmpfs) and SOFTHSM2_CONF points nowhere. The surrogate runs
# serve-http01 with the thumbprint computed through the token at start. Same account
# URL, both chains verify, different keys, the account key non-extractable.
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/netns.sh"

CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -f "$CLIENT_MODULE" ] || th_fail "$CLIENT_MODULE missing (p11-kit-modules)"
command -v p11-kit >/dev/null || th_fail "p11-kit missing"
NAME=intranet.example.com
th_token
nn_setup
PEBBLE_AUTHZREUSE=0 nn_pebble_start
mkdir -p "$T/pub/etc" "$T/int/etc" "$T/p11kit"

nn_expect_exit 0 "$T/register.log" pub_acme account register --email ops@example.com --agree-tos
want=$(pub_acme account thumbprint 2>/dev/null | tail -n1)

# the surrogate's responder: thumbprint through the token once, on every address
nn_bg "$NN_PUB" "$T/serve.log" $P11ACME --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" serve-http01 --listen "$TH_HTTP_PORT"
SERVE_PID=$NN_PID
nn_wait_port "$NN_PUB" "$NN_PUB_ADDR" "$TH_HTTP_PORT"
# the port opens before the start-up line reaches the log (slow under valgrind)
th_wait_log "$T/serve.log" "thumbprint $want" 10 "serve-http01 thumbprint is not $want"

# the token, exported from the public namespace
SOCK=$T/p11kit/pkcs11.sock
nn_bg "$NN_PUB" "$T/p11kit.log" p11-kit server -f -n "$SOCK" --provider "$TH_MODULE" \
	"pkcs11:token=$TH_TOKEN_LABEL"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || th_fail "p11-kit server made no socket: $(cat "$T/p11kit.log")"

nn_expect_exit 0 "$T/pub-issue.log" pub_acme issue -d "$NAME" --stateless

# the internal host: p11-kit-client.so only; no token directory, no SoftHSM config
NN_INT_MODULE=$CLIENT_MODULE
NN_INT_ENV="P11_KIT_SERVER_ADDRESS=unix:path=$SOCK SOFTHSM2_CONF=/nonexistent/softhsm2.conf"
NN_INT_HIDE=$T/softhsm
# the hiding works: SoftHSM itself finds no token there
ip netns exec "$NN_INT" sh -c 'mount -t tmpfs none "$0" && ls -A "$0"' "$T/softhsm" >"$T/hidden.ls"
[ ! -s "$T/hidden.ls" ] || th_fail "the token directory is visible on the internal host"
[ "$(int_acme account thumbprint 2>"$T/int-tp.err" | tail -n1)" = "$want" ] ||
	th_fail "thumbprint through p11-kit-client differs: $(cat "$T/int-tp.err")"
nn_expect_exit 0 "$T/int-issue.log" int_acme issue -d "$NAME" --stateless
grep -q "acme-challenge/.* 200 $NN_PUB_GW\$" "$T/serve.log" || th_fail "the VA never reached serve-http01"

nn_assert_shared "$NAME" "$T/pub/etc/live/$NAME/fullchain.pem" "$T/int/etc/live/$NAME/fullchain.pem"

nn_stop "$SERVE_PID" || th_fail "serve-http01 did not exit 0 on SIGTERM"
echo "ok"
