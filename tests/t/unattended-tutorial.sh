#!/bin/bash
# The README's tutorial, run as written (issue 15): tests/lib/tutorial_blocks.py takes
# its shell blocks out of README.md, in order, and each runs on its host: the
# surrogate and the internal host are two private mount namespaces of this machine,
# each with its own /etc and /root (overlays, so /etc/p11acme, /etc/default and
# /etc/nginx/snippets are the host's own and the real ones stay untouched). What
# stands in for the world: `p11acme` talks to a local Pebble instead of Let's
# Encrypt (--server, and --staging dropped), `systemctl enable --now` starts the
# unit's command (serve-http01 on the port Pebble's VA dials; one run of the renew
# service's ExecStart with its credential), and p11acme-token is the installed script.
# A changed README changes what runs. Then the surrogate renews its own certificate
# with its responder on the port (--stateless), and --standalone there says what
# holds the port and orders nothing.
. "$(dirname "$0")/../lib/harness.sh"

command -v unshare >/dev/null && command -v nsenter >/dev/null || th_fail "util-linux unshare/nsenter missing"
th_pebble_start
th_softhsm_conf "$T/softhsm"    # an empty token directory: the tutorial makes the token
t0=$SECONDS

# ---- the stand-ins on PATH
mkdir -p "$T/bin" "$T/hosts"
cp "$TH_ROOT/scripts/p11acme-token" "$T/bin/p11acme-token"
cat >"$T/bin/p11acme" <<'SH'
#!/bin/bash
# p11acme against the test's Pebble instead of Let's Encrypt (staging or not)
a=()
for x in "$@"; do [ "$x" = --staging ] || a+=("$x"); done
exec $P11ACME_CMD --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" "${a[@]}"
SH
cat >"$T/bin/systemctl" <<'SH'
#!/bin/bash
# systemctl enable --now for the two units the tutorial starts
set -eu
case "$*" in
"enable --now p11acme-serve-http01")
	. /etc/default/p11acme-serve-http01    # its EnvironmentFile=
	# in the test's own mount namespace, so that it outlives this host's block
	nsenter --mount="/proc/$TUT_PID/ns/mnt" -- $P11ACME_CMD serve-http01 \
		--listen "127.0.0.1:$TH_HTTP_PORT" --thumbprint "$P11ACME_THUMBPRINT" \
		>"$T/serve.log" 2>&1 </dev/null &
	echo $! >"$T/serve.pid"
	for _ in $(seq 100); do grep -q 'serve-http01: thumbprint' "$T/serve.log" && exit 0; sleep 0.1; done
	echo "serve-http01 did not start: $(cat "$T/serve.log")" >&2
	exit 1 ;;
"enable --now p11acme-renew.timer")
	# one run of the service: its ExecStart, the PIN as its credential
	cred=$(mktemp -d)
	(umask 077; cp /etc/p11acme/pin "$cred/pin")
	cmd=$(sed -n 's/^ExecStart=//p' "$TH_ROOT/scripts/p11acme-renew.service" |
		sed -e 's|^/usr/local/bin/p11acme|p11acme|' -e "s|\${CREDENTIALS_DIRECTORY}|$cred|")
	rc=0
	eval "$cmd" || rc=$?
	rm -rf "$cred"
	exit "$rc" ;;
*) echo "systemctl stand-in: not in the tutorial: $*" >&2; exit 1 ;;
esac
SH
chmod +x "$T/bin/"*
export P11ACME_CMD=$P11ACME T TH_SERVER TH_CA_BUNDLE TH_HTTP_PORT TH_ROOT TUT_PID=$$
th_on_exit '[ -f "$T/serve.pid" ] && kill "$(cat "$T/serve.pid")" 2>/dev/null'

# in_host HOST FILE: run the shell file on that host (its /etc and /root), stdin
# from STDIN (default /dev/null), output to FILE.out
in_host() {
	local h=$T/hosts/$1
	mkdir -p "$h/etc-u" "$h/etc-w" "$h/root-u" "$h/root-w"
	PATH=$T/bin:$PATH unshare -m bash -c '
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc-u,workdir=$1/etc-w" /etc &&
		mount -t overlay overlay -o "lowerdir=/root,upperdir=$1/root-u,workdir=$1/root-w" /root &&
		exec bash -e "$2"' in_host "$h" "$2" <"${STDIN:-/dev/null}" >"$2.out" 2>&1
}

# ---- the tutorial, block by block
python3 "$TH_ROOT/tests/lib/tutorial_blocks.py" "$TH_ROOT/README.md" "$T/blocks" >"$T/blocks.list" ||
	th_fail "could not take the blocks out of README.md"
[ "$(wc -l <"$T/blocks.list")" -ge 6 ] || th_fail "only $(wc -l <"$T/blocks.list") blocks in the tutorial"
while read -r f; do
	host=${f##*-}
	host=${host%.sh}
	tb=$SECONDS
	# the internal host's `cat > /etc/p11acme/pin` reads the PIN pasted in
	STDIN=/dev/null
	[ "$host" = internal ] && STDIN=$T/hosts/surrogate/etc-u/p11acme/pin
	STDIN=$STDIN in_host "$host" "$f" ||
		{ sed 's/^/    | /' "$f" >&2; sed 's/^/    > /' "$f.out" >&2
		  th_fail "README tutorial block $(basename "$f") failed on the $host"; }
	th_log "$(basename "$f"): ok ($((SECONDS - tb)) s)"
done <"$T/blocks.list"

# ---- what the tutorial promises
S=$T/hosts/surrogate/etc-u/p11acme I=$T/hosts/internal/etc-u/p11acme
for d in "$S" "$I"; do
	[ "$(stat -c %a "$d")" = 700 ] || th_fail "$d has mode $(stat -c %a "$d")"
	[ "$(stat -c %a "$d/pin")" = 600 ] || th_fail "$d/pin has mode $(stat -c %a "$d/pin")"
	th_verify_cert "$d/live/intranet.example.com/fullchain.pem" intranet.example.com
	grep -qx 'solver = stateless' "$d/renewal/intranet.example.com.conf" ||
		th_fail "$d: the renewal conf does not renew with --stateless"
done
[ "$(stat -c %a "$T/hosts/surrogate/root-u/so-pin")" = 600 ] || th_fail "/root/so-pin is not 0600"
cmp -s "$S/live/intranet.example.com/cert.pem" "$I/live/intranet.example.com/cert.pem" &&
	th_fail "the two hosts share one certificate"
url_s=$(sed -n 's/^url: //p' "$T"/blocks/*-surrogate.sh.out | sort -u)
url_i=$(sed -n 's/^url: //p' "$T"/blocks/*-internal.sh.out | sort -u)
[ -n "$url_s" ] && [ "$url_s" = "$url_i" ] || th_fail "the hosts' accounts: '$url_s' and '$url_i'"
grep -qx 'verdict: cannot leave the token' "$T/blocks/01-surrogate.sh.out" ||
	th_fail "key show: $(cat "$T/blocks/01-surrogate.sh.out")"

# ---- the surrogate renews its own certificate while its responder holds the port
before=$(readlink "$S/live/intranet.example.com")
printf 'export P11ACME_MODULE=%s P11ACME_KEY=%q P11ACME_PIN_SOURCE=file:/etc/p11acme/pin\n' \
	"$TH_SOFTHSM_MODULE" 'pkcs11:token=acme;object=account' >"$T/env.sh"
{ cat "$T/env.sh"; echo 'p11acme renew --cert-name intranet.example.com --force'; } >"$T/renew.sh"
in_host surrogate "$T/renew.sh" || th_fail "the surrogate's renewal failed: $(cat "$T/renew.sh.out")"
grep -q '^intranet.example.com: renewed' "$T/renew.sh.out" || th_fail "renew: $(cat "$T/renew.sh.out")"
[ "$(readlink "$S/live/intranet.example.com")" != "$before" ] || th_fail "the live set did not change"

# ---- --standalone on the surrogate: the port is the responder's; said before any order
o=$(th_orders)
{ cat "$T/env.sh"; echo "p11acme issue -d other.example.com --standalone --http-port $TH_HTTP_PORT"; } >"$T/sa.sh"
in_host surrogate "$T/sa.sh" && th_fail "--standalone on a held port succeeded"
grep -q "port $TH_HTTP_PORT is in use by p11acme (pid [0-9]*); nothing was ordered" "$T/sa.sh.out" &&
	grep -q 'use --stateless instead' "$T/sa.sh.out" || th_fail "--standalone said: $(cat "$T/sa.sh.out")"
[ "$(th_orders)" = "$o" ] || th_fail "--standalone on a held port made an order"
th_log "unattended-tutorial: $((SECONDS - t0)) s after Pebble started"
echo "unattended-tutorial: ok"
