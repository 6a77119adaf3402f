#!/usr/bin/env python3
"""bench_hostile.py: CPU and memory per hostile message in sipedged.

    bench_hostile.py [-b BUILDDIR] [-n N] [--transports udp,tcp]
                     [--shapes a,b,...] [--settle S] [--keep]

Starts BUILDDIR/src/sipedged (default: the current directory's build) on
free loopback ports with a minimal configuration (UDP and TCP listeners,
sip.t1 = 50 ms so that transactions end within seconds, log level error),
then for each shape sends N messages (default 2,000) one at a time, each
waiting for its answer (up to 1 s), over UDP and/or over one TCP
connection (--transports), and prints per shape:

- cpu/msg: the daemon's user+system CPU (/proc/PID/stat) spent on the
  shape divided by N, and its ratio to the ordinary INVITE (first shape);
- answered: how many of the N got a response;
- RSS: the daemon's VmRSS before the shape, at half of it (transactions
  and the allocator's pools at their steady state), after all N, and
  once the shape's transactions ended (--settle seconds later);
  "growth" is the RSS after all N minus the RSS at half: what a leak
  would show, and zero when memory is flat;
- OPTIONS p50/p99: another process sends an OPTIONS over UDP every 20 ms
  throughout and measures its answer time; the percentiles for the time
  the shape ran (and "lost": probes not answered within 1 s).

The shapes are those of issue 11 (64 KB of Require, Proxy-Require,
Supported, Via, Route or unknown headers; one long line; many parameters;
comma lists; folded lines; multipart bodies) against an ordinary INVITE
with an SDP body and the largest message still accepted (sip.max_headers
fields).  Not part of `make check`: a measurement; read contrib/bench/
README.md for results and how to read them.  Python 3 standard library.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HOST = "127.0.0.1"
MAX = 65000                      # bytes of a hostile datagram
SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
       b"t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
       b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n")


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def head(method, tp, lport, ruri=b"sip:bob@example.invalid", extra=b""):
    """A request's header lines up to (not including) Content-Length."""
    cid = uuid.uuid4().hex.encode()
    return (b"%s %s SIP/2.0\r\n"
            b"Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport\r\n"
            b"Max-Forwards: 70\r\nFrom: <sip:alice@%s>;tag=%s\r\n"
            b"To: <%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n%s") % (
                method, ruri, tp, HOST.encode(), lport, cid[:16],
                HOST.encode(), cid[16:24], ruri, cid, method, extra)


def finish(h, body=b"", ctype=None):
    if ctype:
        h += b"Content-Type: " + ctype + b"\r\n"
    return h + b"Content-Length: %d\r\n\r\n" % len(body) + body


def fill(h, line, body=b""):
    """h plus copies of line up to MAX bytes in all."""
    room = MAX - len(h) - len(body) - 40
    return finish(h + line * (room // len(line)), body)


def one_line(h, name, unit, sep=b""):
    room = MAX - len(h) - 60 - len(name)
    n = room // (len(unit) + len(sep))
    return finish(h + name + b": " + sep.join([unit] * n) + b"\r\n")


def multipart():
    part = (b"--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
            b"--b1\r\nContent-Type: multipart/mixed;boundary=b2\r\n\r\n"
            b"--b2\r\nContent-Type: text/plain\r\n\r\nnested\r\n"
            b"--b2\r\nContent-Type: application/octet-stream\r\n\r\n" +
            bytes(range(256)) * 4 + b"\r\n--b2--\r\n--b1--\r\n")
    return part


def shapes(tp, lport, max_headers):
    """name -> function making one message."""
    def h(method=b"OPTIONS", extra=b""):
        return head(method, tp, lport, extra=extra)
    return [
        ("invite", lambda: finish(h(b"INVITE", b"Contact: <sip:alice@%s:%d>"
                                    b"\r\nAllow: INVITE, ACK, CANCEL, BYE, "
                                    b"OPTIONS\r\nSupported: timer, 100rel\r\n"
                                    % (HOST.encode(), lport)),
                                  SDP, b"application/sdp")),
        ("max_fields", lambda: finish(h() + b"Require: a\r\n" *
                                      (max_headers - 7))),
        ("require", lambda: fill(h(), b"Require: a\r\n")),
        ("proxy_require", lambda: fill(h(), b"Proxy-Require: a\r\n")),
        ("supported", lambda: fill(h(), b"Supported: a\r\n")),
        ("via", lambda: fill(h(), b"Via: SIP/2.0/UDP h;branch=z9hG4bKa\r\n")),
        ("route", lambda: fill(h(), b"Route: <sip:h;lr>\r\n")),
        ("unknown", lambda: fill(h(), b"X-Unknown-Header: v\r\n")),
        ("long_line", lambda: one_line(h(), b"X-Long", b"a" * 1000)),
        ("params", lambda: one_line(h(), b"Contact", b"p", b";")),
        ("uri_params", lambda: finish(h() + b"Contact: <sip:a@h" +
                                      b";p" * ((MAX - 600) // 2) + b">\r\n")),
        ("comma_list", lambda: one_line(h(), b"Supported", b"a", b",")),
        ("folded", lambda: finish(h() + b"X-Folded: a\r\n" +
                                  b" a\r\n" * ((MAX - 600) // 4))),
        ("quoted", lambda: finish(h() + b"X-Q: \"" + b"\\\"" *
                                  ((MAX - 600) // 2) + b"\"\r\n")),
        ("multipart", lambda: finish(h(b"MESSAGE"), multipart(),
                                     b"multipart/mixed;boundary=b1")),
    ]


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def status_of(r):
    m = re.match(rb"SIP/2\.0 (\d{3})", r or b"")
    return int(m.group(1)) if m else None


def ack_for(req, resp):
    """The ACK of a non-2xx final response to INVITE req (s.17.1.1.3)."""
    hdr = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    to = [l for l in resp.split(b"\r\n") if l.lower().startswith(b"to:")][0]
    out = [hdr[0].replace(b"INVITE", b"ACK", 1)]
    for l in hdr[1:]:
        k = l.split(b":", 1)[0].lower()
        if k in (b"via", b"from", b"call-id", b"max-forwards"):
            out.append(l)
        elif k == b"cseq":
            out.append(l.replace(b"INVITE", b"ACK"))
    out.append(to)
    return b"\r\n".join(out) + b"\r\nContent-Length: 0\r\n\r\n"


class Udp:
    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((HOST, 0))
        self.s.connect((HOST, port))
        self.s.settimeout(1)
        self.lport = self.s.getsockname()[1]
        self.tp = b"UDP"

    def ask(self, msg):
        self.s.send(msg)
        while True:
            try:
                r = self.s.recv(70000)
            except socket.timeout:
                return None
            st = status_of(r)
            if st is not None and st >= 200:
                if msg.startswith(b"INVITE"):
                    self.s.send(ack_for(msg, r))
                return r


class Tcp:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=2)
        # INVITE then ACK: without this, Nagle waits for a delayed ACK.
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lport = self.s.getsockname()[1]
        self.buf = b""
        self.tp = b"TCP"

    def read(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                m = re.search(rb"\r\ncontent-length:\s*(\d+)",
                              self.buf[:i + 2], re.I)
                n = i + 4 + (int(m.group(1)) if m else 0)
                if len(self.buf) >= n:
                    r, self.buf = self.buf[:n], self.buf[n:]
                    return r
            try:
                b = self.s.recv(1 << 16)
            except socket.timeout:
                return None
            if not b:
                return None
            self.buf += b

    def ask(self, msg):
        self.s.sendall(msg)
        while True:
            r = self.read()
            st = status_of(r)
            if r is None or (st is not None and st >= 200):
                if r is not None and msg.startswith(b"INVITE"):
                    self.s.sendall(ack_for(msg, r))
                return r


def probe_main(port):
    """--probe: OPTIONS every 20 ms; on each line of stdin print the
    p50, p99 (ms) and lost count since the last line, then reset."""
    import select
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.connect((HOST, port))
    lport = s.getsockname()[1]
    rtts, lost = [], 0
    while True:
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if r:
            if not sys.stdin.readline():
                return
            rtts.sort()
            p = (lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))]
                 if rtts else -1)
            print("%.2f %.2f %d %d" % (p(0.5), p(0.99), lost, len(rtts)),
                  flush=True)
            rtts, lost = [], 0
        msg = finish(head(b"OPTIONS", b"UDP", lport,
                          ruri=b"sip:%s:%d" % (HOST.encode(), port)))
        t0 = time.monotonic()
        s.send(msg)
        s.settimeout(1)
        try:
            while status_of(s.recv(70000)) is None:
                pass
            rtts.append((time.monotonic() - t0) * 1000)
        except socket.timeout:
            lost += 1
        time.sleep(max(0, 0.02 - (time.monotonic() - t0)))


def start(build, tmp, udp, tcp, max_headers):
    conf = os.path.join(tmp, "sipedge.conf")
    with open(conf, "w") as f:
        f.write("""node: { fqdn = "localhost"; };
daemon: { state_dir = "state"; pid_file = "sipedged.pid"; zones_dir = "zones";
  control_socket = "sipedged.ctl"; };
log: { level = "error"; file = "sipedged.log"; };
sip: { max_message_size = 65535; t1 = 50; max_headers = %d; };
listen = (
  { transport = "udp"; address = "127.0.0.1"; port = %d; },
  { transport = "tcp"; address = "127.0.0.1"; port = %d; }
);
""" % (max_headers, udp, tcp))
    for d in ("state", "zones"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    out = open(os.path.join(tmp, "sipedged.out"), "w")
    p = subprocess.Popen([os.path.join(build, "src", "sipedged"), "-f", "-c",
                          conf], stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    u = Udp(udp)
    for _ in range(100):
        if p.poll() is not None:
            raise SystemExit("sipedged exited; see %s" % tmp)
        try:
            if u.ask(finish(head(b"OPTIONS", b"UDP", u.lport, ruri=b"sip:%s:%d"
                                 % (HOST.encode(), udp)))):
                return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("sipedged does not answer; see %s" % tmp)


def run(args):
    tmp = tempfile.mkdtemp(prefix="bench-hostile.")
    udp, tcp = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    d = start(args.build, tmp, udp, tcp, args.max_headers)
    probe = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                              "--probe", str(udp)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    want = args.shapes.split(",") if args.shapes else None
    print("sipedged pid %d, UDP %d, TCP %d, N = %d per shape, max_headers %d"
          % (d.pid, udp, tcp, args.n, args.max_headers))
    print("%-4s %-14s %6s %9s %5s %8s %8s %8s %8s %8s %7s %13s %4s" % (
        "tp", "shape", "bytes", "cpu/msg", "ratio", "answered", "RSS0 kB",
        "half kB", "end kB", "settled", "growth", "OPTIONS p50/99", "lost"))
    try:
        for tp in args.transports.split(","):
            base = None
            conn = Udp(udp) if tp == "udp" else Tcp(tcp)
            for name, make in shapes(conn.tp, conn.lport, args.max_headers):
                if want and name not in want and name != "invite":
                    continue
                msg = make()
                probe.stdin.write("\n")
                probe.stdin.flush()
                probe.stdout.readline()
                rss0 = rss_kb(d.pid)
                cpu0 = proc_cpu(d.pid)
                answered = 0
                rss_half = None
                for i in range(args.n):
                    if i == args.n // 2:
                        rss_half = rss_kb(d.pid)
                    if i and name in ("invite", "multipart", "max_fields"):
                        msg = make()    # a new transaction each time
                    r = conn.ask(msg)
                    if r is None and tp == "tcp":
                        conn = Tcp(tcp)
                    elif r is not None:
                        answered += 1
                cpu = (proc_cpu(d.pid) - cpu0) / args.n
                rss_end = rss_kb(d.pid)
                probe.stdin.write("\n")
                probe.stdin.flush()
                p50, p99, lost, _ = probe.stdout.readline().split()
                time.sleep(args.settle)     # transactions end (t1 = 50 ms)
                rss1 = rss_kb(d.pid)
                if base is None:
                    base = cpu
                print("%-4s %-14s %6d %7.1fus %5.1f %8d %8d %8d %8d %8d %7d "
                      "%13s %4s" % (tp, name, len(msg), cpu * 1e6,
                                    cpu / base if base else 0, answered,
                                    rss0, rss_half or rss0, rss_end, rss1,
                                    rss_end - (rss_half or rss0),
                                    "%s/%s" % (p50, p99), lost), flush=True)
    finally:
        probe.stdin.close()
        probe.wait(5)
        d.terminate()
        d.wait(10)
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        probe_main(int(sys.argv[2]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-b", "--build", default=".",
                   help="build directory holding src/sipedged")
    p.add_argument("-n", type=int, default=2000, help="messages per shape")
    p.add_argument("--transports", default="udp",
                   help="udp, tcp or udp,tcp (one TCP connection)")
    p.add_argument("--shapes", help="comma-separated subset")
    p.add_argument("--max-headers", type=int, default=256)
    p.add_argument("--settle", type=float, default=8.0,
                   help="seconds before the final RSS")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    run(p.parse_args())


if __name__ == "__main__":
    main()
