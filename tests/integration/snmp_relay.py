"""A misbehaving SNMP device for tests: relays SNMP between the agent and a real agent
(snmpsim) but mistreats GETBULK the way some real devices do.

    snmp_relay.py LISTEN_ADDR UPSTREAM_ADDR MODE
    MODE: drop-bulk         every GETBULK is dropped (cheap switches that never answer it)
          toobig-empty:N    a GETBULK asking for more than N repetitions gets tooBig with no
                            varbinds (as MikroTik does); smaller ones are relayed
          v1-only           anything but an SNMPv1 message is dropped (old UPS and printer
                            cards that speak nothing newer)
Counts of what it did go to stdout, one line per request, for the test to read.
"""

from __future__ import annotations

import socket
import sys
import threading


def read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the BER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def encode_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def parse(data: bytes):
    """(version TLV bytes, community TLV bytes, pdu tag, request-id TLV bytes, max-repetitions)."""
    _, start, _ = read_tlv(data, 0)
    _, v_start, v_end = read_tlv(data, start)
    version = data[start:v_end]
    _, c_start, c_end = read_tlv(data, v_end)
    community = data[v_end:c_end]
    pdu_tag, p_start, _ = read_tlv(data, c_end)
    _, r_start, r_end = read_tlv(data, p_start)
    request_id = data[p_start:r_end]
    max_reps = None
    if pdu_tag == 0xA5:
        _, n_start, n_end = read_tlv(data, r_end)
        _, m_start, m_end = read_tlv(data, n_end)
        max_reps = int.from_bytes(data[m_start:m_end], "big", signed=True)
    return version, community, pdu_tag, request_id, max_reps


def too_big(version: bytes, community: bytes, request_id: bytes) -> bytes:
    pdu = request_id + encode_tlv(0x02, b"\x01") + encode_tlv(0x02, b"\x00") + encode_tlv(0x30, b"")
    return encode_tlv(0x30, version + community + encode_tlv(0xA2, pdu))


def main() -> int:
    listen, upstream, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    limit = int(mode.split(":")[1]) if mode.startswith("toobig-empty:") else None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((listen, 161))
    lock = threading.Lock()

    def relay(data: bytes, client):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(3)
        try:
            up.sendto(data, (upstream, 161))
            answer, _ = up.recvfrom(65535)
            with lock:
                sock.sendto(answer, client)
        except OSError:
            pass
        finally:
            up.close()

    print("ready", flush=True)
    while True:
        data, client = sock.recvfrom(65535)
        if mode == "v1-only":
            try:
                _, start, _ = read_tlv(data, 0)
                _, v_start, v_end = read_tlv(data, start)
                v1 = data[v_start:v_end] == b"\x00"
            except IndexError:
                v1 = False
            if not v1:
                print("dropped non-v1", flush=True)
                continue
        try:
            version, community, tag, request_id, max_reps = parse(data)
        except (IndexError, ValueError):
            print("unparsable", flush=True)
            continue
        if tag == 0xA5 and mode == "drop-bulk":
            print("dropped getbulk", flush=True)
            continue
        if tag == 0xA5 and limit is not None and max_reps > limit:
            print(f"toobig getbulk {max_reps}", flush=True)
            with lock:
                sock.sendto(too_big(version, community, request_id), client)
            continue
        print(f"relayed {tag:#x}", flush=True)
        threading.Thread(target=relay, args=(data, client), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
