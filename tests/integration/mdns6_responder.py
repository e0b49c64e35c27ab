"""An mDNS responder that speaks only IPv6, for tests: a device on the school LAN whose service
can be found only by asking ff02::fb. It answers legacy-unicast queries (RFC 6762 section 6.7:
from a port other than 5353, answered by unicast with the query's id and question) for the
service enumeration, its one service type, its instance's SRV and TXT, and its host's AAAA
(its link-local address).

    mdns6_responder.py IFNAME HOST INSTANCE TYPE PORT

Prints "ready" once listening, then one line per answer.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "sim"))
import dnswire  # noqa: E402

TYPE_AAAA = 28
SERVICES = "_services._dns-sd._udp.local"


def link_local(ifname: str) -> str:
    out = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", ifname, "scope", "link"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[3].split("/")[0]


def record(name: str, rtype: int, rdata: bytes, ttl: int = 120) -> bytes:
    return dnswire.encode_name(name) + struct.pack(">HHIH", rtype, 0x8001, ttl, len(rdata)) + \
        rdata


def main() -> int:
    ifname, host, instance, stype, port = sys.argv[1:6]
    host_fqdn = f"{host}.local"
    inst_fqdn = f"{instance}.{stype}.local"
    address = socket.inet_pton(socket.AF_INET6, link_local(ifname))
    index = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::", 5353))
    mreq = socket.inet_pton(socket.AF_INET6, "ff02::fb") + struct.pack("@I", index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)

    srv = record(inst_fqdn, dnswire.TYPE_SRV,
                 struct.pack(">HHH", 0, 0, int(port)) + dnswire.encode_name(host_fqdn))
    entry = b"ty=IPv6 Printer"
    txt = record(inst_fqdn, dnswire.TYPE_TXT, bytes([len(entry)]) + entry)
    aaaa = record(host_fqdn, TYPE_AAAA, address)
    print("ready", flush=True)
    while True:
        msg, peer = sock.recvfrom(9000)
        if len(msg) < 12 or peer[1] == 5353:
            continue
        qid, flags, qd = struct.unpack(">HHH", msg[:6])
        if flags & 0x8000 or qd == 0:
            continue
        answers, extra, questions, pos = [], [], b"", 12
        try:
            for _ in range(qd):  # several questions may share one packet
                start = pos
                name, pos = dnswire.read_name(msg, pos)
                qtype = struct.unpack(">H", msg[pos:pos + 2])[0]
                pos += 4
                questions += msg[start:pos]
                name = name.lower()
                if name == SERVICES and qtype == dnswire.TYPE_PTR:
                    answers.append(record(SERVICES, dnswire.TYPE_PTR,
                                          dnswire.encode_name(f"{stype}.local")))
                elif name == f"{stype}.local" and qtype == dnswire.TYPE_PTR:
                    answers.append(record(f"{stype}.local", dnswire.TYPE_PTR,
                                          dnswire.encode_name(inst_fqdn)))
                    extra = [srv, txt, aaaa]
                elif name == inst_fqdn.lower() and qtype == dnswire.TYPE_SRV:
                    answers.append(srv)
                    extra = extra or [aaaa]
                elif name == inst_fqdn.lower() and qtype == dnswire.TYPE_TXT:
                    answers.append(txt)
                elif name == host_fqdn.lower() and qtype == TYPE_AAAA:
                    answers.append(aaaa)
        except (ValueError, struct.error):
            continue
        if not answers:
            continue
        reply = struct.pack(">HHHHHH", qid, 0x8400, qd, len(answers), 0, len(extra)) + \
            questions + b"".join(answers) + b"".join(extra)
        sock.sendto(reply, peer)
        print(f"answered {len(answers)} of {qd} questions from {peer[0]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
