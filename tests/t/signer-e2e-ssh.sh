#!/bin/bash
# The signer service end to end, in three network namespaces against Pebble
# (PEBBLE_AUTHZREUSE=100):
#   token host (its own namespace, no route to the CA): `p11acme signer serve` with the
#     token, the PIN, the policy and the audit log; Debian's sshd on a link to the
#     internal namespace only
#   surrogate (public namespace): the admin (root, via the socket file) registers the
#     account; serve-http01 takes the thumbprint from the service
#   internal namespace, two hosts as two new unix users:
#     int1: through sshd, `ssh -L local.sock:service.sock` (restrict,port-forwarding
#           key) and the forced-command bridge `signer connect` (exec:ssh, restrict key)
#     int2: through the socket file
# Each host gets a certificate for its own name by stateless http-01 through the
# surrogate, and by reuse (renew --force, --reuse-only). Refused, with exit 1, the
# named message, an audit line, and no request at Pebble: a name outside the policy
# (no newOrder), deactivation and key rollover from an internal host, revoking another
# host's certificate; a user the policy does not name is refused at connect. The admin
# rolls the account over and deactivates it. No internal-host process opens a PKCS#11
# module, a token file or a PIN file (strace of every one; P11ACME_MODULE and
# P11ACME_PIN_SOURCE point at nonexistent paths). The two authorized_keys lines give
# nothing else (the forwarding key runs no command, the bridge key forwards nothing),
# SIGHUP re-reads the policy, and one host names the service by P11ACME_SIGNER alone.
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/netns.sh"
. "$TH_ROOT/tests/lib/sshd.sh"

command -v strace >/dev/null || th_fail "strace missing"
command -v ssh >/dev/null || th_fail "ssh missing (openssh-client)"
# the new users must reach their homes, the socket and the CA bundle under $T
chmod 0711 "$T"
th_token
chmod 0700 "$T/softhsm"
nn_setup
ssh_tok_setup
PEBBLE_AUTHZREUSE=100 nn_pebble_start
cp "$TH_CA_BUNDLE" "$T/ca.pem"
chmod 0644 "$T/ca.pem"
mkdir -p "$T/pub/etc" "$T/tok" "$T/strace"
chmod 0755 "$T/tok"

ssh_user_add U1 int1
ssh_user_add U2 int2
ssh_user_add U3 stranger
N1=int1.example.com N2=int2.example.com
SOCK=$T/tok/signer.sock
AUDIT=$T/tok/audit.log
KEY384="pkcs11:token=$TH_TOKEN_LABEL;object=acct384"

cat >"$T/tok/signer.policy" <<EOF
# the fleet: each internal host orders and revokes its own names only
[user $U1]
names = $N1 *.$N1
allow = order revoke
[user $U2]
names = $N2
allow = order revoke
# the admin on the surrogate: everything, the account included
[user root]
names = *
allow = order revoke account
EOF
chmod 0644 "$T/tok/signer.policy"

p11acme_signer() { $P11ACME signer "$@"; }
p11acme_signer check --policy "$T/tok/signer.policy" --user "$U1" >"$T/check.out" 2>&1 ||
	{ cat "$T/check.out" >&2; th_fail "signer check --user $U1"; }
grep -q "^  order: $N1 \*\.$N1\$" "$T/check.out" && grep -q "^  revoke: $N1 \*\.$N1\$" "$T/check.out" &&
	grep -q "^  account: (not allowed)\$" "$T/check.out" || th_fail "signer check: $(cat "$T/check.out")"
th_expect_exit 1 $P11ACME signer check --policy "$T/tok/signer.policy" --user "$U3"
grep -q "matches no section" "$T/out" || th_fail "signer check --user $U3: $(cat "$T/out")"

# ---------------------------------------------------------------- the token host
SERVE_N=0
serve_start() { # KEY [--new-key URI]
	local key=$1
	shift
	SERVE_N=$((SERVE_N + 1))
	SERVE_LOG=$T/tok/serve.$SERVE_N.log
	tok_bg "$SERVE_LOG" $P11ACME --server "$TH_SERVER" --key "$key" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" signer serve --socket "$SOCK" \
		--policy "$T/tok/signer.policy" --audit-log "$AUDIT" "$@"
	SERVE_PID=$NN_PID
	th_wait_log "$SERVE_LOG" "^p11acme: signer: listening on $SOCK " 30 "signer serve did not start" \
		"$SERVE_PID"
	[ -S "$SOCK" ] || th_fail "no socket at $SOCK"
}
serve_start "$TH_KEY" --new-key "$KEY384"
TP=$(sed -n 's/^p11acme: signer: listening on .*thumbprint \([A-Za-z0-9_-]*\))$/\1/p' "$SERVE_LOG")
[ ${#TP} = 43 ] || th_fail "no thumbprint in the start-up line: $(cat "$SERVE_LOG")"

# ---------------------------------------------------------------- the admin (surrogate)
adm() {
	ip netns exec "$NN_PUB" env -u P11ACME_KEY -u P11ACME_MODULE -u P11ACME_PIN_SOURCE \
		$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --signer "unix:$SOCK" \
		--config-dir "$T/pub/etc" "$@"
}
nn_expect_exit 0 "$T/register.log" adm account register --email ops@example.com --agree-tos
[ "$(adm account thumbprint 2>/dev/null | tail -n1)" = "$TP" ] ||
	th_fail "account thumbprint through the service is not $TP"
ACCOUNT=$(adm account show 2>/dev/null | sed -n 's/^url: //p')
[ -n "$ACCOUNT" ] || th_fail "account show through the service printed no url"

# the surrogate's stateless responder, its thumbprint from the service
nn_bg "$NN_PUB" "$T/serve-http01.log" env -u P11ACME_KEY -u P11ACME_MODULE \
	$P11ACME --signer "unix:$SOCK" serve-http01 --listen "$TH_HTTP_PORT"
nn_wait_port "$NN_PUB" "$NN_PUB_ADDR" "$TH_HTTP_PORT"
th_wait_log "$T/serve-http01.log" "thumbprint $TP" 10 "serve-http01 thumbprint is not $TP"

# ---------------------------------------------------------------- the internal hosts
ssh_sshd_start "$(th_free_port)"
H1=$(getent passwd "$U1" | cut -d: -f6)
H2=$(getent passwd "$U2" | cut -d: -f6)
# int1's two keys: one that may only forward, one whose only use is the bridge
KEY_FWD=$(ssh_client_key "$U1" fwd_ed25519 "$U1 forward")
KEY_BRIDGE=$(ssh_client_key "$U1" bridge_ed25519 "$U1 bridge")
ssh_authorize "$U1" 'restrict,port-forwarding,command="/bin/false"' "$KEY_FWD.pub"
ssh_authorize "$U1" "command=\"$TH_BUILD/p11acme signer connect --socket $SOCK\",restrict" \
	"$KEY_BRIDGE.pub"
mapfile -t SSH_FWD < <(ssh_cmd "$U1" "$KEY_FWD")
mapfile -t SSH_BRIDGE < <(ssh_cmd "$U1" "$KEY_BRIDGE")
LSOCK=$H1/signer.sock
nn_bg "$NN_INT" "$T/ssh-forward.log" setpriv --reuid="$U1" --regid="$U1" --init-groups \
	env -i HOME="$H1" PATH=/usr/bin:/bin "${SSH_FWD[@]}" -N -o ExitOnForwardFailure=yes \
	-o StreamLocalBindUnlink=yes -o StreamLocalBindMask=0177 -L "$LSOCK:$SOCK"
FWD_PID=$NN_PID
n=0
until [ -S "$LSOCK" ]; do
	kill -0 "$FWD_PID" 2>/dev/null || th_fail "ssh -L exited: $(cat "$T/ssh-forward.log")"
	n=$((n + 1))
	[ $n -gt 100 ] && th_fail "ssh -L made no socket: $(cat "$T/ssh-forward.log")"
	sleep 0.1
done
[ "$(stat -c '%a %U' "$LSOCK")" = "600 $U1" ] || th_fail "forwarded socket: $(stat -c '%a %U' "$LSOCK")"
# the two documented authorized_keys lines give nothing else: the forwarding key runs
# no command (its forced /bin/false), the bridge key forwards nothing
ssh_as_u1() { ip netns exec "$NN_INT" setpriv --reuid="$U1" --regid="$U1" --init-groups \
	env -i HOME="$H1" PATH=/usr/bin:/bin "$@"; }
rc=0
ssh_as_u1 "${SSH_FWD[@]}" id >"$T/fwd-cmd.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && ! grep -q 'uid=' "$T/fwd-cmd.out" ||
	th_fail "the forwarding key ran a command (exit $rc): $(cat "$T/fwd-cmd.out")"

# host USER SIGNER ARGS...: p11acme as USER in the internal namespace, under strace
# (every open of the process and its children), with a module and a PIN source in the
# environment that do not exist: a client with --signer must touch neither.
# One trace file per run (mktemp: runs inside $(...) count too). The sanitizers' options
# pass through env -i: LeakSanitizer cannot run under ptrace, and tests/run.sh turns it off.
host() {
	local u=$1 signer=$2 home
	shift 2
	home=$(getent passwd "$u" | cut -d: -f6)
	ip netns exec "$NN_INT" strace -f -qq -e trace=open,openat,openat2,creat \
		-o "$(mktemp "$T/strace/$u.XXXXXX")" setpriv --reuid="$u" --regid="$u" --init-groups \
		env -i HOME="$home" PATH=/usr/bin:/bin P11ACME_MODULE=/nonexistent/pkcs11-module.so \
		P11ACME_PIN_SOURCE=file:/nonexistent/pin ${HOST_ENV:-} \
		${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
		$P11ACME --server "$TH_SERVER" --ca-bundle "$T/ca.pem" --config-dir "$home/etc" \
		${signer:+--signer "$signer"} "$@"
}
int1() { host "$U1" "unix:$LSOCK" "$@"; }
int1_bridge() { host "$U1" "exec:${SSH_BRIDGE[*]}" "$@"; }
int2() { host "$U2" "unix:$SOCK" "$@"; }
stranger() { host "$U3" "unix:$SOCK" "$@"; }
# int2 with the service named by P11ACME_SIGNER alone
int2_env() { HOST_ENV="P11ACME_SIGNER=unix:$SOCK" host "$U2" "" "$@"; }

# ... and the bridge key forwards nothing: ssh makes the local socket, sshd refuses the
# channel when a client connects through it
nn_bg "$NN_INT" "$T/bridge-fwd.log" setpriv --reuid="$U1" --regid="$U1" --init-groups \
	env -i HOME="$H1" PATH=/usr/bin:/bin "${SSH_BRIDGE[@]}" -N -L "$H1/other.sock:$SOCK"
BFWD_PID=$NN_PID
n=0
until [ -S "$H1/other.sock" ]; do
	kill -0 "$BFWD_PID" 2>/dev/null || break
	n=$((n + 1))
	[ $n -gt 100 ] && th_fail "ssh -L with the bridge key made no local socket"
	sleep 0.1
done
[ -S "$H1/other.sock" ] || th_fail "ssh -L with the bridge key: $(cat "$T/bridge-fwd.log")"
nn_expect_exit 1 "$T/bridge-fwd.out" host "$U1" "unix:$H1/other.sock" account thumbprint
grep -q "refused streamlocal port forward: .* target $SOCK" "$SSH_DIR/sshd.log" ||
	th_fail "sshd did not refuse the bridge key's forward: $(tail -n 5 "$SSH_DIR/sshd.log")"
nn_stop "$BFWD_PID" || true

# audit_count USER OP DECISION [NAME]: audit lines with these fields (NAME in names)
audit_count() {
	/usr/bin/python3 - "$AUDIT" "$@" <<'PY'
import json, sys
path, user, op, decision = sys.argv[1:5]
name = sys.argv[5] if len(sys.argv) > 5 else None
n = 0
for line in open(path):
    r = json.loads(line)
    if (r["user"], r["op"], r["decision"]) == (user, op, decision) and \
            (name is None or name in r["names"]):
        n += 1
print(n)
PY
}
audit_has() { # USER OP DECISION [NAME]
	[ "$(audit_count "$@")" -ge 1 ] || {
		sed 's/^/    /' "$AUDIT" >&2
		th_fail "no audit line for $*"
	}
}
audit_none() {
	[ "$(audit_count "$@")" = 0 ] || th_fail "unexpected audit line for $*"
}
# pebble_none FROM PATTERN WHAT: Pebble logged no request matching PATTERN since FROM
pebble_none() {
	if th_pebble_request_list "$1" | grep -q -- "$2"; then
		th_pebble_request_list "$1" >&2
		th_fail "$3 reached Pebble"
	fi
}
pebble_some() {
	th_pebble_request_list "$1" | grep -q -- "$2" || {
		th_pebble_request_list "$1" >&2
		th_fail "$3 did not reach Pebble"
	}
}
# denied LOG MESSAGE: the client's stderr names the client, the operation and the name
denied() {
	grep -qF "signer: denied: $2" "$1" || { cat "$1" >&2; th_fail "no 'signer: denied: $2' in $1"; }
}

# ---- int1 through ssh -L: its own name over stateless http-01 through the surrogate
nn_expect_exit 0 "$T/int1-issue.log" int1 issue -d "$N1" --stateless
th_verify_cert "$H1/etc/live/$N1/fullchain.pem" "$N1"
grep -q "acme-challenge/.* 200 $NN_PUB_GW\$" "$T/serve-http01.log" ||
	th_fail "the VA never reached serve-http01"
audit_has "$U1" connect allow
audit_has "$U1" new-order allow "$N1"
audit_has "$U1" finalize allow "$N1"
grep -q "signer = unix:$LSOCK" "$H1/etc/renewal/$N1.conf" ||
	th_fail "the renewal conf does not record the signer: $(cat "$H1/etc/renewal/$N1.conf")"
# ... and again by reuse: renew repeats it through the conf's signer; no challenge
old=$(readlink -f "$H1/etc/live/$N1/cert.pem")
before=$(th_pebble_requests)
nn_expect_exit 0 "$T/int1-renew.log" int1 renew --cert-name "$N1" --force
pebble_some "$before" 'POST /order-plz' "int1's renewal"
pebble_none "$before" 'POST /chalZ/' "a challenge answer during reuse"
[ "$(readlink -f "$H1/etc/live/$N1/cert.pem")" != "$old" ] || th_fail "renew made no new certificate"
th_verify_cert "$H1/etc/live/$N1/fullchain.pem" "$N1"

# ---- int2 through the socket file: stateless, then --reuse-only under another name
nn_expect_exit 0 "$T/int2-issue.log" int2 issue -d "$N2" --stateless
th_verify_cert "$H2/etc/live/$N2/fullchain.pem" "$N2"
before=$(th_pebble_requests)
nn_expect_exit 0 "$T/int2-reuse.log" int2 issue -d "$N2" --reuse-only --cert-name "$N2-reuse"
pebble_none "$before" 'POST /chalZ/' "a challenge answer during --reuse-only"
th_verify_cert "$H2/etc/live/$N2-reuse/fullchain.pem" "$N2"
audit_has "$U2" new-order allow "$N2"
# the two hosts share the account, each with its own certificate key
[ "$(int2_env account show 2>/dev/null | sed -n 's/^url: //p')" = "$ACCOUNT" ] ||
	th_fail "int2 (P11ACME_SIGNER) sees another account"
[ "$(int1 account show 2>/dev/null | sed -n 's/^url: //p')" = "$ACCOUNT" ] ||
	th_fail "int1 sees another account"

# ---- refused: a name outside int1's policy, through the forced-command bridge
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/int1-www.log" int1_bridge issue -d www.example.com --stateless
denied "$T/int1-www.log" "user $U1 may not order www.example.com"
pebble_none "$before" 'POST /order-plz' "the refused newOrder"
audit_has "$U1" new-order deny www.example.com
[ ! -e "$H1/etc/live/www.example.com" ] || th_fail "a refused order left a live set"
grep -q "Accepted publickey for $U1" "$SSH_DIR/sshd.log" || th_fail "sshd logged no login of $U1"
# the bridge works for what the policy allows (the account lookup, the public key)
[ "$(int1_bridge account thumbprint 2>"$T/bridge-tp.err" | tail -n1)" = "$TP" ] ||
	th_fail "thumbprint through the bridge: $(cat "$T/bridge-tp.err")"
# a name of int2's is outside int1's policy too (one of several, through ssh -L)
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/int1-n2.log" int1 issue -d "www.$N1" -d "$N2" --stateless
denied "$T/int1-n2.log" "user $U1 may not order $N2"
pebble_none "$before" 'POST /order-plz' "the refused newOrder"

# ---- refused: deactivation and key rollover from an internal host
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/int1-deact.log" int1 account deactivate --yes
denied "$T/int1-deact.log" "user $U1 may not deactivate the account"
nn_expect_exit 1 "$T/int2-roll.log" int2 account rollover
denied "$T/int2-roll.log" "user $U2 may not change the account key"
nn_expect_exit 1 "$T/int1b-deact.log" int1_bridge account deactivate --yes
denied "$T/int1b-deact.log" "user $U1 may not deactivate the account"
pebble_none "$before" 'POST /my-account/' "an internal host's account update"
pebble_none "$before" 'POST /rollover-account-key' "an internal host's key change"
audit_has "$U1" deactivate deny
audit_has "$U2" key-change-inner deny

# ---- refused: revoking another host's certificate
cp "$H1/etc/live/$N1/cert.pem" "$H2/int1-cert.pem"
chown "$U2:" "$H2/int1-cert.pem"
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/int2-revoke.log" int2 revoke --cert "$H2/int1-cert.pem"
denied "$T/int2-revoke.log" "user $U2 may not revoke $N1"
pebble_none "$before" 'POST /revoke-cert' "the refused revocation"
audit_has "$U2" revoke deny "$N1"
# while a host may revoke its own
nn_expect_exit 0 "$T/int2-revoke-own.log" int2 revoke --cert "$H2/etc/live/$N2-reuse/cert.pem"
pebble_some "$before" 'POST /revoke-cert' "int2's own revocation"
audit_has "$U2" revoke allow "$N2"

# ---- refused at connect: a user the policy does not name, whatever it asks
nn_expect_exit 1 "$T/stranger.log" stranger account thumbprint
grep -qF "signer: denied: user $U3 (uid $(id -u "$U3")) matches no section of the policy" \
	"$T/stranger.log" || { cat "$T/stranger.log" >&2; th_fail "the stranger's refusal"; }
audit_has "$U3" connect deny
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/stranger-issue.log" stranger issue -d "$N2" --stateless
pebble_none "$before" 'POST /order-plz' "the stranger's newOrder"

# ---- a policy change takes effect on SIGHUP: the stranger gets a section, a broken
# policy is refused (the last good one stays), and taking the section away refuses it again
until_ok() { # WHAT CMD...: retry CMD for up to 5 s
	local what=$1 n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -gt 50 ] && th_fail "$what"
		sleep 0.1
	done
}
POLICY=$T/tok/signer.policy
cp "$POLICY" "$T/policy.orig"
printf '[user %s]\nnames = stranger.example.com\nallow = order\n' "$U3" >>"$POLICY"
kill -HUP "$SERVE_PID"
until_ok "SIGHUP: the stranger's new section did not take effect" stranger account thumbprint
audit_has "$U3" connect allow
printf 'allow = everything\n' >>"$POLICY"
kill -HUP "$SERVE_PID"
until_ok "SIGHUP: a broken policy was not reported" grep -q "signer.policy:[0-9]*:" "$SERVE_LOG"
nn_expect_exit 0 "$T/stranger-kept.log" stranger account thumbprint
cp "$T/policy.orig" "$POLICY"
kill -HUP "$SERVE_PID"
not() { ! "$@"; }
until_ok "SIGHUP: the stranger's section was not taken away" not stranger account thumbprint
kill -0 "$SERVE_PID" || th_fail "signer serve died on SIGHUP"

# ---- the admin rolls the account over to the service's --new-key, then deactivates it
before=$(th_pebble_requests)
nn_expect_exit 0 "$T/rollover.log" adm account rollover
pebble_some "$before" 'POST /rollover-account-key' "the admin's key change"
audit_has root key-change-inner allow
audit_has root key-change allow
nn_stop "$SERVE_PID" || th_fail "signer serve did not exit 0 on SIGTERM"
[ ! -e "$SOCK" ] || th_fail "signer serve left its socket behind"
serve_start "$KEY384"
TP2=$(sed -n 's/^p11acme: signer: listening on .*thumbprint \([A-Za-z0-9_-]*\))$/\1/p' "$SERVE_LOG")
[ -n "$TP2" ] && [ "$TP2" != "$TP" ] || th_fail "the new key's thumbprint: '$TP2'"
# the fleet goes on with the new key (same account); int1 through its ssh forward
[ "$(int1 account show 2>/dev/null | sed -n 's/^url: //p')" = "$ACCOUNT" ] ||
	th_fail "int1 does not find the account under its new key"
before=$(th_pebble_requests)
nn_expect_exit 1 "$T/int2-deact2.log" int2 account deactivate --yes
denied "$T/int2-deact2.log" "user $U2 may not deactivate the account"
pebble_none "$before" 'POST /my-account/' "an internal host's deactivation"
nn_expect_exit 0 "$T/deactivate.log" adm account deactivate --yes
pebble_some "$before" 'POST /my-account/' "the admin's deactivation"
audit_has root deactivate allow
adm account show >"$T/show-deact.log" 2>&1 || true
grep -qi 'deactivated' "$T/show-deact.log" ||
	{ cat "$T/show-deact.log" >&2; th_fail "the account is not deactivated"; }

# ---------------------------------------------------------------- audit and isolation
# every line is one JSON object with every field; one 'connect' line per connection
/usr/bin/python3 - "$AUDIT" <<'PY' || th_fail "malformed audit log"
import json, pwd, sys
for i, line in enumerate(open(sys.argv[1]), 1):
    r = json.loads(line)
    missing = {"time", "user", "uid", "pid", "op", "names", "url", "decision", "reason"} - set(r)
    assert not missing, f"line {i}: missing {missing}"
    assert r["decision"] in ("allow", "deny", "error"), f"line {i}: {r['decision']}"
    assert pwd.getpwuid(r["uid"]).pw_name == r["user"], f"line {i}: uid {r['uid']} is not {r['user']}"
    assert isinstance(r["names"], list), f"line {i}: names"
PY
# a denial is on the service's stderr (the journal) too
grep -q "\"user\":\"$U3\".*\"decision\":\"deny\"" "$T/tok/serve.1.log" ||
	th_fail "the stranger's refusal is not on the service's stderr"
# nobody but int1 (through sshd) and the admin ever acted as int1 or root
audit_none "$U2" new-order allow "$N1"
audit_none "$U1" new-order allow "$N2"

# no internal-host process opened a module, a token file or a PIN file (the controls:
# each trace shows p11acme loading libcurl, so tracing followed it, and the traces
# show the CA bundle opened)
HOST_N=$(find "$T/strace" -type f | wc -l)
[ "$HOST_N" -ge 18 ] || th_fail "only $HOST_N internal-host runs traced"
grep -lq "\"$T/ca.pem\"" "$T"/strace/* || th_fail "no trace shows the CA bundle opened"
for f in "$T"/strace/*; do
	grep -q 'libcurl\.so' "$f" || th_fail "$f: the trace does not show p11acme starting"
	if grep -E "\"[^\"]*(/nonexistent|softhsm|pkcs11|p11-kit-client|p11-kit-proxy|p11-kit/modules|opensc)[^\"]*\"|\"$TH_PIN_FILE\"|\"$T/softhsm" \
		"$f" >"$T/bad-opens"; then
		sed 's/^/    /' "$T/bad-opens" >&2
		th_fail "an internal host opened a PKCS#11 module, token or PIN file ($f)"
	fi
done
th_log "$HOST_N internal-host runs traced: no module, token or PIN file opened"
nn_stop "$FWD_PID" || true
echo "ok"
