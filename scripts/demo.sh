#!/bin/bash
# make demo: the whole story on one machine, with two hosts in network namespaces and
# a local Pebble CA. The public surrogate is reachable from the CA's validation
# authority; the internal host is not (it refuses inbound connections) but can reach
# the ACME API. Both share one ACME account whose key never leaves a SoftHSM token.
# Needs root (ip netns), pebble, softhsm2, p11-kit, iproute2 (make deps).
# Certificates and the token stay in $P11ACME_DEMO_DIR (default /tmp/p11acme-demo).

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${P11ACME_DEMO_DIR:-/tmp/p11acme-demo}
STEP="setting up"

# The test harness brings Pebble, challtestsrv and cleanup (servers stopped by PID,
# namespaces removed). It runs with set -e: say which step failed before exiting.
. "$ROOT/tests/lib/harness.sh"
. "$ROOT/tests/lib/netns.sh"
demo_exit() {
	local rc=$?
	set +e
	[ "$rc" != 0 ] && printf '\n*** demo failed during: %s (exit %s)\n' "$STEP" "$rc" >&2
	(exit "$rc")
	th_cleanup # stops Pebble and the servers, removes the namespaces and $T; exits rc
}
trap demo_exit EXIT

B="" N=""
if [ -t 1 ]; then B=$(tput bold 2>/dev/null || true) N=$(tput sgr0 2>/dev/null || true); fi
say() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
run() { printf '%s$ %s%s\n' "$B" "$*" "$N" >&2; "$@"; } # show the command, then run it
NAME=intranet.example.com
START=$(date +%s)

rm -rf "$DEMO"
mkdir -p "$DEMO/surrogate/etc" "$DEMO/internal/etc"
[ "$(id -u)" = 0 ] || th_fail "the demo uses network namespaces: run it as root"
[ -x "$TH_BUILD/p11acme" ] || th_fail "build first: make all"
# short, readable command lines in the narration
PATH=$TH_BUILD:$PATH
P11ACME=p11acme

STEP="the namespaces and Pebble"
nn_setup
PEBBLE_AUTHZREUSE=100 nn_pebble_start
cp "$TH_ROOT_PEM" "$DEMO/pebble-root.pem"
cat <<EOF

This demo runs two "hosts" in network namespaces, and a local Pebble ACME CA:
  surrogate  ($NN_PUB, $NN_PUB_ADDR): public; the CA's validation reaches it
  internal   ($NN_INT, $NN_INT_ADDR): the CA cannot connect to it, it can reach the CA
  DNS (challtestsrv) resolves $NAME to the surrogate. The CA is $TH_SERVER.
EOF

STEP="1: token and account key"
say "Step 1: create a token and an account key that can never leave it"
th_softhsm_conf "$DEMO/softhsm"
printf '1234\n' >"$DEMO/pin"
chmod 0600 "$DEMO/pin"
run softhsm2-util --init-token --free --label demo --pin 1234 --so-pin 5678 >/dev/null
KEY="pkcs11:token=demo;object=account"
MOD=/usr/lib/softhsm/libsofthsm2.so
G=(--server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --module "$MOD" --pin-source "file:$DEMO/pin" --key "$KEY")
run p11acme --module "$MOD" --pin-source "file:$DEMO/pin" key generate --key "$KEY" --type ec256

# Each host's commands, shown without the global options (server, CA bundle, token)
show() { printf '%s%-11s $ p11acme %s%s\n' "$B" "$1" "${*:2}" "$N" >&2; }
on_surrogate() {
	show "[surrogate]" "$@"
	ip netns exec "$NN_PUB" p11acme "${G[@]}" --config-dir "$DEMO/surrogate/etc" "$@"
}
on_internal() {
	show "[internal]" "$@"
	ip netns exec "$NN_INT" p11acme "${G[@]}" --config-dir "$DEMO/internal/etc" "$@"
}

STEP="2: register"
say "Step 2: register the account (on the surrogate); the key signs inside the token"
on_surrogate account register --email ops@example.com --agree-tos
TP=$(on_surrogate account thumbprint 2>/dev/null)
echo "$TP"

STEP="3: surrogate certificate"
say "Step 3: the surrogate gets its certificate over http-01 (built-in server, the CA connects to it)"
on_surrogate issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"

STEP="4: internal certificate by reuse"
say "Step 4: the internal host gets a certificate for the same name by authorization reuse (no challenge)"
on_internal issue -d "$NAME" --reuse-only

STEP="5: stateless"
say "Step 5: reuse switched off (Pebble restarted with PEBBLE_AUTHZREUSE=0): the stateless surrogate answers for the internal host"
PEBBLE_AUTHZREUSE=0 th_pebble_restart
cp "$TH_ROOT_PEM" "$DEMO/pebble-root-2.pem"
echo "(a restarted Pebble forgets its accounts, so register again; a real CA keeps them)"
on_surrogate account register --email ops@example.com --agree-tos 2>/dev/null
echo "The surrogate answers any token with token.thumbprint; it needs only the thumbprint, no token:"
show "[surrogate]" serve-http01 --listen "$TH_HTTP_PORT" --thumbprint "$TP" "&"
nn_bg "$NN_PUB" "$DEMO/serve-http01.log" p11acme serve-http01 --listen "$TH_HTTP_PORT" --thumbprint "$TP"
SERVE_PID=$NN_PID
nn_wait_port "$NN_PUB" "$NN_PUB_ADDR" "$TH_HTTP_PORT"
rc=0
on_internal issue -d "$NAME" --reuse-only --force || rc=$?
[ "$rc" = 3 ] || th_fail "--reuse-only exited $rc, expected 3"
echo "(exit 3: nothing to reuse any more, as the message says)"
on_internal issue -d "$NAME" --stateless --force
echo "The CA's requests, as the surrogate logged them:"
grep 'http01: GET' "$DEMO/serve-http01.log" | sed 's/^/    /'
nn_stop "$SERVE_PID" || true

STEP="6: key non-extractable"
say "Step 6: the account key is still in the token, and cannot leave it"
run p11acme --module "$MOD" --pin-source "file:$DEMO/pin" key show --key "$KEY" |
	grep -E '^(key|algorithm|thumbprint|sensitive|extractable|never-extractable|verdict):'

STEP="checking the certificates"
say "Done in $(( $(date +%s) - START )) s. The certificates (the internal host has two: by reuse, then stateless):"
for host in surrogate internal; do
	live=$DEMO/$host/etc/live/$NAME
	for n in $(ls "$DEMO/$host/etc/archive/$NAME"); do
		f=$DEMO/$host/etc/archive/$NAME/$n/fullchain.pem
		root=""
		for r in "$DEMO/pebble-root.pem" "$DEMO/pebble-root-2.pem"; do
			openssl verify -CAfile "$r" -untrusted "$f" "$f" >/dev/null 2>&1 && root=$r
		done
		[ -n "$root" ] || th_fail "$f does not verify against either Pebble root"
		printf '  %-9s %s  (verifies against %s)\n' "$host" "$f" "$(basename "$root")"
	done
	printf '  %-9s live: %s -> %s\n' "$host" "$live" "$(readlink "$live")"
done
echo "  token: SOFTHSM2_CONF=$DEMO/softhsm/softhsm2.conf, key $KEY"
