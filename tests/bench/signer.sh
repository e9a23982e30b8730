# Signer throughput and cold start, sourced by run.sh.
#
# The signer's own benchmark program belongs to the signer engineer (signer/ and its
# tests); this file only runs it and stores its output. It looks, in order, for
#   $TH_BUILD/tests/sig_bench, $TH_BUILD/tests/signer_bench, $TH_BUILD/tests/signer-bench,
#   $TH_BUILD/sig_bench, tests/bench/sig_bench (a script)
# and runs it with the bench token as:  PROGRAM -m MODULE -p file:PIN KEY
# expecting JSON on stdout (stored as it is, under "program"). Whatever it prints that is
# not JSON is stored as text.
#
# Until that program exists, a fallback measures what the signer exposes through
# sig_tool (tests/unit/sig_tool.c): JWS/s through the signer process with
# `sig_tool KEY sign-many N URL` (the difference between two N, so that start-up cancels
# out) and the cold start (`sig_tool KEY alg`: fork the signer, load the module, log in,
# find the key, answer once, exit). Direct libp11 signing in one process has no program
# in the tree yet, so the ratio stays empty in that case.

signer_bench() {
	local out=$1 prog="" p
	for p in "$TH_BUILD/tests/sig_bench" "$TH_BUILD/tests/signer_bench" \
		"$TH_BUILD/tests/signer-bench" "$TH_BUILD/sig_bench" "$BENCH_DIR/sig_bench"; do
		[ -x "$p" ] && { prog=$p; break; }
	done
	if [ -n "$prog" ]; then
		th_log "signer: running $prog"
		if "$prog" -m "$TH_MODULE" -p "file:$TH_PIN_FILE" "$TH_KEY" >"$T/sigbench.out" 2>"$T/sigbench.err"; then
			python3 - "$prog" "$T/sigbench.out" "$out" <<'PY'
import json, sys
prog, src, out = sys.argv[1:]
text = open(src).read()
try:
    data = {"source": prog, "program": json.loads(text)}
except ValueError:
    data = {"source": prog, "text": text}
json.dump(data, open(out, "w"), indent=1)
PY
			return 0
		fi
		th_log "signer: $prog failed:"
		tail -n 5 "$T/sigbench.err" >&2
	fi
	local tool="$TH_BUILD/tests/sig_tool"
	if [ ! -x "$tool" ] || ! "$tool" -m "$TH_MODULE" -p "file:$TH_PIN_FILE" "$TH_KEY" alg >/dev/null 2>&1; then
		th_log "signer: no benchmark program and no working sig_tool; skipped"
		echo '{"source": "none", "note": "no signer benchmark program in the tree"}' >"$out"
		return 0
	fi
	th_log "signer: no benchmark program yet; fallback through sig_tool"
	python3 - "$tool" "$TH_MODULE" "file:$TH_PIN_FILE" "$TH_KEY" "$out" <<'PY'
import json, statistics, subprocess, sys, time
tool, module, pin, key, out = sys.argv[1:]
base = [tool, "-m", module, "-p", pin, key]
def run(args):
    t0 = time.monotonic()
    subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0
cold = sorted(run(["alg"]) for _ in range(15))
small, big = 200, 4200
rates = []
for _ in range(5):
    a = run(["sign-many", str(small), "https://127.0.0.1/acme/x"])
    b = run(["sign-many", str(big), "https://127.0.0.1/acme/x"])
    rates.append((big - small) / (b - a))
json.dump({"source": "sig_tool fallback (tests/bench/signer.sh)",
           "signer_es256_jws_per_s": round(statistics.median(rates), 1),
           "signer_es256_jws_per_s_all": [round(r, 1) for r in rates],
           "cold_start_ms_median": round(statistics.median(cold) * 1000, 2),
           "cold_start_ms_min": round(cold[0] * 1000, 2),
           "direct_libp11_es256_sig_per_s": None,
           "note": "cold start = sig_tool alg: fork the signer, load SoftHSM, log in, find the key, answer, exit; "
                   "no direct-libp11 program in the tree, so no ratio"}, open(out, "w"), indent=1)
PY
}
