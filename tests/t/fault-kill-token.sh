#!/usr/bin/env bash
# SIGKILL of p11acme while its signer opens the token must not destroy the token.
# SoftHSM rewrites its token file (token.object) on every C_Login; the signer
# child is armed with PR_SET_PDEATHSIG, so killing p11acme kills the child at
# once, possibly in the middle of that rewrite.
# 1. Deterministic (with strace): every write to token.object is delayed by 1 s,
#    and p11acme (`account thumbprint`, which only opens the token) is killed while
#    the signer is inside that rewrite.
# 2. Random: p11acme is killed 40 times at random moments in its first 80 ms.
# After each kill the token must still be initialised, with its label.
. "$(dirname "$0")/../lib/harness.sh"

th_token
token_ok() { pkcs11-tool --module "$TH_MODULE" -L 2>/dev/null | grep -q "token label *: *$TH_TOKEN_LABEL\$"; }
tokfile() { find "$T/softhsm/tokens" -name token.object -printf '%s bytes' | head -n 1; }
obj=$(find "$T/softhsm/tokens" -name token.object | head -n 1)
if command -v strace >/dev/null && [ "${P11ACME_VALGRIND:-0}" != 1 ]; then
	strace -f -qq -o /dev/null -P "$obj" -e trace=write,pwrite64,ftruncate \
		-e inject=write,pwrite64:delay_enter=1000000 \
		$P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$T/etc" account thumbprint >"$T/out-strace" 2>&1 &
	spid=$!
	th_track "$spid"
	n=0
	# the rewrite has begun once the file is truncated (or being written slowly)
	until [ "$(stat -c %s "$obj")" = 0 ]; do
		n=$((n + 1))
		if [ "$n" -ge 400 ] || ! kill -0 "$spid" 2>/dev/null; then
			th_log "NOTE: never saw token.object rewritten; C_Login may not rewrite it here"
			break
		fi
		sleep 0.01
	done
	pid=$(pgrep -o -f -- "^$TH_BUILD/p11acme .*--config-dir $T/etc" || true)
	[ -n "$pid" ] && kill -KILL "$pid"
	wait "$spid" 2>/dev/null || true
	th_untrack "$spid"
	sleep 0.3
	token_ok || th_fail "SIGKILL of p11acme while SoftHSM rewrote token.object destroyed the token: token.object is now $(tokfile). The signer child dies at once (PR_SET_PDEATHSIG SIGKILL) in the middle of C_Login"
fi

for i in $(seq 1 40); do
	d=$(python3 -c 'import random; print(round(random.uniform(0.0, 0.08), 3))')
	$P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$T/etc" account thumbprint >/dev/null 2>&1 &
	pid=$!
	th_track "$pid"
	sleep "$d"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	th_untrack "$pid"
	# the signer child dies with its parent; wait for it before looking at the token
	n=0
	while pgrep -f -- "--config-dir $T/etc" >/dev/null && [ "$n" -lt 50 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	if ! token_ok; then
		th_fail "kill $i, ${d}s after start, destroyed the token: token.object is now $(tokfile); pkcs11-tool -L: $(pkcs11-tool --module "$TH_MODULE" -L 2>&1 | grep -i 'label\|flags' | tr '\n' ' ')"
	fi
done
th_expect_exit 0 $P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	--config-dir "$T/etc" account thumbprint
