"""Faults injected into a running simulated school, and `status`.

Each fault has an `on` and an `off` that undo each other; the active set lives in faults.json in
the state dir so `status` (and tests) can see it. Faults act only inside the school's namespaces
or on files in its state dir.
"""

from __future__ import annotations

import json
import os
import signal
import time

import checks
import netns
import procs
from layout import Layout

FAULTS = {
    "central-down": "stop the central process (off: restart it, same config and database)",
    "internet-down": "the gateway stops forwarding between the LAN and the internet",
    "dns-down": "freeze dnsmasq (SIGSTOP; off: SIGCONT), so DNS queries time out",
    "central-503": "central answers ingest with 503 + Retry-After (maintenance file)",
    "device-down:NAME": "take a device's link down (it vanishes from the network)",
    "cloud-down:N": "stop cloud service N (1-based, as in the manifest), so connects are refused",
}


class FaultError(Exception):
    pass


def load(lay: Layout) -> dict:
    try:
        with open(lay.path("faults.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save(lay: Layout, active: dict):
    tmp = lay.path("faults.json.tmp")
    with open(tmp, "w") as f:
        json.dump(active, f, indent=1)
    os.replace(tmp, lay.path("faults.json"))


def apply(lay: Layout, name: str, on: bool, retry_after: int = 5) -> str:
    state = lay.read_state()
    if not state:
        raise FaultError(f"no simulated school is up in {lay.state_dir}")
    kind, _, arg = name.partition(":")
    handler = {"central-down": _central_down, "internet-down": _internet_down,
               "dns-down": _dns_down, "central-503": _central_503,
               "device-down": _device_down, "cloud-down": _cloud_down}.get(kind)
    if handler is None or (kind in ("device-down", "cloud-down")) != bool(arg):
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    detail = handler(lay, state, on, arg, retry_after)
    active = load(lay)
    if on:
        active[name] = {"since": time.strftime("%Y-%m-%d %H:%M:%S"), "detail": detail}
    else:
        active.pop(name, None)
    _save(lay, active)
    return detail


def _central_down(lay, state, on, arg, retry_after):
    if state.get("no_central"):
        raise FaultError("central was not started (up --no-central)")
    if on:
        procs.stop(lay.state_dir, "central")
        return "central stopped"
    if procs.alive(procs.entry(lay.state_dir, "central")):
        return "central already running"
    procs.restart(lay.state_dir, "central")
    env = _env(lay)
    errors = checks.wait_all(lay.state_dir, [checks.Check(
        "central /healthz after restart", checks.central_healthy(env["CENTRAL_URL"],
                                                                 env["CENTRAL_CA_FILE"]),
        60, "central", lay.log("central"))])
    if errors:
        raise FaultError(errors[0])
    return "central restarted"


def _internet_down(lay, state, on, arg, retry_after):
    netns.sysctl(lay.ns_gw, "net.ipv4.ip_forward", "0" if on else "1")
    return f"gateway ip_forward={'0' if on else '1'}"


def _dns_down(lay, state, on, arg, retry_after):
    if not procs.send(lay.state_dir, "dnsmasq", signal.SIGSTOP if on else signal.SIGCONT):
        raise FaultError("dnsmasq is not running")
    return "dnsmasq stopped (SIGSTOP)" if on else "dnsmasq continued"


def _central_503(lay, state, on, arg, retry_after):
    if on:
        with open(lay.maintenance_file, "w") as f:
            f.write(f"{retry_after}\n")
        return f"maintenance file {lay.maintenance_file} (Retry-After {retry_after})"
    if os.path.exists(lay.maintenance_file):
        os.unlink(lay.maintenance_file)
    return "maintenance file removed"


def _device_down(lay, state, on, arg, retry_after):
    ns = state["nodes"].get(arg)
    if not ns or not ns.startswith(f"{lay.prefix}-d-"):
        raise FaultError(f"no device named {arg!r}")
    netns.run(["ip", "-n", ns, "link", "set", "eth0", "down" if on else "up"])
    return f"{ns} eth0 {'down' if on else 'up'}"


def _cloud_down(lay, state, on, arg, retry_after):
    name = f"cloud:{arg}"
    if procs.entry(lay.state_dir, name) is None:
        raise FaultError(f"no running cloud service number {arg!r}")
    if on:
        procs.stop(lay.state_dir, name)
        return "cloud service stopped"
    if procs.alive(procs.entry(lay.state_dir, name)):
        return "cloud service already running"
    procs.restart(lay.state_dir, name)
    env = _env(lay)
    c = env["clouds"][int(arg) - 1]
    url = f"https://{c['host']}:{c['port']}/"
    errors = checks.wait_all(lay.state_dir, [checks.Check(
        f"cloud '{c['name']}' after restart",
        checks.https_status(lay.ns_box, url, env["CENTRAL_CA_FILE"], c["status"],
                            3 + c["delay_ms"] / 1000), 30, name, lay.log(f"c-{arg}-https"))])
    if errors:
        raise FaultError(errors[0])
    return "cloud service restarted"


def _env(lay: Layout) -> dict:
    try:
        with open(lay.path("env.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise FaultError("env.json missing: the school did not finish coming up") from None


def status_report(lay: Layout) -> tuple[str, bool]:
    """Human-readable status and whether everything that should run is running."""
    state = lay.read_state()
    if not state:
        if os.path.exists(lay.path("failed-up.json")):
            return (f"{lay.prefix}: not up; the last `up` failed and was cleaned up "
                    f"(logs kept in {lay.logs})"), False
        return f"{lay.prefix}: not up (no state in {lay.state_dir})", False
    lines = [f"{lay.prefix}: {state.get('school')} (school id {state.get('school_id')})",
             f"  state dir: {lay.state_dir}", f"  manifest:  {state.get('manifest')}",
             f"  up since:  {state.get('started_at')}"
             + ("" if state.get("complete") else "  (up did not complete)")]
    healthy = bool(state.get("complete"))
    present = set(netns.list_namespaces())
    want = state.get("namespaces", [])
    gone = [ns for ns in want if ns not in present]
    lines.append(f"  namespaces: {len(want) - len(gone)}/{len(want)} present"
                 + (f" (missing: {', '.join(gone)})" if gone else ""))
    healthy &= not gone
    active = load(lay)
    lines.append("  processes:")
    for name, e in sorted(procs.entries(lay.state_dir).items()):
        st = procs.state_of(e)
        expected = (st == "running" or (name == "dnsmasq" and "dns-down" in active)
                    or (name == "central" and "central-down" in active)
                    or (name.startswith("cloud:") and f"cloud-down:{name[6:]}" in active))
        healthy &= expected
        lines.append(f"    {name:28} {e.get('ns') or '-':22} pid {e.get('pid'):<8} {st}"
                     + ("" if expected else "  <-- not running"))
    if state.get("no_central"):
        lines.append("    central                      (not started: --no-central)")
    fwd = netns.read_sysctl(lay.ns_gw, "net.ipv4.ip_forward") if lay.ns_gw in present else "?"
    lines.append(f"  gateway forwarding: {'on' if fwd == '1' else 'off' if fwd == '0' else fwd}")
    if active:
        lines.append("  active faults:")
        lines += [f"    {n:20} since {f['since']}: {f['detail']}" for n, f in active.items()]
    else:
        lines.append("  active faults: none")
    if state.get("complete"):
        lines.append(f"  env file: {lay.env_file}")
    return "\n".join(lines), healthy
