#!/usr/bin/python3
"""A broken SNMP agent: answers every datagram on ADDR:161 with junk that is not BER.

The replies vary (random bytes, a truncated SEQUENCE header, a length that lies, an empty
datagram) so the agent's decoder meets several kinds of garbage, not one.
Usage: garbage_responder.py ADDR [PORT]
"""

from __future__ import annotations

import os
import socket
import sys
import time


def junk(n: int) -> bytes:
    shapes = (
        lambda: os.urandom(1 + n % 200),
        lambda: b"\x30\x82\xff\xff\x02\x01",         # SEQUENCE claiming 65535 bytes, then ends
        lambda: b"\x30\x84\x7f\xff\xff\xff" + os.urandom(8),  # absurd long-form length
        lambda: b"",
        lambda: b"HTTP/1.0 400 Bad Request\r\n\r\n",   # the wrong protocol entirely
    )
    return shapes[n % len(shapes)]()


def main() -> int:
    addr = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 161
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((addr, port))
        sys.stderr.write(f"garbage responder on {addr}:{port}\n")
        sys.stderr.flush()
        n = 0
        while True:
            _, peer = s.recvfrom(65535)
            s.sendto(junk(n), peer)
            n += 1
            if n <= 20 or n % 100 == 0:
                sys.stderr.write(f"{time.strftime('%H:%M:%S')} {peer[0]}: junk reply #{n}\n")
                sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
