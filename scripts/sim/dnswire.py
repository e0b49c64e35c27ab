"""Just enough of the DNS wire format (RFC 1035) to ask one question and read the answers.

Used by nsprobe.py for the unicast DNS and mDNS (legacy unicast, RFC 6762 section 6.7) checks.
Parsing is bounded: compression pointers must point backwards and names are capped, so a bad
reply raises ValueError instead of looping.
"""

from __future__ import annotations

import struct

TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_SRV = 1, 12, 16, 33
CLASS_IN = 1


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(qid: int, name: str, qtype: int, recursion: bool) -> bytes:
    flags = 0x0100 if recursion else 0
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack(">HH", qtype, CLASS_IN)


def read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """Returns (name, position after the name in the original record)."""
    labels, end, jumps = [], None, 0
    while True:
        if pos >= len(msg):
            raise ValueError("name runs past the message")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise ValueError("truncated pointer")
            target = ((length & 0x3F) << 8) | msg[pos + 1]
            if target >= pos or jumps > 32:
                raise ValueError("compression pointer does not point backwards")
            end = pos + 2 if end is None else end
            pos, jumps = target, jumps + 1
            continue
        if length & 0xC0:
            raise ValueError("unsupported label type")
        if length == 0:
            return ".".join(labels), (pos + 1 if end is None else end)
        labels.append(msg[pos + 1:pos + 1 + length].decode("utf-8", "replace"))
        if sum(len(x) + 1 for x in labels) > 255:
            raise ValueError("name too long")
        pos += 1 + length


def parse_response(msg: bytes) -> dict:
    """{'id', 'rcode', 'records': [(section, name, type, rdata-decoded)]} where rdata is an
    address string for A, a name for PTR, (port, target) for SRV, [strings] for TXT, else bytes."""
    if len(msg) < 12:
        raise ValueError("short message")
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        _, pos = read_name(msg, pos)
        pos += 4
    records = []
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            name, pos = read_name(msg, pos)
            if pos + 10 > len(msg):
                raise ValueError("truncated record")
            rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
            pos += 10
            rdata = msg[pos:pos + rdlen]
            if len(rdata) != rdlen:
                raise ValueError("truncated rdata")
            if rtype == TYPE_A and rdlen == 4:
                value = ".".join(str(b) for b in rdata)
            elif rtype == TYPE_PTR:
                value = read_name(msg, pos)[0]
            elif rtype == TYPE_SRV and rdlen >= 7:
                value = (struct.unpack(">H", rdata[4:6])[0], read_name(msg, pos + 6)[0])
            elif rtype == TYPE_TXT:
                value, i = [], 0
                while i < rdlen:
                    value.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
                    i += 1 + rdata[i]
            else:
                value = rdata
            records.append((section, name, rtype, value))
            pos += rdlen
    return {"id": qid, "rcode": flags & 0xF, "records": records}
