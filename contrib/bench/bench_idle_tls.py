#!/usr/bin/env python3
"""bench_idle_tls.py: memory of idle TLS connections in a running sipedged.

    bench_idle_tls.py PID HOST PORT CAFILE [N ...]

Opens N TLS connections (default 250, 500 and 1000, cumulatively) to the
TLS listener HOST:PORT of the sipedged with process id PID, each a full
handshake (verified against CAFILE, no client certificate) and then idle,
and prints the daemon's resident memory (VmRSS, /proc) and its growth per
connection after each step, once the connections have settled.  Needs a
configuration that accepts TLS clients without a certificate (the default
zone's default) and enough file descriptors (ulimit -n) on both sides.
Not part of `make check`: a measurement, quoted as ratios.
"""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import rss_kib  # noqa: E402


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    pid, host, port, cafile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    steps = [int(n) for n in sys.argv[5:]] or [250, 500, 1000]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    conns = []
    time.sleep(1)
    base = rss_kib(pid)
    print("connections  VmRSS KiB  KiB per connection")
    print("%11d  %9d  %s" % (0, base, "-"))
    for n in steps:
        while len(conns) < n:
            s = socket.create_connection((host, port), timeout=10)
            conns.append(ctx.wrap_socket(s, server_hostname=host))
        time.sleep(2)   # the daemon's side of each handshake is done
        now = rss_kib(pid)
        print("%11d  %9d  %.1f" % (n, now, (now - base) / n))
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
