#!/usr/bin/python3
"""A raw client of the signer service, for the robustness tests: it speaks (or
mangles) the wire format (signer/internal.h) by hand.

  signer_raw.py SOCKET MODE [ARG]

MODE:
  jwk            ready frame, then a JWK request; prints the JWK (exit 0 when OK)
  garbage        64 random bytes where a frame belongs; expects an error frame or EOF
  oversized      a length prefix of 2 GiB; expects the error frame, then EOF
  badversion     a frame with protocol version 9, then a JWK request on the same
                 connection: the first gets an error frame, the second its JWK
  badfields      a frame whose field length overruns it, then a JWK request
  truncated      half a frame, then close (the service sees EOF inside a frame)
  partial SECS   one byte of a frame, then wait SECS for the service to close us
  idle SECS      nothing after the ready frame; wait SECS for the service to close us
  noread         a JWK request, then close without reading the answer
  hold SECS      connect (take the ready frame) and hold the connection SECS seconds
  busy           expect the "busy" error frame instead of the ready frame
  signmany N ORIGIN TAG
                 N POST-as-GET signatures, one after another, for ORIGIN/my-order/TAG-i;
                 each JWS must carry its own request's URL (run several at once: the
                 service pipelines its key child, and an answer must reach its client)
"""
import base64
import json
import os
import socket
import struct
import sys
import time


VERSION = 2   # WIRE_VERSION


def frame(op, fields, version=VERSION):
    body = bytes([version, op]) + b"".join(struct.pack(">I", len(f)) + f for f in fields)
    return struct.pack(">I", len(body)) + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(s):
    """(op, [fields]) or None at EOF."""
    head = recv_exact(s, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    body = recv_exact(s, n)
    if body is None or len(body) < 2:
        return None
    fields, off = [], 2
    while off < len(body):
        (fl,) = struct.unpack(">I", body[off:off + 4])
        fields.append(body[off + 4:off + 4 + fl])
        off += 4 + fl
    return body[1], fields


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(30)
    return s


def ready(s):
    r = read_frame(s)
    if r is None or r[0] != 0x80:
        sys.exit("no ready frame: %r" % (r,))


def jwk(s):
    s.sendall(frame(2, [b"\x00"]))
    r = read_frame(s)
    if r is None or r[0] != 0x80:
        sys.exit("JWK request failed: %r" % (r,))
    return r[1][0].decode()


def expect_error(s, what):
    r = read_frame(s)
    if r is None or r[0] != 0x81:
        sys.exit("%s: expected an error frame, got %r" % (what, r))
    return r[1][1].decode() if len(r[1]) > 1 else ""


def expect_closed(s, within, what):
    s.settimeout(within)
    t0 = time.time()
    try:
        while True:
            r = read_frame(s)
            if r is None:
                return time.time() - t0
    except ConnectionResetError:   # closed with our unread bytes in its buffer
        return time.time() - t0
    except socket.timeout:
        sys.exit("%s: still open after %s s" % (what, within))


def signmany(s, n, origin, tag):
    for i in range(n):
        url = "%s/my-order/%s-%d" % (origin, tag, i)
        s.sendall(frame(4, [url.encode(), b"bm9uY2U", b"", (origin + "/my-account/1").encode()]))
        r = read_frame(s)
        if r is None or r[0] != 0x80:
            sys.exit("%s: sign %d failed: %r" % (tag, i, r))
        prot = json.loads(r[1][0])["protected"]
        hdr = json.loads(base64.urlsafe_b64decode(prot + "=" * (-len(prot) % 4)))
        if hdr.get("url") != url:
            sys.exit("%s: sign %d got the JWS for %s" % (tag, i, hdr.get("url")))
    print("%s: %d signed, each for its own URL" % (tag, n))


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "signmany":
        s = connect(path)
        ready(s)
        signmany(s, int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return
    arg = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    s = connect(path)
    if mode == "busy":
        msg = expect_error(s, "busy")
        print(msg)
        return
    ready(s)
    if mode == "jwk":
        print(jwk(s))
    elif mode == "garbage":
        s.sendall(os.urandom(64))
        try:
            r = read_frame(s)
        except (ConnectionResetError, socket.timeout):
            r = None
        print("garbage: %r" % (r[1] if r else "closed"))
    elif mode == "oversized":
        s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"x" * 100)
        print(expect_error(s, "oversized"))
        expect_closed(s, 5, "oversized")
    elif mode == "badversion":
        s.sendall(frame(2, [b"\x00"], version=9))
        print(expect_error(s, "badversion"))
        print(jwk(s))
    elif mode == "badfields":
        body = bytes([VERSION, 2]) + struct.pack(">I", 1000) + b"\x00"
        s.sendall(struct.pack(">I", len(body)) + body)
        print(expect_error(s, "badfields"))
        print(jwk(s))
    elif mode == "truncated":
        f = frame(4, [b"https://ca.test/x", b"bm9uY2U", b"{}"])
        s.sendall(f[: len(f) // 2])
        s.close()
    elif mode == "partial":
        s.sendall(b"\x00")
        print("closed after %.1f s" % expect_closed(s, arg, "partial"))
    elif mode == "idle":
        print("closed after %.1f s" % expect_closed(s, arg, "idle"))
    elif mode == "noread":
        s.sendall(frame(2, [b"\x00"]))
        s.close()
    elif mode == "hold":
        time.sleep(arg)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
