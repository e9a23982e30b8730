#!/usr/bin/env python3
"""A hostile ACME CA for negative tests: tests/lib/hostile_ca.py.

A small TLS server (stdlib http.server + ssl) that speaks enough RFC 8555 to carry
a client up to one point, and misbehaves there, as chosen by --mode. It does not
verify JWS signatures: it only decodes the payload, for onlyReturnExisting and
the CSR.

  hostile_ca.py --mode MODE --port N --cert CERT --key KEY [--addr 127.0.0.1]
                [--log FILE] [--elsewhere-addr 127.0.0.2 --elsewhere-port N]

The directory is https://ADDR:PORT/dir. Every request is logged to --log as one
line "METHOD PATH [note]", so a test can count and inspect them. With
--elsewhere-port, a plain TCP listener on ELSEWHERE_ADDR logs every connection
("CONNECT elsewhere") and closes it: a client that follows a redirect or a
foreign Location shows up there.

Modes (the happy path is: directory, nonce, newAccount (an account exists for
any key), newOrder "ready" with one valid authorization, finalize "valid",
certificate issued for the CSR's key by a throwaway CA):
  ok                 no misbehaviour: a control that the client gets all the way
  dir-truncated      the directory is truncated JSON
  order-malformed    the newOrder body is not JSON ({"status": "ready",,})
  order-truncated    the newOrder body stops mid-string (Content-Length matches)
  dir-50mb           a 50 MB directory (Content-Length given, streamed)
  order-50mb         a 50 MB newOrder body, chunked, no Content-Length
  wrong-ctype        the certificate is served as text/html with an HTML page
  dir-wrong-ctype    the directory is served as text/html with an HTML page
  token-dotdot       the authorization is pending, its challenges' token is
                     "../../../escaped" (http-01 and dns-01)
  token-slash        ... token "abc/def"
  token-nul          ... token "abcdefghijklmnopqrstuvwxyz\\u0000/../../escaped"
  processing-forever the order stays "processing" after finalize, Retry-After: 1
  redirect           newOrder answers 307 to https://ELSEWHERE/order-plz
  dir-redirect       the directory answers 302 to https://ELSEWHERE/dir
  badnonce           every POST answers 400 badNonce (with a fresh nonce)
  ratelimit          newOrder answers 429 rateLimited with Retry-After: 86400
  cert-wrong-key     the certificate's key is not the CSR's key
  chain-unparseable  the certificate chain is PEM armour around garbage
  location-elsewhere newOrder's Location and the order's finalize URL point at
                     https://ELSEWHERE/, and finalize leaves the order processing
  authz-foreign      the order is pending; its second authorization is for
                     victim.example.net, a name never ordered
  authz-inject       the order is pending; its first authorization's identifier
                     is "victim.example.net\nupdate add evil.example.net 60 TXT
                     pwned\nsend" (an nsupdate script), the second's starts with
                     "--" and carries ANSI escapes
  authz-one-fails    the order is pending; every challenge answered validates,
                     except the one of the fourth name (its authorization ends
                     invalid)
  authz-stuck        the order is pending; a challenge answered is accepted
                     ("processing"), but its authorization stays pending forever
  empty-authz        newOrder is "pending" with an empty authorization list
  problem-inject     newOrder answers 400 with a detail (and subproblems) full of
                     terminal escapes, newlines and invalid UTF-8
  problem-huge       newOrder answers 400 with a 900 KB detail
  tos-inject         the directory's termsOfService carries terminal escapes
  cert-expired       the certificate expired yesterday
  cert-notyet        the certificate becomes valid in two days
  cert-inverted      the certificate's notAfter is before its notBefore
  cert-dup-san       the certificate names the first name twice instead of the
                     last (order with two names or more)
  chain-broken       the chain's CA certificate has the issuer's name but another
                     key: it did not sign the leaf
  alt-chains         the certificate's Link headers name three alternates: one
                     answering 404, one on another host, one whose top is
                     issued by "hostile alternate root"
  ratelimit-huge     newOrder answers 429 rateLimited, Retry-After:
                     9223372036854775807
  ratelimit-date     newOrder answers 429 rateLimited, Retry-After: an HTTP-date
                     in the year 9999
  unavailable-huge   newOrder answers 503, Retry-After: 99999999999999999999999999
  processing-huge    after finalize the order stays processing, Retry-After:
                     9223372036854775807
  poll-storm         after finalize the order stays processing, Retry-After: 0
  keychange-badkey   newAccount knows only the first key it sees (account /acct/1;
                     any other key: accountDoesNotExist), and keyChange answers
                     400 badPublicKey (a CA that refuses the new key's type)
  keychange-conflict the same, and keyChange answers 409 Conflict with Location
                     /acct/2 (the new key belongs to another account)
  dir-elsewhere-once the first directory served names newOrder on another host;
                     every later one is correct
  ratelimit-short    every newOrder answers 429 rateLimited, Retry-After: 1
  unavailable-short  every newOrder answers 503, Retry-After: 1
  account-inject     the account's contact carries terminal escapes, a C1 CSI
                     and raw invalid UTF-8 (what `account show --json` prints)
"""

import argparse
import base64
import datetime
import json
import os
import secrets
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = (
    "ok dir-truncated order-malformed order-truncated dir-50mb order-50mb wrong-ctype "
    "dir-wrong-ctype token-dotdot token-slash token-nul processing-forever redirect "
    "dir-redirect badnonce ratelimit cert-wrong-key chain-unparseable location-elsewhere "
    "authz-foreign authz-inject authz-one-fails authz-stuck empty-authz problem-inject "
    "problem-huge "
    "tos-inject cert-expired cert-notyet cert-inverted cert-dup-san chain-broken alt-chains "
    "ratelimit-huge ratelimit-date unavailable-huge processing-huge poll-storm "
    "dir-elsewhere-once keychange-badkey keychange-conflict ratelimit-short unavailable-short account-inject"
).split()

# Modes whose order is "pending" with authorizations to solve.
PENDING_MODES = ("token-dotdot", "token-slash", "token-nul", "authz-foreign", "authz-inject",
                 "authz-one-fails", "authz-stuck")
INJECT = [
    "victim.example.net\nupdate add evil.example.net 60 TXT pwned\nsend",
    "--victim.example.net\x1b]0;pwned\x07\x1b[2J\xff\x9b31m",
]
INJECT_DETAIL = ("\x1b]0;pwned\x07\x1b[2J\x1b[Hp11acme: all good, certificate installed\n"
                 "p11acme: \x1b[32mok\x1b[0m \udcff\x9b2J\r\x00end")
# Retry-After values by mode, for the modes that send one on newOrder.
RETRY_HUGE = {"ratelimit-huge": (429, "9223372036854775807"),
              "ratelimit-date": (429, "Fri, 31 Dec 9999 23:59:59 GMT"),
              "unavailable-huge": (503, "99999999999999999999999999"),
              "ratelimit-short": (429, "1"), "unavailable-short": (503, "1")}

HUGE = 50 * 1024 * 1024
LOG_LOCK = threading.Lock()


def b64u_decode(s):
    s = s.encode() if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


class State:
    """Shared server state (one order at a time is enough for one client run)."""

    def __init__(self, args):
        self.mode = args.mode
        self.base = "https://%s:%d" % (args.addr, args.port)
        self.elsewhere = "https://%s:%d" % (args.elsewhere_addr, args.elsewhere_port or 9)
        self.log_path = args.log
        self.names = ["unknown.test"]
        self.cert_pem = None
        self.order_status = "ready"
        self.finalized = False
        self.chall_failed = False  # a challenge with a hostile token was answered
        self.first_jwk = None      # keychange-*: the key that owns the account
        self.answered = set()      # authz indexes whose challenge was answered
        self.dir_served = 0
        self._ca = None
        self._alt = None

    def log(self, line):
        if not self.log_path:
            return
        with LOG_LOCK, open(self.log_path, "a") as f:
            f.write(line + "\n")

    # -------------------------------------------------------------- certificates

    def ca(self):
        """A throwaway issuing CA (made lazily: only the cert modes need it)."""
        if self._ca is None:
            from cryptography import x509
            from cryptography.x509.oid import NameOID

            self._ca = self.self_signed(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile test CA")]))
        return self._ca

    def issue(self, csr_der):
        """A leaf for the CSR's names; for its key, or another in cert-wrong-key."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        csr = x509.load_der_x509_csr(csr_der)
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            names = san.value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            names = list(self.names)
        pub = csr.public_key()
        if self.mode == "cert-wrong-key":
            pub = ec.generate_private_key(ec.SECP256R1()).public_key()
        ca_key, ca_cert = self.ca()
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        nb, na = {
            "cert-expired": (now - 10 * day, now - day),
            "cert-notyet": (now + 2 * day, now + 8 * day),
            "cert-inverted": (now + day, now - day),
        }.get(self.mode, (now - datetime.timedelta(minutes=5), now + 6 * day))
        sans = list(names)
        if self.mode == "cert-dup-san" and len(sans) > 1:
            sans[-1] = sans[0]
        # The builder's constructor takes the dates as they are (its setters
        # refuse an inverted pair, which is the point of cert-inverted).
        leaf = x509.CertificateBuilder(
            issuer_name=ca_cert.subject,
            subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]),
            public_key=pub, serial_number=x509.random_serial_number(),
            not_valid_before=nb, not_valid_after=na,
        ).add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                        critical=False).sign(ca_key, hashes.SHA256())
        pem = serialization.Encoding.PEM
        top = ca_cert
        if self.mode == "chain-broken":
            top = self.self_signed(ca_cert.subject)[1]  # the name, not the key
        self.leaf_pem = leaf.public_bytes(pem).decode()
        return (leaf.public_bytes(pem) + top.public_bytes(pem)).decode()

    def self_signed(self, name):
        """A fresh CA key and self-signed certificate named name."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def alt_chain(self):
        """The leaf, then the issuing CA cross-signed by "hostile alternate root"."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        ca_key, ca_cert = self.ca()
        alt_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile alternate root")])
        alt_key, _ = self.self_signed(alt_name)
        now = datetime.datetime.now(datetime.timezone.utc)
        cross = (
            x509.CertificateBuilder()
            .subject_name(ca_cert.subject).issuer_name(alt_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(alt_key, hashes.SHA256())
        )
        return self.leaf_pem + cross.public_bytes(serialization.Encoding.PEM).decode()

    # -------------------------------------------------------------- documents

    def directory(self):
        b = self.base
        d = {
            "newNonce": b + "/nonce",
            "newAccount": b + "/new-acct",
            "newOrder": b + "/new-order",
            "revokeCert": b + "/revoke",
            "keyChange": b + "/key-change",
            "meta": {"termsOfService": b + "/tos"},
        }
        if self.mode == "dir-elsewhere-once" and self.dir_served == 1:
            d["newOrder"] = self.elsewhere + "/new-order"
        return d

    def directory_body(self):
        """The directory as bytes; tos-inject splices raw invalid UTF-8 and
        escaped control characters into termsOfService."""
        text = json.dumps(self.directory(), indent=1).encode()
        if self.mode == "tos-inject":
            text = text.replace(b'/tos"', b'/tos\\u001b]0;pwned\\u0007\\u001b[2J\xff\xc2\x9b2J"')
        return text

    def authz_names(self):
        """The identifier of each authorization of the order, by index."""
        if self.mode == "authz-foreign":
            return self.names + ["victim.example.net"]
        if self.mode == "authz-inject":
            return INJECT + self.names
        return self.names

    def order_url(self):
        if self.mode == "location-elsewhere":
            return self.elsewhere + "/order/1"
        return self.base + "/order/1"

    def order(self):
        finalize = self.base + "/order/1/finalize"
        if self.mode == "location-elsewhere":
            finalize = self.elsewhere + "/order/1/finalize"
        o = {
            "status": self.order_status,
            "expires": (datetime.datetime.now(datetime.timezone.utc)
                        + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "identifiers": [{"type": "dns", "value": n} for n in self.names],
            "authorizations": [self.base + "/authz/%d" % i
                               for i in range(len(self.authz_names()))],
            "finalize": finalize,
        }
        if self.order_status == "valid":
            o["certificate"] = self.base + "/cert/1"
        if self.mode == "empty-authz":
            o["authorizations"] = []
        return o

    def bad_token(self):
        return {
            "token-dotdot": "../../../escaped",
            "token-slash": "abc/def",
            "token-nul": "abcdefghijklmnopqrstuvwxyz\u0000/../../escaped",
        }.get(self.mode)

    def authz(self, i):
        names = self.authz_names()
        name = names[i] if i < len(names) else names[0]
        tok = self.bad_token()
        status = "pending" if self.mode in PENDING_MODES else "valid"
        if tok and self.chall_failed:
            status = "invalid"
        if self.mode == "authz-one-fails" and i in self.answered:
            status = "invalid" if i == 3 else "valid"
        tok = tok or "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX%d" % (i % 10)
        a = {
            "status": status,
            "identifier": {"type": "dns", "value": name},
            "expires": "2099-01-01T00:00:00Z",
            "challenges": [
                {"type": "http-01", "url": self.base + "/chall/%d/http" % i,
                 "status": status, "token": tok},
                {"type": "dns-01", "url": self.base + "/chall/%d/dns" % i,
                 "status": status, "token": tok},
            ],
        }
        if status == "invalid":
            a["challenges"][0]["error"] = {
                "type": "urn:ietf:params:acme:error:unauthorized",
                "detail": "hostile CA: the key authorization served does not match the token sent"}
        return a


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile-ca"
    sys_version = ""
    state = None  # set in main

    # No reverse DNS lookups, ever (they hang in a namespace without DNS).
    def address_string(self):
        return self.client_address[0]

    def log_message(self, fmt, *args):
        pass

    # -------------------------------------------------------------- helpers

    def send(self, code, body=b"", ctype="application/json", headers=None, nonce=True):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, indent=1).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        if nonce:
            self.send_header("Replay-Nonce", secrets.token_urlsafe(16))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Link", '<%s/dir>;rel="index"' % self.state.base)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def problem(self, code, kind, detail, headers=None):
        self.send(code, {"type": "urn:ietf:params:acme:error:" + kind, "detail": detail,
                         "status": code}, ctype="application/problem+json", headers=headers)

    def send_huge(self, chunked):
        """50 MB of JSON-ish bytes; stops quietly when the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Replay-Nonce", secrets.token_urlsafe(16))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(HUGE))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = b'{"pad":"' + b"A" * (65536 - 10) + b'",'
        sent = 0
        try:
            while sent < HUGE:
                n = min(len(block), HUGE - sent)
                if chunked:
                    self.wfile.write(b"%x\r\n" % n + block[:n] + b"\r\n")
                else:
                    self.wfile.write(block[:n])
                sent += n
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.state.log("SENT %d bytes of %d" % (sent, HUGE))

    def read_jws_payload(self):
        """The decoded JWS payload: a dict, "" for POST-as-GET, None if unreadable.
        The decoded protected header goes to self.protected (a dict, or {})."""
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 1 << 20)) if n else b""
        self.protected = {}
        try:
            jws = json.loads(raw)
            self.protected = json.loads(b64u_decode(jws.get("protected", "")))
            payload = jws.get("payload", "")
            if payload == "":
                return ""
            return json.loads(b64u_decode(payload))
        except (ValueError, TypeError, AttributeError):
            return None

    # -------------------------------------------------------------- methods

    def do_HEAD(self):
        self.state.log("HEAD " + self.path)
        if self.path == "/nonce":
            self.send(200, b"", ctype=None)
        else:
            self.send(404, b"", ctype=None)

    def do_GET(self):
        st, mode = self.state, self.state.mode
        st.log("GET " + self.path)
        if self.path == "/dir":
            if mode == "dir-truncated":
                text = json.dumps(st.directory())
                return self.send(200, text[: len(text) // 2], nonce=False)
            if mode == "dir-50mb":
                return self.send_huge(chunked=False)
            if mode == "dir-wrong-ctype":
                return self.send(200, "<html><body><h1>Welcome to nginx!</h1></body></html>\n",
                                 ctype="text/html", nonce=False)
            if mode == "dir-redirect":
                return self.send(302, "", headers={"Location": st.elsewhere + "/dir"},
                                 nonce=False)
            st.dir_served += 1
            return self.send(200, st.directory_body(), nonce=False)
        if self.path == "/nonce":
            return self.send(204, b"", ctype=None)
        return self.problem(405, "malformed", "use POST-as-GET")

    def do_POST(self):
        st, mode = self.state, self.state.mode
        payload = self.read_jws_payload()
        note = ""
        if isinstance(payload, dict) and payload.get("onlyReturnExisting"):
            note = " onlyReturnExisting"
        st.log("POST " + self.path + note)
        p = self.path
        if payload is None:
            return self.problem(400, "malformed", "unreadable JWS")
        if mode == "badnonce":
            return self.problem(400, "badNonce", "JWS has an invalid anti-replay nonce")

        if p == "/new-acct" and mode.startswith("keychange-"):
            # the first key seen owns the account; every other key has none
            jwk = json.dumps(self.protected.get("jwk"), sort_keys=True)
            if st.first_jwk is None:
                st.first_jwk = jwk
            if jwk != st.first_jwk:
                return self.problem(400, "accountDoesNotExist", "no account for this key")
        if p == "/key-change" and mode == "keychange-badkey":
            return self.problem(400, "badPublicKey", "hostile CA: this key type is not allowed")
        if p == "/key-change" and mode == "keychange-conflict":
            return self.send(409, {"type": "urn:ietf:params:acme:error:malformed",
                                   "detail": "hostile CA: the new key is in use"},
                             headers={"Location": st.base + "/acct/2"})
        if p == "/new-acct":
            return self.send(200, self.account_doc(), headers={"Location": st.base + "/acct/1"})
        if p == "/acct/1":
            return self.send(200, self.account_doc())
        if p == "/new-order":
            return self.new_order(payload)
        if p.startswith("/authz/"):
            try:
                i = int(p.split("/")[2])
            except ValueError:
                i = 0
            return self.send(200, st.authz(i))
        if p.startswith("/chall/") and mode in ("authz-one-fails", "authz-stuck"):
            i = int(p.split("/")[2])
            if mode == "authz-one-fails":
                st.answered.add(i)
            st.log("CHALLENGE-ANSWERED " + p)
            if i == 3:
                st.order_status = "invalid"
            elif st.order_status == "pending" and len(st.answered) == len(st.names):
                st.order_status = "ready"
            return self.send(200, {"type": p.rsplit("/", 1)[1] + "-01", "url": st.base + p,
                                   "status": "processing", "token": "x" * 43},
                             headers={"Link": '<%s/authz/%d>;rel="up"' % (st.base, i)})
        if p.startswith("/chall/"):
            # Reached only by a client that accepted a hostile token: a real CA could
            # not validate what the client would serve, so the challenge fails.
            st.log("CHALLENGE-RESPONDED " + p)
            st.chall_failed = True
            return self.send(200, {"type": "http-01", "url": st.base + p, "status": "invalid",
                                   "token": st.bad_token() or "x",
                                   "error": {"type": "urn:ietf:params:acme:error:unauthorized",
                                             "detail": "hostile CA: validation failed"}},
                             headers={"Link": '<%s/authz/0>;rel="up"' % st.base})
        if p == "/order/1/finalize":
            return self.finalize(payload)
        if p == "/order/1":
            return self.send(200, st.order(), headers=self.retry_after_hdr())
        if p == "/cert/1":
            return self.certificate()
        if p == "/cert/1/alt" and st.cert_pem is not None:
            return self.send(200, st.alt_chain(), ctype="application/pem-certificate-chain")
        return self.problem(404, "malformed", "no such resource " + p)

    def retry_after_value(self):
        return {"processing-huge": "9223372036854775807", "poll-storm": "0"}.get(
            self.state.mode, "1")

    def retry_after_hdr(self):
        if self.state.order_status != "processing":
            return {}
        return {"Retry-After": self.retry_after_value()}

    def new_order(self, payload):
        st, mode = self.state, self.state.mode
        if isinstance(payload, dict):
            names = [i.get("value") for i in payload.get("identifiers", [])
                     if isinstance(i, dict) and isinstance(i.get("value"), str)]
            if names:
                st.names = names
        st.order_status = "pending" if mode in PENDING_MODES + ("empty-authz",) else "ready"
        hdr = {"Location": st.order_url()}
        if mode == "order-malformed":
            return self.send(201, '{"status": "ready",,}', headers=hdr)
        if mode == "order-truncated":
            text = json.dumps(st.order())
            return self.send(201, text[: text.index("authorizations") + 25], headers=hdr)
        if mode == "order-50mb":
            return self.send_huge(chunked=True)
        if mode == "redirect":
            return self.send(307, "", headers={"Location": st.elsewhere + "/order-plz"})
        if mode == "ratelimit":
            return self.problem(429, "rateLimited",
                                "too many new orders recently",
                                headers={"Retry-After": "86400"})
        if mode in RETRY_HUGE:
            code, ra = RETRY_HUGE[mode]
            kind = "rateLimited" if code == 429 else "serverInternal"
            return self.problem(code, kind, "come back later", headers={"Retry-After": ra})
        if mode == "problem-inject":
            return self.send(400, self.inject_problem(), ctype="application/problem+json")
        if mode == "problem-huge":
            return self.problem(400, "malformed", "A" * 900000 + " end of the huge detail")
        return self.send(201, st.order(), headers=hdr)

    def finalize(self, payload):
        st, mode = self.state, self.state.mode
        if st.order_status != "ready":
            return self.problem(403, "orderNotReady", "order is " + st.order_status)
        try:
            csr = b64u_decode(payload["csr"])
        except (KeyError, TypeError, ValueError):
            return self.problem(400, "badCSR", "no csr")
        if mode in ("processing-forever", "location-elsewhere", "processing-huge", "poll-storm"):
            st.order_status = "processing"
            return self.send(200, st.order(), headers={"Location": st.order_url(),
                                                      "Retry-After": self.retry_after_value()})
        try:
            st.cert_pem = st.issue(csr)
        except Exception as e:  # a CSR we cannot read is the client's problem
            return self.problem(400, "badCSR", "cannot parse CSR: %s" % e)
        st.order_status = "valid"
        return self.send(200, st.order(), headers={"Location": st.order_url()})

    def certificate(self):
        st, mode = self.state, self.state.mode
        if mode == "wrong-ctype":
            return self.send(200, "<html><head><title>502 Bad Gateway</title></head>"
                             "<body>upstream error</body></html>\n", ctype="text/html")
        if mode == "chain-unparseable":
            body = ("-----BEGIN CERTIFICATE-----\nTUlJQm5vdCBhIGNlcnRpZmljYXRl!!\n"
                    "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n"
                    "AAAA\n-----END CERTIFICATE-----\n")
            return self.send(200, body, ctype="application/pem-certificate-chain")
        if st.cert_pem is None:
            return self.problem(404, "malformed", "no certificate yet")
        hdr = {}
        if mode == "alt-chains":
            hdr["Link"] = ", ".join('<%s>;rel="alternate"' % u for u in (
                st.base + "/cert/1/alt-404", st.elsewhere + "/cert/1/alt", st.base + "/cert/1/alt"))
        return self.send(200, st.cert_pem, ctype="application/pem-certificate-chain",
                         headers=hdr)

    def account_doc(self):
        """The account object; in account-inject mode its contact holds escapes
        (JSON-escaped control characters) and raw bytes of invalid UTF-8."""
        doc = {"status": "valid", "contact": [], "orders": self.state.base + "/acct/1/orders"}
        if self.state.mode != "account-inject":
            return doc
        doc["contact"] = ["@C@"]
        return json.dumps(doc).encode().replace(
            b"@C@", b"mailto:admin@hostile.test\\u001b]0;pwned\\u0007\\u001b[2J\xff\xfe\xc2\x9b31m\\nx")

    def inject_problem(self):
        """A problem document whose detail and subproblems would, printed raw,
        retitle and clear a terminal and forge a line; with raw invalid UTF-8."""
        doc = json.dumps({
            "type": "urn:ietf:params:acme:error:rejectedIdentifier\u001b[8m",
            "detail": "@D@", "status": 400,
            "subproblems": [{"type": "urn:ietf:params:acme:error:caa", "detail": "@D@",
                             "identifier": {"type": "dns", "value": INJECT[0]}}],
        }).encode()
        raw = json.dumps(INJECT_DETAIL.replace("\udcff", "").replace("\x00", ""))[1:-1].encode()
        return doc.replace(b"@D@", raw + b"\xff\xfe\xc3(\xed\xa0\x80")


class TLSServer(ThreadingHTTPServer):
    """TLS per connection, in the connection's own thread, so that a client stuck
    in its handshake does not stop the server from accepting others."""

    daemon_threads = True
    ctx = None
    state = None

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.state.log("TLS-FAIL %s" % e.__class__.__name__)
            return
        try:
            super().finish_request(request, client_address)
        finally:
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        self.state.log("HANDLER-ERROR %s" % sys.exc_info()[1].__class__.__name__)


def elsewhere_listener(addr, port, state):
    """A plain TCP listener on "another host": logs each connection and closes it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, peer = s.accept()
        state.log("CONNECT elsewhere from %s" % peer[0])
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log")
    ap.add_argument("--elsewhere-addr", default="127.0.0.2")
    ap.add_argument("--elsewhere-port", type=int, default=0)
    args = ap.parse_args()

    state = State(args)
    Handler.state = state
    if args.elsewhere_port:
        threading.Thread(target=elsewhere_listener,
                         args=(args.elsewhere_addr, args.elsewhere_port, state),
                         daemon=True).start()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    TLSServer.ctx, TLSServer.state = ctx, state
    srv = TLSServer((args.addr, args.port), Handler)
    state.log("READY mode=%s pid=%d" % (args.mode, os.getpid()))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
