#!/usr/bin/env python3
"""Keep loading CONFIG_DIR/live/NAME/{fullchain,privkey}.pem until STOP_FILE exists
(or LIMIT seconds pass), and check every time that the leaf certificate matches the
key. Two ways of reading, alternately:

  dir   open live/NAME once (resolving the symlink), then both files relative to
        that directory fd: one consistent set by construction of the layout;
  path  two independent open()s of live/NAME/fullchain.pem and live/NAME/privkey.pem,
        as a program that reads each path separately does.

Prints one JSON line: iterations, mismatches and distinct certificates per mode, and
read errors. Exit 0 always; the test decides.

usage: live_reader.py CONFIG_DIR NAME STOP_FILE LIMIT
"""
import json
import os
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)


def check(chain, key):
    cert = x509.load_pem_x509_certificate(chain)
    k = serialization.load_pem_private_key(key, None)
    return pub(cert) == pub(k), cert.serial_number


def read_dir(live):
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        out = []
        for f in ("fullchain.pem", "privkey.pem"):
            g = os.open(f, os.O_RDONLY, dir_fd=fd)
            with os.fdopen(g, "rb") as fh:
                out.append(fh.read())
        return out
    finally:
        os.close(fd)


def read_path(live):
    out = []
    for f in ("fullchain.pem", "privkey.pem"):
        with open(os.path.join(live, f), "rb") as fh:
            out.append(fh.read())
    return out


def main():
    conf, name, stop, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    live = os.path.join(conf, "live", name)
    stats = {m: {"iterations": 0, "mismatches": 0, "errors": 0, "serials": set()}
             for m in ("dir", "path")}
    end = time.monotonic() + limit
    i = 0
    while not os.path.exists(stop) and time.monotonic() < end:
        mode = "dir" if i % 2 == 0 else "path"
        i += 1
        s = stats[mode]
        try:
            chain, key = (read_dir if mode == "dir" else read_path)(live)
            ok, serial = check(chain, key)
        except Exception:  # a half-written file would land here
            s["errors"] += 1
            continue
        s["iterations"] += 1
        s["serials"].add(serial)
        if not ok:
            s["mismatches"] += 1
    for s in stats.values():
        s["certificates"] = len(s.pop("serials"))
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
