#!/usr/bin/env python3
"""connhold.py: open many TCP connections to sipedged and hold them.

    connhold.py --port PORT [--host 127.0.0.1] [--source ADDR] [--count N]
                [--send none|lf:N|hello] [--probe SECS] [--hold SECS]
                [--stop-file PATH]

Connects COUNT sockets from SOURCE (any local address, e.g. 127.0.0.2) to
HOST:PORT, sends on each what --send says (nothing; N bare line feeds; the
first bytes of a TLS ClientHello, never completed), then waits PROBE
seconds and prints one line per socket:

    OPEN i       still connected
    REFUSED i    closed or reset by the server within PROBE seconds

then "SUMMARY open=X refused=Y".  It then holds the open sockets for up
to HOLD seconds (or until STOP-FILE exists), printing "CLOSED i SECS" when
the server closes one (SECS since it was opened), and "DONE" at the end.
Every line is flushed at once, so a test can wait for it.  Nothing is ever
read into the program beyond detecting the close; what the server sends is
discarded.
"""
import argparse
import os
import selectors
import socket
import sys
import time

HELLO = bytes.fromhex("16030102000100") + b"\x01\xfc\x03\x03" + bytes(20)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def payload(kind):
    if kind == "none":
        return b""
    if kind == "hello":
        return HELLO
    if kind.startswith("lf:"):
        return b"\n" * int(kind[3:])
    raise SystemExit("connhold.py: unknown --send %s" % kind)


def closed(sock):
    """True when the server closed or reset sock (it is readable)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source", default=None)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--send", default="none")
    ap.add_argument("--probe", type=float, default=1.0)
    ap.add_argument("--hold", type=float, default=0.0)
    ap.add_argument("--stop-file", default=None)
    a = ap.parse_args()
    data = payload(a.send)
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    socks, opened, reset = [], [], set()
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        if a.source:
            s.bind((a.source, 0))
        s.settimeout(5)
        try:
            s.connect((a.host, a.port))
        except ConnectionResetError:
            # Accepted and reset before connect() returned here.
            reset.add(len(socks))
        except OSError as e:
            say("CONNECT_FAILED %s" % e)
            s.close()
            continue
        s.setblocking(False)
        if data:
            try:
                s.sendall(data)
            except (BlockingIOError, OSError):
                pass
        socks.append(s)
        opened.append(time.monotonic())
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        if i not in reset:
            sel.register(s, selectors.EVENT_READ, i)
    alive = set(range(len(socks))) - reset
    deadline = time.monotonic() + a.probe
    refused = set(reset)
    while time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            i = key.data
            if i in alive and closed(socks[i]):
                refused.add(i)
                alive.discard(i)
                sel.unregister(socks[i])
    for i in range(len(socks)):
        say("%s %d" % ("REFUSED" if i in refused else "OPEN", i))
    say("SUMMARY open=%d refused=%d" % (len(alive), len(refused)))
    end = time.monotonic() + a.hold
    while alive and time.monotonic() < end:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        for key, _ in sel.select(min(0.2, max(0.0, end - time.monotonic()))):
            i = key.data
            if i in alive and closed(socks[i]):
                alive.discard(i)
                sel.unregister(socks[i])
                say("CLOSED %d %.1f" % (i, time.monotonic() - opened[i]))
    for s in socks:
        s.close()
    say("DONE")


if __name__ == "__main__":
    main()
