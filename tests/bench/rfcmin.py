#!/usr/bin/env python3
"""rfcmin.py: the RFC 8555 minimum for a reuse issuance, measured on this Pebble.

    rfcmin.py SERVER_DIR_URL CA_BUNDLE NAME VA_PORT OUT.json

A deliberately minimal ACME client (EC P-256 account key in memory, Python stdlib +
cryptography). Setup, not counted: fetch the directory, create the account, and issue
NAME once with http-01 (its own responder on VA_PORT), so that the account holds a
valid authorization for NAME. Then, as a new process would with a warm cache (directory
and account URL known, no nonce held), it issues NAME again and counts the requests:

  HEAD newNonce          only because no nonce is held (RFC 8555 section 7.2)
  POST newOrder          every later request uses the previous reply's Replay-Nonce
  POST finalize          the order is "ready" at once when its authorizations are reused,
                         so no authorization needs to be fetched (section 7.1.3, 7.4)
  POST-as-GET order      only while the order is "processing" (section 7.4); Pebble 2.4
                         answers finalize with "processing", so at least one poll
  POST-as-GET certificate (section 7.4.2)

OUT.json records the count, the sequence, and the order status Pebble returned after
newOrder and after finalize, which decide whether authorization fetches or polls are
needed at all.
"""
import base64, json, os, ssl, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Client:
    def __init__(self, dir_url, ca):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.key = ec.generate_private_key(ec.SECP256R1())
        n = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}
        self.thumb = b64(hashes_sha256(json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()))
        self.nonce = None
        self.kid = None
        self.log = []
        self.dir = json.loads(self.req("GET", dir_url)[1])

    def req(self, method, url, body=None):
        r = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            r.add_header("Content-Type", "application/jose+json")
        try:
            resp = urllib.request.urlopen(r, context=self.ctx)
        except urllib.error.HTTPError as e:
            resp = e
        data = resp.read()
        self.log.append(f"{method} {url.split('/', 3)[3].split('/')[0]} -> {resp.status}")
        if resp.headers.get("Replay-Nonce"):
            self.nonce = resp.headers["Replay-Nonce"]
        return resp, data

    def post(self, url, payload):
        if self.nonce is None:
            self.req("HEAD", self.dir["newNonce"])
        prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
        if self.kid:
            prot["kid"] = self.kid
        else:
            prot["jwk"] = self.jwk
        self.nonce = None
        p = b64(json.dumps(prot).encode())
        pl = "" if payload is None else b64(json.dumps(payload).encode())
        der = self.key.sign(f"{p}.{pl}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        resp, data = self.req("POST", url, json.dumps({"protected": p, "payload": pl, "signature": sig}).encode())
        if resp.status >= 400:
            raise SystemExit(f"rfcmin: {url}: {resp.status} {data[:300]!r}")
        return resp, data


def hashes_sha256(b):
    h = hashes.Hash(hashes.SHA256())
    h.update(b)
    return h.finalize()


def order(c, name, port=None):
    """One issuance; solves http-01 on PORT if an authorization is pending."""
    resp, data = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
    o = json.loads(data)
    ourl = resp.headers["Location"]
    status_after_new_order = o["status"]
    if o["status"] == "pending":
        if port is None:
            raise SystemExit("rfcmin: order pending, the authorization was not reused")
        for az in o["authorizations"]:
            a = json.loads(c.post(az, None)[1])
            ch = [x for x in a["challenges"] if x["type"] == "http-01"][0]
            ka = ch["token"] + "." + c.thumb

            class H(BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(ka.encode())

                def log_message(self, *a):
                    pass

            srv = HTTPServer(("127.0.0.1", port), H)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            c.post(ch["url"], {})
            for _ in range(100):
                if json.loads(c.post(az, None)[1])["status"] != "pending":
                    break
                time.sleep(0.05)
            srv.shutdown()
            srv.server_close()
        for _ in range(100):
            o = json.loads(c.post(ourl, None)[1])
            if o["status"] != "pending":
                break
            time.sleep(0.05)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
           .sign(key, hashes.SHA256()))
    o = json.loads(c.post(o["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))})[1])
    status_after_finalize = o["status"]
    polls = 0
    while o["status"] == "processing":
        time.sleep(0.05)
        o = json.loads(c.post(ourl, None)[1])
        polls += 1
    cert = c.post(o["certificate"], None)[1]
    assert b"BEGIN CERTIFICATE" in cert
    return {"after_new_order": status_after_new_order, "after_finalize": status_after_finalize, "polls": polls}


def main():
    dir_url, ca, name, port, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    c = Client(dir_url, ca)
    resp, _ = c.post(c.dir["newAccount"], {"termsOfServiceAgreed": True})
    c.kid = resp.headers["Location"]
    order(c, name, port)                      # first issuance: http-01
    c.nonce = None                            # a new process: no nonce held, warm cache
    c.log = []
    st = order(c, name)                       # the reuse issuance, counted
    json.dump({"requests": len(c.log), "sequence": c.log, **st}, open(out, "w"), indent=1)
    print(f"# rfcmin: reuse issuance needs {len(c.log)} requests: {', '.join(c.log)}", file=sys.stderr)


if __name__ == "__main__":
    main()
