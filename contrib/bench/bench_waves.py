#!/usr/bin/env python3
"""bench_waves.py: memory per idle TLS connection, memory given back after
waves of connections, memory per pending handshake (issue 15 points 2, 3).

    bench_waves.py [--builddir DIR] [--conns N] [--waves W] [--pending M]
                   [--interval MS] [--batch B] [--log-level L]

Starts its own sipedged (DIR/src/sipedged, default the tree this script is
in) on a free loopback port with the temporary certificate, raises its own
RLIMIT_NOFILE to the hard limit (the daemon inherits it), then:

  pending  open M (default 2000) TCP connections that each send the first
           half of a ClientHello and then wait; print the growth per
           pending handshake; close them and print the VmRSS;
  waves    W times (default 3): open N (default 5000) TLS connections,
           each a full handshake (verified, no client certificate), B
           (default 200) at a time, and leave them idle; print the
           daemon's VmRSS and the growth per connection over the
           baseline; close them all and print the VmRSS
           once the daemon has seen the closes (and its quiet-time
           trim, if any, has run), with its growth over the baseline.

Throughout, one established TLS client (the probe) sends OPTIONS
(answered by sipedged itself) every MS milliseconds (default 20); its
latency p50/p99/max is printed per phase.  Sources are spread over
127.0.0.x (x = 2..254) so no per-source limit or ephemeral port range is
reached.  With --log-level debug and KEEP_TMP=1 the daemon's log (kept)
shows each "heap trimmed" event with its duration.  Python 3 standard library only.  Not part of `make check`: a
measurement, see README.md for results.
"""
import argparse
import os
import resource
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import free_port, options, rss_kib, SipStream  # noqa: E402


def write_config(d, port, conns, pending, level):
    os.makedirs(os.path.join(d, "zones"))
    os.makedirs(os.path.join(d, "state"))
    with open(os.path.join(d, "sipedge.conf"), "w") as f:
        f.write("""node: { fqdn = "localhost"; };
daemon: { state_dir = "state"; pid_file = "sipedged.pid"; zones_dir = "zones";
          control_socket = "sipedged.ctl"; shutdown_grace = 1; };
log: { level = "%s"; file = "sipedged.log"; };
sip: { max_handshakes = %d; max_connections_per_source = %d;
       idle_timeout = 3600; };
tls: { handshake_timeout = 120; };
listen = ( { transport = "tls"; address = "127.0.0.1"; port = %d; } );
""" % (level, pending + 500, conns + pending, port))


class Probe(threading.Thread):
    """One established TLS client timing OPTIONS round trips; lat[phase]."""

    def __init__(self, port, ctx, interval):
        super().__init__(daemon=True)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.port, self.interval = port, interval / 1000.0
        self.stream, self.seq = SipStream(self.s), 0
        self.phase, self.lat = "idle", {}
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                self.seq += 1
                t0 = time.perf_counter()
                self.s.sendall(options(self.seq, self.port, "waves"))
                line = self.stream.response()
                if not line.startswith("SIP/2.0 200"):
                    raise RuntimeError("unexpected answer: " + line)
                self.lat.setdefault(self.phase, []).append(
                    (time.perf_counter() - t0) * 1000.0)
                self.stop.wait(self.interval)
        except Exception as e:      # reported at the end
            self.error = e


def source(i):
    return "127.0.0.%d" % (2 + i % 253)


def open_tls(port, ctx, n, batch):
    """n handshaken TLS connections, at most batch handshakes at a time."""
    sel = selectors.DefaultSelector()
    done, started, live = [], 0, 0
    deadline = time.monotonic() + 60 + n / 50
    while len(done) < n:
        while live < batch and started < n:
            raw = socket.socket()
            raw.bind((source(started), 0))
            raw.settimeout(10)
            raw.connect(("127.0.0.1", port))
            raw.setblocking(False)
            s = ctx.wrap_socket(raw, server_hostname="localhost",
                                do_handshake_on_connect=False)
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
            live += 1
        if time.monotonic() > deadline:
            raise SystemExit("handshakes too slow: %d of %d" % (len(done), n))
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
            except (OSError, ssl.SSLError) as e:
                raise SystemExit("handshake failed: %s" % e)
            sel.unregister(s)
            done.append(s)
            live -= 1
    sel.close()
    return done


def client_hello():
    """The bytes of a TLS ClientHello, from a memory BIO."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def open_pending(port, m):
    """m connections that sent half a ClientHello and wait."""
    half = client_hello()
    half = half[:len(half) // 2]
    socks = []
    for i in range(m):
        s = socket.socket()
        s.bind((source(i), 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(half)
        socks.append(s)
    return socks


def settle(pid, secs):
    """VmRSS once it has not moved for a second (at most secs seconds)."""
    last, end = rss_kib(pid), time.monotonic() + secs
    while time.monotonic() < end:
        time.sleep(1)
        now = rss_kib(pid)
        if now == last:
            break
        last = now
    return last


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--waves", type=int, default=3)
    ap.add_argument("--pending", type=int, default=2000)
    ap.add_argument("--interval", type=float, default=20)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--log-level", default="info")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The client and the daemon each hold one end of every connection,
    # each within its own limit.
    need = max(a.conns, a.pending) + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit("needs %d descriptors (in the client and in the "
                         "daemon), hard limit %d" % (need, hard))
    daemon = os.path.join(a.builddir, "src", "sipedged")
    if not os.access(daemon, os.X_OK):
        raise SystemExit("needs " + daemon)
    d = tempfile.mkdtemp(prefix="sipedge-waves-")
    port = free_port()
    write_config(d, port, a.conns, a.pending, a.log_level)
    log = os.path.join(d, "sipedged.log")
    p = subprocess.Popen([daemon, "-f", "-c", os.path.join(d, "sipedge.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=d)
    probe = None
    try:
        for _ in range(150):
            if os.path.exists(log) and "listener open" in open(log).read():
                break
            if p.poll() is not None:
                raise SystemExit("sipedged exited with %d; see %s" % (p.returncode, log))
            time.sleep(0.1)
        ctx = ssl.create_default_context(cafile=os.path.join(d, "state", "temp-ca.pem"))
        ctx.check_hostname = False
        probe = Probe(port, ctx, a.interval)
        probe.start()
        base = settle(p.pid, 5)
        print("sipedged %s, %d connections a wave, %d pending handshakes"
              % (daemon, a.conns, a.pending))
        print("%-14s %10s %14s" % ("step", "VmRSS KiB", "KiB per conn"))
        print("%-14s %10d %14s" % ("baseline", base, "-"))
        probe.phase = "pending"
        before = rss_kib(p.pid)
        socks = open_pending(port, a.pending)
        now = settle(p.pid, 10)
        print("%-14s %10d %14.1f" % ("pending", now, (now - before) / a.pending))
        for s in socks:
            s.close()
        probe.phase = "pending closed"
        time.sleep(2)
        now = settle(p.pid, 15)
        print("%-14s %10d %13.0f%%" % ("pending closed", now, 100.0 * (now - base) / base))
        for w in range(1, a.waves + 1):
            probe.phase = "wave %d open" % w
            conns = open_tls(port, ctx, a.conns, a.batch)
            now = settle(p.pid, 10)
            print("%-14s %10d %14.1f" % ("wave %d open" % w, now, (now - base) / a.conns))
            probe.phase = "wave %d closed" % w
            for c in conns:
                c.close()
            conns = None
            time.sleep(2)
            now = settle(p.pid, 15)
            print("%-14s %10d %13.0f%%" % ("wave %d closed" % w, now,
                                           100.0 * (now - base) / base))
        probe.stop.set()
        probe.join()
        if probe.error is not None:
            raise SystemExit("probe failed: %s" % probe.error)
        print("%-16s %7s %9s %9s %9s" % ("probe phase", "answers", "p50 (ms)",
                                          "p99 (ms)", "max (ms)"))
        for ph, lat in probe.lat.items():
            print("%-16s %7d %9.2f %9.2f %9.2f" % (ph, len(lat), pct(lat, 50),
                                                   pct(lat, 99), max(lat)))
    finally:
        if probe is not None:
            probe.stop.set()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if os.environ.get("KEEP_TMP"):
            print("kept " + d)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
