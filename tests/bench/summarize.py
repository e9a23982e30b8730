#!/usr/bin/env python3
"""summarize.py: turn bench/results/*.csv|json into summary.json, summary.csv,
chart.dat and the results section of docs/BENCHMARKS.md.

    summarize.py RESULTS_DIR                 writes summary.json, summary.csv, chart.dat
    summarize.py --docs RESULTS_DIR DOC.md   replaces the text between
                                             <!-- bench:begin --> and <!-- bench:end -->
"""
import csv, json, os, statistics, sys

ORDER = ["p11acme", "p11acme-service", "lego", "certbot", "uacme", "uacme-onecert", "dehydrated"]
OTHERS = ["lego", "certbot", "uacme", "uacme-onecert", "dehydrated"]


def q(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def summarize(res):
    rows = list(csv.DictReader(open(os.path.join(res, "runs.csv"))))
    clients = sorted({r["client"] for r in rows}, key=lambda c: ORDER.index(c) if c in ORDER else 99)
    out = {"clients": clients, "cases": {}}
    for case in ("first", "reuse"):
        out["cases"][case] = {}
        for c in clients:
            rs = [r for r in rows if r["client"] == c and r["case"] == case and r["round"] != "mem"]
            ok = [r for r in rs if r["rc"] == "0"]
            mem = [r for r in rows if r["client"] == c and r["case"] == case and r["round"] == "mem"]
            f = lambda k: [float(r[k]) for r in ok]
            wall, cpu, user, sysc, rss, reqs = f("wall_s"), f("cpu_s"), f("user_s"), f("sys_s"), f("maxrss_kb"), f("requests")
            d = {"runs": len(rs), "ok": len(ok), "failed": len(rs) - len(ok)}
            if ok:
                d.update({
                    "wall_s": {"median": statistics.median(wall), "min": min(wall), "max": max(wall),
                               "p25": q(wall, .25), "p75": q(wall, .75)},
                    "cpu_s": {"median": statistics.median(cpu), "min": min(cpu), "max": max(cpu)},
                    "user_s_median": statistics.median(user), "sys_s_median": statistics.median(sysc),
                    "maxrss_kb": {"median": statistics.median(rss), "min": min(rss), "max": max(rss)},
                    "requests": {"median": statistics.median(reqs), "min": min(reqs), "max": max(reqs)},
                    "challenge_posts_median": statistics.median(f("challenge_posts")),
                    "breakdown": ok[len(ok) // 2]["breakdown"],
                })
            if mem and mem[0]["rc"] == "0" and mem[0]["tree_rss_kb"]:
                d["tree_rss_kb"] = int(mem[0]["tree_rss_kb"])
                d["tree_pss_peak_kb"] = int(mem[0]["tree_pss_peak_kb"] or 0)
                d["tree_maxrss_kb"] = int(mem[0]["maxrss_kb"])
                if mem[0].get("largest_anon_kb"):
                    d["largest_anon_kb"] = int(mem[0]["largest_anon_kb"])
                    d["largest_file_kb"] = int(mem[0]["largest_file_kb"])
            out["cases"][case][c] = d
    # ratios p11acme / other
    if "p11acme" in clients:
        out["ratios"] = {}
        for case in ("first", "reuse"):
            me = out["cases"][case]["p11acme"]
            rr = {}
            for o in clients:
                if o.startswith("p11acme"):   # p11acme-service is p11acme, not a peer
                    continue
                them = out["cases"][case][o]
                if "wall_s" not in me or "wall_s" not in them:
                    continue
                rr[o] = {
                    "wall": me["wall_s"]["median"] / them["wall_s"]["median"],
                    "cpu": me["cpu_s"]["median"] / them["cpu_s"]["median"] if them["cpu_s"]["median"] else None,
                    "maxrss": me["maxrss_kb"]["median"] / them["maxrss_kb"]["median"],
                    "requests": me["requests"]["median"] / them["requests"]["median"],
                }
                if "tree_rss_kb" in me and "tree_rss_kb" in them:
                    rr[o]["tree_rss"] = me["tree_rss_kb"] / them["tree_rss_kb"]
                    rr[o]["tree_pss"] = me["tree_pss_peak_kb"] / them["tree_pss_peak_kb"]
            out["ratios"][case] = rr
    out["floor"] = floor(res)
    out["traces"] = traces_summary(res, rows)
    out["rfc_minimum"] = load_json(os.path.join(res, "rfcmin.json"))
    out["signer"] = load_json(os.path.join(res, "signer.json"))
    out["env"] = load_json(os.path.join(res, "env.json"), {})
    fl = os.path.join(res, "fleet.csv")
    out["fleet"] = list(csv.DictReader(open(fl))) if os.path.exists(fl) else []
    out["targets"] = targets(out)
    out["time_floor"] = time_floor(out)
    return out


def floor(res):
    """Medians of floor.csv: peak RSS of curl_floor and of `--version` runs."""
    path = os.path.join(res, "floor.csv")
    if not os.path.exists(path):
        return {}
    rows = list(csv.DictReader(open(path)))
    out = {}
    for v in dict.fromkeys(r["variant"] for r in rows):
        ok = [r for r in rows if r["variant"] == v and r["rc"] == "0"]
        d = {"runs": sum(r["variant"] == v for r in rows), "ok": len(ok)}
        if ok:
            d["maxrss_kb"] = statistics.median(float(r["maxrss_kb"]) for r in ok)
            for k in ("wall_ms", "cpu_ms"):   # absent in floor.csv files before 2026-12-02
                if all(r.get(k) not in (None, "") for r in ok):
                    d[k] = statistics.median(float(r[k]) for r in ok)
            anon = [float(r["largest_anon_kb"]) for r in ok if r["largest_anon_kb"] not in ("", "0")]
            fil = [float(r["largest_file_kb"]) for r in ok if r["largest_file_kb"] not in ("", "0")]
            # a process that lives a few ms can end between two 1 ms samples: keep the
            # split only where the sample caught (nearly) the peak
            if anon and fil and statistics.median(anon) + statistics.median(fil) >= 0.9 * d["maxrss_kb"]:
                d["anon_kb"], d["file_kb"] = statistics.median(anon), statistics.median(fil)
        out[v] = d
    return out


def load_traces(res):
    """traces.txt: {run id: {"t0": ns, "t1": ns, "rc": int, "events": [(ns, pid, event, detail)]}}."""
    path = os.path.join(res, "traces.txt")
    runs, cur = {}, None
    if not os.path.exists(path):
        return runs
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("=== "):
            parts = line[4:].split()
            kv = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
            cur = runs[parts[0]] = {"t0": int(kv.get("t0_ns", 0)), "t1": int(kv.get("t1_ns", 0)),
                                    "rc": int(kv.get("rc", 1)), "events": []}
            continue
        f = line.split(" ", 3)
        if cur is None or len(f) < 3 or not f[0].isdigit():
            continue
        cur["events"].append((int(f[0]), int(f[1]), f[2], f[3] if len(f) > 3 else ""))
    for r in runs.values():
        r["events"].sort()
    return runs


# What each interval of the client's timeline is, named by the event that starts it, and
# whose time it is (see docs/BENCHMARKS.md, "Where a reuse issuance spends its time").
PHASE_OF = {
    "main": ("options, signer fork", "ours"),
    "signer-fork": ("until the next step", "ours"),
    "signer-ready": ("client set-up: curl, thumbprint, directory and account caches", "ours"),
    "http-done": ("parse the response, build the next request", "ours"),
    "sign": ("signature: round trip to the signer, token signs", "ours (token)"),
    "signed": ("hand the JWS to curl", "ours"),
    "csr": ("certificate key and CSR", "ours"),
    "pause": ("poll pause (the CA is issuing)", "ours (schedule)"),
    "commit": ("write the certificate set: files, fsync, rename", "ours (disk)"),
    "committed": ("renewal config: write, fsync", "ours (disk)"),
    "recorded": ("signer stop and reap, clean-up", "ours"),
}


def url_path(url):
    seg = url.split("://", 1)[-1].split("/", 2)
    return "/" + seg[1] if len(seg) > 1 else "/"


def client_phases(run):
    """The client's timeline of one traced run: [(start_ms, dur_ms, what, whose)], from
    fork (rusage's t0) to wait4 (t1); the signer child's own steps are marked too."""
    ev, t0 = run["events"], run["t0"]
    if not ev:
        return []
    main_pid = next((pid for _, pid, e, _ in ev if e == "main"), None)
    cl = [x for x in ev if x[1] == main_pid]
    kid = [x for x in ev if x[1] != main_pid]
    ms = lambda ns: (ns - t0) / 1e6
    out = [(0.0, ms(cl[0][0]), "fork, exec, dynamic linking and relocation, to main()", "ours (binary)")]
    for i, (ns, _, e, d) in enumerate(cl):
        end = cl[i + 1][0] if i + 1 < len(cl) else run["t1"]
        nxt = cl[i + 1][2] if i + 1 < len(cl) else "wait4"
        if e == "http":
            method, url = (d.split(" ", 1) + [""])[:2]
            done = cl[i + 1][3] if i + 1 < len(cl) and cl[i + 1][2] == "http-done" else ""
            kv = dict(x.split("=", 1) for x in done.split() if "=" in x)
            tls = max(int(kv.get("tls_us", 0)), int(kv.get("connect_us", 0))) / 1000
            name = f"{method} {url_path(url)}"
            if tls > 0:
                out.append((ms(ns), tls, f"{name}: TCP connect and TLS handshake", "both (handshake)"))
            out.append((ms(ns) + tls, ms(end) - ms(ns) - tls, f"{name}: request to response", "CA"))
            continue
        if e == "exit":
            out.append((ms(ns), ms(end) - ms(ns), "process exit (kernel), until wait4 returns", "ours"))
            continue
        what, whose = PHASE_OF.get(e, (e, "ours"))
        if nxt == "signer-ready" and e in ("signer-fork", "http-done"):
            what, whose = "wait for the signer to be ready", "ours (token)"
        elif e == "signer-fork" and nxt == "http":
            what = "client set-up: curl and OpenSSL init, directory cache"
        elif e == "signer-ready":
            what = "thumbprint from the signer, account URL cache"
        out.append((ms(ns), ms(end) - ms(ns), what, whose))
    ks = {e: ns for ns, _, e, _ in kid}
    if "token-open" in ks and "token-ready" in ks:
        out.append((ms(ks["token-open"]), (ks["token-ready"] - ks["token-open"]) / 1e6,
                    "signer process: load the module, C_Initialize, log in, find the key (in parallel)",
                    "token (SoftHSM)"))
    out.sort(key=lambda x: x[0])
    return out


def exit_rss(run):
    """(client peak RSS kB, signer peak RSS kB, client CPU us, signer CPU us) from the
    trace's exit line, or None."""
    for _, _, e, d in reversed(run["events"]):
        if e == "exit":
            kv = dict(x.split("=", 1) for x in d.split() if "=" in x)
            return (int(kv.get("maxrss_self_kb", 0)), int(kv.get("maxrss_children_kb", 0)),
                    int(kv.get("cpu_self_us", 0)), int(kv.get("cpu_children_us", 0)))
    return None


def traces_summary(res, rows):
    """Phases of the median reuse issuance of p11acme, and each process's peak RSS."""
    tr = load_traces(res)
    out = {}
    for case in ("reuse", "first"):
        ok = [r for r in rows if r["client"] == "p11acme" and r["case"] == case and r["round"] != "mem"
              and r["rc"] == "0" and f'p11acme-{case}-{r["round"]}' in tr]
        if not ok:
            continue
        rss = [exit_rss(tr[f'p11acme-{case}-{r["round"]}']) for r in ok]
        rss = [x for x in rss if x]
        d = {}
        if rss:
            d["client_maxrss_kb"] = statistics.median(x[0] for x in rss)
            d["signer_maxrss_kb"] = statistics.median(x[1] for x in rss)
            d["client_cpu_ms"] = statistics.median(x[2] for x in rss) / 1000
            d["signer_cpu_ms"] = statistics.median(x[3] for x in rss) / 1000
        if case == "reuse":
            ok.sort(key=lambda r: float(r["wall_s"]))
            med = ok[(len(ok) - 1) // 2]
            run = tr[f'p11acme-reuse-{med["round"]}']
            d["median_run"] = {"round": med["round"], "wall_s": float(med["wall_s"]),
                               "phases": [{"start_ms": round(a, 3), "ms": round(b, 3), "what": w, "whose": o}
                                          for a, b, w, o in client_phases(run)]}
        out[case] = d
    return out


def phases_markdown(s):
    tr = s.get("traces") or {}
    med = (tr.get("reuse") or {}).get("median_run")
    if not med:
        return []
    L = [f'### Where a reuse issuance spends its time (p11acme, median run: {med["wall_s"] * 1000:.0f} ms)', "",
         "From `P11ACME_TRACE` (bench/results/traces.txt), on the clock of the fork: each step of the client "
         "process, and the signer process's token start beside it.", "",
         "| from | ms | step | whose |", "|---|---|---|---|"]
    for p in med["phases"]:
        L.append(f'| {p["start_ms"]:.1f} | {p["ms"]:.1f} | {p["what"]} | {p["whose"]} |')
    tot = {}
    for p in med["phases"]:
        if p["what"].startswith("signer process"):
            continue
        tot[p["whose"]] = tot.get(p["whose"], 0) + p["ms"]
    rd = tr.get("reuse") or {}
    if rd.get("client_cpu_ms") is not None:
        L.append("")
        L.append(f'CPU (user+sys, median over the reuse runs, from the trace\'s exit line): client process '
                 f'{rd["client_cpu_ms"]:.1f} ms, signer process {rd["signer_cpu_ms"]:.1f} ms.')
    L.append("")
    L.append("Sum by whose time it is: " + ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(tot.items(), key=lambda x: -x[1])) + ".")
    return L


def process_floor(s):
    """Each p11acme process's peak RSS against its floor measured in the same run."""
    tr, fl = s.get("traces") or {}, s.get("floor") or {}
    out = []
    pairs = (("client", "client_maxrss_kb", "libcurl-get"), ("signer", "signer_maxrss_kb", "softhsm-sign"))
    for case in ("reuse", "first"):
        d = tr.get(case) or {}
        for proc, key, fv in pairs:
            f = (fl.get(fv) or {}).get("maxrss_kb")
            if d.get(key) and f:
                out.append({"case": case, "process": proc, "maxrss_kb": d[key], "floor": fv,
                            "floor_kb": f, "above": d[key] / f - 1})
    return out


def process_floor_markdown(s):
    pf = process_floor(s)
    if not pf:
        return []
    L = ["", "Each p11acme process against its floor (peak RSS from the trace's exit line, `getrusage` of the client "
         "and of its reaped signer child; medians over the runs; floors from the table above, same run):", "",
         "| case | process | peak RSS | floor | floor's peak RSS | above the floor |", "|---|---|---|---|---|---|"]
    for p in pf:
        L.append(f'| {p["case"]} | {p["process"]} | {p["maxrss_kb"] / 1024:.2f} MiB | {FLOOR_TITLES.get(p["floor"], p["floor"])} | '
                 f'{p["floor_kb"] / 1024:.2f} MiB | {p["above"] * 100:+.1f}% ({(p["maxrss_kb"] - p["floor_kb"]) / 1024:+.2f} MiB) |')
    return L


FLOOR_TITLES = {
    "libcurl-load": "a program that links Debian's libcurl and calls `curl_version()`",
    "libcurl-get": "one verified HTTPS GET of Pebble's directory with Debian's libcurl",
    "p11acme-version": "`p11acme --version`",
    "lego-version": "`lego --version`",
    "softhsm-sign": "one ECDSA signature with SoftHSM (OpenSC's `pkcs11-tool --sign`, the bench token)",
}


def memory_markdown(s):
    """The split of the largest process's RSS, and the stack's floor, as markdown lines."""
    L = []
    lego = s["cases"]["reuse"].get("lego", {}).get("maxrss_kb", {}).get("median")
    L.append("### Memory: what the peak RSS is made of")
    L.append("")
    L.append("Largest process of each client at its largest sampled RSS (memory round), split into "
             "anonymous memory (its own: heap, stacks, relocated library data) and file-backed pages "
             "(its executable and shared libraries, shared with every process that maps them):")
    L.append("")
    L.append("| client | case | RSS (ru_maxrss) | anonymous | file-backed |")
    L.append("|---|---|---|---|---|")
    for c in s["clients"]:
        for case in ("first", "reuse"):
            d = s["cases"][case].get(c, {})
            if "largest_anon_kb" not in d:
                continue
            L.append(f'| {c} | {case} | {d["tree_maxrss_kb"] / 1024:.1f} MiB | {d["largest_anon_kb"] / 1024:.1f} MiB | '
                     f'{d["largest_file_kb"] / 1024:.1f} MiB |')
    fl = s.get("floor") or {}
    if fl:
        L.append("")
        L.append("The floor: what a process costs before any ACME logic (tests/bench/curl_floor.c and `--version`; "
                 "medians over the rounds, same run):")
        L.append("")
        L.append("| process | peak RSS | anonymous | file-backed | ÷ lego's reuse peak |")
        L.append("|---|---|---|---|---|")
        for v, d in fl.items():
            if "maxrss_kb" not in d:
                L.append(f'| {FLOOR_TITLES.get(v, v)} | failed ({d["ok"]}/{d["runs"]}) | | | |')
                continue
            an = f'{d["anon_kb"] / 1024:.1f} MiB' if "anon_kb" in d else "–"
            fi = f'{d["file_kb"] / 1024:.1f} MiB' if "file_kb" in d else "–"
            L.append(f'| {FLOOR_TITLES.get(v, v)} | {d["maxrss_kb"] / 1024:.1f} MiB | {an} | {fi} | '
                     f'{fmt_ratio(d["maxrss_kb"] / lego) if lego else "–"} |')
        get = fl.get("libcurl-get", {}).get("maxrss_kb")
        me = s["cases"]["reuse"].get("p11acme", {}).get("maxrss_kb", {}).get("median")
        if get and me and lego:
            L.append("")
            L.append(f'One HTTPS GET with libcurl alone peaks at {fmt_ratio(get / lego)} lego\'s reuse issuance; '
                     f'one third of lego is {lego / 3 / 1024:.1f} MiB. p11acme\'s client process is '
                     f'{fmt_ratio(me / get)} that floor ({(me - get) / 1024:+.1f} MiB).')
        hsm = fl.get("softhsm-sign", {}).get("maxrss_kb")
        if hsm and lego:
            L.append(f'Any process that signs once with SoftHSM peaks at {hsm / 1024:.1f} MiB '
                     f'({fmt_ratio(hsm / lego)} lego): the signer process cannot be below that either.')
    L += process_floor_markdown(s)
    return L


def fastest_peer(s, case, key="wall_s"):
    """(client, median) of the peer with the lowest median of key in case, or (None, None)."""
    best = (None, None)
    for c, d in s["cases"][case].items():
        if c.startswith("p11acme") or key not in d:
            continue
        v = d[key]["median"]
        if best[1] is None or v < best[1]:
            best = (c, v)
    return best


def targets(s):
    t = []
    r = s.get("ratios", {}).get("reuse", {})
    me = s["cases"]["reuse"].get("p11acme", {})

    def add(name, value, limit, ok, how):
        t.append({"target": name, "value": value, "limit": limit,
                  "met": None if ok is None else bool(ok), "how": how})

    # issue 16: against the fastest peer, whoever it is in this run; p11acme as one
    # process run, and (where measured) signing through a running signer service
    for me_c, how in (("p11acme", ""), ("p11acme-service", ", through the signer service")):
        if me_c != "p11acme" and me_c not in s["cases"]["reuse"]:
            continue
        for case, key, limit, what in (("reuse", "wall_s", 0.5, "reuse wall <= 0.5x the fastest peer"),
                                       ("first", "wall_s", 0.5, "first issuance wall <= 0.5x the fastest peer"),
                                       ("reuse", "cpu_s", 1.0, "reuse CPU (user+sys, all processes) <= the lowest peer")):
            mine = s["cases"][case].get(me_c, {}).get(key, {}).get("median")
            peer, v = fastest_peer(s, case, key)
            if mine is not None and v:
                add(f"{what} ({peer}){how}", mine / v, limit, mine / v <= limit, "median/median")
            else:
                add(what + how, None, limit, None, "no data")
    rm = s.get("rfc_minimum") or {}
    if me.get("requests") and rm.get("requests"):
        add("requests per reuse issuance = RFC minimum", me["requests"]["median"], rm["requests"],
            me["requests"]["median"] <= rm["requests"], "median Pebble log lines / rfcmin.py probe")
    else:
        add("requests per reuse issuance = RFC minimum", None, rm.get("requests"), None, "no data")
    pf = [p for p in process_floor(s) if p["case"] == "reuse"]
    if pf:
        big = max(pf, key=lambda p: p["maxrss_kb"])
        add(f'largest process ({big["process"]}) peak RSS <= floor + 5% (reuse)', 1 + big["above"], 1.05,
            big["above"] <= 0.05, f'peak RSS / {big["floor"]} floor, same run')
    else:
        add("largest process peak RSS <= floor + 5% (reuse)", None, 1.05, None, "no trace or floor")
    # issue 8's, kept
    for o, lim in (("lego", 0.5), ("certbot", 0.1)):
        if o in r:
            add(f"reuse wall <= {lim:g}x {o}", r[o]["wall"], lim, r[o]["wall"] <= lim, "median/median")
    sg = s.get("signer") or {}
    prog = sg.get("program") if isinstance(sg.get("program"), dict) else sg
    sr = find_num(prog, ["signer_es256_jws_per_s"])
    dr = find_num(prog, ["direct_libp11_es256_jws_per_s"])
    paired = find_num(prog, ["signer_vs_direct_paired"])
    if paired:
        add("signer >= 0.8x direct libp11 (ES256)", paired, 0.8, paired >= 0.8,
            "median of the per-round signer/direct ratios (rounds alternate)")
    elif sr and dr:
        add("signer >= 0.8x direct libp11 (ES256)", sr / dr, 0.8, sr / dr >= 0.8, "JWS/s ratio")
    else:
        add("signer >= 0.8x direct libp11 (ES256)", None, 0.8, None, "no direct-libp11 figure")
    return t


def find_num(d, keys):
    if not isinstance(d, dict):
        return None
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, dict):
            for kk in ("es256", "ES256", "per_s", "jws_per_s", "median"):
                if isinstance(v.get(kk), (int, float)):
                    return float(v[kk])
    return None


def write_files(res, s):
    json.dump(s, open(os.path.join(res, "summary.json"), "w"), indent=1)
    with open(os.path.join(res, "summary.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["client", "case", "ok", "failed", "wall_median_s", "wall_min_s", "wall_max_s",
                    "cpu_median_s", "user_median_s", "sys_median_s", "maxrss_median_kb",
                    "tree_rss_kb", "tree_pss_peak_kb", "requests_median", "challenge_posts"])
        for case, cs in s["cases"].items():
            for c, d in cs.items():
                if "wall_s" not in d:
                    w.writerow([c, case, d["ok"], d["failed"]] + [""] * 11)
                    continue
                w.writerow([c, case, d["ok"], d["failed"], f'{d["wall_s"]["median"]:.4f}', f'{d["wall_s"]["min"]:.4f}',
                            f'{d["wall_s"]["max"]:.4f}', f'{d["cpu_s"]["median"]:.4f}', f'{d["user_s_median"]:.4f}',
                            f'{d["sys_s_median"]:.4f}', int(d["maxrss_kb"]["median"]), d.get("tree_rss_kb", ""),
                            d.get("tree_pss_peak_kb", ""), d["requests"]["median"], d["challenge_posts_median"]])
    # gnuplot data: one line per client
    with open(os.path.join(res, "chart.dat"), "w") as f:
        f.write("# client first_med first_min first_max reuse_med reuse_min reuse_max "
                "first_rss_mib reuse_rss_mib reuse_tree_mib\n")
        for c in s["clients"]:
            a, b = s["cases"]["first"].get(c, {}), s["cases"]["reuse"].get(c, {})
            if "wall_s" not in a or "wall_s" not in b:
                continue
            mib = lambda kb: kb / 1024
            f.write(f'{c} {a["wall_s"]["median"]:.4f} {a["wall_s"]["min"]:.4f} {a["wall_s"]["max"]:.4f} '
                    f'{b["wall_s"]["median"]:.4f} {b["wall_s"]["min"]:.4f} {b["wall_s"]["max"]:.4f} '
                    f'{mib(a["maxrss_kb"]["median"]):.2f} {mib(b["maxrss_kb"]["median"]):.2f} '
                    f'{mib(b.get("tree_rss_kb", b["maxrss_kb"]["median"])):.2f}\n')


def fmt_ratio(x):
    if x is None:
        return "–"
    return f"{x:.3f}×" if x < 0.1 else f"{x:.2f}×"


def markdown(s):
    e = s.get("env") or {}
    m, v = e.get("machine", {}), e.get("versions", {})
    L = []
    L.append(f'Run of {e.get("date_utc", "?")} ({e.get("duration_s", "?")} s), {e.get("rounds", "?")} interleaved rounds '
             f'(each: one first issuance per client, then {e.get("reuse_reps", 1)}× one reuse issuance per client), '
             f'Pebble with `{" ".join(k + "=" + x for k, x in (e.get("pebble_env") or {}).items())}`.')
    L.append("")
    L.append(f'Machine: {m.get("cpu", "?")}, {m.get("cores", "?")} cores, {m.get("mem_mib", "?")} MiB, '
             f'{m.get("os", "?")}, Linux {m.get("kernel", "?")}.')
    L.append(f'Versions: p11acme {v.get("p11acme", "?")} (git {v.get("p11acme_git", "?")}), lego {v.get("lego", "?")}, '
             f'certbot {v.get("certbot", "?")}, uacme {v.get("uacme", "?")}, '
             + (f'dehydrated {v["dehydrated"]}, ' if v.get("dehydrated") else "") +
             f'pebble {v.get("pebble", "?")}, '
             f'SoftHSM {v.get("softhsm2", "?")}, libp11 {v.get("libp11", "?")}.')
    if e.get("p11acme_skipped"):
        L.append("")
        L.append("**p11acme was not measured in this run: its `issue --standalone` did not work yet.**")
    L.append("")
    for case, title in (("first", "First issuance (new account, http-01, standalone server on the VA port)"),
                        ("reuse", "Reuse issuance (second directory sharing the account; authorization reused, no challenge)")):
        L.append(f"### {title}")
        L.append("")
        L.append("| client | ok/runs | wall median | wall min–max | CPU user+sys | peak RSS (largest process) "
                 "| RSS total, all processes | requests | challenge POSTs |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for c in s["clients"]:
            d = s["cases"][case].get(c, {})
            if "wall_s" not in d:
                L.append(f'| {c} | {d.get("ok", 0)}/{d.get("runs", 0)} | failed | | | | | | |')
                continue
            tree = f'{d["tree_rss_kb"] / 1024:.1f} MiB' if d.get("tree_rss_kb") else "–"
            rq = d["requests"]
            rqs = f'{rq["median"]:g}' + ("" if rq["min"] == rq["max"] else f' ({rq["min"]:g}–{rq["max"]:g})')
            L.append(f'| {c} | {d["ok"]}/{d["runs"]} | {d["wall_s"]["median"] * 1000:.0f} ms | '
                     f'{d["wall_s"]["min"] * 1000:.0f}–{d["wall_s"]["max"] * 1000:.0f} ms | '
                     f'{d["cpu_s"]["median"] * 1000:.0f} ms ({d["user_s_median"] * 1000:.0f}+{d["sys_s_median"] * 1000:.0f}) | '
                     f'{d["maxrss_kb"]["median"] / 1024:.1f} MiB | {tree} | {rqs} | {d["challenge_posts_median"]:g} |')
        L.append("")
        if "ratios" in s and s["ratios"].get(case):
            L.append("p11acme ÷ other client (medians; below 1 means p11acme uses less):")
            L.append("")
            L.append("| vs | wall | CPU | peak RSS (largest process) | RSS total (all processes) | requests |")
            L.append("|---|---|---|---|---|---|")
            for o, rr in s["ratios"][case].items():
                L.append(f'| {o} | {fmt_ratio(rr["wall"])} | {fmt_ratio(rr["cpu"])} | {fmt_ratio(rr["maxrss"])} | '
                         f'{fmt_ratio(rr.get("tree_rss"))} | {fmt_ratio(rr["requests"])} |')
            L.append("")
    L.append("Requests per issuance (median run; Pebble log, one line per request):")
    L.append("")
    L.append("| client | case | requests |")
    L.append("|---|---|---|")
    for case in ("first", "reuse"):
        for c in s["clients"]:
            d = s["cases"][case].get(c, {})
            if d.get("breakdown"):
                L.append(f'| {c} | {case} | {d["breakdown"].replace("_", " ").replace(";", ", ")} |')
    rm = s.get("rfc_minimum")
    if rm:
        L.append("")
        L.append(f'RFC 8555 minimum for the reuse issuance on this Pebble (tests/bench/rfcmin.py): **{rm["requests"]}** '
                 f'requests: {", ".join(rm["sequence"])}; order status after newOrder: `{rm["after_new_order"]}`, '
                 f'after finalize: `{rm["after_finalize"]}`.')
    L.append("")
    L.append("### Fleet: renewals through one account")
    L.append("")
    if s["fleet"]:
        L.append("| client | concurrency | renewals | ok | failed | elapsed | renewals/s | requests/renewal | median wall | p95 wall |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for f in s["fleet"]:
            L.append(f'| {f["client"]} | {f["concurrency"]} | {f["renewals"]} | {f["ok"]} | {f["failed"]} | '
                     f'{float(f["elapsed_s"]):.1f} s | {float(f["renewals_per_s"]):.2f} | {f["requests_per_renewal"]} | '
                     f'{float(f["median_wall_s"]) * 1000:.0f} ms | {float(f["p95_wall_s"]) * 1000:.0f} ms |')
    else:
        L.append("Not measured in this run (p11acme not available).")
    L.append("")
    L.append("### Signer")
    L.append("")
    sg = s.get("signer") or {}
    if sg.get("signer_es256_jws_per_s"):
        L.append("| ES256 (SoftHSM) | value |")
        L.append("|---|---|")
        L.append(f'| through the signer process | {sg["signer_es256_jws_per_s"]:.0f} JWS/s |')
        L.append(f'| direct libp11, one process | {sg["direct_libp11_es256_jws_per_s"]:.0f} JWS/s |')
        L.append(f'| signer ÷ direct, ratio of the medians | {sg.get("signer_vs_direct", 0):.2f} |')
        if sg.get("signer_vs_direct_paired"):
            L.append(f'| signer ÷ direct, median of the per-round ratios (the target\'s figure) | '
                     f'{sg["signer_vs_direct_paired"]:.2f} |')
        if sg.get("round_trip_per_s"):
            L.append(f'| round trip without signing | {sg["round_trip_per_s"]:.0f}/s |')
        if sg.get("cold_start_ms_median"):
            L.append(f'| cold start (fork, load module, log in, find key, first JWS) | {sg["cold_start_ms_median"]:.1f} ms median '
                     f'(min {sg.get("cold_start_ms_min") or 0:.1f}, max {sg.get("cold_start_ms_max") or 0:.1f}) |')
        L.append("")
        L.append(f'Source: {sg.get("source")}.')
    else:
        L.append(f'Not measured: {sg.get("note", "no data")}.')
    L.append("")
    L += memory_markdown(s)
    L.append("")
    ph = phases_markdown(s)
    if ph:
        L += ph
        L.append("")
    L.append("### Targets (issue 16; issue 8's that still apply below them)")
    L.append("")
    L.append("| target | measured | limit | met |")
    L.append("|---|---|---|---|")
    for t in s["targets"]:
        val = "–" if t["value"] is None else f'{t["value"]:.3f}'
        lim = "–" if t["limit"] is None else f'{t["limit"]:.3g}'
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        L.append(f'| {t["target"]} | {val} | {lim} | {met} |')
    L += time_floor_markdown(s)
    return "\n".join(L)


def time_floor(s):
    """Issue 16's time targets against the stack's own floor, same run: None without data.

    The floor is what a program costs that links Debian's libcurl and makes one
    verified HTTPS GET of this Pebble's directory, and one that signs once with
    SoftHSM: a p11acme run does at least both (a reuse issuance makes five requests on
    one connection, and signs with the token unless a signer service holds it)."""
    fl = s.get("floor") or {}
    get, hsm = fl.get("libcurl-get", {}), fl.get("softhsm-sign", {})
    if "wall_ms" not in get:
        return None
    out = {"get_wall_ms": get["wall_ms"], "get_cpu_ms": get["cpu_ms"]}
    if "cpu_ms" in hsm:
        out["sign_cpu_ms"] = hsm["cpu_ms"]
    for case, key, limit in (("reuse", "wall_s", 0.5), ("first", "wall_s", 0.5), ("reuse", "cpu_s", 1.0)):
        peer, v = fastest_peer(s, case, key)
        if v:
            out[f"{case}_{key}"] = {"peer": peer, "peer_ms": v * 1000, "allowed_ms": v * 1000 * limit}
    return out


def time_floor_markdown(s):
    tf = time_floor(s)
    if not tf:
        return []
    L = ["", "The time floor under these targets (tests/bench/curl_floor.c and `pkcs11-tool --sign`, medians, "
         "same run): one process that links Debian's libcurl and makes one verified HTTPS GET of this Pebble "
         f'takes {tf["get_wall_ms"]:.1f} ms of wall time and {tf["get_cpu_ms"]:.1f} ms of CPU'
         + (f'; one signature with SoftHSM in a fresh process takes {tf["sign_cpu_ms"]:.1f} ms of CPU.'
            if "sign_cpu_ms" in tf else "."), ""]
    L.append("| target | the fastest peer | allowed | the floor | the floor ÷ allowed |")
    L.append("|---|---|---|---|---|")
    rows = (("reuse_wall_s", "reuse wall", tf["get_wall_ms"], "one libcurl GET (wall)"),
            ("first_wall_s", "first issuance wall", tf["get_wall_ms"], "one libcurl GET (wall)"),
            ("reuse_cpu_s", "reuse CPU", tf["get_cpu_ms"], "one libcurl GET (CPU)"))
    for key, what, fv, fname in rows:
        t = tf.get(key)
        if not t:
            continue
        L.append(f'| {what} | {t["peer"]} {t["peer_ms"]:.1f} ms | {t["allowed_ms"]:.1f} ms | '
                 f'{fname} {fv:.1f} ms | {fmt_ratio(fv / t["allowed_ms"])} |')
    return L


def main():
    if sys.argv[1] == "--docs":
        res, doc = sys.argv[2], sys.argv[3]
        s = load_json(os.path.join(res, "summary.json"))
        text = open(doc).read()
        a, b = "<!-- bench:begin -->", "<!-- bench:end -->"
        if a not in text or b not in text:
            sys.exit(f"summarize: {doc} has no {a} ... {b} markers")
        i, j = text.index(a) + len(a), text.index(b)
        open(doc, "w").write(text[:i] + "\n" + markdown(s) + "\n" + text[j:])
        return
    res = sys.argv[1]
    s = summarize(res)
    write_files(res, s)
    for line in phases_markdown(s) + process_floor_markdown(s):
        print(f"# {line}", file=sys.stderr)
    for t in s["targets"]:
        print(f'# target: {t["target"]}: {t["value"]} (limit {t["limit"]}) met={t["met"]}', file=sys.stderr)


if __name__ == "__main__":
    main()
