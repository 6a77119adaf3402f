#!/usr/bin/env python3
"""bench_flood.py: an established TLS client's OPTIONS latency during a
flood of TLS handshakes (issue 11 point 4).

    bench_flood.py [--builddir DIR] [--time SECS] [--interval MS]
                   [--flooders N] [--silent N] [--max-handshakes N]
                   [--per-source N]

Starts its own sipedged (DIR/src/sipedged, default the tree this script is
in) on a free loopback port with the temporary certificate, then runs two
phases of SECS seconds (default 10) each:

  quiet   one established TLS client sends OPTIONS (answered by sipedged
          itself) every MS milliseconds (default 20) and times each answer;
  flood   the same, while N (default 2) `openssl s_time -connect
          127.0.0.1:PORT -new -time SECS` clients make full handshakes
          back to back from the same address, and, with --silent N, N
          more connections to the TLS port that send nothing hold
          handshake slots (refused once sip.max_handshakes, set with
          --max-handshakes, is reached).

For each phase it prints the number of OPTIONS answered, their latency
p50/p99/max in milliseconds, the handshakes the flooders completed, and
the daemon's CPU time; at the end the refusal and deadline counters of
`sipedge-ctl --json status`.  Python 3 standard library and the openssl
command only.  Not part of `make check`: a measurement.
"""
import argparse
import json
import os
import re
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
from benchlib import cpu_seconds, free_port, options, SipStream  # noqa: E402


def write_config(d, port, max_hs, per_source):
    os.makedirs(os.path.join(d, "zones"))
    os.makedirs(os.path.join(d, "state"))
    with open(os.path.join(d, "sipedge.conf"), "w") as f:
        f.write("""node: { fqdn = "localhost"; };
daemon: { state_dir = "state"; pid_file = "sipedged.pid"; zones_dir = "zones";
          control_socket = "sipedged.ctl"; shutdown_grace = 1; };
log: { level = "info"; file = "sipedged.log"; };
sip: { max_handshakes = %d; max_connections_per_source = %d; };
tls: { handshake_timeout = 5; };
listen = ( { transport = "tls"; address = "127.0.0.1"; port = %d; } );
""" % (max_hs, per_source, port))


class Client:
    """One established TLS connection that times OPTIONS round trips."""

    def __init__(self, port, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.stream = SipStream(self.s)
        self.port = port
        self.seq = 0

    def ping(self):
        self.seq += 1
        t0 = time.perf_counter()
        self.s.sendall(options(self.seq, self.port, "flood"))
        line = self.stream.response()
        if not line.startswith("SIP/2.0 200"):
            raise RuntimeError("unexpected answer: " + line)
        return (time.perf_counter() - t0) * 1000.0


def run_phase(client, secs, interval_ms):
    out = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        out.append(client.ping())
        time.sleep(interval_ms / 1000.0)
    return out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def report(name, lat, cpu, handshakes):
    print("%-6s %7d %9.2f %9.2f %9.2f %11s %8.2f" % (
        name, len(lat), pct(lat, 50), pct(lat, 99), max(lat),
        handshakes, cpu))


def silent_holder(port, n, stop):
    """Keep n connections to port that never send a byte, reopening each
    one the daemon closes (refused at once, or at the handshake deadline)."""
    socks = []
    while not stop.is_set():
        while len(socks) < n and not stop.is_set():
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        alive = []
        for s in socks:
            s.setblocking(False)
            try:
                gone = s.recv(1) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                s.close()
            else:
                alive.append(s)
        socks = alive
        stop.wait(0.05)
    for s in socks:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--time", type=int, default=10)
    ap.add_argument("--interval", type=float, default=20)
    ap.add_argument("--flooders", type=int, default=2)
    ap.add_argument("--silent", type=int, default=0)
    ap.add_argument("--max-handshakes", type=int, default=1000)
    ap.add_argument("--per-source", type=int, default=1000)
    a = ap.parse_args()
    daemon = os.path.join(a.builddir, "src", "sipedged")
    ctl = os.path.join(a.builddir, "src", "sipedge-ctl")
    if not os.access(daemon, os.X_OK) or shutil.which("openssl") is None:
        raise SystemExit("needs %s and the openssl command" % daemon)
    d = tempfile.mkdtemp(prefix="sipedge-bench-")
    port = free_port()
    write_config(d, port, a.max_handshakes, a.per_source)
    log = os.path.join(d, "sipedged.log")
    p = subprocess.Popen([daemon, "-f", "-c", os.path.join(d, "sipedge.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=d)
    floods, stop = [], threading.Event()
    try:
        for _ in range(150):
            if os.path.exists(log) and "listener open" in open(log).read():
                break
            if p.poll() is not None:
                raise SystemExit("sipedged exited with %d; see %s" % (p.returncode, log))
            time.sleep(0.1)
        ca = os.path.join(d, "state", "temp-ca.pem")
        client = Client(port, ca)
        client.ping()       # warm up
        print("phase  answers  p50 (ms)  p99 (ms)  max (ms)  handshakes  cpu (s)")
        c0 = cpu_seconds(p.pid)
        report("quiet", run_phase(client, a.time, a.interval), cpu_seconds(p.pid) - c0, "-")
        holder = None
        if a.silent > 0:
            holder = threading.Thread(target=silent_holder, args=(port, a.silent, stop))
            holder.start()
        for _ in range(a.flooders):
            floods.append(subprocess.Popen(
                ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-new",
                 "-time", str(a.time)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        time.sleep(0.5)
        c0 = cpu_seconds(p.pid)
        lat = run_phase(client, a.time - 1, a.interval)
        cpu = cpu_seconds(p.pid) - c0
        stop.set()
        if holder is not None:
            holder.join()
        done = 0
        for f in floods:
            out = f.communicate(timeout=a.time + 30)[0]
            m = re.search(r"(\d+) connections in [\d.]+s", out)
            done += int(m.group(1)) if m else 0
        floods = []
        report("flood", lat, cpu, str(done))
        st = json.loads(subprocess.run([ctl, "-s", os.path.join(d, "sipedged.ctl"),
                                        "--json", "status"], capture_output=True,
                                       text=True, timeout=20).stdout)
        print("refused:   " + " ".join("%s %d" % kv for kv in st["refused"].items()))
        print("deadlines: " + " ".join("%s %d" % kv for kv in st["deadlines"].items()))
        print("limits:    " + " ".join("%s %d" % kv for kv in st["limits"].items()))
    finally:
        stop.set()
        for f in floods:
            f.kill()
            f.wait()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if os.environ.get("KEEP_TMP"):
            print("kept " + d)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
