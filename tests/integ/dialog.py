#!/usr/bin/env python3
"""dialog.py: SIP dialogs through sipedged, and forged Route sets, for relay.sh.

Usage:
  dialog.py uas --addr IP --port P --out FILE [--timeout 60]
      A UDP user agent server: answers every request except ACK with 200
      (an INVITE's 200 copies its Record-Route and adds a Contact and a
      To-tag).  Each request goes to FILE as 'REQ <request line>' followed
      by 'ROUTE <value>' per Route header and 'CALLID <value>'.
  dialog.py listen --addr IP --port P --out FILE [--timeout 60]
      A UDP "victim": writes 'GOT <first line>' to FILE per datagram.
  dialog.py client --port P [--host 127.0.0.1] [--source IP] [--transport udp|tcp]
            [--state FILE] [--timeout 5] STEP...
      A user agent client on one socket (UDP: connected; TCP: one
      connection).  The dialog is kept in --state (JSON) across runs.

Client steps (fields separated by commas; an empty field takes the default):
  invite,URI,CODE       a new INVITE to URI; the final response must be CODE;
                        a 2xx fills the dialog (To-tag, route set from its
                        Record-Route, reversed; remote target from Contact);
                        prints 'RR <value>' per Record-Route entry
  ack                   the ACK of that 2xx, along the route set
  req,METHOD,CODE[,ROUTE[,RURI[,CALLID]]]
                        an in-dialog request (To-tag set) whose final
                        response must be CODE ('none': no response at all
                        within --timeout).  ROUTE: 'dialog' (default: the
                        route set), 'self' (only the entry facing us),
                        'reversed', 'far' (only the entry facing the other
                        side), 'tamper' (one byte of the first token
                        changed), 'none', 'edge' (a bare <sip:EDGE;lr>),
                        'sez' (an old-style <sip:EDGE;lr;sez=default>), or
                        a literal Route value.  RURI: 'target' (default: the
                        remote target) or a URI.  CALLID: default the
                        dialog's.
  oodreq,METHOD,CODE,ROUTE,RURI
                        the same without a To-tag (out of dialog, new Call-ID)

Output: 'RECV <status line>' per response, 'HDR Warning: ...', 'RR ...';
exit 0 when every step got what it expected, 1 otherwise.
"""

import argparse
import json
import os
import re
import socket
import sys
import time
import uuid


def out(line):
    """Print one line and flush it."""
    print(line, flush=True)


def headers(msg):
    """(first line, [(name, value)]) of a message (bytes)."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            hdrs.append((name.strip(), value.strip()))
    return lines[0], hdrs


def values(hdrs, *names):
    """Every value of the headers named (compared without case); commas split."""
    want = [n.lower() for n in names]
    res = []
    for name, value in hdrs:
        if name.lower() in want:
            res.extend(split_list(value))
    return res


def split_list(value):
    """Split a header value at commas outside <> and quotes."""
    parts, cur, depth, quoted = [], "", 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def first(hdrs, *names):
    """The first value of a header, or None."""
    want = [n.lower() for n in names]
    for name, value in hdrs:
        if name.lower() in want:
            return value
    return None


def serve(args, answer):
    """A UDP server loop until --timeout; answer(sock, data, addr, fh)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.addr, args.port))
    deadline = time.monotonic() + args.timeout
    with open(args.out, "a", encoding="utf-8") as fh:
        fh.write("READY\n")
        fh.flush()
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data, addr = sock.recvfrom(65536)
            except socket.timeout:
                continue
            answer(sock, data, addr, fh)
            fh.flush()
    return 0


def uas_answer(sock, data, addr, fh):
    """Answer one request as the UAS."""
    if data.startswith(b"SIP/2.0"):
        fh.write("RESP %s\n" % headers(data)[0])
        return
    if not data.strip():
        return
    line, hdrs = headers(data)
    fh.write("REQ %s\n" % line)
    for r in values(hdrs, "Route"):
        fh.write("ROUTE %s\n" % r)
    fh.write("CALLID %s\n" % first(hdrs, "Call-ID", "i"))
    method = line.split(" ", 1)[0]
    if method == "ACK":
        return
    resp = ["SIP/2.0 200 OK"]
    for name, value in hdrs:
        low = name.lower()
        if low in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            resp.append("%s: %s" % (name, value))
        elif low in ("to", "t"):
            if ";tag=" not in value:
                value += ";tag=uas" + uuid.uuid4().hex[:8]
            resp.append("%s: %s" % (name, value))
        elif low == "record-route" and method == "INVITE":
            resp.append("%s: %s" % (name, value))
    if method == "INVITE":
        resp.append("Contact: <sip:uas@%s:%d>" % sock.getsockname())
    resp.append("Content-Length: 0")
    sock.sendto(("\r\n".join(resp) + "\r\n\r\n").encode(), addr)


def listen_answer(sock, data, addr, fh):
    """Note one datagram at the victim."""
    del sock, addr
    fh.write("GOT %s\n" % data.split(b"\r\n", 1)[0].decode("utf-8", "replace"))


class Client:
    """One socket to sipedged and the dialog state."""

    def __init__(self, args):
        self.args = args
        fam = socket.AF_INET
        kind = socket.SOCK_DGRAM if args.transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(fam, kind)
        self.sock.settimeout(args.timeout)
        if args.source:
            self.sock.bind((args.source, 0))
        self.sock.connect((args.host, args.port))
        self.buf = b""
        self.state = {}
        if args.state and os.path.exists(args.state):
            with open(args.state, encoding="utf-8") as fh:
                self.state = json.load(fh)

    def save(self):
        """Write the dialog state."""
        if self.args.state:
            with open(self.args.state, "w", encoding="utf-8") as fh:
                json.dump(self.state, fh)

    def send(self, text):
        """Send one message (CRLF ends)."""
        self.sock.sendall(text.encode())

    def read(self, timeout):
        """The next message, or None."""
        deadline = time.monotonic() + timeout
        while True:
            if self.args.transport == "udp":
                if self.buf:
                    msg, self.buf = self.buf, b""
                    return msg
            else:
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", self.buf[:end])
                    total = end + 4 + (int(m.group(1)) if m else 0)
                    if len(self.buf) >= total:
                        msg, self.buf = self.buf[:total], self.buf[total:]
                        return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def final(self, timeout):
        """The final response (provisionals printed and skipped), or None."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read(max(0.0, deadline - time.monotonic()))
            if msg is None:
                return None
            if not msg.startswith(b"SIP/2.0"):
                continue
            line, hdrs = headers(msg)
            out("RECV %s" % line)
            for w in [v for n, v in hdrs if n.lower() == "warning"]:
                out("HDR Warning: %s" % w)
            if re.match(r"SIP/2\.0 1\d\d", line):
                continue
            return line, hdrs

    def local(self):
        """Our host:port."""
        host, port = self.sock.getsockname()[:2]
        return "%s:%d" % (host, port)

    def via(self):
        """A fresh Via line."""
        return "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport" % (
            self.args.transport.upper(), self.local(), uuid.uuid4().hex[:16])

    def request(self, method, ruri, routes, to, callid, cseq, branch_via=None):
        """The text of a request."""
        lines = ["%s %s SIP/2.0" % (method, ruri), branch_via or self.via(),
                 "Max-Forwards: 70", "From: <sip:alice@client.test>;tag=%s" % self.state["from_tag"],
                 "To: %s" % to, "Call-ID: %s" % callid, "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:alice@%s;transport=%s>" % (self.local(), self.args.transport)]
        for r in routes:
            lines.append("Route: %s" % r)
        lines.append("Content-Length: 0")
        return "\r\n".join(lines) + "\r\n\r\n"

    def step_invite(self, uri, code):
        """A new dialog."""
        self.state = {"from_tag": uuid.uuid4().hex[:10], "call_id": uuid.uuid4().hex,
                      "cseq": 1, "uri": uri}
        self.send(self.request("INVITE", uri, [], "<%s>" % uri, self.state["call_id"], 1))
        res = self.final(self.args.timeout)
        if res is None:
            out("TIMEOUT")
            return code == "none"
        line, hdrs = res
        rr = values(hdrs, "Record-Route")
        for r in rr:
            out("RR %s" % r)
        if line.split(" ")[1].startswith("2"):
            self.state["to"] = first(hdrs, "To", "t")
            contact = first(hdrs, "Contact", "m") or "<%s>" % uri
            self.state["target"] = re.sub(r"^.*<([^>]*)>.*$", r"\1", contact)
            self.state["routes"] = list(reversed(rr))
        self.save()
        return line.split(" ")[1] == code

    def step_ack(self):
        """The ACK of the 2xx."""
        s = self.state
        self.send(self.request("ACK", s["target"], s["routes"], s["to"], s["call_id"], 1))
        return True

    def routes_for(self, spec):
        """The Route values of a spec."""
        r = self.state.get("routes", [])
        edge = "sip:%s:%d" % (self.args.host, self.args.port)
        if spec in ("", "dialog"):
            return r
        if spec == "self":
            return r[:1]
        if spec == "far":
            return r[1:2]
        if spec == "reversed":
            return list(reversed(r[:2])) + r[2:]
        if spec == "none":
            return []
        if spec == "edge":
            return ["<%s;lr>" % edge]
        if spec == "sez":
            return ["<%s;lr;sez=default>" % edge]
        if spec == "tamper":
            m = re.search(r"set=([A-Za-z0-9_-]+)", r[0])
            tok = m.group(1)
            i = len(tok) // 2
            swapped = "A" if tok[i] != "A" else "B"
            return [r[0].replace(tok, tok[:i] + swapped + tok[i + 1:])] + r[1:]
        return [spec]

    def step_req(self, method, code, spec, ruri, callid, in_dialog=True):
        """An in-dialog (or out-of-dialog) request."""
        s = self.state
        s["cseq"] = s.get("cseq", 1) + 1
        target = s.get("target", "") if ruri in ("", "target") else ruri
        if in_dialog:
            to = s["to"]
            cid = callid or s["call_id"]
        else:
            s.setdefault("from_tag", uuid.uuid4().hex[:10])
            to = "<%s>" % target
            cid = uuid.uuid4().hex
        self.send(self.request(method, target, self.routes_for(spec), to, cid, s["cseq"]))
        self.save()
        if method == "ACK":
            return True
        res = self.final(self.args.timeout)
        if res is None:
            out("TIMEOUT")
            return code == "none"
        return res[0].split(" ")[1] == code


def client(args):
    """Run the client steps."""
    c = Client(args)
    for step in args.steps:
        f = step.split(",")
        f += [""] * (6 - len(f))
        if f[0] == "invite":
            ok = c.step_invite(f[1], f[2] or "200")
        elif f[0] == "ack":
            ok = c.step_ack()
        elif f[0] == "req":
            ok = c.step_req(f[1], f[2] or "200", f[3], f[4], f[5])
        elif f[0] == "oodreq":
            ok = c.step_req(f[1], f[2] or "200", f[3], f[4], "", in_dialog=False)
        elif f[0] == "sleep":
            time.sleep(float(f[1]))
            ok = True
        else:
            print("FAIL unknown step %s" % step, file=sys.stderr)
            return 2
        if not ok:
            print("FAIL %s" % step, file=sys.stderr, flush=True)
            return 1
    return 0


def main():
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("uas", "listen", "client"))
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out")
    p.add_argument("--source")
    p.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    p.add_argument("--state")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("steps", nargs="*")
    args = p.parse_intermixed_args()
    if args.mode == "uas":
        return serve(args, uas_answer)
    if args.mode == "listen":
        return serve(args, listen_answer)
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
