#!/usr/bin/env python3
"""measure.py: run one command and record what it cost.

    measure.py [--tree] [--log FILE] OUT.json -- CMD [ARG...]

The command runs under the small C helper rusage (tests/bench/rusage.c, compiled by
run.sh; $BENCH_RUSAGE), which forks it, times it with a monotonic clock from just
before fork() to wait4()'s return, and reports the rusage wait4() returns: user and
system time of the command and every descendant it waited for, and ru_maxrss, the
largest single process of that tree (what /usr/bin/time -v reports). A C helper,
because Linux keeps the pre-exec image's peak in ru_maxrss: forked from Python, every
command would report at least the interpreter's ~10 MiB.

--tree also samples /proc every millisecond while the command runs:
  tree_rss_kb       largest sum of VmRSS over the processes alive at one sample (for
                    p11acme: client + signer child; pages shared between them count twice)
  tree_pss_peak_kb  largest sum of Pss at one sample (shared pages split: the footprint)
  tree_hwm_sum_kb   sum of every process's own peak (VmHWM), including processes that
                    ran one after the other (an upper bound)
  largest_anon_kb, largest_file_kb
                    the process with the largest sampled VmRSS, split at that sample into
                    RssAnon (its private memory: heap, stacks, written library data) and
                    RssFile (pages of its executable and shared libraries, which every
                    process using the same files shares)
Sampling costs CPU on the other core and can miss a peak shorter than 1 ms, so it is
used on separate runs only.
"""
import json, os, subprocess, sys, threading, time


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def status(pid):
    """VmHWM, VmRSS, RssAnon and RssFile of one process (kB), or None when it is gone."""
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    d[k] = int(v.split()[0])
    except OSError:
        return None
    return d if "VmHWM" in d else None


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    args = sys.argv[1:]
    tree = False
    log = None
    while args and args[0].startswith("--") and args[0] != "--":
        if args[0] == "--tree":
            tree = True
            args = args[1:]
        elif args[0] == "--log":
            log = args[1]
            args = args[2:]
        else:
            sys.exit("measure.py: unknown option " + args[0])
    out = args[0]
    if args[1] != "--":
        sys.exit("usage: measure.py [--tree] [--log FILE] OUT.json -- CMD...")
    cmd = args[2:]
    helper = os.environ.get("BENCH_RUSAGE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "rusage")
    peaks = {}
    rss_peak = [0]
    pss_peak = [0]
    largest = [{}]
    done = threading.Event()
    proc = subprocess.Popen([helper, log or os.devnull] + cmd, stdout=subprocess.PIPE)
    if tree:
        def sample():
            while not done.is_set():
                todo = children(proc.pid)   # the command and its descendants, not the helper
                rss = pss = 0
                while todo:
                    p = todo.pop()
                    st = status(p)
                    if st is not None:
                        peaks[p] = max(peaks.get(p, 0), st["VmHWM"])
                        rss += st.get("VmRSS", 0)
                        pss += pss_kb(p)
                        if st.get("VmRSS", 0) > largest[0].get("VmRSS", 0):
                            largest[0] = st
                    todo += children(p)
                rss_peak[0] = max(rss_peak[0], rss)
                pss_peak[0] = max(pss_peak[0], pss)
                time.sleep(0.001)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
    outb, _ = proc.communicate()
    done.set()
    if proc.returncode != 0:
        sys.exit(f"measure.py: {helper} failed")
    rec = json.loads(outb)
    rec.pop("pid", None)
    rec["cpu_s"] = round(rec["user_s"] + rec["sys_s"], 6)
    if tree:
        rec["tree_rss_kb"] = rss_peak[0]
        rec["tree_pss_peak_kb"] = pss_peak[0]
        rec["tree_hwm_sum_kb"] = sum(peaks.values())
        rec["tree_procs"] = len(peaks)
        rec["tree_peaks_kb"] = sorted(peaks.values(), reverse=True)
        rec["largest_anon_kb"] = largest[0].get("RssAnon", 0)
        rec["largest_file_kb"] = largest[0].get("RssFile", 0)
    with open(out, "w") as f:
        json.dump(rec, f)
        f.write("\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
