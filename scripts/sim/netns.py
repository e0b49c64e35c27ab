"""Thin wrappers over `ip` for namespaces, veths, bridges, addresses and routes.

Every command that changes something runs with `ip -n NS` (or `ip netns exec NS`), so nothing here
touches the root namespace except `add_host_veth` / `del_host_veth`, which manage the single veth
the simulated internet segment shares with the host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time


class CommandError(Exception):
    pass


def run(argv: list[str], check=True, timeout=30, quiet=False) -> subprocess.CompletedProcess:
    """Runs a command, capturing output; raises CommandError naming the command on failure."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise CommandError(f"{argv[0]}: not installed (run scripts/deps)") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"`{' '.join(argv)}` did not finish within {timeout} s") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise CommandError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): {detail}")
    return proc


def ns_exec(ns: str) -> list[str]:
    return ["ip", "netns", "exec", ns]


def list_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def add_namespace(ns: str):
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def namespace_pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def kill_namespace_processes(ns: str, grace: float = 3.0):
    """Stops every process in the namespace: SIGCONT (in case a fault froze it), SIGTERM, then
    SIGKILL after `grace` seconds for whatever is left."""
    pids = namespace_pids(ns)
    for sig in (signal.SIGCONT, signal.SIGTERM):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = namespace_pids(ns)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2.0
    while namespace_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.1)


def delete_namespace(ns: str):
    kill_namespace_processes(ns)
    run(["ip", "netns", "del", ns], check=False)


def add_bridge(ns: str, name: str):
    # Without snooping the bridge floods multicast, so mDNS reaches every port like a dumb switch.
    run(["ip", "-n", ns, "link", "add", name, "type", "bridge", "stp_state", "0",
         "forward_delay", "0", "mcast_snooping", "0"])
    run(["ip", "-n", ns, "link", "set", name, "up"])


def connect(sw_ns: str, bridge: str, port: str, node_ns: str, node_if: str, mac: str | None):
    """Plugs a node into a bridge: a veth `port` in the switch namespace whose peer is `node_if`
    in the node's namespace."""
    run(["ip", "-n", sw_ns, "link", "add", port, "type", "veth", "peer", "name", node_if,
         "netns", node_ns])
    run(["ip", "-n", sw_ns, "link", "set", port, "master", bridge])
    run(["ip", "-n", sw_ns, "link", "set", port, "up"])
    if mac:
        run(["ip", "-n", node_ns, "link", "set", node_if, "address", mac])
    run(["ip", "-n", node_ns, "link", "set", node_if, "up"])


def add_address(ns: str, dev: str, cidr: str):
    run(["ip", "-n", ns, "addr", "add", cidr, "dev", dev])


def add_route(ns: str, dest: str, via: str):
    run(["ip", "-n", ns, "route", "add", dest, "via", via])


def sysctl(ns: str, key: str, value: str):
    run(ns_exec(ns) + ["sysctl", "-q", "-w", f"{key}={value}"])


def read_sysctl(ns: str, key: str) -> str:
    return run(ns_exec(ns) + ["sysctl", "-n", key], check=False).stdout.strip()


def add_host_veth(host_if: str, sw_ns: str, sw_port: str, bridge: str, cidr: str):
    """The one link into the root namespace: `host_if` holds the host's address on the simulated
    internet, so tests on the host reach central directly. No routes beyond the connected one."""
    run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", sw_port, "netns", sw_ns])
    # No IPv6 on the host side: nothing to autoconfigure, nothing for the host to announce.
    run(["sysctl", "-q", "-w", f"net.ipv6.conf.{host_if}.disable_ipv6=1"], check=False)
    run(["ip", "addr", "add", cidr, "dev", host_if])
    run(["ip", "-n", sw_ns, "link", "set", sw_port, "master", bridge])
    run(["ip", "-n", sw_ns, "link", "set", sw_port, "up"])
    run(["ip", "link", "set", host_if, "up"])


def host_link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def del_host_veth(host_if: str):
    if host_link_exists(host_if):
        run(["ip", "link", "del", host_if], check=False)
