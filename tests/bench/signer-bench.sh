#!/usr/bin/env bash
# Signer benchmark: JWS/s through the signer process vs direct libp11 signing in one
# process (ES256, ES384, RS256 on SoftHSM), the cost of one round trip, and the cold
# start. Run after `make all`:  tests/bench/signer-bench.sh [ROUNDS] [SECONDS]
# Targets (issue 3): signer >= 80% of direct for ES256; cold start <= 15 ms.
# Set SIGNER_BENCH_CPU=N to pin the whole run (both processes) to one CPU, which
# shows how much of the gap is cross-CPU wakeups rather than the protocol.
. "$(dirname "$0")/../lib/harness.sh"

rounds=${1:-5} secs=${2:-1}
th_token SIGBENCH
pin=()
[ -n "${SIGNER_BENCH_CPU:-}" ] && pin=(taskset -c "$SIGNER_BENCH_CPU")
for label in acct acct384 acctrsa; do
	"${pin[@]}" "$TH_BUILD/tests/sig_bench" -m "$TH_MODULE" -p "file:$TH_PIN_FILE" \
		-r "$rounds" -s "$secs" "pkcs11:token=$TH_TOKEN_LABEL;object=$label"
	echo
done
