#!/usr/bin/env bash
# SIGKILL of p11acme while its signer opens the token must not destroy the token.
# SoftHSM rewrites its token file (token.object) on every C_Login; the signer
# child is armed with PR_SET_PDEATHSIG, so killing p11acme kills the child at
# once, possibly in the middle of that rewrite. Here p11acme (`account
# thumbprint`, which only opens the token) is killed 40 times at random moments
# in its first 80 ms; after each kill the token must still be initialised, with
# its label, and usable with the PIN.
. "$(dirname "$0")/../lib/harness.sh"

th_token
tokfile() { find "$T/softhsm/tokens" -name token.object -printf '%s bytes' | head -n 1; }
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
	if ! pkcs11-tool --module "$TH_MODULE" -L 2>/dev/null | grep -q "token label *: *$TH_TOKEN_LABEL\$"; then
		th_fail "kill $i, ${d}s after start, destroyed the token: token.object is now $(tokfile); pkcs11-tool -L: $(pkcs11-tool --module "$TH_MODULE" -L 2>&1 | grep -i 'label\|flags' | tr '\n' ' ')"
	fi
done
th_expect_exit 0 $P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	--config-dir "$T/etc" account thumbprint
