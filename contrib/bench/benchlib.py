"""benchlib.py: what the contrib/bench scripts share: free ports, a
process's memory and CPU from /proc, and a SIP stream that times OPTIONS
round trips on an established (TLS) connection.  Python 3, stdlib only."""
import os
import re
import socket


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """VmRSS of pid in KiB (/proc)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %d" % pid)


def cpu_seconds(pid):
    """User + system CPU seconds of pid (/proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def options(seq, port, name):
    """An OPTIONS to sipedged itself (answered 200 by it)."""
    return ("OPTIONS sip:localhost:%d SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-%s-%d\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:bench@127.0.0.1>;tag=bench\r\n"
            "To: <sip:localhost:%d>\r\n"
            "Call-ID: bench-%s-%d@127.0.0.1\r\n"
            "CSeq: %d OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n" % (port, name, seq, port, name, seq,
                                            seq)).encode()


class SipStream:
    """Messages framed by Content-Length on a connected socket s."""

    def __init__(self, s):
        self.s = s
        self.buf = b""

    def response(self):
        """The start line of the next whole message (its body skipped)."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode("utf-8", "replace")
                m = re.search(r"(?im)^(content-length|l)\s*:\s*(\d+)", head)
                total = end + 4 + (int(m.group(2)) if m else 0)
                if len(self.buf) >= total:
                    self.buf = self.buf[total:]
                    return head.split("\r\n", 1)[0]
            data = self.s.recv(65536)
            if not data:
                raise ConnectionError("sipedged closed the connection")
            self.buf += data
