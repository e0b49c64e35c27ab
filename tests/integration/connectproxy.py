"""A small HTTP CONNECT proxy with Basic authentication, like a school's web proxy, for the
delivery tests. It tunnels only CONNECT; a request without the right Proxy-Authorization gets
407. Every CONNECT is logged as one JSON line: {"t", "target", "user", "result"}.

Usage: connectproxy.py --listen ADDR:PORT --user USER --password PASS --log FILE
Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import select
import socket
import socketserver
import sys
import threading
import time

LOCK = threading.Lock()
ARGS: argparse.Namespace


def log(entry: dict):
    entry["t"] = time.time()
    with LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def read_head(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 16384:
            return None
    return data


def pipe(a: socket.socket, b: socket.socket):
    socks = [a, b]
    while True:
        ready, _, _ = select.select(socks, [], [], 120)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        head = read_head(client)
        if head is None:
            return
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        user = None
        auth = headers.get("proxy-authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = None, None
        else:
            password = None
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            log({"target": target, "user": user, "result": "not_connect"})
            return
        if user != ARGS.user or password != ARGS.password:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                           b"Proxy-Authenticate: Basic realm=\"school proxy\"\r\n"
                           b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            log({"target": target, "user": user, "result": "407"})
            return
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as e:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            log({"target": target, "user": user, "result": f"502 {e}"})
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        log({"target": target, "user": user, "result": "tunnel"})
        with upstream:
            pipe(client, upstream)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--log", required=True)
    global ARGS
    ARGS = ap.parse_args()
    host, port = ARGS.listen.rsplit(":", 1)
    server = Server((host, int(port)), Handler)
    print(f"connectproxy listening on {ARGS.listen}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
