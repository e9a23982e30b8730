#!/usr/bin/env python3
"""measure.py: run one command and record what it cost.

    measure.py [--tree] [--log FILE] OUT.json -- CMD [ARG...]

Wall time is taken with a monotonic clock from just before fork() to just after
wait4() returns, so the interpreter's own start-up is not counted. CPU and peak RSS
come from the rusage that wait4() returns for the child: user and system time cover
the child and every descendant it waited for; ru_maxrss is the largest single
process of that tree (what /usr/bin/time -v reports).

--tree also samples /proc every millisecond and records, for every process of the
tree, its VmHWM (peak RSS); tree_rss_kb is the sum of those per-process peaks, an
honest upper bound for clients that run more than one process (p11acme's signer
child, uacme's hook): pages shared between processes count once per process.
tree_pss_peak_kb is the largest sampled sum of Pss (shared pages split between
their users), the tree's real footprint at its peak, to within the 1 ms sampling.
Sampling costs CPU on another core, so use it on separate runs.
"""
import json, os, resource, sys, threading, time


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


def hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


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
    logfd = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    peaks = {}
    pss_peak = [0]
    done = threading.Event()
    t0 = time.monotonic()
    # A close-on-exec pipe tells us when the child has exec'd, so that the sampler
    # never sees the interpreter's own pages in the child before exec.
    rfd, wfd = os.pipe2(os.O_CLOEXEC) if tree else (None, None)
    pid = os.fork()
    if pid == 0:
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    if tree:
        os.close(wfd)
        os.read(rfd, 1)
        os.close(rfd)
        def sample():
            while not done.is_set():
                todo = [pid]
                pss = 0
                while todo:
                    p = todo.pop()
                    h = hwm_kb(p)
                    if h is not None:
                        peaks[p] = max(peaks.get(p, 0), h)
                        pss += pss_kb(p)
                    todo += children(p)
                pss_peak[0] = max(pss_peak[0], pss)
                time.sleep(0.001)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
    _, status, ru = os.wait4(pid, 0)
    t1 = time.monotonic()
    done.set()
    rc = os.waitstatus_to_exitcode(status)
    rec = {
        "wall_s": round(t1 - t0, 6),
        "user_s": round(ru.ru_utime, 6),
        "sys_s": round(ru.ru_stime, 6),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 6),
        "maxrss_kb": ru.ru_maxrss,
        "rc": rc,
    }
    if tree:
        rec["tree_rss_kb"] = sum(peaks.values())
        rec["tree_procs"] = len(peaks)
        rec["tree_peaks_kb"] = sorted(peaks.values(), reverse=True)
        rec["tree_pss_peak_kb"] = pss_peak[0]
    with open(out, "w") as f:
        json.dump(rec, f)
        f.write("\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
