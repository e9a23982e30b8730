#!/usr/bin/env python3
"""Serve DIR over plain HTTP on ADDR:PORT, for webroot http-01 tests.

python3 -m http.server does a reverse DNS lookup of the bind address before it
listens (server_bind calls socket.getfqdn), which hangs where there is no DNS;
this server skips that. Only GET/HEAD of regular files under DIR; everything else
is 404. One line per request on stderr. With --vhost, DIR holds one directory per
name: a request for Host: NAME is served from DIR/NAME (certbot's webroot map).

usage: webroot_server.py [--vhost] DIR ADDR PORT
"""
import http.server
import os
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."
    vhost = False

    def _root(self):
        if not self.vhost:
            return self.root
        host = (self.headers.get("Host") or "").split(":", 1)[0].lower()
        if not host or "/" in host or host.startswith("."):
            return None
        return os.path.realpath(os.path.join(self.root, host))

    def _file(self):
        root = self._root()
        if root is None:
            return None
        path = self.path.split("?", 1)[0]
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            return f.read()

    def _answer(self, body_too):
        data = self._file()
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body_too:
            self.wfile.write(data)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def address_string(self):
        return self.client_address[0]  # no reverse lookup in logs either

    def log_message(self, fmt, *args):
        sys.stderr.write("webroot_server: %s %s\n" % (self.client_address[0], fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # skips getfqdn()
        self.server_name, self.server_port = self.server_address[:2]


def main():
    args = sys.argv[1:]
    if args and args[0] == "--vhost":
        Handler.vhost = True
        args = args[1:]
    root, addr, port = args[0], args[1], int(args[2])
    Handler.root = os.path.realpath(root)
    with Server((addr, port), Handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
