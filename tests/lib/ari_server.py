#!/usr/bin/env python3
"""A TLS front for Pebble that adds ACME Renewal Information (RFC 9773).

Pebble 2.4.0 has no ARI. This server forwards every request to Pebble unchanged,
keeping the client's Host header, so Pebble builds every URL (directory, orders,
Location, JWS "url" checks) with this server's host:port and the whole ACME flow
runs through here. It changes two things and records a third:

  * the directory gains "renewalInfo": "https://HOST/renewal-info";
  * GET /renewal-info/<certID> answers the window in WINDOW_FILE, a JSON object
    {"start": RFC3339, "end": RFC3339} read on every request (404 while the file
    is absent), with Retry-After: 21600;
  * every order Pebble creates (201 to newOrder) is logged with its decoded JWS payload;
  * while the file WINDOW_FILE.replaced exists, a newOrder that carries "replaces" is
    refused with 409 alreadyReplaced (and a fresh nonce from Pebble), as a CA does when
    another client of the account has replaced that certificate already; logged as
    {"event": "alreadyReplaced", "payload": {...}}.

LOG_FILE gets one JSON object per line: {"event": "renewalInfo", "certID": ...}
or {"event": "newOrder", "payload": {...}}.

usage: ari_server.py LISTEN_ADDR PORT CERT KEY UPSTREAM_URL UPSTREAM_CA WINDOW_FILE LOG_FILE
"""
import base64
import http.client
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "content-length"}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None       # urllib.parse result
    upstream_ctx = None
    window_file = None
    log_file = None
    new_order_path = None
    new_nonce_path = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("ari_server: " + (fmt % args) + "\n")

    def record(self, obj):
        with self.lock, open(self.log_file, "a") as f:
            f.write(json.dumps(obj) + "\n")

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def forward(self, body):
        conn = http.client.HTTPSConnection(self.upstream.hostname, self.upstream.port,
                                           context=self.upstream_ctx, timeout=30)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP:
                    conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
            return resp.status, headers, data
        finally:
            conn.close()

    def renewal_info(self):
        cert_id = self.path.split("/renewal-info/", 1)[1]
        self.record({"event": "renewalInfo", "certID": cert_id})
        try:
            with open(self.window_file) as f:
                window = json.load(f)
        except FileNotFoundError:
            self.reply(404, b'{"type":"urn:ietf:params:acme:error:malformed","detail":"no window"}',
                       [("Content-Type", "application/problem+json")])
            return
        body = json.dumps({"suggestedWindow": window,
                           "explanationURL": "https://example.test/ari-explained"}).encode()
        self.reply(200, body, [("Content-Type", "application/json"), ("Retry-After", "21600")])

    def order_payload(self, body):
        try:
            return json.loads(b64url_decode(json.loads(body)["payload"]))
        except Exception as e:  # a test wants to see it, not a crash
            return {"undecodable": str(e)}

    def already_replaced(self, payload):
        self.record({"event": "alreadyReplaced", "payload": payload})
        self.command, path, self.path = "HEAD", self.path, Handler.new_nonce_path
        _, headers, _ = self.forward(None)
        self.command, self.path = "POST", path
        nonce = [(k, v) for k, v in headers if k.lower() == "replay-nonce"]
        self.reply(409, json.dumps({"type": "urn:ietf:params:acme:error:alreadyReplaced",
                                    "detail": "certificate already replaced"}).encode(),
                   [("Content-Type", "application/problem+json")] + nonce)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "GET" and self.path.startswith("/renewal-info/"):
            self.renewal_info()
            return
        if self.command == "POST" and body and self.path == Handler.new_order_path \
                and os.path.exists(self.window_file + ".replaced"):
            payload = self.order_payload(body)
            if "replaces" in payload:
                self.already_replaced(payload)
                return
        status, headers, data = self.forward(body if self.command == "POST" else None)
        # Only orders Pebble created: a badNonce rejection makes the client repeat.
        if self.command == "POST" and body and self.path == Handler.new_order_path \
                and status == 201:
            self.record({"event": "newOrder", "payload": self.order_payload(body)})
        if self.command == "GET" and status == 200 and b'"newOrder"' in data:
            d = json.loads(data)
            Handler.new_order_path = urllib.parse.urlsplit(d["newOrder"]).path
            Handler.new_nonce_path = urllib.parse.urlsplit(d["newNonce"]).path
            d["renewalInfo"] = "https://%s/renewal-info" % self.headers["Host"]
            data = json.dumps(d, indent=2).encode()
        self.reply(status, data, headers)

    do_GET = do_POST = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # no getfqdn(): it may hang without DNS
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    if len(sys.argv) != 9:
        sys.exit(__doc__)
    addr, port, cert, key, upstream, upstream_ca, window_file, log_file = sys.argv[1:]
    Handler.upstream = urllib.parse.urlsplit(upstream)
    Handler.upstream_ctx = ssl.create_default_context(cafile=upstream_ca)
    Handler.window_file = window_file
    Handler.log_file = log_file
    srv = Server((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("ari_server: listening on %s:%s -> %s\n" % (addr, port, upstream))
    srv.serve_forever()


if __name__ == "__main__":
    main()
