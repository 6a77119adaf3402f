#!/usr/bin/env python3
"""httpd.py: a loopback HTTP server for the revocation tests.

GET  /NAME   serves DIR/NAME (CRLs in any format) with Last-Modified and
             ETag, and answers 304 to a matching If-None-Match or
             If-Modified-Since: what a CRL distribution point does.
POST /ocsp   answers an OCSP request by running the real responder,
             `openssl ocsp -index ... -reqin REQ -respout RESP`.

How it answers is steered by the file DIR/.mode, read at each request, one
word per line: "delay N" (sleep N seconds first), "fail" (HTTP 500),
"wrongkey" (sign OCSP answers with a key the CA never authorised),
"replay" (answer OCSP with the previous answer, nonce and all),
"ndays N" (OCSP nextUpdate in N days, default 1).  Every request is
appended to DIR/.log as "METHOD PATH STATUS".

Usage: httpd.py DIR PORTFILE [CA_CERT CA_KEY INDEX WRONG_CERT WRONG_KEY]
Binds 127.0.0.1 on a free port and writes the port to PORTFILE.
"""
import email.utils
import hashlib
import http.server
import os
import subprocess
import sys
import tempfile
import time

DIR = sys.argv[1]
PORTFILE = sys.argv[2]
OCSP = sys.argv[3:8] if len(sys.argv) >= 8 else None


def modes():
    out = {}
    try:
        with open(os.path.join(DIR, ".mode")) as f:
            for line in f:
                parts = line.split()
                if parts:
                    out[parts[0]] = parts[1] if len(parts) > 1 else "1"
    except OSError:
        pass
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        with open(os.path.join(DIR, ".log"), "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.note(status)

    def start(self):
        m = modes()
        if "delay" in m:
            time.sleep(float(m["delay"]))
        if "fail" in m:
            self.reply(500, b"failing on purpose\n")
            return None
        return m

    def do_GET(self):
        m = self.start()
        if m is None:
            return
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(DIR, name)
        if not name or name.startswith(".") or not os.path.isfile(path):
            self.reply(404, b"no such file\n")
            return
        with open(path, "rb") as f:
            body = f.read()
        mtime = int(os.stat(path).st_mtime)
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        lm = email.utils.formatdate(mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.reply(304, headers=[("ETag", etag)])
            return
        ims = self.headers.get("If-Modified-Since")
        if ims and "If-None-Match" not in self.headers:
            try:
                if mtime <= email.utils.parsedate_to_datetime(ims).timestamp():
                    self.reply(304, headers=[("ETag", etag)])
                    return
            except (TypeError, ValueError):
                pass
        self.reply(200, body, [("Content-Type", "application/pkix-crl"),
                               ("ETag", etag), ("Last-Modified", lm)])

    def do_POST(self):
        m = self.start()
        if m is None:
            return
        n = int(self.headers.get("Content-Length", "0"))
        req = self.rfile.read(n)
        if OCSP is None or not self.path.startswith("/ocsp"):
            self.reply(404, b"no OCSP responder here\n")
            return
        last = os.path.join(DIR, ".last_ocsp")
        if "replay" in m and os.path.exists(last):
            with open(last, "rb") as f:
                self.reply(200, f.read(), [("Content-Type", "application/ocsp-response")])
            return
        ca, cakey, index, wcert, wkey = OCSP
        signer, key = (wcert, wkey) if "wrongkey" in m else (ca, cakey)
        with tempfile.TemporaryDirectory(dir=DIR) as tmp:
            rq = os.path.join(tmp, "req.der")
            rs = os.path.join(tmp, "resp.der")
            with open(rq, "wb") as f:
                f.write(req)
            cmd = ["openssl", "ocsp", "-index", index, "-CA", ca,
                   "-rsigner", signer, "-rkey", key, "-reqin", rq,
                   "-respout", rs, "-ndays", m.get("ndays", "1")]
            r = subprocess.run(cmd, capture_output=True, timeout=20)
            if r.returncode != 0 or not os.path.exists(rs):
                self.reply(500, r.stderr)
                return
            with open(rs, "rb") as f:
                body = f.read()
        with open(last, "wb") as f:
            f.write(body)
        self.reply(200, body, [("Content-Type", "application/ocsp-response")])


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
