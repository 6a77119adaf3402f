#!/usr/bin/env python3
"""tlspeer.py: a TLS server standing in for a neighbor zone's peer.

Usage: tlspeer.py ADDRESS PORT CHAIN.pem KEY.pem

Listens on ADDRESS:PORT (loopback only), completes TLS handshakes with the
given certificate chain, answers RFC 5626 CRLF keepalives with CRLF, and
holds each connection until the client closes it.  Prints "ACCEPTED ip:port"
and "CLOSED ip:port" lines, flushed.  Stops on SIGTERM.
"""
import socket
import ssl
import sys
import threading

addr, port, chain, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(16)
print("LISTENING %s:%d" % (addr, port), flush=True)


def serve(conn, peer):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print("TLSFAIL %s:%d %s" % (peer[0], peer[1], e), flush=True)
        conn.close()
        return
    print("ACCEPTED %s:%d" % peer[:2], flush=True)
    try:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            if data.strip(b"\r\n") == b"":
                tls.sendall(b"\r\n")
    except (ssl.SSLError, OSError):
        pass
    print("CLOSED %s:%d" % peer[:2], flush=True)
    tls.close()


while True:
    c, p = srv.accept()
    threading.Thread(target=serve, args=(c, p), daemon=True).start()
