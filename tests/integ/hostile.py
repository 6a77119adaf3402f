#!/usr/bin/env python3
"""hostile.py: hostile and torture input against a running sipedged, for
tests/integ/hostile.sh.

Usage: hostile.py --udp PORT --tcp PORT --pid PID CHECK...

Each CHECK prints one or more result lines "ok DESC" or "not ok DESC: WHY";
the shell script turns them into TAP.  Every socket has a timeout.
"""

import argparse
import os
import re
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfc4475  # noqa: E402

HOST = "127.0.0.1"
ARGS = None


def result(good, desc, why=""):
    """Print one result line."""
    if good:
        print("ok %s" % desc, flush=True)
    else:
        print("not ok %s: %s" % (desc, why), flush=True)


def options(transport, lport, cseq=1, extra=b""):
    """An OPTIONS to the edge itself from our socket's port."""
    tag = uuid.uuid4().hex[:8]
    return (b"OPTIONS sip:%s:%d SIP/2.0\r\n"
            b"Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport\r\n"
            b"Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=%s\r\n"
            b"To: <sip:%s:%d>\r\nCall-ID: %s\r\nCSeq: %d OPTIONS\r\n%s"
            b"Content-Length: 0\r\n\r\n") % (
                HOST.encode(), ARGS.udp, transport.encode(), HOST.encode(),
                lport, uuid.uuid4().hex.encode(), HOST.encode(), tag.encode(),
                HOST.encode(), ARGS.udp, uuid.uuid4().hex.encode(), cseq,
                extra)


def udp_sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.connect((HOST, ARGS.udp))
    return s


def udp_ask(s, data, timeout):
    """Send a datagram; the first datagram back, or None."""
    s.settimeout(timeout)
    s.send(data)
    try:
        return s.recv(70000)
    except socket.timeout:
        return None


def status_of(resp):
    if resp is None:
        return None
    m = re.match(rb"SIP/2\.0 (\d{3})", resp)
    return int(m.group(1)) if m else None


def header(resp, name):
    """Values of header name in resp (long name only)."""
    out = []
    for line in resp.split(b"\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            out.append(v.strip())
    return out


class Stream:
    """A TCP connection with framed reads of responses."""

    def __init__(self):
        self.s = socket.create_connection((HOST, ARGS.tcp), timeout=5)
        self.buf = b""
        self.closed = False

    def lport(self):
        return self.s.getsockname()[1]

    def send(self, data):
        self.s.sendall(data)

    def read(self, timeout):
        """One message (by Content-Length), None on timeout or close."""
        end = time.time() + timeout
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)",
                              self.buf[:i + 2], re.I)
                n = int(m.group(1)) if m else 0
                if len(self.buf) >= i + 4 + n:
                    msg = self.buf[:i + 4 + n]
                    self.buf = self.buf[i + 4 + n:]
                    return msg
            left = end - time.time()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                b = b""
            if not b:
                self.closed = True
            self.buf += b

    def wait_closed(self, timeout):
        """Seconds until the server closed, or None."""
        start = time.time()
        while time.time() - start < timeout:
            self.s.settimeout(max(0.05, timeout - (time.time() - start)))
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                return time.time() - start
            if not b:
                return time.time() - start
        return None

    def close(self):
        self.s.close()


def rss_kb():
    with open("/proc/%d/status" % ARGS.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def require_flood(name, count):
    """A request whose header section is count lines 'NAME: a' (64 KB)."""
    s = udp_sock()
    lport = s.getsockname()[1]
    req = options("UDP", lport)
    head, _, _ = req.partition(b"Content-Length")
    return head + (b"%s: a\r\n" % name.encode()) * count + \
        b"Content-Length: 0\r\n\r\n", s


def check_freeze():
    """A 64 KB datagram of Require headers is answered 400 within a second,
    and another client's OPTIONS meanwhile."""
    big, s = require_flood("Require", 5400)
    big = big[:65000]
    big = big[:big.rfind(b"\r\n") + 2] + b"Content-Length: 0\r\n\r\n"
    other = udp_sock()
    t0 = time.time()
    s.settimeout(2)
    s.send(big)
    probe = options("UDP", other.getsockname()[1])
    r2 = udp_ask(other, probe, 1.0)
    t2 = time.time() - t0
    try:
        r1 = s.recv(70000)
    except socket.timeout:
        r1 = None
    t1 = time.time() - t0
    result(status_of(r1) == 400 and t1 < 1.0,
           "UDP: 64 KB of 'Require: a' (about 5,400 fields) answered 400 "
           "within 1 s", "status %s after %.2f s" % (status_of(r1), t1))
    w = header(r1, "Warning")[0] if r1 and header(r1, "Warning") else b""
    result(b"256" in w and b"too many header fields" in w,
           "the 400 carries a Warning naming the count and the limit",
           repr(w))
    result(status_of(r2) == 200 and t2 < 1.0,
           "another client's OPTIONS answered 200 meanwhile (within 1 s)",
           "status %s after %.2f s" % (status_of(r2), t2))
    # The same over TCP, one connection, then OPTIONS on it.
    c = Stream()
    c.send(big.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP", 1))
    r = c.read(2)
    c.send(options("TCP", c.lport()))
    r2 = c.read(2)
    result(status_of(r) == 400 and status_of(r2) == 200,
           "TCP: the same message gets 400 and the connection then answers "
           "OPTIONS", "got %s then %s" % (status_of(r), status_of(r2)))
    c.close()


def check_params():
    """A value with more parameters than the limit gets 400."""
    s = udp_sock()
    req = options("UDP", s.getsockname()[1],
                  extra=b"Contact: <sip:x@h" + b";p" * 2000 + b">\r\n")
    r = udp_ask(s, req, 2)
    w = header(r, "Warning")[0] if r and header(r, "Warning") else b""
    result(status_of(r) == 400 and b"parameters" in w,
           "UDP: 2,000 URI parameters in one Contact get 400 naming the "
           "parameter limit", "status %s warning %r" % (status_of(r), w))


def check_mime(n):
    """n multipart MESSAGEs leave RSS (nearly) where it was."""
    s = udp_sock()
    lport = s.getsockname()[1]
    # A part whose Content-Type comes 1,500 times: libosip2's MIME parser
    # dropped each earlier one without freeing it (about 40 bytes each).
    body = (b"--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
            b"--b1\r\n" + b"Content-Type: text/plain\r\n" * 1500 +
            b"\r\nHello again\r\n--b1--\r\n")

    def one(i):
        return (b"MESSAGE sip:nobody@%s:%d SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKm%d\r\n"
                b"Max-Forwards: 70\r\nFrom: <sip:a@%s>;tag=m%d\r\n"
                b"To: <sip:nobody@%s>\r\nCall-ID: mime%d-%s\r\n"
                b"CSeq: 1 MESSAGES\r\n"
                b"Content-Type: multipart/mixed;boundary=b1\r\n"
                b"Content-Length: %d\r\n\r\n") % (
                    HOST.encode(), ARGS.udp, HOST.encode(), lport, i,
                    HOST.encode(), i, HOST.encode(), i,
                    uuid.uuid4().hex[:6].encode(), len(body)) + body

    for i in range(200):        # warm up allocator pools
        udp_ask(s, one(i), 1)
    before = rss_kb()
    answered = 0
    for i in range(n):
        if udp_ask(s, one(1000 + i), 1) is not None:
            answered += 1
    after = rss_kb()
    # The CSeq method differs from the request's: each is parsed and
    # answered 400 by the transport, and no transaction keeps its text
    # (that memory would be the proxy's, for Timer J).  libosip2's MIME
    # leak took about 200 kB per message here.
    result(after - before < 40960 and answered == n,
           "%d multipart MESSAGEs: each answered (400), RSS grew less "
           "than 40 MB"
           % n, "RSS %d -> %d kB, %d answered" % (before, after, answered))


def check_utf8_reason():
    """A response with a UTF-8 reason phrase does not close a TCP connection."""
    c = Stream()
    c.send("SIP/2.0 486 Besetzt ä\r\nVia: SIP/2.0/TCP 192.0.2.9;branch="
           "z9hG4bKnone\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\n"
           "Call-ID: utf8reason\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n"
           "\r\n".encode())
    c.send(options("TCP", c.lport()))
    r = c.read(3)
    result(status_of(r) == 200 and not c.closed,
           "TCP: a response with reason 'Besetzt ä' leaves the connection "
           "open (the next OPTIONS is answered)",
           "got %r, closed %s" % (r[:40] if r else r, c.closed))
    c.close()


def check_lf_feed(limit):
    """A TCP connection fed bare line feeds is closed, soon."""
    c = Stream()
    try:
        c.send(b"\n" * 70000)
    except OSError:
        pass
    secs = c.wait_closed(limit)
    result(secs is not None,
           "TCP: 70,000 bare line feeds: the connection is closed within "
           "%d s" % limit, "still open after %d s" % limit)
    c.close()
    c = Stream()
    c.send(b"\r\n\r\n" * 10)
    r = c.read(1)
    c.send(options("TCP", c.lport()))
    r = c.read(2)
    while r is not None and status_of(r) is None:
        r = c.read(2)
    result(status_of(r) == 200,
           "TCP: ten CRLFCRLF pings are answered and the connection lives on",
           "got %r" % r)
    c.close()


def check_to_tags():
    """Error responses carry fresh random To-tags; raw ones received/rport."""
    s = udp_sock()
    lport = s.getsockname()[1]
    tags = []
    for _ in range(2):
        req = options("UDP", lport).replace(b" OPTIONS\r\n", b" INFO\r\n", 1)
        r = udp_ask(s, req, 2)
        to = header(r, "To")[0] if r and header(r, "To") else b""
        m = re.search(rb";tag=([^;>\s]+)", to)
        tags.append(m.group(1) if m else None)
    result(status_of(r) == 400 and tags[0] and tags[1] and
           tags[0] != tags[1] and tags[0] != b"sipedge-err",
           "two 400s (CSeq mismatch) carry different random To-tags",
           "tags %r" % tags)
    # A message libosip2 cannot parse: the raw response.
    tags = []
    for _ in range(2):
        req = options("UDP", lport, extra=b"A header line without colon\r\n")
        r = udp_ask(s, req, 2)
        to = header(r, "To")[0] if r and header(r, "To") else b""
        m = re.search(rb";tag=([^;>\s]+)", to)
        tags.append(m.group(1) if m else None)
    result(status_of(r) == 400 and tags[0] and tags[1] and
           tags[0] != tags[1] and tags[0] != b"sipedge-err",
           "two raw 400s (unparseable) carry different random To-tags",
           "tags %r" % tags)
    via = header(r, "Via")[0] if r and header(r, "Via") else b""
    result(b"rport=%d" % lport in via and b"received=127.0.0.1" in via,
           "the raw 400's top Via has rport=PORT and received=IP",
           repr(via))
    # Control bytes in an echoed header: escaped, still answered.
    req = options("UDP", lport, extra=b"No colon here\r\n").replace(
        b"From: <sip:probe", b"From: \"a\x01b\" <sip:probe", 1)
    r = udp_ask(s, req, 2)
    result(status_of(r) == 400 and r is not None and b"\x01" not in r,
           "a raw 400 echoes a From with a control byte, the byte replaced",
           repr(r[:200] if r else r))


def distinct(data):
    """The same message as another transaction: the branches and Call-IDs
    get a prefix (else the UDP copy's transaction absorbs the TCP one)."""
    data = data.replace(b"z9hG4bK", b"z9hG4bKtcp")
    return re.sub(rb"(?im)^((?:call-id|i)[ \t]*:[ \t]*)", rb"\1tcp-", data)


def check_torture():
    """RFC 4475 s.3.1.1: every valid request is answered over UDP and TCP;
    over TCP the connection stays open for every message."""
    for name, kind, data in rfc4475.VALID:
        if kind == "request":
            s = udp_sock()
            r = udp_ask(s, data, 5)
            while status_of(r) is not None and status_of(r) < 200:
                try:
                    r = s.recv(70000)
                except socket.timeout:
                    r = None
            result(status_of(r) is not None and status_of(r) >= 200,
                   "UDP: RFC 4475 %s gets a final response" % name,
                   "got %r" % (r[:60] if r else r))
            if name == "dblreq":
                result(r is not None and
                       b"REGISTER" in (header(r, "CSeq") or [b""])[0],
                       "UDP: dblreq: only the REGISTER is answered",
                       repr(header(r, "CSeq")))
            s.close()
        c = Stream()
        c.send(distinct(data))
        if kind == "request":
            r = c.read(5)
            while r is not None and status_of(r) is not None and \
                    status_of(r) < 200:
                r = c.read(5)
            result(status_of(r) is not None and status_of(r) >= 200,
                   "TCP: RFC 4475 %s gets a final response" % name,
                   "got %r" % (r[:60] if r else r))
            if name == "dblreq":    # the INVITE is a message of its own
                r = c.read(5)
                while r is not None and status_of(r) is not None and \
                        status_of(r) < 200:
                    r = c.read(5)
        c.send(options("TCP", c.lport(), cseq=7))
        r = c.read(5)
        while r is not None and not (header(r, "CSeq") or [b""])[0] \
                .startswith(b"7 OPTIONS"):
            r = c.read(5)
        result(status_of(r) == 200,
               "TCP: after RFC 4475 %s the connection answers OPTIONS" % name,
               "got %r, closed %s" % (r[:60] if r else r, c.closed))
        c.close()


def check_overload(n, cap):
    """n new UDP requests while at most cap server transactions may live
    (each lives 32 s after its 404 on UDP): those over the cap get a
    stateless 503 with Retry-After and a To tag, and all are answered."""
    s = udp_sock()
    lport = s.getsockname()[1]
    got = {}
    complete = True
    for i in range(n):
        req = options("UDP", lport, extra=b"").replace(
            b"OPTIONS sip:%s:%d SIP/2.0" % (HOST.encode(), ARGS.udp),
            b"OPTIONS sip:nobody@unrouted.invalid SIP/2.0")
        resp = None
        s.settimeout(2)
        s.send(req)
        try:
            while True:
                resp = s.recv(70000)
                if status_of(resp) is not None and status_of(resp) >= 200:
                    break
        except socket.timeout:
            pass
        st = status_of(resp)
        got[st] = got.get(st, 0) + 1
        if st == 503 and not (header(resp, "Retry-After")
                              and re.search(rb"\r\nTo:[^\r]*;tag=[0-9a-f]{16}",
                                            resp)):
            complete = False
    s.close()
    result(sum(v for k, v in got.items() if k is not None) == n,
           "%d requests over the transaction cap are all answered" % n,
           "statuses %r" % got)
    result(got.get(503, 0) >= n - cap and got.get(404, 0) <= cap,
           "at most %d get a transaction (404), the rest a stateless 503" % cap,
           "statuses %r" % got)
    result(complete, "each 503 carries Retry-After and a random To tag")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--udp", type=int, required=True)
    p.add_argument("--tcp", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--mime", type=int, default=2000)
    p.add_argument("--lf-limit", type=int, default=8)
    p.add_argument("--overload", type=int, default=40)
    p.add_argument("--cap", type=int, default=20)
    p.add_argument("checks", nargs="+")
    ARGS = p.parse_args()
    for c in ARGS.checks:
        if c == "freeze":
            check_freeze()
        elif c == "params":
            check_params()
        elif c == "mime":
            check_mime(ARGS.mime)
        elif c == "utf8":
            check_utf8_reason()
        elif c == "lf":
            check_lf_feed(ARGS.lf_limit)
        elif c == "tags":
            check_to_tags()
        elif c == "torture":
            check_torture()
        elif c == "overload":
            check_overload(ARGS.overload, ARGS.cap)
        else:
            print("not ok unknown check %s" % c)


if __name__ == "__main__":
    main()
