#!/usr/bin/python3
"""Small network checks that simschool runs *inside* a namespace (`ip netns exec NS`).

  nsprobe.py dns SERVER NAME            one A query; prints {"rcode": n, "addresses": [...]}
  nsprobe.py mdns --source ADDR [--expect IP=_type._tcp,...] [--wait S]
                                        DNS-SD service enumeration by legacy unicast mDNS;
                                        prints {"<responder ip>": ["_ipp._tcp", ...], ...}
  nsprobe.py udp ADDR PORT              sends one datagram; prints the reply's length

Exit status: 0 when answered (for mdns: when every --expect was met), 2 on timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # runs from the source tree: leave no __pycache__ there
import dnswire  # noqa: E402

MDNS_GROUP, MDNS_PORT = "224.0.0.251", 5353
SERVICES = "_services._dns-sd._udp.local"


def dns(server: str, name: str, timeout: float) -> int:
    qid = int.from_bytes(os.urandom(2), "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(dnswire.build_query(qid, name, dnswire.TYPE_A, recursion=True), (server, 53))
        try:
            while True:
                msg, _ = s.recvfrom(4096)
                reply = dnswire.parse_response(msg)
                if reply["id"] == qid:
                    break
        except socket.timeout:
            print(json.dumps({"error": "timeout"}))
            return 2
    addresses = [r[3] for r in reply["records"] if r[0] == "answer" and r[2] == dnswire.TYPE_A]
    print(json.dumps({"rcode": reply["rcode"], "addresses": addresses}))
    return 0


def mdns(source: str, expect: dict[str, set[str]], wait: float) -> int:
    """Sends the enumeration query from an ephemeral port (so responders answer by unicast, with
    our query id) once a second, gathering every responder's service types until `expect` is met
    or `wait` seconds pass."""
    found: dict[str, set[str]] = {}
    qid = int.from_bytes(os.urandom(2), "big")
    query = dnswire.build_query(qid, SERVICES, dnswire.TYPE_PTR, recursion=False)
    deadline = time.monotonic() + wait
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        s.bind((source, 0))
        next_send = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                s.sendto(query, (MDNS_GROUP, MDNS_PORT))
                next_send = time.monotonic() + 1.0
            s.settimeout(max(0.05, min(next_send, deadline) - time.monotonic()))
            try:
                msg, (addr, _) = s.recvfrom(9000)
            except socket.timeout:
                continue
            try:
                reply = dnswire.parse_response(msg)
            except ValueError:
                continue
            if reply["id"] != qid:
                continue
            for section, name, rtype, value in reply["records"]:
                if rtype == dnswire.TYPE_PTR and name.lower() == SERVICES.lower():
                    found.setdefault(addr, set()).add(value.removesuffix(".local"))
            if expect and all(want <= found.get(ip, set()) for ip, want in expect.items()):
                break
    print(json.dumps({ip: sorted(types) for ip, types in sorted(found.items())}))
    return 0 if all(want <= found.get(ip, set()) for ip, want in expect.items()) else 2


def udp(addr: str, port: int, timeout: float) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(b"\x30\x00", (addr, port))
        try:
            data = s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            print(json.dumps({"error": "no reply"}))
            return 2
    print(json.dumps({"length": len(data)}))
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dns")
    d.add_argument("server")
    d.add_argument("name")
    d.add_argument("--timeout", type=float, default=2.0)
    m = sub.add_parser("mdns")
    m.add_argument("--source", required=True)
    m.add_argument("--expect", action="append", default=[], help="IP=_a._tcp,_b._tcp")
    m.add_argument("--wait", type=float, default=3.0)
    u = sub.add_parser("udp")
    u.add_argument("addr")
    u.add_argument("port", type=int)
    u.add_argument("--timeout", type=float, default=2.0)
    a = p.parse_args()
    if a.cmd == "dns":
        return dns(a.server, a.name, a.timeout)
    if a.cmd == "mdns":
        expect = {}
        for item in a.expect:
            ip, _, types = item.partition("=")
            expect[ip] = set(filter(None, types.split(",")))
        return mdns(a.source, expect, a.wait)
    return udp(a.addr, a.port, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
