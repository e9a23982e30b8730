#!/usr/bin/env bash
# make bench: p11acme against lego, certbot and uacme (Debian 12 packages) on one local
# Pebble. See docs/BENCHMARKS.md for the method; results go to bench/results/.
#
#   tests/bench/run.sh                 everything (about 5-10 minutes)
#
# Environment:
#   BENCH_ROUNDS=7          interleaved rounds: A B C D first issuances, then
#   BENCH_REUSE_REPS=3      times (A B C D reuse issuances), each from a fresh second
#                           directory (reuse is cheap and bimodal: more samples)
#   BENCH_CLIENTS="lego certbot uacme uacme-onecert dehydrated p11acme p11acme-service"
#                           clients to compare (p11acme is skipped, with a note, while its
#                           `issue --standalone` does not work); uacme-onecert is uacme with a
#                           trust store of one certificate (the test CA), its fastest
#                           configuration; p11acme-service is p11acme signing through a
#                           running `signer serve` (`--signer unix:`), the fleet's set-up
#   BENCH_FLEET=200         p11acme renewals per concurrency level in the fleet run (0 skips it)
#   BENCH_FLEET_OTHERS=100  lego renewals per level, for comparison (0 skips lego)
#   BENCH_FLEET_CONC="1 4 8"
#   BENCH_OUT=bench/results where the machine-readable results go
#   BENCH_PARTS="rounds fleet signer service"  the parts to run; the others keep their previous
#                           results in BENCH_OUT (e.g. BENCH_PARTS=signer)
#   BENCH_DOCS=1            regenerate the table in docs/BENCHMARKS.md and docs/bench.png
#
# It runs in a private mount namespace (unshare -m) with the test CA bind-mounted over
# /etc/ssl/certs/ca-certificates.crt: uacme has no CA option and ignores CURL_CA_BUNDLE.
# Its libcurl (GnuTLS) still loads every certificate of /etc/ssl/certs (CApath): the
# system trust store. For uacme-onecert, a directory holding only the test CA is
# bind-mounted over /etc/ssl/certs around each of its runs (outside the measurement).
# The other clients get the CA explicitly (LEGO_CA_CERTIFICATES, REQUESTS_CA_BUNDLE,
# --ca-bundle). p11acme runs with P11ACME_TRACE (phase timestamps, bench/results/traces.txt).
if [ "${BENCH_IN_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "bench: needs root (unshare -m, bind mount)" >&2; exit 2; }
	exec unshare -m --propagation private env BENCH_IN_NS=1 "$0" "$@"
fi

. "$(dirname "$0")/../lib/harness.sh"
BENCH_DIR="$TH_ROOT/tests/bench"
ROUNDS=${BENCH_ROUNDS:-7}
CLIENTS=${BENCH_CLIENTS:-"lego certbot uacme uacme-onecert dehydrated p11acme p11acme-service"}
REUSE_REPS=${BENCH_REUSE_REPS:-3}
PARTS=" ${BENCH_PARTS:-rounds fleet signer service} "
part() { case "$PARTS" in *" $1 "*) return 0 ;; esac; return 1; }
FLEET=${BENCH_FLEET:-200}
FLEET_CONC=${BENCH_FLEET_CONC:-"1 4 8"}
OUT=${BENCH_OUT:-$TH_ROOT/bench/results}
case "$OUT" in /*) ;; *) OUT="$TH_ROOT/$OUT" ;; esac
MEASURE="python3 $BENCH_DIR/measure.py"
EMAIL=bench@example.com
DOMAIN=${BENCH_DOMAIN:-bench.example.com}

RAW="$T/raw"
mkdir -p "$RAW" "$OUT"
export BENCH_RUSAGE="$T/rusage"
cc -O2 -Wall -o "$BENCH_RUSAGE" "$BENCH_DIR/rusage.c" || th_fail "cannot build tests/bench/rusage.c"
CURL_FLOOR="$T/curl_floor"
cc -O2 -Wall -Wextra -o "$CURL_FLOOR" "$BENCH_DIR/curl_floor.c" $(pkg-config --cflags --libs libcurl) ||
	th_fail "cannot build tests/bench/curl_floor.c"
START_EPOCH=$(date +%s)

# ---------------------------------------------------------------- Pebble
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=100
th_token
th_pebble_start
mount --bind "$TH_CA_BUNDLE" /etc/ssl/certs/ca-certificates.crt
ONECERT="$T/onecert"
mkdir -p "$ONECERT"
cp "$TH_CA_BUNDLE" "$ONECERT/ca-certificates.crt"
# onecert_on CLIENT / onecert_off CLIENT: the one-certificate /etc/ssl/certs for uacme-onecert
onecert_on() { [ "$1" != uacme-onecert ] || mount --bind "$ONECERT" /etc/ssl/certs; }
onecert_off() { [ "$1" != uacme-onecert ] || umount /etc/ssl/certs; }
S=$TH_SERVER
CA=$TH_CA_BUNDLE
P=$TH_HTTP_PORT
th_log "Pebble at $S, VA port $P, log $TH_PEBBLE_LOG"

# ---------------------------------------------------------------- p11acme available?
# Snapshots of the binaries: others may rebuild build/ while the bench runs, and a run
# must measure one build (a half-written binary fails with "Permission denied").
mkdir -p "$T/bin"
[ -x "$TH_BUILD/p11acme" ] && cp "$TH_BUILD/p11acme" "$T/bin/p11acme"
[ -x "$TH_BUILD/tests/sig_bench" ] && cp "$TH_BUILD/tests/sig_bench" "$T/bin/sig_bench" &&
	export SIG_BENCH="$T/bin/sig_bench"
P11ACME_BIN="$T/bin/p11acme"
p11acme_ok() {
	[ -x "$P11ACME_BIN" ] && "$P11ACME_BIN" issue --help 2>&1 | grep -q -- '--standalone'
}
case " $CLIENTS " in *" p11acme "*)
	if ! p11acme_ok; then
		th_log "p11acme: $P11ACME_BIN has no working 'issue --standalone' yet; skipped"
		CLIENTS=$(echo " $CLIENTS " | sed 's/ p11acme / /; s/ p11acme-service / /')
		P11ACME_SKIPPED=1
	fi ;;
esac

# ---------------------------------------------------------------- uacme's and dehydrated's http-01 server
# uacme and dehydrated have no standalone server. They write the key authorization into
# a webroot (uacme through its hook, dehydrated itself into WELLKNOWN), and nginx
# (started just before their first issuance, stopped right after; not part of the
# measurement, as a web server that is already running would not be) serves it on the
# VA port.
WEBROOT="$T/webroot"
mkdir -p "$WEBROOT/.well-known/acme-challenge" "$T/nginx/logs"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx/logs/access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	default_type text/plain;
	server { listen 127.0.0.1:$P; root $WEBROOT; }
}
EOF
NGINX_PID=""
nginx_start() {
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" &
	NGINX_PID=$!
	th_track "$NGINX_PID"
	th_wait_port 127.0.0.1 "$P"
}
nginx_stop() {
	[ -n "$NGINX_PID" ] || return 0
	th_stop "$NGINX_PID"
	NGINX_PID=""
	# wait until the port is free again for the next standalone client
	local n=0
	while (exec 3<>"/dev/tcp/127.0.0.1/$P") 2>/dev/null; do
		n=$((n + 1)); [ $n -gt 100 ] && break; sleep 0.05
	done
}
export BENCH_WEBROOT="$WEBROOT"
# webroot_client CLIENT CASE: 0 when this issuance needs nginx on the VA port.
webroot_client() {
	case "$1:$2" in uacme:first | uacme-onecert:first | dehydrated:first) return 0 ;; esac
	return 1
}

# ---------------------------------------------------------------- the clients
# client_cmd CLIENT CASE DIR NAME: print nothing, set CMD (array) for one issuance.
# CASE first: DIR is fresh; the client creates its account and solves http-01.
# CASE reuse: DIR holds only a copy of the account (client_share) and NAME was
# validated by that account in the first issuance.
client_cmd() {
	local client=$1 case=$2 dir=$3 name=$4
	case $client in
	lego)
		CMD=(env LEGO_CA_CERTIFICATES="$CA" lego --accept-tos --email "$EMAIL" --server "$S"
			--path "$dir" --key-type ec256 -d "$name" --http --http.port "127.0.0.1:$P" run) ;;
	certbot)
		CMD=(env REQUESTS_CA_BUNDLE="$CA" certbot certonly --non-interactive --agree-tos
			-m "$EMAIL" --no-eff-email --server "$S" --config-dir "$dir/etc" --work-dir "$dir/work"
			--logs-dir "$dir/logs" --key-type ecdsa --standalone --preferred-challenges http
			--http-01-port "$P" --http-01-address 127.0.0.1 -d "$name") ;;
	uacme | uacme-onecert)
		if [ "$case" = first ]; then
			CMD=(sh -c 'uacme -y -t EC -a "$1" -c "$2" new "$3" && exec uacme -t EC -a "$1" -c "$2" -h "$4" issue "$5"'
				uacme "$S" "$dir" "$EMAIL" "$BENCH_DIR/uacme-hook.sh" "$name")
		else
			CMD=(uacme -t EC -a "$S" -c "$dir" -h "$BENCH_DIR/uacme-hook.sh" issue "$name")
		fi ;;
	dehydrated)
		# its config file is its command line; written here, outside the measurement
		mkdir -p "$dir"
		printf 'CA="%s"\nCHALLENGETYPE="http-01"\nWELLKNOWN="%s"\nBASEDIR="%s"\nKEY_ALGO=prime256v1\nCONTACT_EMAIL=%s\n' \
			"$S" "$WEBROOT/.well-known/acme-challenge" "$dir" "$EMAIL" >"$dir/config"
		if [ "$case" = first ]; then
			CMD=(sh -c 'dehydrated -f "$1" --register --accept-terms && exec dehydrated -f "$1" -c -d "$2"'
				dehydrated "$dir/config" "$name")
		else
			CMD=(dehydrated -f "$dir/config" -c -d "$name")
		fi ;;
	p11acme | p11acme-service)
		local g=("$P11ACME_BIN" --server "$S" --ca-bundle "$CA" --key "$TH_KEY" --module "$TH_MODULE"
			--pin-source "file:$TH_PIN_FILE" --config-dir "$dir")
		[ "$client" = p11acme ] ||
			g=("$P11ACME_BIN" --server "$S" --ca-bundle "$CA" --signer "unix:$SVC_SOCK" --config-dir "$dir")
		local i=(issue -d "$name" --standalone --http-port "$P" --http-address 127.0.0.1 --force)
		# first: one process registers (newAccount finds the token key's account
		# in later rounds) and issues, as lego's run and certbot's certonly do
		[ "$case" = first ] && i+=(--agree-tos --email "$EMAIL")
		CMD=("${g[@]}" "${i[@]}") ;;
	esac
}

# client_share CLIENT FROM TO: the second host gets the account, as users do it today
# (copy the account directory, which holds the key), or for p11acme only the account
# URL cache (no key; the key stays in the token).
client_share() {
	local client=$1 from=$2 to=$3
	mkdir -p "$to"
	case $client in
	lego) cp -a "$from/accounts" "$to/" ;;
	certbot) mkdir -p "$to/etc" && cp -a "$from/etc/accounts" "$to/etc/" ;;
	uacme | uacme-onecert) mkdir -p "$to/private" && cp -a "$from/private/key.pem" "$to/private/" ;;
	dehydrated) cp -a "$from/accounts" "$to/" ;;
	p11acme | p11acme-service) [ -d "$from/accounts" ] && cp -a "$from/accounts" "$to/" || true ;;
	esac 2>/dev/null || th_log "$client: no account in $from to share (its first issuance failed?)"
}

# count_requests SLICE: "total challenge-posts breakdown" from a slice of Pebble's log.
# Pebble 2.4 logs one line "<METHOD> <path> -> calling handler()" per HTTP request.
count_requests() {
	python3 - "$1" <<'PY'
import re, sys, collections
c = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'\b(GET|HEAD|POST|PUT|DELETE) (/[^ ]*) -> calling handler\(\)', line)
    if m:
        seg = m.group(2).strip("/").split("/")[0] or "/"
        c[m.group(1) + " " + seg] += 1
chal = sum(v for k, v in c.items() if k.startswith("POST chalZ"))
print(sum(c.values()), chal, ";".join(f"{k}={v}" for k, v in sorted(c.items())).replace(" ", "_"))
PY
}

if part rounds; then
# p11acme-service: one `signer serve` for the whole run, as on a fleet's token host
# (it logs in once); its CPU during each run is added to that run's (svc_cpu_ns).
SVC_SOCK="$T/signer.sock"
SVC_PID=""
case " $CLIENTS " in *" p11acme-service "*)
	printf '[user root]\nnames = *\nallow = order revoke account\n' >"$T/signer.policy"
	"$P11ACME_BIN" --server "$S" --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		signer serve --socket "$SVC_SOCK" --policy "$T/signer.policy" --audit-log "$T/signer.audit" \
		2>"$T/signer-serve.log" &
	SVC_PID=$!
	th_track "$SVC_PID"
	th_wait_log "$T/signer-serve.log" '^p11acme: signer: listening on' 30 "signer serve did not start" "$SVC_PID"
	;;
esac
# svc_cpu_ns: CPU time (ns, every thread) of the service and its key process so far
svc_cpu_ns() {
	local p pids t sum=0 n
	pids="$SVC_PID $(pgrep -P "$SVC_PID" | tr '\n' ' ')"
	for p in $pids; do
		for t in /proc/"$p"/task/*/schedstat; do
			read -r n _ <"$t" 2>/dev/null && sum=$((sum + n))
		done
	done
	echo "$sum"
}
rm -f "$OUT"/failed-*.log
: >"$RAW/traces.txt"
RUNS_CSV="$RAW/runs.csv"
echo "client,case,round,name,wall_s,user_s,sys_s,cpu_s,maxrss_kb,tree_rss_kb,tree_pss_peak_kb,largest_anon_kb,largest_file_kb,requests,challenge_posts,rc,breakdown" >"$RUNS_CSV"

# run_one CLIENT CASE ROUND NAME DIR [--tree]: one measured issuance, appended to runs.csv.
run_one() {
	local client=$1 case=$2 round=$3 name=$4 dir=$5 tree=${6:-} id before after trace=""
	id="$client-$case-$round"
	client_cmd "$client" "$case" "$dir" "$name"
	mkdir -p "$dir"
	webroot_client "$client" "$case" && nginx_start
	onecert_on "$client"
	[ "$client" = p11acme ] && trace="$RAW/$id.trace"
	before=$(wc -l <"$TH_PEBBLE_LOG")
	local svc0=0 svc1=0
	[ "$client" = p11acme-service ] && svc0=$(svc_cpu_ns)
	P11ACME_TRACE="$trace" $MEASURE $tree --log "$RAW/$id.log" "$RAW/$id.json" -- "${CMD[@]}"
	[ "$client" = p11acme-service ] && svc1=$(svc_cpu_ns) && svc_add "$RAW/$id.json" $((svc1 - svc0))
	after=$(wc -l <"$TH_PEBBLE_LOG")
	onecert_off "$client"
	webroot_client "$client" "$case" && nginx_stop
	[ -n "$trace" ] && trace_append "$id" "$RAW/$id.json" "$trace"
	sed -n "$((before + 1)),${after}p" "$TH_PEBBLE_LOG" >"$RAW/$id.pebble"
	{ echo "=== $id $name"; grep -- '-> calling handler()' "$RAW/$id.pebble" || true; } >>"$RAW/requests.txt"
	read -r reqs chal breakdown < <(count_requests "$RAW/$id.pebble")
	python3 - "$RAW/$id.json" "$client" "$case" "$round" "$name" "$reqs" "$chal" "$breakdown" >>"$RUNS_CSV" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c, case, rnd, name, reqs, chal, bd = sys.argv[2:]
print(",".join(str(x) for x in [c, case, rnd, name, r["wall_s"], r["user_s"], r["sys_s"], r["cpu_s"],
      r["maxrss_kb"], r.get("tree_rss_kb", ""), r.get("tree_pss_peak_kb", ""), r.get("largest_anon_kb", ""),
      r.get("largest_file_kb", ""), reqs, chal, r["rc"], bd]))
PY
	local rc
	rc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rc"])' "$RAW/$id.json")
	printf '# %-8s %-6s %-4s %-34s %s\n' "$client" "$case" "$round" "$name" \
		"$(tail -n1 "$RUNS_CSV" | cut -d, -f5,9,14,15,16 | tr , ' ')" >&2
	if [ "$rc" != 0 ]; then
		th_log "$id failed (exit $rc); last lines of its output:"
		tail -n 8 "$RAW/$id.log" | sed 's/^/#   /' >&2
		cp "$RAW/$id.log" "$OUT/failed-$id.log" 2>/dev/null || true
	fi
	return 0
}

# svc_add RUN.json NS: the service's CPU during the run is part of the run's cpu_s
# (user_s and sys_s stay the client's own; service_cpu_s says how much was added)
svc_add() {
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["service_cpu_s"] = int(sys.argv[2]) / 1e9
r["cpu_s"] = round(r["cpu_s"] + r["service_cpu_s"], 6)
json.dump(r, open(sys.argv[1], "w"))
PY
}

# trace_append ID RUN.json TRACE: the run's P11ACME_TRACE lines, under a header with the
# fork and wait4 times that rusage measured on the same clock.
trace_append() {
	python3 - "$1" "$2" "$3" >>"$RAW/traces.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(f'=== {sys.argv[1]} t0_ns={r.get("t0_ns", 0)} t1_ns={r.get("t1_ns", 0)} rc={r["rc"]}')
try:
    sys.stdout.write(open(sys.argv[3]).read())
except OSError:
    pass
PY
}

# ---------------------------------------------------------------- interleaved rounds
th_log "clients: $CLIENTS; $ROUNDS rounds (wall s, max RSS kB, requests, challenge POSTs, exit)"
for r in $(seq 1 "$ROUNDS"); do
	for c in $CLIENTS; do
		run_one "$c" first "$r" "r$r-$c.$DOMAIN" "$T/c/$c/$r/first"
	done
	for k in $(seq 1 "$REUSE_REPS"); do
		for c in $CLIENTS; do
			client_share "$c" "$T/c/$c/$r/first" "$T/c/$c/$r/reuse$k"
			run_one "$c" reuse "$r.$k" "r$r-$c.$DOMAIN" "$T/c/$c/$r/reuse$k"
		done
	done
done

# One more round with the process-tree memory sampler (sampled sums of RSS and of PSS
# over the processes alive at once): its timings are not used, since sampling costs CPU.
th_log "memory round (process-tree sampling)"
for c in $CLIENTS; do
	run_one "$c" first mem "m-$c.$DOMAIN" "$T/c/$c/mem/first" --tree
done
for c in $CLIENTS; do
	client_share "$c" "$T/c/$c/mem/first" "$T/c/$c/mem/reuse"
	run_one "$c" reuse mem "m-$c.$DOMAIN" "$T/c/$c/mem/reuse" --tree
done
[ -z "$SVC_PID" ] || th_stop "$SVC_PID"
cp "$RUNS_CSV" "$OUT/runs.csv"
cp "$RAW/requests.txt" "$OUT/requests.txt"
cp "$RAW/traces.txt" "$OUT/traces.txt"

# ---------------------------------------------------------------- the stack's floor
# What the mandated HTTP stack costs before any ACME logic (tests/bench/curl_floor.c),
# and what each binary costs just to start, measured like the clients, in this run:
# peak RSS, and wall and CPU time (the time floor under issue 16's targets).
th_log "memory floor (tests/bench/curl_floor.c; --version of p11acme and lego)"
echo "variant,run,maxrss_kb,largest_anon_kb,largest_file_kb,rc,wall_ms,cpu_ms" >"$RAW/floor.csv"
head -c 32 /dev/urandom >"$T/floor-hash"
floor_one() {
	local variant=$1 run=$2 j="$RAW/floor-$1-$2.json"
	shift 2
	$MEASURE --tree --log "$RAW/floor-$variant-$run.log" "$j" -- "$@"
	python3 - "$j" "$variant" "$run" >>"$RAW/floor.csv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3], r["maxrss_kb"], r.get("largest_anon_kb", ""),
      r.get("largest_file_kb", ""), r["rc"], round(r["wall_s"] * 1000, 2), round(r["cpu_s"] * 1000, 2)]))
PY
}
for r in $(seq 1 "$ROUNDS"); do
	floor_one libcurl-load "$r" "$CURL_FLOOR" load
	floor_one libcurl-get "$r" "$CURL_FLOOR" get "$S" "$CA"
	case " $CLIENTS " in *" p11acme "*) floor_one p11acme-version "$r" "$P11ACME_BIN" --version ;; esac
	case " $CLIENTS " in *" lego "*) floor_one lego-version "$r" lego --version ;; esac
	# one ECDSA signature with the bench token's key through OpenSC's pkcs11-tool: what
	# any process that signs with SoftHSM costs (p11acme's signer is such a process);
	# 1234 is the fixture token's PIN (tests/lib/harness.sh), fine on argv here
	floor_one softhsm-sign "$r" pkcs11-tool --module "$TH_MODULE" --token-label "$TH_TOKEN_LABEL" \
		--login --pin 1234 --sign -m ECDSA --id 01 -i "$T/floor-hash" -o "$T/floor-sig"
done
cp "$RAW/floor.csv" "$OUT/floor.csv"

fi

# ---------------------------------------------------------------- RFC 8555 minimum
# A minimal client (rfcmin.py) issues a name with http-01, then issues it again as a new
# process with a warm cache would, and counts the requests of the second issuance.
part rounds && {
th_log "RFC 8555 minimum for a reuse issuance (tests/bench/rfcmin.py)"
python3 "$BENCH_DIR/rfcmin.py" "$S" "$CA" "rfcmin.$DOMAIN" "$P" "$OUT/rfcmin.json" ||
	th_log "rfcmin probe failed"
}

# ---------------------------------------------------------------- fleet
. "$BENCH_DIR/fleet.sh"
FLEET_CSV="$OUT/fleet.csv"
part fleet && echo "client,concurrency,renewals,ok,failed,elapsed_s,renewals_per_s,requests,requests_per_renewal,median_wall_s,p95_wall_s" >"$FLEET_CSV"
if part fleet && [ "$FLEET" -gt 0 ]; then
	case " $CLIENTS " in
	*" p11acme "*) fleet_run p11acme ;;
	*) th_log "fleet: skipped, p11acme not available" ;;
	esac
	[ "${BENCH_FLEET_OTHERS:-100}" -gt 0 ] && case " $CLIENTS " in *" lego "*) fleet_run lego ;; esac
fi

# ---------------------------------------------------------------- signer throughput
. "$BENCH_DIR/signer.sh"
part signer && signer_bench "$OUT/signer.json"

# ---------------------------------------------------------------- the signer service
# renewals/s through `signer serve` against the local signer at each level, and the
# service's JWS/s against direct signing (its own Pebble and token; see the script)
part service && { BENCH_OUT=$OUT BENCH_FLEET_CONC=$FLEET_CONC "$BENCH_DIR/signer-service.sh" ||
	th_log "signer service bench failed"; }

# ---------------------------------------------------------------- environment, summary
python3 - "$OUT/env.json" "$START_EPOCH" "${P11ACME_SKIPPED:-0}" "$CLIENTS" "$ROUNDS" <<PY
import json, os, platform, subprocess, sys, time
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:
        return "?"
def deb(p):
    return sh(f"dpkg-query -W -f='\${{Version}}' {p} 2>/dev/null") or "not installed"
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
env = {
  "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
  "duration_s": int(time.time()) - int(sys.argv[2]),
  "machine": {"cpu": cpu, "cores": os.cpu_count(), "mem_mib": int(sh("awk '/MemTotal/{print int(\$2/1024)}' /proc/meminfo") or 0),
              "kernel": platform.release(), "os": sh(". /etc/os-release; echo \$PRETTY_NAME")},
  "versions": {"p11acme": sh("'$P11ACME_BIN' --version 2>&1 | head -n1") or "not built",
               "p11acme_git": sh("git -C '$TH_ROOT' rev-parse --short HEAD"),
               "lego": deb("lego"), "certbot": deb("certbot"), "uacme": deb("uacme"),
               "dehydrated": deb("dehydrated"),
               "pebble": deb("pebble"), "softhsm2": deb("softhsm2"), "libp11": deb("libp11-3"),
               "python3": platform.python_version(), "nginx-light": deb("nginx-light")},
  "pebble_env": {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "100"},
  "rounds": int(sys.argv[5]), "reuse_reps": $REUSE_REPS, "clients": sys.argv[4].split(), "p11acme_skipped": sys.argv[3] == "1",
}
json.dump(env, open(sys.argv[1], "w"), indent=1)
PY
python3 "$BENCH_DIR/summarize.py" "$OUT"
if [ "${BENCH_DOCS:-1}" = 1 ]; then
	python3 "$BENCH_DIR/summarize.py" --docs "$OUT" "$TH_ROOT/docs/BENCHMARKS.md"
	gnuplot -e "resdir='$OUT'; outfile='$TH_ROOT/docs/bench.png'" "$BENCH_DIR/chart.gp" &&
		th_log "chart: docs/bench.png"
fi
th_log "results in $OUT ($(( $(date +%s) - START_EPOCH )) s)"
