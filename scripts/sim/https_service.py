#!/usr/bin/python3
"""A stand-in for one cloud service on the simulated internet: HTTPS on ADDR:PORT with a
certificate from the simulated school's test CA.

GET or HEAD of `/` answers STATUS (default 200) with a tiny HTML page after DELAY_MS; any other
path answers 404. Runs in the foreground; simschool starts one per reachable [[cloud]].
"""

from __future__ import annotations

import argparse
import html
import socketserver
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    server_version = "simschool-cloud/1"
    protocol_version = "HTTP/1.1"

    def _answer(self, with_body: bool):
        cfg = self.server.cfg
        if cfg.delay_ms:
            time.sleep(cfg.delay_ms / 1000)
        if self.path.split("?")[0] == "/":
            status = cfg.status
            title = html.escape(cfg.name)
            body = (f"<!doctype html><html><head><title>{title}</title></head>"
                    f"<body><h1>{title}</h1><p>Simulated service at {html.escape(cfg.host)}"
                    f" (status {status}).</p></body></html>\n").encode()
        else:
            status, body = 404, b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "30")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.client_address[0]} {fmt % args}\n")
        sys.stderr.flush()


class TlsServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cfg):
        self.cfg = cfg
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cfg.cert, cfg.key)
        super().__init__((cfg.address, cfg.port), Handler)

    def finish_request(self, request, client_address):
        # The handshake happens here, in the connection's own thread, so a client that connects
        # and says nothing cannot hold up the accept loop.
        request.settimeout(30)
        try:
            tls_sock = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"{time.strftime('%H:%M:%S')} {client_address[0]} TLS failed: {e}\n")
            return
        self.RequestHandlerClass(tls_sock, client_address, self)

    def handle_error(self, request, client_address):
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {client_address[0]} "
                         f"connection error: {sys.exc_info()[1]}\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--host", required=True, help="the service's DNS name (shown on the page)")
    p.add_argument("--name", required=True, help="human name of the service")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--delay-ms", type=int, default=0)
    cfg = p.parse_args()
    server = TlsServer(cfg)
    sys.stderr.write(f"serving https://{cfg.host}:{cfg.port}/ on {cfg.address} "
                     f"status={cfg.status} delay_ms={cfg.delay_ms}\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
