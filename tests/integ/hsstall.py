#!/usr/bin/env python3
"""hsstall.py: TLS clients that stall in the handshake.

Usage: hsstall.py --port PORT [--host H] [--count N] [--mode hello|silent]
                  [--max S]

Opens COUNT connections.  With --mode hello (the default) each sends one
whole ClientHello, made by Python's ssl module in memory, and then never
sends another byte: the server's handshake waits for the client's next
flight.  With --mode silent each sends nothing at all.  Whatever the
server sends is read and dropped.  Prints "OPEN n" once all are
connected, then "CLOSED i SECONDS" as the server closes each (seconds
since it connected) and "SUMMARY closed=N open=M" when all are closed or
--max seconds have passed (default 30).  Loopback only; bounded in time.
"""
import argparse
import select
import socket
import ssl
import sys
import time


def client_hello():
    """The bytes of one ClientHello (TLS 1.2 and 1.3 offered)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--mode", choices=("hello", "silent"), default="hello")
    ap.add_argument("--max", type=float, default=30.0)
    a = ap.parse_args()
    socks, started = [], {}
    for _ in range(a.count):
        s = socket.create_connection((a.host, a.port), timeout=5)
        if a.mode == "hello":
            s.sendall(client_hello())
        s.setblocking(False)
        started[s] = time.monotonic()
        socks.append(s)
    print("OPEN %d" % len(socks), flush=True)
    index = {s: i for i, s in enumerate(socks)}
    live = list(socks)
    deadline = time.monotonic() + a.max
    while live and time.monotonic() < deadline:
        r, _, _ = select.select(live, [], [], 0.2)
        for s in r:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BlockingIOError) as e:
                data = b"" if isinstance(e, ConnectionResetError) else None
            if data is None or data:
                continue
            print("CLOSED %d %.2f" % (index[s], time.monotonic() - started[s]),
                  flush=True)
            live.remove(s)
            s.close()
    print("SUMMARY closed=%d open=%d" % (len(socks) - len(live), len(live)),
          flush=True)
    for s in live:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
