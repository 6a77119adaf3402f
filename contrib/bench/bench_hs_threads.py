#!/usr/bin/env python3
"""bench_hs_threads.py: new-connection call throughput of sipedged against
the number of TLS handshake threads (tls.handshake_threads, issue 14).

    bench_hs_threads.py [--builddir DIR] [--threads 0,1,2] [--time SECS]
                        [--start RATE] [--max-rate RATE] [--p99-ms MS]
                        [--uacs N] [--rounds N] [--proxy-key TYPE]
                        [--quick] [--keep]

The setting is bench_kamailio.py's (whose set-up this script reuses): a
lab CA and ECDSA P-256 certificates, a sipload UAS on 127.0.0.2 demanding
a client certificate, sipedged on 127.0.0.1 with the default zone
demanding client certificates and one neighbor zone (the UAS) reached by
one search rule, log level info.  The load is the `newconn` case: INVITE,
180, 200, ACK, BYE, 200 on a new mutual-TLS connection per call, offered
at a fixed rate by N sipload UACs at once (--uacs, default 2, each at
rate/N, so that the generator's own client handshakes are not the limit).

For each thread count (--threads, default 0,1,2: 0 is handshakes on the
event loop) sipedged is started afresh with that setting and not pinned
(it may use every core), and the highest sustained rate is searched: a
rate passes when, over --time seconds (default 5), every call offered
completed (no failure, nothing throttled), the achieved rate is at least
97% of the offered one and the calls' p99 latency is at most --p99-ms
(default 250).  The rate grows by a quarter from --start (default 100)
until a rate fails, then the gap is halved twice.  With --rounds N the
thread counts are measured N times, in alternating order, and the best
rate of each is kept.  The table gives, per thread count, the highest
rate that passed, its p99, sipedged's CPU per call there (utime + stime
from /proc, all threads), the part of it spent by the event loop's
thread alone (/proc/PID/task/PID: what the handshake threads took off
it), and the ratio of the rates to that of 1 thread.  On a shared machine run it when it is quiet and quote the
ratios of one run.

--proxy-key rsa3072|rsa4096|... issues sipedged's certificate with that
key instead of P-256.  With an ECDSA key a client's handshake costs about
what the server's does, so on a 2-core machine the UACs take the core a
second handshake thread would use; an RSA signature costs the server 50
to 100 times what its verification costs the client, which leaves the
second core to sipedged and shows what the threads do with it.

--quick: 2 s per rate, start at 50, no halving (a smoke run).  Python 3
standard library; needs taskset and the built tree (`make bench`).  Every
process is stopped by its PID; every wait is bounded.  Not part of `make
check`: a measurement.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_kamailio as bk  # noqa: E402  (the shared set-up)

ALL_CPUS = "0-%d" % (max(os.cpu_count() or 1, 1) - 1)


class HsBench(bk.Bench):
    """bench_kamailio's set-up, with sipedged started per thread count."""

    def start_sipedged_threads(self, threads):
        """sipedged with tls.handshake_threads = threads, on every CPU."""
        d = self.path("sipedged-%d-%d" % (threads, len(self.procs)))
        os.makedirs(os.path.join(d, "zones"))
        os.makedirs(os.path.join(d, "state"))
        port = bk.free_port(bk.PROXY_IP)
        conf = os.path.join(d, "sipedge.conf")
        with open(conf, "w") as f:
            f.write("""# Written by contrib/bench/bench_hs_threads.py.
node: { fqdn = "localhost"; };
daemon: { state_dir = "state"; pid_file = "sipedged.pid"; zones_dir = "zones";
          control_socket = "sipedged.ctl"; shutdown_grace = 1; };
log: { level = "info"; file = "sipedged.log"; };
sip: { max_connections_per_source = 100000; max_handshakes = 100000; };
tls: { certificate = "%s"; private_key = "%s"; trust = "%s";
       expiry_warning_days = 0; handshake_threads = %d; };
default_zone: { tls_verify = true; };
listen = ( { transport = "tls"; address = "%s"; port = %d; } );
search_rules = (
  { priority = 10; name = "all to the uas"; match = "any"; target_zone = "uas"; }
);
""" % (self.path("proxy-chain.pem"), self.path("proxy.key"), self.ca, threads,
                bk.PROXY_IP, port))
        with open(os.path.join(d, "zones", "uas.conf"), "w") as f:
            f.write('name = "uas";\ntype = "neighbor";\ntransport = "tls";\n'
                    'port = %d;\npeers = [ "%s" ];\ntls_verify = true;\n'
                    % (self.uas_port, bk.UAS_IP))
        bk.run([self.sipedged, "-t", "-c", conf], cwd=d)
        name = "sipedged-%d" % threads
        p = self.start([self.sipedged, "-f", "-c", conf], name, ALL_CPUS)
        self.wait_listen(bk.PROXY_IP, port, p, name)
        self.ports["sipedged"] = port
        self.pids["sipedged"] = p.pid
        self.daemon_pid = bk.child_of(p.pid)     # sipedged, not `timeout`
        return p

    def uacs(self, rate, secs, n):
        """n UACs at rate/n each, at once; their lines summed into one."""
        ps = []
        for i in range(n):
            cmd = ["taskset", "-c", ALL_CPUS, "timeout", "-s", "KILL",
                   str(int(secs) + 60), self.sipload, "--role", "uac",
                   "--scenario", "call", "--new-conn",
                   "--target", "%s:%d" % (bk.PROXY_IP, self.ports["sipedged"]),
                   "--bind", bk.UAC_IP, "--uri", "sip:bench@%s" % bk.UAS_IP,
                   "--rate", "%.1f" % (rate / n), "--duration", str(secs),
                   "--max-outstanding", "2000", "--timeout", "5",
                   "--quiet"] + self.tls_args("uac")
            ps.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True))
        tot = {"sent": 0, "completed": 0, "failed": 0, "throttled": 0,
               "achieved_per_s": 0.0, "call_p99_us": 0, "cpu_s": 0.0}
        for p in ps:
            out, _ = p.communicate(timeout=secs + 90)
            last = [ln for ln in out.splitlines() if ln.startswith("sipload ")]
            if not last:
                raise SystemExit("sipload gave no result:\n" + out)
            kv = dict(f.split("=", 1) for f in last[-1].split()[1:])
            for k in ("sent", "completed", "failed", "throttled"):
                tot[k] += int(kv[k])
            tot["achieved_per_s"] += float(kv["achieved_per_s"])
            tot["cpu_s"] += float(kv["cpu_s"])
            tot["call_p99_us"] = max(tot["call_p99_us"], int(kv["call_p99_us"]))
        return tot


def loop_cpu(pid):
    """CPU seconds of pid's main thread (the event loop) alone (/proc)."""
    try:
        with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trial(b, rate, a):
    """One rate against the running sipedged: (passed, the UAC totals)."""
    root = b.pids["sipedged"]
    daemon = b.daemon_pid
    c0, l0 = bk.tree_cpu(root), loop_cpu(daemon)
    kv = b.uacs(rate, a.time, a.uacs)
    cpu, loop = bk.tree_cpu(root) - c0, loop_cpu(daemon) - l0
    n = kv["completed"]
    kv["us_per"] = cpu / n * 1e6 if n else float("nan")
    kv["loop_us_per"] = loop / n * 1e6 if n else float("nan")
    ok = (kv["failed"] == 0 and kv["throttled"] == 0 and kv["sent"] > 0 and
          kv["completed"] == kv["sent"] and
          kv["achieved_per_s"] >= 0.97 * rate and
          kv["call_p99_us"] <= a.p99_ms * 1000)
    print("  threads=%d rate=%-6.0f %s  achieved %.0f/s  p99 %.1f ms  failed %d "
          "throttled %d  sipedged %s/call (loop %s)  uac cpu %.1f s" % (
              a.cur, rate, "pass" if ok else "FAIL", kv["achieved_per_s"],
              kv["call_p99_us"] / 1000, kv["failed"], kv["throttled"],
              bk.fmt_us(kv["us_per"]), bk.fmt_us(kv["loop_us_per"]), kv["cpu_s"]),
          flush=True)
    time.sleep(1)       # the last calls' connections close
    return ok, kv


def search(b, a):
    """The highest rate that passes: grow by a quarter, then halve the gap."""
    best, bad, rate = None, None, a.start
    while rate <= a.max_rate:
        ok, kv = trial(b, rate, a)
        if not ok:
            bad = rate
            break
        best = (rate, kv)
        rate *= 1.25
    lo = best[0] if best else 0
    for _ in range(a.halvings if bad else 0):
        mid = (lo + bad) / 2
        if mid - lo < 5:
            break
        ok, kv = trial(b, mid, a)
        if ok:
            lo, best = mid, (mid, kv)
        else:
            bad = mid
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--threads", default="0,1,2")
    ap.add_argument("--time", type=float, default=5)
    ap.add_argument("--start", type=float, default=100)
    ap.add_argument("--max-rate", type=float, default=5000)
    ap.add_argument("--p99-ms", type=float, default=250)
    ap.add_argument("--uacs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--proxy-key", default="ec",
                    choices=["ec", "ec384", "rsa2048", "rsa3072", "rsa4096"],
                    help="sipedged's key type (default ec, P-256); an RSA key makes "
                    "the server's handshake dearer than the client's")
    a = ap.parse_args()
    a.halvings = 2
    if a.quick:
        a.time, a.start, a.halvings = 2, 50, 0
    threads = [int(t) for t in a.threads.split(",")]
    for tool in ("taskset", "timeout"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed" % tool)
    b = HsBench(a)
    results = {}
    try:
        b.pki()
        b.start_uas()
        print("sipedged new-connection calls, %d CPUs, %d UACs, %g s per rate, "
              "p99 <= %g ms, sipedged's key %s" % (os.cpu_count() or 1, a.uacs, a.time,
                                                   a.p99_ms, a.proxy_key))
        for r in range(a.rounds):
            for t in (threads if r % 2 == 0 else list(reversed(threads))):
                a.cur = t
                p = b.start_sipedged_threads(t)
                ok, _ = trial(b, 20, a)         # warm-up, must pass
                if not ok:
                    raise SystemExit("the warm-up (20 calls/s) failed with %d threads" % t)
                best = search(b, a)
                bk.stop(p, "sipedged")
                if best and (t not in results or best[0] > results[t][0]):
                    results[t] = best
    finally:
        b.stop_all()
        if a.keep:
            print("files kept in", b.d)
        else:
            shutil.rmtree(b.d, ignore_errors=True)
    base = results.get(1, (0, None))[0]
    print()
    print("| handshake threads | calls/s sustained | p99 | sipedged CPU/call "
          "| of it the loop's | vs 1 thread |")
    print("|---|---|---|---|---|---|")
    for t in threads:
        if t not in results:
            print("| %d | none passed | - | - | - | - |" % t)
            continue
        rate, kv = results[t]
        print("| %d | %.0f | %.1f ms | %s | %s | %s |" % (
            t, rate, kv["call_p99_us"] / 1000, bk.fmt_us(kv["us_per"]),
            bk.fmt_us(kv["loop_us_per"]), "%.2f" % (rate / base) if base else "-"))
    if 1 in results and 2 in results:
        print("\nratio 2 threads / 1 thread: %.2f" % (results[2][0] / results[1][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
