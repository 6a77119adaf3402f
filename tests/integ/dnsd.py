#!/usr/bin/env python3
"""dnsd.py: a tiny UDP DNS server for the tests, on loopback only.

    dnsd.py --port-file F [--addr 127.0.0.1] [--log F] [--delay S]
            [--mode normal|silent|servfail|spoof|truncate] RECORD...

RECORD is NAME=TYPE:DATA, TYPE one of
    SRV:PRIO:WEIGHT:PORT:TARGET   (TARGET "." for "service not available")
    A:IPv4   AAAA:IPv6   CNAME:NAME

A query for a name with no record at all gets NXDOMAIN; a name with records
of other types only, an empty NOERROR.  A CNAME is answered together with
the records of its target.  Owner names equal to the question are written
as compression pointers to it (0xc00c).

Modes: silent never answers (but logs); servfail answers SERVFAIL; spoof
first sends an answer with the wrong id holding the bogus target
"spoofed.invalid", then the real one; truncate sets TC and drops the last
answer record.  --delay S answers S seconds late (other queries are still
served meanwhile).  The bound port is written to --port-file once the
socket is ready; every query is logged to --log as
"QNAME QTYPE id=ID port=SOURCEPORT".
"""
import argparse
import os
import socket
import struct
import sys
import threading

TYPES = {"A": 1, "CNAME": 5, "AAAA": 28, "SRV": 33}


def encode_name(name):
    out = b""
    name = name.rstrip(".")
    if name:
        for label in name.split("."):
            raw = label.encode()
            if not 0 < len(raw) < 64:
                raise ValueError("bad label in %r" % name)
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_records(specs):
    zone = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        kind, _, data = rest.partition(":")
        kind = kind.upper()
        if kind not in TYPES or not name or not data:
            sys.exit("dnsd: bad record %r" % spec)
        if kind == "SRV":
            prio, weight, port, target = data.split(":", 3)
            rdata = struct.pack("!HHH", int(prio), int(weight), int(port))
            rdata += encode_name("" if target == "." else target)
        elif kind == "A":
            rdata = socket.inet_pton(socket.AF_INET, data)
        elif kind == "AAAA":
            rdata = socket.inet_pton(socket.AF_INET6, data)
        else:
            rdata = encode_name(data)
        zone.setdefault(name.lower().rstrip("."), []).append(
            (TYPES[kind], rdata, data))
    return zone


def read_question(msg):
    """The first question: (name, qtype, end offset); no compression."""
    off, labels = 12, []
    while True:
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n >= 64:
            raise ValueError("compressed or bad question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    qtype, _qclass = struct.unpack("!HH", msg[off:off + 4])
    return ".".join(labels), qtype, off + 4


def answer(zone, msg, mode):
    """The response to query msg, or None to stay silent."""
    qid, flags = struct.unpack("!HH", msg[:4])
    qname, qtype, qend = read_question(msg)
    question = msg[12:qend]
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080  # QR AA RD RA
    rrs = []
    name, owner_ptr, hops = qname.lower(), True, 0
    rcode = 0
    if mode == "servfail":
        rcode = 2
    elif name not in zone:
        rcode = 3
    while rcode == 0 and name in zone and hops < 8:
        records = zone[name]
        owner = b"\xc0\x0c" if owner_ptr else encode_name(name)
        cnames = [r for r in records if r[0] == TYPES["CNAME"]]
        if cnames and qtype != TYPES["CNAME"]:
            rrs.append(owner + struct.pack("!HHIH", 5, 1, 60,
                                           len(cnames[0][1])) + cnames[0][1])
            name, owner_ptr, hops = cnames[0][2].lower().rstrip("."), False, hops + 1
            continue
        for rtype, rdata, _ in records:
            if rtype == qtype:
                rrs.append(owner + struct.pack("!HHIH", rtype, 1, 60,
                                               len(rdata)) + rdata)
        break
    if mode == "truncate" and rrs:
        rflags |= 0x0200
        rrs = rrs[:-1]
    header = struct.pack("!HHHHHH", qid, rflags | rcode, 1, len(rrs), 0, 0)
    return header + question + b"".join(rrs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "silent", "servfail", "spoof",
                             "truncate"])
    ap.add_argument("records", nargs="*")
    args = ap.parse_args()
    zone = parse_records(args.records)

    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.addr, 0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.rename(tmp, args.port_file)
    log = open(args.log, "a", buffering=1) if args.log else None

    def send(data, peer):
        try:
            sock.sendto(data, peer)
        except OSError:
            pass

    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            qname, qtype, _ = read_question(msg)
        except (ValueError, IndexError, struct.error):
            continue
        if log:
            log.write("%s %d id=%d port=%d\n" % (
                qname, qtype, struct.unpack("!H", msg[:2])[0], peer[1]))
        if args.mode == "silent":
            continue
        try:
            resp = answer(zone, msg, args.mode)
        except (ValueError, IndexError, struct.error):
            continue
        if args.mode == "spoof":
            bogus = dict(zone)
            bogus[qname.lower()] = [(33, struct.pack("!HHH", 0, 0, 1) +
                                     encode_name("spoofed.invalid"), "")]
            fake = answer(bogus, msg, "normal")
            wrong = (struct.unpack("!H", msg[:2])[0] + 1) & 0xffff
            send(struct.pack("!H", wrong) + fake[2:], peer)
        if args.delay > 0:
            timer = threading.Timer(args.delay, send, (resp, peer))
            timer.daemon = True
            timer.start()
        else:
            send(resp, peer)


if __name__ == "__main__":
    main()
