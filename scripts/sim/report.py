"""Prints what central holds about a simulated school, read through central's JSON API.

Usage: report.py ENV_FILE   (the env file `simschool up` wrote)
Exit status 1 when central knows nothing about the school.
"""

from __future__ import annotations

import ipaddress
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


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def table(rows: list[list[str]], headers: list[str], limits: list[int]) -> str:
    rows = [[clip(str(x), lim) for x, lim in zip(r, limits)] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def address_key(address: str):
    try:
        return (0, ipaddress.ip_address(address))
    except ValueError:
        return (1, address)


def simulated_faults(env: dict[str, str]) -> dict[str, str]:
    """Cloud services the simulated school breaks on purpose, by name: why they fail."""
    try:
        with open(os.path.join(env["SIM_STATE_DIR"], "env.json")) as f:
            info = json.load(f)
    except (KeyError, OSError, ValueError):
        return {}
    out = {}
    for c in info.get("clouds", []):
        if not c.get("reachable", True):
            out[c["name"]] = "no host at its address (by design)"
        elif c.get("status", 200) >= 400:
            out[c["name"]] = f"answers HTTP {c['status']} (by design)"
    return out


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
                                            address_key((d.get("addresses") or [""])[0]))):
        if d.get("pseudonymised"):
            personal += 1
            continue
        services = sorted({x.get("type", "") for x in d.get("services", [])})
        up = d.get("uplink") or {}
        where = f"{up.get('switch')} {up.get('port')}" if up else "-"
        rows.append([d.get("class", ""), (d.get("addresses") or ["-"])[0], d.get("name", ""),
                     d.get("vendor", "") or "-", d.get("model", "") or "-", where,
                     " ".join(services) or "-"])
    print()
    print(table(rows, ["CLASS", "ADDRESS", "NAME", "VENDOR", "MODEL", "PLUGGED INTO",
                       "MDNS SERVICES"], [12, 15, 24, 28, 24, 24, 40]))
    if personal:
        print(f"(+ {personal} personal or unidentified device(s), held only as pseudonyms)")
    probes = get(env, f"/api/v1/schools/{school}/probes")
    faults = simulated_faults(env)
    rows = []
    for p in sorted(probes, key=lambda p: p.get("name", "")):
        latency = p.get("latency_ms", 0) or 0
        error = p.get("error", "") or "-"
        if p.get("error_detail"):
            error += ": " + p["error_detail"]
        rows.append(["ok" if p.get("ok") else "FAIL", p.get("kind", ""), p.get("name", ""),
                     f"{latency:.1f} ms" if latency > 0 else "-", error])
    print()
    print(table(rows, ["STATE", "KIND", "PROBE", "LATENCY", "ERROR"], [5, 5, 36, 10, 90]))
    ok = sum(1 for p in probes if p.get("ok"))
    print()
    print(f"central received {len(devices)} devices and {len(probes)} probes "
          f"({ok} ok, {len(probes) - ok} failing) for school {school}")
    failing = sorted({p.get("name", "").rsplit(" (", 1)[0] for p in probes if not p.get("ok")})
    expected = [n for n in failing if n in faults]
    if expected:
        print("failing on purpose in the simulated school: " +
              "; ".join(f"{n} {faults[n]}" for n in expected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
