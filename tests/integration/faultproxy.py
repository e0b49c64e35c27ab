"""A scripted HTTPS front for schoolnet-central, for the delivery tests.

It serves TLS with central's own certificate (so the agent's CA check passes) and handles each
POST /v1/batches by the next scripted step, or forwards it to the real central when no step is
queued. Steps:

  {"action": "forward"}                          forward, return central's answer
  {"action": "status", "status": 503, "headers": {"Retry-After": "2"}, "body": "..."}
                                                 answer without forwarding
  {"action": "stall_request"}                    read half the request body, then go silent
  {"action": "stall_response"}                   forward (central stores the batch), send the
                                                 response headers and half its body, go silent
  {"action": "drop_response"}                    forward, then close the connection unanswered

A plain-HTTP control port (on the same address) takes steps and gives the log:
  POST /steps   (JSON list of steps, appended)      GET /log   (one JSON object per request)
  POST /upstream {"url": ...}                       re-point forwarding (e.g. after a restart)

Each log entry: {"n", "t" (unix s), "action", "status", "seq", "records", "first_id",
"last_id"}, decoded from the gzip protobuf body without the generated code.

Usage: faultproxy.py --listen ADDR:PORT --control PORT --cert PEM --key PEM
                     --upstream https://HOST:PORT --ca PEM [--stall-seconds S]
Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse


# ------------------------------------------------------------------------------------------------
# Just enough protobuf to read a Batch: seq (field 3) and each record's record_id (field 6).
# ------------------------------------------------------------------------------------------------

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield num, v


def describe_batch(body: bytes) -> dict:
    try:
        raw = gzip.decompress(body)
        seq, ids = 0, []
        for num, v in _fields(raw):
            if num == 3:
                seq = v
            elif num == 6:
                rid = 0
                for rnum, rv in _fields(v):
                    if rnum == 6:
                        rid = rv
                ids.append(rid)
        return {"seq": seq, "records": len(ids), "first_id": min(ids) if ids else 0,
                "last_id": max(ids) if ids else 0}
    except (OSError, ValueError, IndexError, EOFError):
        return {"seq": None, "records": None, "first_id": None, "last_id": None}


# ------------------------------------------------------------------------------------------------
# State shared by the TLS front and the control port
# ------------------------------------------------------------------------------------------------

class State:
    def __init__(self, upstream: str, ca: str, stall_seconds: float):
        self.lock = threading.Lock()
        self.steps: list[dict] = []
        self.log: list[dict] = []
        self.upstream = upstream
        self.ca = ca
        self.stall_seconds = stall_seconds

    def next_step(self) -> dict:
        with self.lock:
            return self.steps.pop(0) if self.steps else {"action": "forward"}

    def record(self, entry: dict):
        with self.lock:
            entry["n"] = len(self.log) + 1
            entry["t"] = time.time()
            self.log.append(entry)


STATE: State


def forward(headers, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    u = urllib.parse.urlsplit(STATE.upstream)
    ctx = ssl.create_default_context(cafile=STATE.ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=30)
    try:
        fwd = {k: v for k, v in headers.items()
               if k.lower() in ("authorization", "content-type", "content-encoding")}
        conn.request("POST", "/v1/batches", body=body, headers=fwd)
        resp = conn.getresponse()
        data = resp.read()
        keep = [(k, v) for k, v in resp.getheaders()
                if k.lower() in ("content-type", "retry-after", "www-authenticate")]
        return resp.status, keep, data
    finally:
        conn.close()


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSON log says what happened
        pass

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        step = STATE.next_step()
        action = step.get("action", "forward")
        if action == "stall_request":
            self.rfile.read(length // 2)
            STATE.record({"action": action, "status": None, "seq": None, "records": None})
            time.sleep(STATE.stall_seconds)
            self.close_connection = True
            return
        body = self.rfile.read(length)
        info = describe_batch(body)
        entry = {"action": action, **info}
        try:
            if action == "status":
                status = int(step["status"])
                headers = [(k, str(v)) for k, v in step.get("headers", {}).items()]
                payload = step.get("body", "").encode()
                headers.append(("Content-Type", "text/plain; charset=utf-8"))
                entry["status"] = status
                STATE.record(entry)
                self._answer(status, headers, payload)
                return
            status, headers, data = forward(self.headers, body)
            entry["status"] = status
            STATE.record(entry)
            if action == "drop_response":
                self.close_connection = True
                return
            if action == "stall_response":
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                time.sleep(STATE.stall_seconds)
                self.close_connection = True
                return
            self._answer(status, headers, data)
        except (OSError, http.client.HTTPException) as e:
            entry.update(status=502, error=str(e))
            STATE.record(entry)
            self._answer(502, [("Content-Type", "text/plain")], f"upstream: {e}".encode())


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def _json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/log":
            with STATE.lock:
                return self._json(list(STATE.log))
        if self.path == "/healthz":
            return self._json({"ok": True})
        self._json({"error": "not found"}, 404)

    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        if self.path == "/steps":
            with STATE.lock:
                STATE.steps.extend(data)
                queued = len(STATE.steps)
            return self._json({"queued": queued})
        if self.path == "/upstream":
            STATE.upstream = data["url"]
            return self._json({"upstream": STATE.upstream})
        self._json({"error": "not found"}, 404)


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--stall-seconds", type=float, default=30.0)
    a = ap.parse_args()
    global STATE
    STATE = State(a.upstream, a.ca, a.stall_seconds)
    host, port = a.listen.rsplit(":", 1)
    front = ThreadingServer((host, int(port)), Front)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    front.socket = ctx.wrap_socket(front.socket, server_side=True)
    control = ThreadingServer((host, a.control), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(f"faultproxy listening on {a.listen}, control on {host}:{a.control}", flush=True)
    try:
        front.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
