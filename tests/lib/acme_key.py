#!/usr/bin/python3
"""A minimal ACME account tool with a software key, for the migrate tests:
tests/lib/acme_key.py. It plays "another client whose key is a file" where no
Debian client fits (lacme-accountd's and bare key files), and checks what a key can
still do at the CA after a migration.

  acme_key.py --server DIR_URL --ca CA.pem KEYFILE register     print the new account URL
  acme_key.py ... KEYFILE lookup       print the account URL, "none" or "deactivated"
  acme_key.py ... KEYFILE deactivate   deactivate the key's account
  acme_key.py ... KEYFILE order NAME   newOrder for NAME: exit 0 when the CA accepts it,
                                       1 with the CA's problem type on stdout otherwise
  acme_key.py KEYFILE jwk              print the key as a private JWK (as certbot keeps
                                       it); offline, --server and --ca not needed

KEYFILE is a PEM private key (EC P-256/P-384 or RSA). badNonce is retried.
"""

import argparse
import base64
import json
import ssl
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ibytes(i, n=None):
    n = n or (i.bit_length() + 7) // 8
    return i.to_bytes(n, "big")


def private_jwk(key):
    if isinstance(key, rsa.RSAPrivateKey):
        n = key.private_numbers()
        m = {"n": n.public_numbers.n, "e": n.public_numbers.e, "d": n.d, "p": n.p, "q": n.q,
             "dp": n.dmp1, "dq": n.dmq1, "qi": n.iqmp}
        return dict({k: b64(ibytes(v)) for k, v in m.items()}, kty="RSA")
    n = key.private_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {256: "P-256", 384: "P-384"}[key.curve.key_size]
    return {"kty": "EC", "crv": crv, "x": b64(ibytes(n.public_numbers.x, size)),
            "y": b64(ibytes(n.public_numbers.y, size)), "d": b64(ibytes(n.private_value, size))}


class Client:
    def __init__(self, server, ca, keyfile):
        self.ctx = ssl.create_default_context(cafile=ca)
        with open(keyfile, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        self.dir = json.loads(self.get(server).read()) if server else None
        self.nonce = None
        self.kid = None

    def get(self, url, method="GET", data=None, ctype=None):
        req = urllib.request.Request(url, data=data, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        return urllib.request.urlopen(req, context=self.ctx)

    def jwk(self):
        pub = self.key.public_key().public_numbers()
        if isinstance(self.key, rsa.RSAPrivateKey):
            return {"e": b64(ibytes(pub.e)), "kty": "RSA", "n": b64(ibytes(pub.n))}
        size = (self.key.curve.key_size + 7) // 8
        crv = {256: "P-256", 384: "P-384"}[self.key.curve.key_size]
        return {"crv": crv, "kty": "EC", "x": b64(ibytes(pub.x, size)), "y": b64(ibytes(pub.y, size))}

    def sign(self, data):
        if isinstance(self.key, rsa.RSAPrivateKey):
            return "RS256", self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        bits = self.key.curve.key_size
        h = hashes.SHA256() if bits == 256 else hashes.SHA384()
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(h)))
        n = (bits + 7) // 8
        return ("ES256" if bits == 256 else "ES384"), ibytes(r, n) + ibytes(s, n)

    def post(self, url, payload, use_jwk=False):
        for _ in range(10):
            if self.nonce is None:
                self.nonce = self.get(self.dir["newNonce"], "HEAD").headers["Replay-Nonce"]
            alg, _ = self.sign(b"")
            prot = {"alg": alg, "nonce": self.nonce, "url": url}
            if use_jwk:
                prot["jwk"] = self.jwk()
            else:
                prot["kid"] = self.kid
            p64 = b64(json.dumps(prot).encode())
            y64 = "" if payload is None else b64(json.dumps(payload).encode())
            _, sig = self.sign((p64 + "." + y64).encode())
            body = json.dumps({"protected": p64, "payload": y64, "signature": b64(sig)}).encode()
            try:
                resp = self.get(url, "POST", body, "application/jose+json")
                self.nonce = resp.headers.get("Replay-Nonce")
                return resp.status, resp.headers, json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as e:
                self.nonce = e.headers.get("Replay-Nonce")
                prob = json.loads(e.read() or b"{}")
                if prob.get("type", "").endswith(":badNonce"):
                    continue
                return e.code, e.headers, prob
        raise SystemExit("too many badNonce")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server")
    ap.add_argument("--ca")
    ap.add_argument("key")
    ap.add_argument("cmd", choices=["register", "lookup", "deactivate", "order", "jwk"])
    ap.add_argument("name", nargs="?")
    a = ap.parse_args()
    c = Client(None if a.cmd == "jwk" else a.server, a.ca, a.key)
    if a.cmd == "jwk":
        print(json.dumps(private_jwk(c.key)))
        return 0
    if a.cmd == "register":
        code, h, body = c.post(c.dir["newAccount"], {"termsOfServiceAgreed": True}, True)
        if code not in (200, 201):
            raise SystemExit("register: %d %s" % (code, body))
        print(h["Location"])
        return 0
    code, h, body = c.post(c.dir["newAccount"], {"onlyReturnExisting": True}, True)
    if a.cmd == "lookup":
        if code == 200:
            print(h["Location"])
        elif body.get("type", "").endswith(":accountDoesNotExist"):
            print("none")
        elif code in (401, 403):
            print("deactivated")
        else:
            raise SystemExit("lookup: %d %s" % (code, body))
        return 0
    if code != 200:
        print(body.get("type", "HTTP %d" % code))
        return 1
    c.kid = h["Location"]
    if a.cmd == "deactivate":
        code, h, body = c.post(c.kid, {"status": "deactivated"})
        if code != 200:
            raise SystemExit("deactivate: %d %s" % (code, body))
        return 0
    code, h, body = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns", "value": a.name}]})
    if code != 201:
        print(body.get("type", "HTTP %d" % code))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
