#!/usr/bin/env python3
"""Writes the URL benchmark's inputs: DOMAINS domains in squidGuard layout (two categories,
adult/domains and gambling/domains, plus adult/urls with URL prefixes) and URLS request URLs,
a mix of exact hits, subdomain hits, URL-list hits and misses.  Invented names only.

usage: gen.py OUTDIR [DOMAINS] [URLS]"""
import os
import random
import sys

out = sys.argv[1]
ndom = int(sys.argv[2]) if len(sys.argv) > 2 else 3_000_000
nurl = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
rnd = random.Random(20261128)
tlds = ["com", "net", "org", "info", "co.uk", "org.uk", "de", "fr", "test", "io"]
letters = "abcdefghijklmnopqrstuvwxyz"
digits = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(i):
    s = ""
    while True:
        s = digits[i % 36] + s
        i //= 36
        if i == 0:
            return s


def word(lo, hi):
    return "".join(rnd.choice(letters) for _ in range(rnd.randint(lo, hi)))


# Listed domains never contain '-', missed ones always do: no miss can be listed by chance.
doms = [word(3, 9) + b36(i) + "." + rnd.choice(tlds) for i in range(ndom)]
nurls_list = max(1, ndom // 100)
url_entries = [word(4, 8) + "x" + b36(i) + "." + rnd.choice(tlds) + "/" + word(3, 8) + "/" + word(2, 6)
               for i in range(nurls_list)]
for cat in ("adult", "gambling"):
    os.makedirs(os.path.join(out, "lists", cat), exist_ok=True)
split = ndom * 5 // 6
with open(os.path.join(out, "lists", "adult", "domains"), "w") as f:
    f.write("\n".join(doms[:split]) + "\n")
with open(os.path.join(out, "lists", "gambling", "domains"), "w") as f:
    f.write("\n".join(doms[split:]) + "\n")
with open(os.path.join(out, "lists", "adult", "urls"), "w") as f:
    f.write("\n".join(url_entries) + "\n")

subs = ["www", "m", "img", "cdn.static", "a.b.c", "video", "api"]
paths = ["/", "/index.html", "/a/b/c", "/search?q=x", "/img/" , "/watch?v=abc123", "/p/1/2/3/4.html"]
with open(os.path.join(out, "urls.txt"), "w") as f:
    buf = []
    for i in range(nurl):
        r = rnd.random()
        if r < 0.30:  # exact domain hit
            u = "http://" + rnd.choice(doms) + rnd.choice(paths)
        elif r < 0.50:  # subdomain hit
            u = "http://" + rnd.choice(subs) + "." + rnd.choice(doms) + rnd.choice(paths)
        elif r < 0.55:  # URL-list hit: the entry itself or below it
            e = rnd.choice(url_entries)
            u = "http://" + e + rnd.choice(["", "/", "/more/page.html"])
        else:  # miss
            u = "http://" + rnd.choice(["", "www.", "cdn."]) + word(3, 10) + "-" + b36(i) + "." + \
                rnd.choice(tlds) + rnd.choice(paths)
        buf.append(u)
        if len(buf) >= 100000:
            f.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        f.write("\n".join(buf) + "\n")
