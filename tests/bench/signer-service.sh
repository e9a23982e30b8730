#!/usr/bin/env bash
# The signer service's benchmark (make bench, part "service"; standalone after make all:
# tests/bench/signer-service.sh). Two measurements, each against its baseline in the
# same run:
#  1. renewals per second through the service (`--signer unix:PATH`) against the local
#     signer (every run forks its own signer child, which loads SoftHSM and logs in),
#     at concurrency 1, 4 and 8, interleaved level by level, against one Pebble.
#     A renewal is an issuance whose authorization is reused (--reuse-only), from its
#     own config directory holding a copy of the account cache, as in fleet.sh.
#  2. JWS per second through the service against direct signing in one process (and
#     against the local signer child), tests/bench/svc_bench.c, with one client and with
#     BENCH_SVC_CLIENTS (4) clients at once; goal: >= 80% of direct.
# Environment: BENCH_SVC_N=100 renewals per mode and level, BENCH_FLEET_CONC="1 4 8",
# BENCH_SVC_ROUNDS=5 BENCH_SVC_SECS=1 for svc_bench, BENCH_SVC_FLEET=0 to measure the
# signatures only, BENCH_OUT=bench/results.
# Output: $BENCH_OUT/service-fleet.csv, service-fleet-runs.csv, service-sig.txt,
# service-env.txt (date, CPUs, load average at start and end).
. "$(dirname "$0")/../lib/harness.sh"
BENCH_DIR="$TH_ROOT/tests/bench"
N=${BENCH_SVC_N:-100}
CONC=${BENCH_FLEET_CONC:-"1 4 8"}
OUT=${BENCH_OUT:-$TH_ROOT/bench/results}
case "$OUT" in /*) ;; *) OUT="$TH_ROOT/$OUT" ;; esac
mkdir -p "$OUT" "$T/bin"
NAMES=8
DOMAIN=svc.example.com
# the machine's load, at start and end: the rates are only comparable within one run
ENV_TXT=$OUT/service-env.txt
printf 'date: %s\nnproc: %s\nloadavg at start: %s\n' "$(date -u +%FT%TZ)" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" >"$ENV_TXT"

# one build for the whole run (others may rebuild build/ meanwhile)
cp "$TH_BUILD/p11acme" "$T/bin/p11acme"
BIN=$T/bin/p11acme
PKGS="libp11 libcrypto libcurl libcjson p11-kit-1 libmicrohttpd"
# shellcheck disable=SC2046 # pkg-config prints lists of flags
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$TH_ROOT" $(pkg-config --cflags $PKGS) \
	-o "$T/bin/svc_bench" "$BENCH_DIR/svc_bench.c" "$TH_BUILD"/common/*.o "$TH_BUILD"/tokens/*.o \
	"$TH_BUILD"/signer/*.o $(pkg-config --libs $PKGS) || th_fail "cannot build tests/bench/svc_bench.c"

export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=100
th_token SVCBENCH
th_pebble_start
printf '[user root]\nnames = *\nallow = order revoke account\n' >"$T/signer.policy"
chmod 0644 "$T/signer.policy"

# serve_start SERVER SOCKET: a service for that CA; waits for its start-up line
serve_start() {
	local log
	log="$T/serve-$(basename "$2").log"
	"$BIN" --server "$1" --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		signer serve --socket "$2" --policy "$T/signer.policy" --audit-log "$2.audit" 2>"$log" &
	SERVE_PID=$!
	th_track "$SERVE_PID"
	th_wait_log "$log" '^p11acme: signer: listening on' 30 "signer serve did not start" "$SERVE_PID"
}

# ---------------------------------------------------------------- 2. JWS/s (first: no Pebble load)
serve_start https://ca.test/dir "$T/sig.sock"
"$T/bin/svc_bench" -m "$TH_MODULE" -p "file:$TH_PIN_FILE" -r "${BENCH_SVC_ROUNDS:-5}" \
	-s "${BENCH_SVC_SECS:-1}" -c "${BENCH_SVC_CLIENTS:-4}" -P "$SERVE_PID" \
	-S "unix:$T/sig.sock" "$TH_KEY" >"$T/sig.txt" ||
	th_fail "svc_bench failed"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
th_untrack "$SERVE_PID"
cp "$T/sig.txt" "$OUT/service-sig.txt"
sed 's/^/# /' "$T/sig.txt" >&2

# ---------------------------------------------------------------- 1. renewals/s
if [ "${BENCH_SVC_FLEET:-1}" = 0 ]; then
	printf 'loadavg at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$ENV_TXT"
	th_log "renewals skipped (BENCH_SVC_FLEET=0); results: $OUT/service-sig.txt"
	exit 0
fi
serve_start "$TH_SERVER" "$T/svc.sock"
# the command line of one renewal, quoted for the job script (the key URI has a ';')
local_cmd() { # DIR NAME
	printf '%q ' "$BIN" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$1" issue -d "$2" \
		--reuse-only --force
}
service_cmd() {
	printf '%q ' "$BIN" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --signer "unix:$T/svc.sock" \
		--config-dir "$1" issue -d "$2" --reuse-only --force
}
SEED=$T/seed
"$BIN" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$SEED" account register --email b@example.com \
	--agree-tos >"$T/register.log" 2>&1 || th_fail "register: $(cat "$T/register.log")"
for i in $(seq 0 $((NAMES - 1))); do
	"$BIN" --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
		--pin-source "file:$TH_PIN_FILE" --config-dir "$SEED" issue -d "fleet-$i.$DOMAIN" \
		--standalone --http-port "$TH_HTTP_PORT" >"$T/seed-$i.log" 2>&1 ||
		th_fail "seed fleet-$i: $(tail -n 5 "$T/seed-$i.log")"
done

RESULTS=$OUT/service-fleet.csv
echo "mode,concurrency,renewals,ok,failed,elapsed_s,renewals_per_s,median_wall_s,p95_wall_s" >"$RESULTS"
echo "mode,concurrency,k,rc,wall_s" >"$OUT/service-fleet-runs.csv"
run_level() { # MODE CONCURRENCY
	local mode=$1 c=$2 jobs="$T/$1-c$2" k t0 t1 cmdline
	mkdir -p "$jobs"
	for k in $(seq 0 $((N - 1))); do
		mkdir -p "$jobs/$k"
		cp -a "$SEED/accounts" "$jobs/$k/"
	done
	cmdline=$("${mode}_cmd" @DIR@ @NAME@ | sed 's/@DIR@/"$dir"/g; s/@NAME@/"$name"/g')
	cat >"$jobs/job.sh" <<EOF
#!/usr/bin/env bash
k=\$1
dir="$jobs/\$k"
name="fleet-\$((k % $NAMES)).$DOMAIN"
t0=\$EPOCHREALTIME
$cmdline >"\$dir.log" 2>&1
rc=\$?
echo "\$k \$rc \$t0 \$EPOCHREALTIME" >>"$jobs/results"
EOF
	chmod +x "$jobs/job.sh"
	: >"$jobs/results"
	t0=$EPOCHREALTIME
	seq 0 $((N - 1)) | xargs -P "$c" -n 1 "$jobs/job.sh"
	t1=$EPOCHREALTIME
	python3 "$BENCH_DIR/fleet_results.py" "$mode" "$c" "$N" "$t0" "$t1" "$jobs/results" "$RESULTS" \
		"$OUT/service-fleet-runs.csv"
	k=$(awk '$2 != 0 {print $1; exit}' "$jobs/results")
	[ -z "$k" ] || { th_log "$mode c=$c: first failure (job $k):"; tail -n 5 "$jobs/$k.log" >&2; }
}
for c in $CONC; do
	run_level local "$c"
	run_level service "$c"
done
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
th_untrack "$SERVE_PID"
printf 'loadavg at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$ENV_TXT"
th_log "results: $RESULTS, $OUT/service-sig.txt, $ENV_TXT"
