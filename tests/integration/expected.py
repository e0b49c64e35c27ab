"""What the agent should report for a recording: the same safe display form of device strings
that agent/src/core/text.cpp produces (valid UTF-8 kept, NUL padding dropped, everything else
escaped as \\xNN), written again here independently so tests check the agent, not themselves."""

from __future__ import annotations

import simlib

SYS_DESCR, SYS_OBJECT_ID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"


def display_safe(raw: bytes, keep_newlines: bool = False) -> str:
    raw = raw.rstrip(b"\0")
    out = []
    i = 0
    while i < len(raw):
        b = raw[i]
        if b < 0x20 or b == 0x7F:
            if keep_newlines and b in (0x0A, 0x09):
                out.append(chr(b))
            elif keep_newlines and b == 0x0D and raw[i + 1:i + 2] == b"\n":
                pass
            else:
                out.append("\\x%02x" % b)
            i += 1
            continue
        # The longest well-formed UTF-8 sequence starting here, if any.
        for n in (1, 2, 3, 4):
            chunk = raw[i:i + n]
            try:
                ch = chunk.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and not (0x80 <= ord(ch) <= 0x9F):
                out.append(ch)
                i += n
                break
        else:
            out.append("\\x%02x" % b)
            i += 1
    return "".join(out)


def system_group(recording: str) -> dict[str, str]:
    """sysDescr, sysObjectID and sysName of a recording, as the agent should report them."""
    rec = simlib.read_snmprec(recording)
    out = {}
    if SYS_DESCR in rec:
        out["sys_descr"] = display_safe(rec[SYS_DESCR][1], keep_newlines=True)
    if SYS_OBJECT_ID in rec:
        out["sys_object_id"] = rec[SYS_OBJECT_ID][1].decode().strip().lstrip(".")
    if SYS_NAME in rec:
        out["sys_name"] = display_safe(rec[SYS_NAME][1])
    return out
