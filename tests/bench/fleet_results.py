#!/usr/bin/env python3
"""fleet_results.py: one level of a fleet run (N jobs, C at a time) into its CSV rows,
for tests/bench/fleet.sh (the ACME clients against Pebble) and
tests/bench/signer-service.sh (renewals through the local signer or the service).

    fleet_results.py LABEL C N T0 T1 RESULTS CSV PER [PEBBLE_LOG_PART]

RESULTS holds one line per job: "k rc t0 t1". Appends to CSV one summary row
(LABEL,C,N,ok,failed,elapsed,ok/s[,requests,requests per job],median,p95) and to PER
one row per job (LABEL,C,k,rc,wall); with PEBBLE_LOG_PART (Pebble's log lines of this
level) the CA requests are counted too. Prints a one-line summary on stderr.
"""
import statistics
import sys


def main():
    label, c, n, t0, t1, res, csv, per = sys.argv[1:9]
    pebble = sys.argv[9] if len(sys.argv) > 9 else None
    rows = [l.split() for l in open(res)]
    walls = sorted(float(r[3]) - float(r[2]) for r in rows)
    ok = sum(1 for r in rows if r[1] == "0")
    elapsed = float(t1) - float(t0)
    p95 = walls[min(len(walls) - 1, int(round(0.95 * (len(walls) - 1))))] if walls else 0
    med = statistics.median(walls) if walls else 0
    reqs_cols, reqs_note = "", ""
    if pebble is not None:
        reqs = sum(1 for l in open(pebble, errors="replace") if "-> calling handler()" in l)
        reqs_cols = f"{reqs},{reqs / int(n):.2f},"
        reqs_note = f", {reqs / int(n):.2f} requests each"
    with open(csv, "a") as f:
        f.write(f"{label},{c},{n},{ok},{int(n) - ok},{elapsed:.3f},{ok / elapsed:.2f},"
                f"{reqs_cols}{med:.4f},{p95:.4f}\n")
    with open(per, "a") as f:
        for r in sorted(rows, key=lambda r: int(r[0])):
            f.write(f"{label},{c},{r[0]},{r[1]},{float(r[3]) - float(r[2]):.4f}\n")
    if pebble is not None:
        print(f"# fleet {label} c={c}: {ok}/{n} ok in {elapsed:.1f} s = {ok / elapsed:.2f}/s"
              f"{reqs_note}, median {med * 1000:.0f} ms", file=sys.stderr)
    else:
        print(f"# {label} c={c}: {ok}/{n} ok in {elapsed:.1f} s = {ok / elapsed:.2f} renewals/s, "
              f"median {med * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
