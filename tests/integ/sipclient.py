#!/usr/bin/env python3
"""sipclient.py: a tiny raw SIP client for byte-level integration tests.

Usage:
  sipclient.py --transport tls|tcp|udp --port PORT [--host 127.0.0.1]
               [--cafile CA.pem] [--servername localhost] [--timeout 5]
               [--cert CHAIN.pem --key KEY.pem] [--source IP]
               [--show HEADER]... STEP...

It connects once (TCP connect, TLS handshake verified against --cafile, or a
connected UDP socket), then runs the steps in order on that one connection:

  send:FILE        send FILE as a template: LF line ends become CRLF and the
                   placeholders below are replaced
  sendraw:FILE     send the bytes of FILE unchanged
  expect:CODES     read one response within --timeout and print its status
                   line; CODES is a '/'-separated list of accepted status
                   codes, where the word 'closed' also accepts a connection
                   closed by the server (e.g. expect:513/closed)
  closed[:SECS]    wait up to SECS (default --timeout) for the server to close
                   the connection; responses read meanwhile are printed
  request:METHOD   read one message within --timeout: it must be a request
                   with METHOD (a proxy sending down our connection); print
                   REQ and its --show headers
  reply:CODE       answer the last request received with CODE (its Via,
                   From, To with a tag, Call-ID and CSeq)
  burst:FILE:N     send FILE as a template N times, each its own send (its
                   own TLS record) but corked (TCP_CORK): the N arrive
                   together, as few segments as the kernel can make
  sleep:SECS       sleep
  waitfile:PATH[:SECS]  wait (default 30 s) until PATH exists

Template placeholders: @HOST@ @PORT@ (the server), @LHOST@ @LPORT@ (our end),
@TRANSPORT@ (UDP/TCP/TLS), @CALLID@ @BRANCH@ @TAG@ (fresh on each send),
@CSEQ@ (1, 2, ... per send), @PAD:N@ (N bytes of 'a').

Output on stdout, one line per event, flushed at once:
  CONNECTED <transport> <host>:<port>
  SENT <n>                    bytes sent
  RECV <status line>          one response (stream: framed by Content-Length)
  REQ <request line>          one request (request: step)
  HDR <header line>           after RECV, each of its header lines named by a
                              --show option (name compared without case)
  CLOSED <seconds>            server closed; seconds since the last send
                              (or since connecting when nothing was sent)
  TIMEOUT <seconds>           nothing (more) arrived in time
  REFUSED <reason>            the connection could not be made
  TLSFAIL <reason>            the TLS handshake failed

Exit status: 0 every step passed, 1 a step failed (the remaining steps are not
run; a 'FAIL ...' line goes to stderr), 2 usage error, 3 connection refused or
failed, 4 TLS handshake failed.  Every socket operation has a timeout, so the
client never hangs.
"""

import argparse
import os
import re
import socket
import ssl
import sys
import time
import uuid

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_REFUSED, EXIT_TLS = 0, 1, 2, 3, 4


class StepFailed(Exception):
    """An expectation of a step was not met."""


def out(line):
    """Print one event line and flush it, so a test can poll our output."""
    print(line, flush=True)


class Conn:
    """One connection to the server and the bytes received but not consumed."""

    def __init__(self, args):
        self.args = args
        self.transport = args.transport
        self.buf = b""
        self.datagrams = []
        self.closed = False
        self.cseq = 0
        self.last_send = None
        self.connected_at = time.monotonic()
        self.sock = None

    def connect(self):
        """Open the connection; return an exit status (0 when connected)."""
        a = self.args
        family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
        kind = socket.SOCK_DGRAM if self.transport == "udp" else socket.SOCK_STREAM
        sock = socket.socket(family, kind)
        sock.settimeout(a.timeout)
        try:
            if a.source:
                sock.bind((a.source, 0))
            sock.connect((a.host, a.port))
        except OSError as e:
            out("REFUSED %s" % (e.strerror or e))
            sock.close()
            return EXIT_REFUSED
        if self.transport == "tls":
            ctx = ssl.create_default_context(cafile=a.cafile)
            if a.no_check_hostname:
                ctx.check_hostname = False
            if a.cert:
                ctx.load_cert_chain(a.cert, a.key)
            try:
                sock = ctx.wrap_socket(sock, server_hostname=a.servername)
            except (ssl.SSLError, ssl.CertificateError, OSError) as e:
                out("TLSFAIL %s" % e)
                sock.close()
                return EXIT_TLS
        self.sock = sock
        self.connected_at = time.monotonic()
        out("CONNECTED %s %s:%d" % (self.transport, a.host, a.port))
        return EXIT_OK

    def local(self):
        """Return our (host, port)."""
        return self.sock.getsockname()[:2]

    def render(self, data):
        """Fill in the template placeholders of data (bytes)."""
        self.cseq += 1
        lhost, lport = self.local()
        values = {
            "HOST": self.args.host if ":" not in self.args.host else "[%s]" % self.args.host,
            "PORT": str(self.args.port),
            "LHOST": lhost if ":" not in lhost else "[%s]" % lhost,
            "LPORT": str(lport),
            "TRANSPORT": self.transport.upper(),
            "CALLID": uuid.uuid4().hex,
            "BRANCH": "z9hG4bK" + uuid.uuid4().hex[:16],
            "TAG": uuid.uuid4().hex[:10],
            "CSEQ": str(self.cseq),
        }
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        data = re.sub(rb"@PAD:(\d+)@", lambda m: b"a" * int(m.group(1)), data)
        for key, val in values.items():
            data = data.replace(b"@" + key.encode() + b"@", val.encode())
        return data

    def send(self, data):
        """Send all of data."""
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise StepFailed("send failed: %s" % e)
        self.last_send = time.monotonic()
        out("SENT %d" % len(data))

    def elapsed(self):
        """Seconds since the last send, or since connecting."""
        start = self.last_send if self.last_send is not None else self.connected_at
        return time.monotonic() - start

    def fill(self, deadline):
        """Read more bytes into buf; return False on timeout, set closed on EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except ConnectionRefusedError:
            # UDP: an ICMP port unreachable came back.
            raise StepFailed("connection refused")
        except (ConnectionResetError, ssl.SSLError, OSError):
            chunk = b""
        if self.transport == "udp":
            # Keep datagram boundaries: each datagram is one message.
            if chunk:
                self.datagrams.append(chunk)
            return True
        if not chunk:
            self.closed = True
            out("CLOSED %.2f" % self.elapsed())
            return False
        self.buf += chunk
        return True

    def take_message(self):
        """Remove one complete message from buf and return it, or None."""
        if self.transport == "udp":
            return self.datagrams.pop(0) if self.datagrams else None
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end]
        match = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        length = int(match.group(1)) if match else 0
        total = end + 4 + length
        if len(self.buf) < total:
            return None
        msg, self.buf = self.buf[:total], self.buf[total:]
        return msg

    def read_message(self, timeout):
        """Return the next message, or None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.take_message()
            if msg is not None:
                return msg
            if self.closed or not self.fill(deadline):
                return None


def status_of(msg):
    """Return (code or None, first line) of a message."""
    first = msg.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    m = re.match(r"SIP/2\.0 (\d{3})\b", first)
    return (m.group(1) if m else None), first


def print_received(conn, msg):
    """Print the RECV line of msg, then the header lines --show asks for."""
    out("RECV %s" % status_of(msg)[1])
    wanted = [name.lower() for name in conn.args.show]
    for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name = line.split(b":", 1)[0].strip().decode("utf-8", "replace").lower()
        if name in wanted:
            out("HDR %s" % line.decode("utf-8", "replace"))


def step_expect(conn, arg):
    """expect:CODES -- read one response and compare its status code."""
    accepted = arg.split("/")
    msg = conn.read_message(conn.args.timeout)
    if msg is None:
        if conn.closed:
            if "closed" in accepted:
                return
            raise StepFailed("expected %s, connection closed" % arg)
        out("TIMEOUT %.2f" % conn.elapsed())
        raise StepFailed("expected %s, nothing received" % arg)
    code, first = status_of(msg)
    print_received(conn, msg)
    if code not in accepted:
        raise StepFailed("expected %s, got: %s" % (arg, first))


def step_request(conn, arg):
    """request:METHOD -- read one message; it must be a METHOD request."""
    msg = conn.read_message(conn.args.timeout)
    if msg is None:
        if not conn.closed:
            out("TIMEOUT %.2f" % conn.elapsed())
        raise StepFailed("expected a %s request, nothing received" % arg)
    first = msg.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    out("REQ %s" % first)
    wanted = [name.lower() for name in conn.args.show]
    for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name = line.split(b":", 1)[0].strip().decode("utf-8", "replace").lower()
        if name in wanted:
            out("HDR %s" % line.decode("utf-8", "replace"))
    if first.split(" ", 1)[0] != arg:
        raise StepFailed("expected a %s request, got: %s" % (arg, first))
    conn.last_request = msg


def step_reply(conn, arg):
    """reply:CODE -- answer the last request received."""
    req = getattr(conn, "last_request", None)
    if req is None:
        raise StepFailed("reply: no request received yet")
    keep = []
    for line in req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name in (b"via", b"v", b"from", b"f", b"call-id", b"i", b"cseq"):
            keep.append(line)
        elif name in (b"to", b"t"):
            keep.append(line if b";tag=" in line else line + b";tag=sc" + uuid.uuid4().hex[:8].encode())
    resp = b"SIP/2.0 %s Reply\r\n" % arg.encode() + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n"
    conn.send(resp)


def step_closed(conn, arg):
    """closed[:SECS] -- wait for the server to close the connection."""
    if conn.transport == "udp":
        raise StepFailed("closed: makes no sense over UDP")
    timeout = float(arg) if arg else conn.args.timeout
    deadline = time.monotonic() + timeout
    while not conn.closed:
        msg = conn.take_message()
        if msg is not None:
            print_received(conn, msg)
            continue
        if not conn.fill(deadline) and not conn.closed:
            out("TIMEOUT %.2f" % conn.elapsed())
            raise StepFailed("connection still open after %gs" % timeout)


def step_waitfile(conn, arg):
    """waitfile:PATH[:SECS] -- wait until a file exists."""
    path, _, secs = arg.rpartition(":") if re.search(r":\d+(\.\d+)?$", arg) else (arg, "", "")
    deadline = time.monotonic() + (float(secs) if secs else 30.0)
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise StepFailed("%s did not appear" % path)
        time.sleep(0.05)


def read_file(path):
    """Return the bytes of a file, or fail the step."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise StepFailed("cannot read %s: %s" % (path, e))


def step_burst(conn, arg):
    """burst:FILE:N: N sends of FILE held back by TCP_CORK, then let go."""
    path, _, n = arg.rpartition(":")
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    for _ in range(int(n)):
        conn.send(conn.render(read_file(path)))
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)


def run_step(conn, step):
    """Run one STEP argument."""
    name, _, arg = step.partition(":")
    if name == "send":
        conn.send(conn.render(read_file(arg)))
    elif name == "sendraw":
        conn.send(read_file(arg))
    elif name == "expect":
        step_expect(conn, arg)
    elif name == "closed":
        step_closed(conn, arg)
    elif name == "request":
        step_request(conn, arg)
    elif name == "reply":
        step_reply(conn, arg)
    elif name == "burst":
        step_burst(conn, arg)
    elif name == "sleep":
        time.sleep(float(arg))
    elif name == "waitfile":
        step_waitfile(conn, arg)
    else:
        raise ValueError(step)


def main():
    """Parse the command line, connect and run the steps."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--transport", choices=("tls", "tcp", "udp"), required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", help="CA certificate(s) to verify the server (tls)")
    p.add_argument("--servername", default="localhost", help="SNI and name checked (tls)")
    p.add_argument("--no-check-hostname", action="store_true")
    p.add_argument("--cert", help="client certificate chain, PEM (tls)")
    p.add_argument("--key", help="its private key (tls)")
    p.add_argument("--source", help="local address to connect from")
    p.add_argument("--timeout", type=float, default=5.0, help="per read, seconds")
    p.add_argument("--show", action="append", default=[], metavar="HEADER",
                   help="print this header of each response (HDR lines)")
    p.add_argument("steps", nargs="*", metavar="STEP")
    args = p.parse_args()
    for step in args.steps:
        if step.partition(":")[0] not in ("send", "sendraw", "expect", "closed", "request", "reply",
                                        "sleep", "waitfile", "burst"):
            p.error("unknown step: %s" % step)
    if args.transport == "tls" and not args.cafile:
        p.error("--cafile is required with --transport tls")

    conn = Conn(args)
    status = conn.connect()
    if status != EXIT_OK:
        return status
    try:
        for step in args.steps:
            run_step(conn, step)
    except StepFailed as e:
        print("FAIL %s" % e, file=sys.stderr, flush=True)
        return EXIT_FAIL
    finally:
        conn.sock.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
