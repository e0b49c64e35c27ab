"""Prints what central holds about a simulated school, read through central's JSON API.

Usage: report.py ENV_FILE   (the env file `simschool up` wrote)
Exit status 1 when central knows nothing about the school.
"""

from __future__ import annotations

import json
import os
import shlex
import ssl
import sys
import urllib.request


def load_env(path: str) -> dict[str, str]:
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                parts = shlex.split(value)
                env[key] = parts[0] if parts else ""
    return env


def get(env: dict[str, str], path: str):
    ctx = ssl.create_default_context(cafile=env["CENTRAL_CA_FILE"])
    req = urllib.request.Request(env["CENTRAL_URL"] + path,
                                 headers={"Authorization": "Bearer " + env["CENTRAL_API_TOKEN"]})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else \
        [len(h) for h in headers]
    widths = [min(w, 44) for w in widths]
    fmt = "  ".join("{:<%d.%d}" % (w, w) for w in widths)
    lines = [fmt.format(*headers), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(x) for x in r]) for r in rows]
    return "\n".join(lines)


def main() -> int:
    env = load_env(sys.argv[1])
    school = env["SCHOOL_ID"]
    schools = get(env, "/api/v1/schools")
    mine = [s for s in schools if s.get("school_id") == school]
    if not mine:
        print(f"central knows nothing about school {school}", file=sys.stderr)
        return 1
    s = mine[0]
    print(f"school {school}: last seen {s.get('last_seen')}, {s.get('device_count')} devices")
    devices = get(env, f"/api/v1/schools/{school}/devices")
    rows = []
    personal = 0
    for d in sorted(devices, key=lambda d: (d.get("pseudonymised", False),
                                            (d.get("addresses") or [""])[0])):
        if d.get("pseudonymised"):
            personal += 1
            continue
        services = sorted({x.get("type", "") for x in d.get("services", [])})
        rows.append([d.get("class", ""), (d.get("addresses") or ["-"])[0], d.get("name", ""),
                     d.get("vendor", "") or "-", d.get("sys_object_id", "") or "-",
                     " ".join(services) or "-"])
    print()
    print(table(rows, ["CLASS", "ADDRESS", "NAME", "VENDOR", "SYSOBJECTID", "MDNS SERVICES"]))
    if personal:
        print(f"(+ {personal} personal or unidentified device(s), held only as pseudonyms)")
    probes = get(env, f"/api/v1/schools/{school}/probes")
    rows = []
    for p in sorted(probes, key=lambda p: p.get("name", "")):
        rows.append(["ok" if p.get("ok") else "FAIL", p.get("kind", ""), p.get("name", ""),
                     f"{p.get('latency_ms', 0):.1f} ms" if p.get("ok") else "-",
                     p.get("error", "") or "-"])
    print()
    print(table(rows, ["STATE", "KIND", "PROBE", "LATENCY", "ERROR"]))
    ok = sum(1 for p in probes if p.get("ok"))
    print()
    print(f"central received {len(devices)} devices and {len(probes)} probes "
          f"({ok} ok, {len(probes) - ok} failing) for school {school}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
