#!/usr/bin/env python3
"""A real SMTP receiver on loopback for the DSL alerting tests (aiosmtpd, Debian
python3-aiosmtpd).  Every message is written to OUTDIR as one file, its envelope recipients on
the first line (X-Envelope-To).  Usage: smtp_sink.py PORTFILE OUTDIR"""
import os, socket, sys, time
from aiosmtpd.controller import Controller

port_file, outdir = sys.argv[1], sys.argv[2]


class Sink:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(outdir, "%d.eml" % time.time_ns())
        with open(name + ".tmp", "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".tmp", name)
        return "250 OK"


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
c = Controller(Sink(), hostname="127.0.0.1", port=port)
c.start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(port_file + ".tmp", port_file)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
