#!/usr/bin/env python3
"""Test alert receiver: answers POST /api/v1/alerts as wardd will (201 new, 200 merged
duplicate by dedup_key, 401 for a bad token) and appends each new alert to RECORDFILE and every
alert received, merged or not, to RECORDFILE.all.
Usage: receiver.py PORTFILE RECORDFILE TOKEN"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, record, token = sys.argv[1], sys.argv[2], sys.argv[3]
seen = {}

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path != "/api/v1/alerts":
            return self.answer(404, {"error": "not found"})
        if self.headers.get("Authorization") != "Bearer " + token:
            return self.answer(401, {"error": "bad token"})
        try:
            a = json.loads(body)
        except ValueError:
            return self.answer(400, {"error": "bad json"})
        k = a.get("dedup_key")
        with open(record + ".all", "a") as f:
            f.write(json.dumps(a) + "\n")
        if k in seen:
            return self.answer(200, {"id": seen[k], "merged": True})
        seen[k] = len(seen) + 1
        with open(record, "a") as f:
            f.write(json.dumps(a) + "\n")
        self.answer(201, {"id": seen[k], "merged": False})

s = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
