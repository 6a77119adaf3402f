#!/usr/bin/env python3
"""tlswave.py: open a wave of idle TLS connections to sipedged, then close
them all.

    tlswave.py --port PORT --cafile CA [--count N] [--batch B]
               [--stop-file PATH] [--hold SECS] [--mode full|half|dribble]
               [--cert CHAIN --key KEY]

Makes COUNT full TLS handshakes (verified against CA, no client
certificate) to 127.0.0.1:PORT, at most B (default 100) at a time, from
source addresses 127.0.0.2 to 127.0.0.254 in turn (so no per-source limit
applies), prints "OPEN n" once all are established, holds them idle until
STOP-FILE exists (at most HOLD seconds, default 60), closes them all and
prints "CLOSED n".  Exits 1 with "FAIL reason" if a handshake fails or
takes too long.  Every line is flushed at once.  With --cert and --key
each client presents that certificate chain (mutual TLS).

--mode half: the COUNT connections each send the first half of a
ClientHello and wait (pending handshakes), same output.  --mode dribble:
one connection sends its ClientHello in five pieces 0.2 s apart (the
record header split too), completes the handshake and prints "OK
VERSION".
"""
import argparse
import os
import selectors
import socket
import ssl
import sys
import time


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wave(port, ctx, count, batch):
    """count handshaken TLS sockets, at most batch in progress at a time."""
    sel = selectors.DefaultSelector()
    done, started, live = [], 0, 0
    deadline = time.monotonic() + 30 + count / 50
    while len(done) < count:
        while live < batch and started < count:
            raw = socket.socket()
            raw.bind(("127.0.0.%d" % (2 + started % 253), 0))
            raw.settimeout(10)
            raw.connect(("127.0.0.1", port))
            raw.setblocking(False)
            s = ctx.wrap_socket(raw, server_hostname="localhost",
                                do_handshake_on_connect=False)
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
            live += 1
        if time.monotonic() > deadline:
            raise RuntimeError("%d of %d handshakes in time" % (len(done), count))
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                s.do_handshake()
            except ssl.SSLWantReadError:
                sel.modify(s, selectors.EVENT_READ)
                continue
            except ssl.SSLWantWriteError:
                sel.modify(s, selectors.EVENT_WRITE)
                continue
            sel.unregister(s)
            done.append(s)
            live -= 1
    sel.close()
    return done


def client_hello(ctx):
    """A TLS client object on memory BIOs and the ClientHello it wrote."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return obj, inc, out, out.read()


def half(port, ctx, count):
    """count connections that sent half a ClientHello."""
    socks = []
    for i in range(count):
        hello = client_hello(ctx)[3]
        s = socket.socket()
        s.bind(("127.0.0.%d" % (2 + i % 253), 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(hello[:len(hello) // 2])
        socks.append(s)
    return socks


def dribble(port, ctx):
    """One handshake whose ClientHello arrives in pieces; its version."""
    obj, inc, out, hello = client_hello(ctx)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cut = len(hello) // 2
    for piece in (hello[:1], hello[1:4], hello[4:7], hello[7:cut],
                  hello[cut:]):
        s.sendall(piece)
        time.sleep(0.2)
    for _ in range(50):
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            data = s.recv(65536)
            if not data:
                raise RuntimeError("closed by sipedged during the handshake")
            inc.write(data)
        finally:
            pending = out.read()
            if pending:
                s.sendall(pending)
    else:
        raise RuntimeError("no handshake")
    v = obj.version()
    s.close()
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--stop-file", default=None)
    ap.add_argument("--hold", type=float, default=60.0)
    ap.add_argument("--mode", choices=("full", "half", "dribble"),
                    default="full")
    ap.add_argument("--cert", default=None)
    ap.add_argument("--key", default=None)
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.cafile)
    ctx.check_hostname = False
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    if a.mode == "dribble":
        try:
            say("OK %s" % dribble(a.port, ctx))
            return 0
        except (OSError, RuntimeError, ssl.SSLError) as e:
            say("FAIL %s" % e)
            return 1
    try:
        if a.mode == "half":
            conns = half(a.port, ctx, a.count)
        else:
            conns = wave(a.port, ctx, a.count, a.batch)
    except (OSError, RuntimeError) as e:
        say("FAIL %s" % e)
        return 1
    say("OPEN %d" % len(conns))
    end = time.monotonic() + a.hold
    while time.monotonic() < end:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        time.sleep(0.1)
    for c in conns:
        c.close()
    say("CLOSED %d" % len(conns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
