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


def idle_growth(pid, host, port, cafile, steps, cert=None, key=None, out=print):
    """Open idle TLS connections to host:port in steps; after each step
    print the RSS of pid and its growth per connection.  A client
    certificate (cert, key) is presented when given.  Returns the KiB per
    connection of the last step."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(cert, key)
    conns = []
    per = float("nan")
    time.sleep(1)
    base = rss_kib(pid)
    out("connections  VmRSS KiB  KiB per connection")
    out("%11d  %9d  %s" % (0, base, "-"))
    try:
        for n in steps:
            while len(conns) < n:
                s = socket.create_connection((host, port), timeout=10)
                conns.append(ctx.wrap_socket(s, server_hostname=host))
            time.sleep(2)   # the daemon's side of each handshake is done
            now = rss_kib(pid)
            per = (now - base) / n
            out("%11d  %9d  %.1f" % (n, now, per))
    finally:
        for c in conns:
            c.close()
    return per


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    pid, host, port, cafile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    steps = [int(n) for n in sys.argv[5:]] or [250, 500, 1000]
    idle_growth(pid, host, port, cafile, steps)


if __name__ == "__main__":
    main()
