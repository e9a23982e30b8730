#!/bin/bash
# valgrind: yes
# The signer service's policy against Pebble, with real unix users: `signer check`
# (rules per section, per user; errors exit 2 with file:line); an internal host
# (user INT, order+revoke for its names) issues through --signer unix: with stateless
# http-01 (serve-http01 on the surrogate, through the service too) and with reuse;
# a name outside its policy, an account deactivation, a key rollover, a new account
# and revoking another host's certificate are refused (exit 1, the message names
# user, operation and name) and never reach Pebble; the admin group may do all of
# it; an unknown user is refused at connect; every decision is in the audit log; the
# internal host never touches a module or PIN file; the renewal conf records signer =.
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/signer_users.sh"

th_token
PEBBLE_AUTHZREUSE=100 th_pebble_start
cp "$TH_CA_BUNDLE" "$T/ca.pem"
chmod 0644 "$T/ca.pem"

ADMG=$(su_group adm)
INT=$(su_user int)
ADM=$(su_user boss "$ADMG")
NOBODY=$(su_user nob)
SUR=$(su_user sur)

# ---- the policy, and signer check
cat >"$T/policy" <<EOF
# internal host 1
[user $INT]
names = int.example.com *.int.example.org
allow = order revoke

# the surrogate: the thumbprint only
[user $SUR]

[group $ADMG]
names = *
allow = order revoke account
EOF
chmod 0644 "$T/policy"
$P11ACME signer check --policy "$T/policy" >"$T/check" || th_fail "signer check failed"
grep -qx "\[user $INT\] (policy:2)" "$T/check" || th_fail "check: $(cat "$T/check")"
grep -qx '  names: int.example.com \*.int.example.org' "$T/check" || th_fail "check names"
grep -qx '  allow: order revoke account' "$T/check" || th_fail "check allow"
$P11ACME signer check --policy "$T/policy" --user "$ADM" >"$T/check" || th_fail "check --user"
grep -q "matches: \[group $ADMG\]" "$T/check" || th_fail "check --user: $(cat "$T/check")"
th_expect_exit 1 $P11ACME signer check --policy "$T/policy" --user "$NOBODY"
grep -q 'matches no section' "$T/out" || th_fail "check --user nobody: $(cat "$T/out")"
for bad in 'allow = order revok' 'names = a.*.example.com' 'name = x.example.com' \
	'names = -x.example.com' 'names = 10.0.0.1/8'; do
	printf '# bad\n[user x]\n%s\n' "$bad" >"$T/bad.policy"
	th_expect_exit 2 $P11ACME signer check --policy "$T/bad.policy"
	grep -q "bad.policy:3: " "$T/out" || th_fail "no file:line for '$bad': $(cat "$T/out")"
done
printf 'allow = order\n' >"$T/bad.policy"
th_expect_exit 2 $P11ACME signer check --policy "$T/bad.policy"
grep -q "bad.policy:1: 'allow' outside a section" "$T/out" || th_fail "outside: $(cat "$T/out")"
printf '[user a]\n[user a]\n' >"$T/bad.policy"
th_expect_exit 2 $P11ACME signer check --policy "$T/bad.policy"
grep -q "bad.policy:2: duplicate section (first at line 1)" "$T/out" || th_fail "dup: $(cat "$T/out")"
chmod 0666 "$T/policy"
th_expect_exit 2 $P11ACME signer check --policy "$T/policy"
grep -q 'writable by group or others' "$T/out" || th_fail "a writable policy was accepted"
chmod 0644 "$T/policy"

# ---- the service (root: the token host); --new-key for the admin's rollover
mkdir -p "$T/run"
chmod 0755 "$T/run"
SOCK=$T/run/signer.sock
AUDIT=$T/audit.log
# started: the service's start-up line, written once its socket is ready (the socket
# file appears a moment before it). The log is appended across restarts: count them.
listening() {
	local n
	n=$(grep -c "listening on $SOCK" "$T/service.log" 2>/dev/null)
	echo "${n:-0}"
}
start_service() {
	local before
	before=$(listening)
	$P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --key "$1" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" signer serve --socket "$SOCK" --policy "$T/policy" \
		--audit-log "$AUDIT" --new-key "pkcs11:token=$TH_TOKEN_LABEL;object=acct384" \
		2>>"$T/service.log" &
	SVC=$!
	th_track $SVC
	for _ in $(seq 1 600); do
		[ "$(listening)" -gt "$before" ] && break
		kill -0 $SVC 2>/dev/null || break
		sleep 0.1
	done
	[ "$(listening)" -gt "$before" ] || th_fail "the service did not start: $(cat "$T/service.log")"
}
start_service "$TH_KEY"
grep -q "listening on $SOCK (account key ES256, thumbprint " "$T/service.log" ||
	th_fail "no start-up line: $(cat "$T/service.log")"
[ "$(stat -c %a "$SOCK")" = 666 ] || th_fail "socket mode $(stat -c %a "$SOCK")"

# A client: another user, its own config dir, no module, no token, no PIN. The
# bogus module and PIN source prove that nothing of them is used.
# In the valgrind suite the service always runs under valgrind, and so do the clients
# of vclient (an issuance, a refusal, the exec: bridge); the many other client runs
# would only make the test too slow for its time limit.
CLIENT_BIN="$TH_BUILD/p11acme"
client() {
	local u=$1
	shift
	su_run "$u" env P11ACME_MODULE=/nonexistent/module.so P11ACME_PIN_SOURCE=file:/nonexistent \
		$CLIENT_BIN ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --ca-bundle "$T/ca.pem" \
		--signer "unix:$SOCK" --config-dir "$T/etc-$u" "$@"
}
vclient() { CLIENT_BIN="$P11ACME" client "$@"; }
for u in "$INT" "$ADM" "$NOBODY" "$SUR"; do su_dir "$u" "$T/etc-$u"; done
expect_denied() {   # expect_denied MESSAGE CMD...
	local msg=$1
	shift
	th_expect_exit 1 "$@"
	grep -qF "signer: denied: $msg" "$T/out" || th_fail "expected 'signer: denied: $msg': $(cat "$T/out")"
}

# ---- the account: the admin creates it; the internal host may not
expect_denied "user $INT may not create an account" \
	client "$INT" account register --email int@example.com --agree-tos
client "$ADM" account register --email ops@example.com --agree-tos >/dev/null ||
	th_fail "the admin could not register the account"
TP=$(client "$INT" account thumbprint) || th_fail "thumbprint through the service"
[ "$(th_p11acme account thumbprint)" = "$TP" ] || th_fail "the service's thumbprint differs"

# ---- the surrogate's stateless http-01 responder, its thumbprint from the service
su_spawn "$SUR" "$TH_BUILD/p11acme" --signer "unix:$SOCK" serve-http01 --listen "127.0.0.1:$TH_HTTP_PORT" \
	2>"$T/http01.log"
H01=$SU_PID
th_wait_port 127.0.0.1 "$TH_HTTP_PORT" 20 $H01 "$T/http01.log"

# ---- the internal host's own name: stateless http-01, then reuse
vclient "$INT" issue -d int.example.com --stateless >/dev/null 2>"$T/issue.err" ||
	th_fail "internal issue failed: $(cat "$T/issue.err")"
th_verify_cert "$T/etc-$INT/live/int.example.com/fullchain.pem" int.example.com
conf=$T/etc-$INT/renewal/int.example.com.conf
grep -qx "signer = unix:$SOCK" "$conf" || th_fail "renewal conf lacks signer =: $(cat "$conf")"
grep -q '^key = \|^module = \|^pin_source = ' "$conf" && th_fail "renewal conf names a key"
# (VG: under valgrind, where every signature of the service is 20-50 times slower, the
# parts marked VG are left to the normal suite so that the test fits its time limit.)
if [ -z "${TH_VGDIR:-}" ]; then   # VG
	client "$INT" issue -d a.b.int.example.org --reuse-only >/dev/null 2>&1 &&
		th_fail "reuse-only without an authz"
fi
client "$INT" issue -d a.b.int.example.org --stateless >/dev/null ||
	th_fail "issue of a name below *.int.example.org failed"
if [ -z "${TH_VGDIR:-}" ]; then   # VG
	client "$INT" issue -d a.b.int.example.org --reuse-only --force >/dev/null || th_fail "reuse failed"
	client "$INT" renew --force --cert-name int.example.com >/dev/null 2>"$T/renew.err" ||
		th_fail "renew through the recorded signer failed: $(cat "$T/renew.err")"
fi

# ---- the same through --signer exec: and the signer connect bridge (the SSH forced
# command's two ends, here without ssh): the bridge runs as the client's user
su_run "$INT" $P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --ca-bundle "$T/ca.pem" \
	--signer "exec:$P11ACME signer connect --socket $SOCK" --config-dir "$T/etc-$INT" \
	issue -d x.int.example.org --stateless >/dev/null 2>"$T/exec.err" ||
	th_fail "issue through exec: failed: $(cat "$T/exec.err")"
th_verify_cert "$T/etc-$INT/live/x.int.example.org/fullchain.pem" x.int.example.org
grep -qx "signer = exec:$P11ACME signer connect --socket $SOCK" \
	"$T/etc-$INT/renewal/x.int.example.org.conf" || th_fail "renewal conf lacks the exec: signer"
th_expect_exit 1 su_run "$INT" $P11ACME --signer "exec:$P11ACME signer connect --socket $T/nosuch" \
	--config-dir "$T/etc-$INT" account thumbprint
grep -q "signer: unix:$T/nosuch: connect: No such file or directory" "$T/out" ||
	th_fail "bridge without a service: $(cat "$T/out")"
th_expect_exit 1 client "$INT" --signer "unix:$T/nosuch" account thumbprint

# ---- outside the policy: refused before anything reaches Pebble
before=$(th_pebble_requests)
expect_denied "user $INT may not order www.example.com" \
	vclient "$INT" issue -d www.example.com --stateless
expect_denied "user $INT may not order int.example.org" \
	client "$INT" issue -d int.example.com -d int.example.org --stateless --force
expect_denied "user $INT may not deactivate the account or an authorization" \
	client "$INT" account deactivate --yes
expect_denied "user $INT may not change the account key" client "$INT" account rollover
th_pebble_request_list "$before" | grep -E 'POST /(order-plz|rollover-account|my-account)' &&
	th_fail "a refused request reached Pebble"

# ---- revocation: another host's certificate is refused, its own is not
client "$ADM" issue -d other.example.com --stateless >/dev/null || th_fail "admin issue failed"
cp "$T/etc-$ADM/live/other.example.com/cert.pem" "$T/other.pem"
chmod 0644 "$T/other.pem"
expect_denied "user $INT may not revoke other.example.com" client "$INT" revoke --cert "$T/other.pem"
client "$INT" revoke --cert "$T/etc-$INT/live/a.b.int.example.org/cert.pem" >/dev/null ||
	th_fail "revoking its own certificate failed"

# ---- an unknown user is refused at connect
expect_denied "user $NOBODY (uid $(id -u "$NOBODY")) matches no section of the policy" \
	client "$NOBODY" account thumbprint

# ---- the admin may roll the key over (then the service restarts with the new key)
ROLLED=no
if [ -z "${TH_VGDIR:-}" ]; then   # VG
	client "$ADM" account rollover >"$T/roll.out" || th_fail "admin rollover failed"
	ROLLED=yes
fi
kill -TERM $SVC
wait $SVC || th_fail "the service did not stop cleanly on SIGTERM"
th_untrack $SVC
[ -e "$SOCK" ] && th_fail "the socket file is left after SIGTERM"
grep -q 'signer: stopped' "$T/service.log" || th_fail "no stop message"
if [ $ROLLED = yes ]; then
	start_service "pkcs11:token=$TH_TOKEN_LABEL;object=acct384"
	client "$INT" issue -d int.example.com --stateless --force >/dev/null ||
		th_fail "issue after the rollover failed"
fi

# ---- the audit log: one JSON line per decision
/usr/bin/python3 - "$AUDIT" "$INT" "$NOBODY" "$ADM" "$ROLLED" <<'PY' || th_fail "audit log"
import json, sys
path, int_user, nobody, adm, rolled = sys.argv[1:]
lines = [json.loads(l) for l in open(path)]
keys = {"time", "user", "uid", "pid", "op", "names", "url", "decision", "reason"}
for l in lines:
    assert set(l) == keys, l
def has(user, op, decision, name=None):
    for l in lines:
        if l["user"] == user and l["op"] == op and l["decision"] == decision and \
           (name is None or name in l["names"]):
            return True
    sys.exit("no audit line %s %s %s %s" % (user, op, decision, name))
has(int_user, "new-order", "deny", "www.example.com")
has(int_user, "new-order", "allow", "int.example.com")
has(int_user, "finalize", "allow", "int.example.com")
has(int_user, "deactivate", "deny")
has(int_user, "key-change-inner", "deny")
has(int_user, "new-account", "deny")
has(int_user, "revoke", "deny", "other.example.com")
has(int_user, "revoke", "allow", "a.b.int.example.org")
has(int_user, "account-lookup", "allow")
has(nobody, "connect", "deny")
if rolled == "yes":
    has(adm, "key-change", "allow")
has(adm, "new-account", "allow")
PY
grep -q '"decision":"deny"' "$T/service.log" || th_fail "the audit lines are not on stderr"
echo ok
