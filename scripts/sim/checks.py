"""Readiness checks: is each service of the simulated school really answering?

Every check is a function returning None when satisfied or a short reason when not; `wait_all`
polls them together (in threads) until each passes or its deadline ends, and fails fast when the
daemon behind a check has exited. Checks run from where a client would be: SNMP, DNS, mDNS and
cloud checks from inside the box namespace, central's from the host, like the tests.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import procs
from layout import PYTHON, SIM_DIR

NSPROBE = os.path.join(SIM_DIR, "nsprobe.py")


@dataclass
class Check:
    what: str            # "device 'copier': snmpsimd on 10.50.0.21:161"
    probe: object        # callable () -> None | str
    timeout: float
    process: str | list[str] | None  # registry name(s) of the daemon(s) behind it
    log: str | None = None


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns] + argv


def snmp_answers(ns: str, address: str, community: str):
    def probe():
        r = _run(in_ns(ns, ["snmpgetnext", "-v2c", "-c", community, "-r0", "-t1", "-On",
                            address, ".1"]), 10)
        if r and r.returncode == 0 and " = " in r.stdout:
            return None
        return (r.stderr or r.stdout).strip()[:200] if r else "snmpgetnext hung"
    return probe


def snmp_v3_answers(ns: str, address: str, v3: dict):
    def probe():
        r = _run(in_ns(ns, ["snmpget", "-v3", "-l", "authPriv", "-u", v3["user"],
                            "-a", v3["auth_proto"], "-A", v3["auth_key"],
                            "-x", v3["priv_proto"], "-X", v3["priv_key"],
                            "-r0", "-t1", "-On", address, "1.3.6.1.2.1.1.5.0"]), 10)
        if r and r.returncode == 0 and " = " in r.stdout:
            return None
        return (r.stderr or r.stdout).strip()[:200] if r else "snmpget hung"
    return probe


def udp_answers(ns: str, address: str, port: int):
    def probe():
        r = _run(in_ns(ns, [PYTHON, NSPROBE, "udp", address, str(port), "--timeout", "1"]), 10)
        return None if r and r.returncode == 0 else "no reply"
    return probe


def dns_answers(ns: str, server: str, name: str, expect: str | None):
    """expect: the address `name` must resolve to, or None for NXDOMAIN."""
    def probe():
        r = _run(in_ns(ns, [PYTHON, NSPROBE, "dns", server, name, "--timeout", "1"]), 10)
        if not r or r.returncode != 0:
            return "no reply"
        reply = json.loads(r.stdout)
        if expect is None:
            return None if reply["rcode"] == 3 else f"expected NXDOMAIN, got {reply}"
        return None if expect in reply["addresses"] else f"expected {expect}, got {reply}"
    return probe


def mdns_answers(ns: str, source: str, expect: dict[str, list[str]], found: dict):
    """One enumeration round from `source` covering every responder on that segment; `found`
    receives what came back, so a failure can say which device is missing which type."""
    def probe():
        argv = [PYTHON, NSPROBE, "mdns", "--source", source, "--wait", "4"]
        argv += [f"--expect={ip}={','.join(types)}" for ip, types in expect.items()]
        r = _run(in_ns(ns, argv), 20)
        if not r:
            return "mDNS query hung"
        try:
            found.clear()
            found.update(json.loads(r.stdout))
        except ValueError:
            return f"mDNS query failed: {r.stderr.strip()[:200]}"
        missing = [f"{ip} lacks {sorted(set(t) - set(found.get(ip, [])))}"
                   for ip, t in expect.items() if not set(t) <= set(found.get(ip, []))]
        return "; ".join(missing) or None
    return probe


def https_status(ns: str, url: str, ca_file: str, expect: int, max_time: float):
    def probe():
        r = _run(in_ns(ns, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--cacert", ca_file, "--max-time", str(max_time), url]),
                 max_time + 5)
        if not r:
            return "curl hung"
        if r.returncode == 0 and r.stdout.strip() == str(expect):
            return None
        return f"curl exit {r.returncode}, status {r.stdout.strip()!r} {r.stderr.strip()[:200]}"
    return probe


def central_healthy(url: str, ca_file: str):
    """From the host (the root namespace), as the tests and the demo reach central."""
    def probe():
        ctx = ssl.create_default_context(cafile=ca_file)
        try:
            with urllib.request.urlopen(url + "/healthz", context=ctx, timeout=3) as resp:
                return None if resp.status == 200 else f"status {resp.status}"
        except Exception as e:  # noqa: BLE001 - any failure just means "not yet"
            return str(e)[:200]
    return probe


def wait_all(state_dir: str, checks: list[Check]) -> list[str]:
    """Polls every check until it passes or times out; returns one error per failed check."""
    def wait_one(c: Check) -> str | None:
        deadline = time.monotonic() + c.timeout
        reason = "never checked"
        while True:
            for name in [c.process] if isinstance(c.process, str) else (c.process or []):
                gone = procs.exited_early(state_dir, name)
                if gone:
                    return f"{c.what}: {gone}"
            reason = c.probe()
            if reason is None:
                return None
            if time.monotonic() >= deadline:
                log = f"; log: {c.log}" if c.log else ""
                return f"{c.what} did not answer within {c.timeout:.0f} s ({reason}){log}"
            time.sleep(0.5)

    with ThreadPoolExecutor(max_workers=max(1, min(32, len(checks)))) as pool:
        return [e for e in pool.map(wait_one, checks) if e]
