#!/usr/bin/env python3
"""bench_kamailio.py: sipedged and Kamailio side by side, relaying SIP over
mutual TLS, CPU per relayed transaction or call (issue 14).

    bench_kamailio.py [--builddir DIR] [--runs N] [--time SECS] [--quick]
                      [--cases options,call,newconn] [--options-rate N]
                      [--call-rate N] [--newconn-rate N] [--resumed-rate N]
                      [--proxies sipedged,kamailio] [--profile FILE]
                      [--syscalls] [--kamailio PATH] [--keep]

One run sets up, in a temporary directory: a lab CA and ECDSA P-256
certificates made by `sipedge-cert lab-ca` (the proxies 127.0.0.1, the UAS
127.0.0.2, the UAC 127.0.0.3); a UAS (contrib/bench/sipload --role uas,
TLS on 127.0.0.2, demanding a client certificate); sipedged (a TLS listener
on 127.0.0.1, the default zone demanding client certificates, one neighbor
zone whose peer is the UAS, one search rule sending everything there);
Kamailio (transaction-stateful: tm's t_relay, record_route, loose_route
for in-dialog requests; tcp_children=2; TLS on 127.0.0.1 only, mutual TLS
both ways, everything relayed to the UAS's TLS address).  Each proxy is
pinned to CPU 0 with taskset; the UAC and the UAS run on CPU 1.

The cases, each SECS seconds (default 10) at a fixed offered rate:

  options  OPTIONS over one persistent TLS connection (1,000/s)
  call     INVITE/180/200/ACK/BYE/200 over one persistent TLS connection
           (500 calls/s)
  newconn  the same call on a new TLS connection each (200 calls/s)
  resumed  (only when asked for) newconn with the UAC offering its last
           TLS session again: the cost of a resumed connection's call;
           the per-run line says how many handshakes were resumed

For every case, run and proxy (interleaved: run 1 of every case on both
proxies, then run 2, ...) the CPU time (utime + stime from /proc, summed
over every process of the proxy) during the UAC's run is divided by the
calls (or OPTIONS) completed.  The table shows the median of the runs
[min-max], the ratio sipedged/kamailio of the medians, the median of the
per-run ratios (the two proxies of one run are measured back to back, so
a run disturbed by other jobs moves both), and the UAC's latency p50/p99
and failures.  With --profile FILE, one more run of sipedged (the case
--profile-case, default call) is recorded with `perf record` into FILE
and the top of `perf report` (by shared object, then by symbol) is
printed.

--quick: one run of 2 s per case (a smoke run, numbers meaningless).
Python 3 standard library; needs taskset, the built tree (src/sipedged,
src/sipedge-cert, contrib/bench/sipload: `make bench`), and for Kamailio
Debian's kamailio and kamailio-tls-modules.  Every process is stopped by
its PID; every wait is bounded.  Not part of `make check`: a measurement.
"""
import argparse
import glob
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_idle_tls import idle_growth  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KAM_TEMPLATE = os.path.join(HERE, "..", "kamailio-relay.cfg")   # shared with tests/integ/kamlib.sh
PROXY_IP, UAS_IP, UAC_IP = "127.0.0.1", "127.0.0.2", "127.0.0.3"
PROXY_CPU, GEN_CPU = "0", "1"
CASES = {
    # name: (scenario, new connection per call, default rate, what is counted)
    "options": ("options", False, 1000, "OPTIONS"),
    "call": ("call", False, 500, "call"),
    "newconn": ("call", True, 200, "call"),
    # not in the default list: the UAC offers its last TLS session again
    "resumed": ("call", True, 200, "call"),
}
LIMIT = 3600            # every process we start is killed after this long


def free_port(ip):
    """A TCP port free on ip now."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def listening(ip, port):
    """Whether something accepts TCP connections on ip:port."""
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


def tree_cpu(root, split=False):
    """utime + stime in seconds of root and all its descendants (/proc);
    with split, the pair (utime, stime)."""
    parent, cpu = {}, {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.split("/")[2])
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]), int(fields[12]))
    user = system = 0
    for pid, (ut, st) in cpu.items():
        p, hops = pid, 0
        while p > 1 and p != root and hops < 64:
            p, hops = parent.get(p, 0), hops + 1
        if p == root:
            user, system = user + ut, system + st
    hz = os.sysconf("SC_CLK_TCK")
    if split:
        return user / hz, system / hz
    return (user + system) / hz


def child_of(pid):
    """The first child process of pid (the program `timeout` runs), or pid."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    return int(stat.split("/")[2])
        except (OSError, ValueError, IndexError):
            continue
    return pid


def run(cmd, **kw):
    """Run cmd, failing the benchmark with its output if it fails."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if r.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def stop(p, name):
    """Stop process p (TERM, then KILL after 10 s) and reap it."""
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print("%s did not stop on TERM: killed" % name, file=sys.stderr)
        p.kill()
        p.wait()


class Bench:
    """The temporary directory, the certificates and the processes."""

    def __init__(self, a):
        self.a = a
        self.d = tempfile.mkdtemp(prefix="sipedge-kam-")
        self.procs = []
        self.sipload = os.path.join(a.builddir, "contrib", "bench", "sipload")
        self.sipedged = os.path.join(a.builddir, "src", "sipedged")
        self.cert = os.path.join(a.builddir, "src", "sipedge-cert")
        self.uas_port = free_port(UAS_IP)
        self.ports = {"sipedged": free_port(PROXY_IP), "kamailio": free_port(PROXY_IP)}
        self.pids = {}

    def path(self, *p):
        return os.path.join(self.d, *p)

    def start(self, cmd, name, cpu, **kw):
        """Start cmd pinned to cpu under `timeout`, its output in a file."""
        out = open(self.path(name + ".out"), "w")
        p = subprocess.Popen(["taskset", "-c", cpu, "timeout", "-s", "KILL", str(LIMIT)] + cmd,
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=self.d, **kw)
        out.close()
        self.procs.append((p, name))
        return p

    def pki(self):
        """A lab CA and a certificate for each of the three addresses."""
        ca = self.path("ca")
        run([self.cert, "lab-ca", "init", "--dir", ca])
        for name, cn, san in (("proxy", PROXY_IP, "localhost"), ("uas", UAS_IP, None),
                              ("uac", UAC_IP, "uac.test")):
            cmd = [self.cert, "lab-ca", "issue", "--dir", ca, "--cn", cn,
                   "--out", self.path(name)]
            if san:
                cmd += ["--san", san]
            # The proxy's key type (bench_hs_threads.py --proxy-key).
            if name == "proxy" and getattr(self.a, "proxy_key", "ec") != "ec":
                cmd += ["--key-type", self.a.proxy_key]
            run(cmd)
        self.ca = os.path.join(ca, "ca.pem")

    def tls_args(self, who):
        return ["--cert", self.path(who + "-chain.pem"), "--key", self.path(who + ".key"),
                "--ca", self.ca]

    def start_uas(self):
        p = self.start([self.sipload, "--role", "uas", "--listen",
                        "%s:%d" % (UAS_IP, self.uas_port)] + self.tls_args("uas"),
                       "uas", GEN_CPU)
        self.wait_listen(UAS_IP, self.uas_port, p, "uas")

    def wait_listen(self, ip, port, p, name):
        for _ in range(150):
            if p.poll() is not None:
                raise SystemExit("%s exited with %d:\n%s" % (
                    name, p.returncode, open(self.path(name + ".out")).read()[-3000:]))
            if listening(ip, port):
                return
            time.sleep(0.1)
        raise SystemExit("%s does not listen on %s:%d" % (name, ip, port))

    def start_sipedged(self):
        d = self.path("sipedged")
        os.makedirs(os.path.join(d, "zones"))
        os.makedirs(os.path.join(d, "state"))
        with open(os.path.join(d, "sipedge.conf"), "w") as f:
            f.write("""# Written by contrib/bench/bench_kamailio.py.
node: { fqdn = "localhost"; };
daemon: { state_dir = "state"; pid_file = "sipedged.pid"; zones_dir = "zones";
          control_socket = "sipedged.ctl"; shutdown_grace = 1; };
log: { level = "info"; file = "sipedged.log"; };
tls: { certificate = "%s"; private_key = "%s"; trust = "%s";
       expiry_warning_days = 0; };
default_zone: { tls_verify = true; };
listen = ( { transport = "tls"; address = "%s"; port = %d; } );
search_rules = (
  { priority = 10; name = "all to the uas"; match = "any"; target_zone = "uas"; }
);
""" % (self.path("proxy-chain.pem"), self.path("proxy.key"), self.ca, PROXY_IP,
                self.ports["sipedged"]))
        with open(os.path.join(d, "zones", "uas.conf"), "w") as f:
            f.write('name = "uas";\ntype = "neighbor";\ntransport = "tls";\n'
                    'port = %d;\npeers = [ "%s" ];\ntls_verify = true;\n'
                    % (self.uas_port, UAS_IP))
        run([self.sipedged, "-t", "-c", os.path.join(d, "sipedge.conf")], cwd=d)
        p = self.start([self.sipedged, "-f", "-c", os.path.join(d, "sipedge.conf")],
                       "sipedged", PROXY_CPU)
        self.wait_listen(PROXY_IP, self.ports["sipedged"], p, "sipedged")
        self.pids["sipedged"] = p.pid

    def kam_modules(self):
        for d in glob.glob("/usr/lib/*/kamailio/modules") + ["/usr/lib/kamailio/modules"]:
            if os.path.exists(os.path.join(d, "tls.so")):
                return d
        return None

    def start_kamailio(self):
        mods = self.kam_modules()
        if shutil.which(self.a.kamailio) is None or mods is None:
            raise SystemExit("kamailio or its tls module is not installed "
                             "(Debian: kamailio kamailio-tls-modules); try --proxies sipedged")
        d = self.path("kam")
        os.makedirs(d)
        with open(os.path.join(d, "tls.cfg"), "w") as f:
            for side in ("server", "client"):
                f.write("[%s:default]\nmethod = TLSv1.2+\nverify_certificate = yes\n"
                        "require_certificate = yes\nverify_depth = 3\ncertificate = %s\n"
                        "private_key = %s\nca_list = %s\n\n"
                        % (side, self.path("proxy-chain.pem"), self.path("proxy.key"), self.ca))
        with open(KAM_TEMPLATE) as f:
            cfg = f.read()
        fields = {"LISTEN": "listen=tls:%s:%d" % (PROXY_IP, self.ports["kamailio"]),
                  "MPATH": mods, "DIR": d, "BY_SOURCE": "",
                  "DEST": "sip:%s:%d;transport=tls" % (UAS_IP, self.uas_port)}
        for k, v in fields.items():
            cfg = cfg.replace("@%s@" % k, v)
        with open(os.path.join(d, "kamailio.cfg"), "w") as f:
            f.write(cfg)
        cfg = os.path.join(d, "kamailio.cfg")
        run([self.a.kamailio, "-c", "-f", cfg, "-Y", d], cwd=d)
        # -DD: the main process stays in the foreground with its children;
        # -E: log to stderr; -Y, -w: runtime files in d.
        p = self.start([self.a.kamailio, "-DD", "-E", "-f", cfg, "-Y", d, "-w", d,
                        "-P", os.path.join(d, "kamailio.pid"), "-m", "256", "-M", "16",
                        "-x", "tlsf"],
                       "kamailio", PROXY_CPU)
        self.wait_listen(PROXY_IP, self.ports["kamailio"], p, "kamailio")
        self.pids["kamailio"] = p.pid

    def uac(self, proxy, case, rate, secs, quiet=True):
        """One UAC run against proxy; its key=value line as a dict."""
        scen, newconn, _, _ = CASES[case]
        cmd = ["taskset", "-c", GEN_CPU, "timeout", "-s", "KILL", str(int(secs) + 60),
               self.sipload, "--role", "uac", "--scenario", scen,
               "--target", "%s:%d" % (PROXY_IP, self.ports[proxy]), "--bind", UAC_IP,
               "--uri", "sip:bench@%s" % UAS_IP, "--rate", str(rate),
               "--duration", str(secs), "--max-outstanding", "2000", "--timeout", "5",
               "--quiet"] + self.tls_args("uac")
        if newconn:
            cmd.append("--new-conn")
        if case == "resumed":
            cmd.append("--resume")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 90)
        last = [ln for ln in r.stdout.splitlines() if ln.startswith("sipload ")]
        if not last:
            raise SystemExit("sipload gave no result (%d):\n%s%s" % (
                r.returncode, r.stdout, r.stderr))
        kv = dict(f.split("=", 1) for f in last[-1].split()[1:])
        return kv

    def measure(self, proxy, case, rate, secs):
        """CPU of proxy per completed call or request, and the UAC's line."""
        root = self.pids[proxy]
        u0, s0 = tree_cpu(root, split=True)
        kv = self.uac(proxy, case, rate, secs)
        u1, s1 = tree_cpu(root, split=True)
        cpu = (u1 - u0) + (s1 - s0)
        done = int(kv["completed"])
        kv["uac_cpu_s"] = kv["cpu_s"]       # sipload's own
        kv["cpu_s"] = cpu
        kv["us_per"] = cpu / done * 1e6 if done else float("nan")
        # The kernel's part (stime): on a VM the loopback send path's
        # softirq runs inside the sender's write and is counted here.
        kv["sys_us_per"] = (s1 - s0) / done * 1e6 if done else float("nan")
        return kv

    def stop_all(self):
        for p, name in reversed(self.procs):
            stop(p, name)


def fmt_us(v):
    """A CPU time per item in microseconds, as the table shows it."""
    if v != v:          # NaN: nothing completed
        return "-"
    return "%.2f ms" % (v / 1000) if v >= 1000 else "%.0f µs" % v


def why_failed(kv):
    """The UAC's failures by reason, when there are any."""
    why = ["%s %s" % (k[7:], v) for k, v in kv.items()
           if k.startswith("failed_") and v != "0"]
    if kv.get("throttled", "0") != "0":
        why.append("throttled %s" % kv["throttled"])
    if kv.get("resumed", "0") != "0":
        why.append("resumed %s of %s handshakes" % (kv["resumed"], kv["handshakes"]))
    return "  (" + ", ".join(why) + ")" if why else ""


def cell(vals):
    """median [min-max] of a list of µs values."""
    if not vals:
        return "-"
    return "%s [%s–%s]" % (fmt_us(statistics.median(vals)), fmt_us(min(vals)),
                           fmt_us(max(vals)))


def profile(b, proxy, case, rate, secs, out):
    """perf record -g of a proxy (all its processes) during one run of case;
    the samples by object and symbol, and by object in µs per item."""
    if shutil.which("perf") is None:
        print("perf is not installed: no profile")
        return
    pids = [p for p in tree_pids(b.pids[proxy]) if p != b.pids[proxy] or proxy == "kamailio"]
    freq = 4000
    perf = subprocess.Popen(["perf", "record", "-F", str(freq), "--call-graph", b.a.call_graph,
                             "-o", out, "-p", ",".join(map(str, pids)), "--",
                             "sleep", str(secs + 1)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    kv = b.uac(proxy, case, rate, secs)
    try:
        err = perf.communicate(timeout=secs + 60)[1]
    except subprocess.TimeoutExpired:
        perf.kill()
        err = perf.communicate()[1]
    if perf.returncode != 0:
        print("perf record failed (%d): %s" % (perf.returncode, err.strip()[-500:]))
        return
    done = int(kv["completed"])
    print("\nprofile of %s, case %s, %s completed at %s/s: %s" % (
        proxy, case, kv["completed"], rate, out))
    r = subprocess.run(["perf", "report", "-i", out, "--stdio", "--no-children", "-n",
                        "--sort", "dso", "-g", "none"], capture_output=True, text=True,
                       timeout=300)
    per = []
    for ln in r.stdout.splitlines():
        f = ln.split()
        if len(f) >= 3 and not ln.startswith("#") and f[0].endswith("%") and f[1].isdigit():
            per.append("%s %.0f µs" % (f[2], int(f[1]) * 1e6 / freq / done if done else 0))
    print("CPU per item by object (samples at %d Hz): %s" % (freq, ", ".join(per[:8])))
    for sort in ("dso", "dso,sym"):
        r = subprocess.run(["perf", "report", "-i", out, "--stdio", "--no-children",
                            "--sort", sort, "--percent-limit", "1.5" if sort == "dso" else "0.8",
                            "-g", "none"], capture_output=True, text=True, timeout=300)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        print("\n".join(lines[:40]) or r.stderr.strip())
        print()


def tree_pids(root):
    """root and all its descendants (/proc)."""
    parent = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                parent[int(stat.split("/")[2])] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    out = []
    for pid in parent:
        p, hops = pid, 0
        while p > 1 and p != root and hops < 64:
            p, hops = parent.get(p, 0), hops + 1
        if p == root:
            out.append(pid)
    return sorted(out)


def syscalls(b, proxy, rate, secs):
    """strace -c of a proxy (all its processes) during one persistent call
    run: system calls per relayed call."""
    if shutil.which("strace") is None:
        print("strace is not installed: no system call counts")
        return
    out = b.path("strace-%s.txt" % proxy)
    cmd = ["strace", "-c", "-f", "-o", out]
    for pid in tree_pids(b.pids[proxy]):
        if pid != b.pids[proxy] or proxy == "kamailio":
            cmd += ["-p", str(pid)]
    st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    kv = b.uac(proxy, "call", rate, secs)
    st.send_signal(signal.SIGINT)
    try:
        st.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        st.kill()
        st.communicate()
    calls = int(kv["completed"])
    if not os.path.exists(out) or os.path.getsize(out) == 0 or calls == 0:
        print("strace failed (%s); no system call counts" % st.returncode)
        return
    rows = []
    for ln in open(out):
        f = ln.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
            rows.append((int(f[3]), f[-1]))
    rows.sort(reverse=True)
    total = sum(n for n, _ in rows)
    print("\nsystem calls of %s (strace -c -f) per relayed call, %d calls at %s/s "
          "(strace slows it down): %.1f in all" % (proxy, calls, rate, total / calls))
    print("  " + ", ".join("%s %.2f" % (name, n / calls) for n, name in rows[:12]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time", type=float, default=10)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cases", default="options,call,newconn")
    ap.add_argument("--proxies", default="sipedged,kamailio")
    ap.add_argument("--options-rate", type=float, default=CASES["options"][2])
    ap.add_argument("--call-rate", type=float, default=CASES["call"][2])
    ap.add_argument("--newconn-rate", type=float, default=CASES["newconn"][2])
    ap.add_argument("--resumed-rate", type=float, default=CASES["resumed"][2])
    ap.add_argument("--profile", metavar="FILE")
    ap.add_argument("--call-graph", default="fp", metavar="HOW",
                    help="perf record --call-graph: fp (default) or dwarf (slow; sees "
                    "through OpenSSL and libc, which have no frame pointers)")
    ap.add_argument("--profile-case", default="call", choices=sorted(CASES),
                    help="the case --profile records (default: call)")
    ap.add_argument("--syscalls", action="store_true",
                    help="count each proxy's system calls per call (strace -c)")
    ap.add_argument("--kamailio", default="kamailio")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--idle-tls", type=int, default=0, metavar="N",
                    help="first N idle TLS connections to sipedged: its memory per connection")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.time = 1, 2
    cases = [c for c in a.cases.split(",") if c]
    proxies = [p for p in a.proxies.split(",") if p]
    if any(c not in CASES for c in cases) or any(
            p not in ("sipedged", "kamailio") for p in proxies) or not cases or not proxies:
        raise SystemExit("unknown case or proxy (cases: %s; proxies: sipedged, kamailio)"
                         % ", ".join(CASES))
    if a.runs < 1 or a.runs > 50 or a.time <= 0 or a.time > 600:
        raise SystemExit("--runs 1..50 and --time 0..600, please")
    rates = {"options": a.options_rate, "call": a.call_rate, "newconn": a.newconn_rate,
             "resumed": a.resumed_rate}
    if shutil.which("taskset") is None or os.cpu_count() < 2:
        raise SystemExit("needs taskset and two CPUs")
    b = Bench(a)
    for exe in (b.sipload, b.sipedged, b.cert):
        if not os.access(exe, os.X_OK):
            raise SystemExit("needs %s (build the tree, then `make bench`)" % exe)
    res = {(c, p): [] for c in cases for p in proxies}
    try:
        b.pki()
        b.start_uas()
        if "sipedged" in proxies:
            b.start_sipedged()
        if "kamailio" in proxies:
            b.start_kamailio()
        if a.idle_tls > 0 and "sipedged" in proxies:
            print("sipedged, idle TLS connections before any load (mutual TLS, bench_idle_tls.py):")
            idle_growth(child_of(b.pids["sipedged"]), PROXY_IP, b.ports["sipedged"], b.ca,
                        [a.idle_tls // 4, a.idle_tls // 2, a.idle_tls],
                        b.path("uac-chain.pem"), b.path("uac.key"))
            print()
        for p in proxies:       # warm up: connections to the UAS open, caches filled
            kv = b.uac(p, "call", 50, 1)
            if kv["failed"] != "0" or kv["completed"] == "0":
                raise SystemExit("%s does not relay calls: %s; see %s" % (
                    p, " ".join("%s=%s" % x for x in kv.items()), b.d))
        print("%-8s %-9s %4s %9s %9s %7s %10s %10s %10s %10s %8s" % (
            "case", "proxy", "run", "offered/s", "done/s", "failed", "p50 ms",
            "p99 ms", "cpu/item", "of it sys", "uac cpu"))
        for r in range(a.runs):
            for c in cases:
                for p in (proxies if r % 2 == 0 else list(reversed(proxies))):
                    kv = b.measure(p, c, rates[c], a.time)
                    res[(c, p)].append(kv)
                    print("%-8s %-9s %4d %9.0f %9s %7s %10.3f %10.3f %10s %10s %7.1fs%s" % (
                        c, p, r + 1, rates[c], kv["achieved_per_s"], kv["failed"],
                        int(kv["call_p50_us"]) / 1000, int(kv["call_p99_us"]) / 1000,
                        fmt_us(kv["us_per"]), fmt_us(kv["sys_us_per"]),
                        float(kv["uac_cpu_s"]), why_failed(kv)),
                        flush=True)
        print("\nCPU per relayed %s, median [min–max] of %d run%s of %g s; ratio = "
              "sipedged/kamailio of the medians; per-run ratio = median of each "
              "run's sipedged/kamailio" % ("item (OPTIONS or call)", a.runs,
                                     "s" if a.runs > 1 else "", a.time))
        print("| case | offered | " + " | ".join(proxies) +
              (" | ratio | per-run ratio |" if len(proxies) == 2 else " |"))
        print("|---|---|" + "---|" * len(proxies) + ("---|---|" if len(proxies) == 2 else ""))
        label = {"options": "OPTIONS, persistent TLS", "call": "INVITE..BYE, persistent TLS",
                 "newconn": "INVITE..BYE, new TLS connection each",
                 "resumed": "INVITE..BYE, new TLS connection each, resumed"}
        for c in cases:
            cols = []
            med = {}
            for p in proxies:
                vals = [kv["us_per"] for kv in res[(c, p)] if kv["us_per"] == kv["us_per"]]
                fails = sum(int(kv["failed"]) for kv in res[(c, p)])
                med[p] = statistics.median(vals) if vals else float("nan")
                cols.append(cell(vals) + (" (%d failed)" % fails if fails else ""))
            line = "| %s | %g/s | %s |" % (label[c], rates[c], " | ".join(cols))
            if len(proxies) == 2:
                ratio = med["sipedged"] / med["kamailio"] if med["kamailio"] else float("nan")
                # Each run measures both proxies back to back: the median
                # of those pairs' ratios resists a disturbed run better.
                pairs = [s["us_per"] / k["us_per"] for s, k in
                         zip(res[(c, "sipedged")], res[(c, "kamailio")])
                         if k["us_per"] == k["us_per"] and k["us_per"] > 0 and
                         s["us_per"] == s["us_per"]]
                line += " %.2f | %s |" % (ratio, "%.2f" % statistics.median(pairs)
                                          if pairs else "-")
            print(line)
        print("\nOf it in the kernel (stime per item, median):")
        for c in cases:
            print("  %-8s " % c + ", ".join(
                "%s %s" % (p, fmt_us(statistics.median(
                    [kv["sys_us_per"] for kv in res[(c, p)]
                     if kv["sys_us_per"] == kv["sys_us_per"]] or [float("nan")])))
                for p in proxies))
        if a.profile:
            for p in proxies:
                profile(b, p, a.profile_case, rates[a.profile_case], a.time,
                        a.profile if len(proxies) == 1 else "%s.%s" % (a.profile, p))
        if a.syscalls:
            for p in proxies:
                syscalls(b, p, rates["call"], a.time)
    finally:
        b.stop_all()
        if a.keep:
            print("kept " + b.d)
        else:
            shutil.rmtree(b.d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
