#!/bin/bash
# valgrind: yes
# The signer service keeps working after a token error: its token is remote
# (p11-kit-client.so to a `p11-kit server`), and the server is restarted under it.
# While the token is gone a request fails (exit 1) and the service stays up; once the
# token is back the service opens it again and logs in with the PIN it read once at
# start (the PIN file is deleted after the start, so it cannot read it again), and
# signs for the same account.
. "$(dirname "$0")/../lib/harness.sh"

CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -f "$CLIENT_MODULE" ] || th_fail "$CLIENT_MODULE missing (p11-kit-modules)"
command -v p11-kit >/dev/null || th_fail "p11-kit missing"
th_token
th_pebble_start
mkdir -p "$T/p11kit" "$T/run"
PSOCK=$T/p11kit/pkcs11.sock
start_p11kit() {
	rm -f "$PSOCK"
	p11-kit server -f -n "$PSOCK" --provider "$TH_MODULE" "pkcs11:token=$TH_TOKEN_LABEL" \
		>>"$T/p11kit.log" 2>&1 &
	P11KIT=$!
	th_track $P11KIT
	for _ in $(seq 1 50); do [ -S "$PSOCK" ] && break; sleep 0.1; done
	[ -S "$PSOCK" ] || th_fail "p11-kit server made no socket: $(cat "$T/p11kit.log")"
}
stop_p11kit() {   # the server and the child it forked for the service's connection
	local kids
	kids=$(pgrep -P $P11KIT || true)
	kill $P11KIT $kids
	wait $P11KIT 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 $kids 2>/dev/null || break; sleep 0.1; done
	th_untrack $P11KIT
}
start_p11kit

printf '[user root]\nnames = *\nallow = order revoke account\n' >"$T/policy"
chmod 0644 "$T/policy"
SOCK=$T/run/signer.sock
cp "$TH_PIN_FILE" "$T/pin.once"
P11_KIT_SERVER_ADDRESS="unix:path=$PSOCK" SOFTHSM2_CONF=/nonexistent \
	$P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --key "$TH_KEY" \
	--module "$CLIENT_MODULE" --pin-source "file:$T/pin.once" signer serve --socket "$SOCK" \
	--policy "$T/policy" 2>"$T/svc.log" &
SVC=$!
th_track $SVC
for _ in $(seq 1 600); do grep -q 'listening on' "$T/svc.log" && break
	kill -0 $SVC 2>/dev/null || break; sleep 0.1; done
grep -q 'listening on' "$T/svc.log" || th_fail "the service did not start: $(cat "$T/svc.log")"
rm -f "$T/pin.once"

# The service runs under valgrind in the valgrind suite; its clients need not.
client() {
	"$TH_BUILD/p11acme" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--signer "unix:$SOCK" --config-dir "$T/etc" "$@"
}
client account register --email ops@example.com --agree-tos >/dev/null || th_fail "register"
url=$(client account show | sed -n 's/^url: //p')
[ -n "$url" ] || th_fail "account show through the service"

# ---- the token goes away: a request fails, the service stays up
stop_p11kit
th_expect_exit 1 client account show
kill -0 $SVC || th_fail "the service died with its token: $(cat "$T/svc.log")"

# ---- the token is back: the service logs in again, without the PIN file
start_p11kit
[ "$(client account show | sed -n 's/^url: //p')" = "$url" ] ||
	th_fail "no signature after the token came back: $(tail -n 20 "$T/svc.log")"
grep -q 'opening the token again' "$T/svc.log" || th_fail "no re-open in the service log"
grep -q 'logged in to the token again' "$T/svc.log" || th_fail "no re-login in the service log"
# and once more, with the server restarted between two requests of a running service
stop_p11kit
start_p11kit
[ "$(client account show | sed -n 's/^url: //p')" = "$url" ] || th_fail "second re-login"
kill -TERM $SVC
wait $SVC || th_fail "the service did not stop cleanly"
th_untrack $SVC
echo ok
