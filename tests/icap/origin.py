#!/usr/bin/env python3
"""Tiny origin server for the ICAP suite: serves files from a directory by path, and a plain
page for anything else (so a search URL sent through the proxy gets an ordinary answer).
Usage: origin.py PORTFILE DIR"""
import os, socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, root = sys.argv[1], sys.argv[2]
types = {".html": "text/html; charset=utf-8", ".jpg": "image/jpeg", ".png": "image/png"}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add
        # 40 ms to every response and hide what the proxy itself costs.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        name = os.path.basename(self.path.split("?")[0]) or "index.html"
        p = os.path.join(root, name)
        if os.path.isfile(p):
            body = open(p, "rb").read()
            ct = types.get(os.path.splitext(p)[1], "application/octet-stream")
        else:
            body, ct = b"<html><body><p>Results page.</p></body></html>\n", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

s = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
