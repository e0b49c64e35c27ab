"""`up` and `down`: bring a whole simulated school up from a manifest, and take it away again.

`up` is all-or-nothing: on any failure (or Ctrl-C) it tears down what it made, keeping only the
logs, and raises SimError naming what did not come up. `down` works from what exists (namespaces
named after the prefix, the host veth, /etc/netns entries, the process registry), so it also
cleans up after a crashed `up` or a killed daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import sys
import time

import checks
import daemons
import netns
import outputs
import pki
import procs
import topology
from layout import (REGISTRY_DIR, Layout, default_state_dir, namespace_belongs_to,
                    registered_state_dir)
from manifest import Manifest

MARKER = ".simschool-state"  # only directories carrying this are ever wiped
TOOLS = ["ip", "snmpsimd", "snmpd", "snmpgetnext", "avahi-daemon", "dnsmasq", "openssl",
         "curl", "ping", "unshare"]


class SimError(Exception):
    pass


def say(msg: str):
    print(f"simschool: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def prefix_lock(prefix: str):
    """One simschool command at a time per prefix (up, down and faults all change state)."""
    os.makedirs(REGISTRY_DIR, exist_ok=True)
    with open(os.path.join(REGISTRY_DIR, f"{prefix}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def resolve_state_dir(prefix: str, explicit: str | None) -> str:
    return os.path.abspath(explicit or registered_state_dir(prefix) or default_state_dir(prefix))


def is_up(prefix: str) -> bool:
    return (registered_state_dir(prefix) is not None
            or any(namespace_belongs_to(ns, prefix) for ns in netns.list_namespaces())
            or netns.host_link_exists(f"{prefix}-inet"))


def _prepare_state_dir(lay: Layout):
    d = lay.state_dir
    if os.path.isdir(d) and os.listdir(d):
        if not (os.path.exists(os.path.join(d, MARKER)) or _only_snmpd_leftovers(d)):
            raise SimError(f"state dir {d} exists, is not empty and was not made by simschool; "
                           "refusing to use it")
        shutil.rmtree(d)
    os.makedirs(d, mode=0o755)
    os.chmod(d, 0o755)  # snmpsimd (as nobody) reads its recording under here
    open(os.path.join(d, MARKER), "w").close()
    for sub in ("logs", "certs", "dns", "gw", "devices", "agent", "central"):
        os.makedirs(lay.path(sub), exist_ok=True)
    os.chmod(lay.path("central"), 0o700)
    os.chmod(lay.path("agent"), 0o700)


def _register(prefix: str, state_dir: str):
    with open(os.path.join(REGISTRY_DIR, prefix), "w") as f:
        f.write(state_dir + "\n")


def up(m: Manifest, state_dir: str | None, central_bin: str | None, no_central: bool,
       build_dir: str, snmp_wait: float) -> str:
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        raise SimError(f"missing tools: {', '.join(missing)} (run scripts/deps)")
    if not no_central and not (central_bin and os.access(central_bin, os.X_OK)):
        raise SimError(f"central binary {central_bin} not found: build it first "
                       f"(cmake --build {build_dir} --target schoolnet-central), "
                       "or pass --no-central")
    with prefix_lock(m.prefix):
        if is_up(m.prefix):
            say(f"prefix {m.prefix!r} is already up; taking it down first")
            _teardown(m.prefix, resolve_state_dir(m.prefix, None), remove_state=True)
        lay = Layout(m.prefix, resolve_state_dir(m.prefix, state_dir))
        _prepare_state_dir(lay)
        _register(m.prefix, lay.state_dir)
        try:
            return _up(lay, m, central_bin, no_central, build_dir, snmp_wait)
        except BaseException as e:
            # Finish the cleanup even if the caller keeps signalling.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            say(f"up failed; tearing down (logs kept in {lay.logs})")
            _teardown(m.prefix, lay.state_dir, remove_state=False)
            if isinstance(e, (KeyboardInterrupt, SimError)):
                raise
            raise SimError(f"{type(e).__name__}: {e}") from e


def _up(lay: Layout, m: Manifest, central_bin, no_central, build_dir, snmp_wait) -> str:
    t0 = time.monotonic()
    state = {"prefix": m.prefix, "manifest": m.path, "state_dir": lay.state_dir,
             "school": m.school_name, "school_id": m.school_id, "no_central": no_central,
             "central_bin": central_bin, "started_at": time.strftime("%Y-%m-%d %H:%M:%S"),
             "namespaces": [], "host_if": lay.host_if,
             "nodes": {"box": lay.ns_box, "gw": lay.ns_gw, "sw": lay.ns_sw, "dns": lay.ns_dns,
                       "central": lay.ns_central,
                       **{d.name: lay.ns_device(d.name) for d in m.devices},
                       **{f"c{c.index}": lay.ns_cloud(c.index) for c in m.clouds
                          if c.reachable}},
             "complete": False}
    lay.write_state(state)

    say("making the test CA and certificates")
    ca = pki.make_ca(lay.state_dir, m.school_name)
    central_names = [m.central_name] if m.central_name else []
    pki.make_server_cert(lay.path("certs"), "central", ca, central_names, [m.central_address])
    for c in m.clouds:
        if c.reachable:
            pki.make_server_cert(lay.path("certs"), f"cloud-{c.index}", ca, [c.host], [])

    say(f"building the network ({len(topology.namespaces(lay, m))} namespaces)")
    try:
        topology.build(lay, m, state["namespaces"])
    finally:
        lay.write_state(state)

    api_token, agent_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    outputs.write_agent_config(lay, m, agent_token)
    outputs.write_central_config(lay, m, api_token, agent_token)

    say("starting daemons")
    waits = _start_all(lay, m, central_bin, no_central, snmp_wait)
    say(f"waiting for {len(waits)} services to answer")
    errors = checks.wait_all(lay.state_dir, waits)
    if errors:
        raise SimError("these did not come up:\n  " + "\n  ".join(errors))

    missing = topology.fill_gateway_arp(lay, m)
    if missing:
        raise SimError("the gateway's ARP table lacks VLAN devices: " + "; ".join(missing))

    env = outputs.environment(lay, m, api_token, build_dir)
    path = outputs.write_env(lay, m, env, {"NO_CENTRAL": no_central})
    state["complete"] = True
    lay.write_state(state)
    say(f"up in {time.monotonic() - t0:.1f} s: {m.school_name} ({len(m.devices)} devices, "
        f"{len(m.clouds)} cloud services{', no central' if no_central else ''})")
    return path


def _start_all(lay: Layout, m: Manifest, central_bin, no_central, snmp_wait) -> list:
    """Starts every daemon at once (they come up in parallel) and returns the checks to wait
    for. SNMP simulators get the longest wait: the first start indexes each recording."""
    box, ca = lay.ns_box, lay.ca_file
    waits = []
    name = daemons.start_dnsmasq(lay, m)
    names = daemons.dns_names(m)
    host, addr = names[0] if names else ("nonexistent.invalid", None)
    waits.append(checks.Check(f"dnsmasq on {m.dns}:53 (query {host})",
                              checks.dns_answers(box, m.dns, host, addr), 30, name,
                              lay.log("dnsmasq")))
    name = daemons.start_gateway_snmpd(lay, m)
    waits.append(checks.Check(f"gateway snmpd on {m.lan_gateway}:161",
                              checks.snmp_answers(box, m.lan_gateway, m.gw_community), 30, name,
                              lay.log("snmpd")))
    if m.gw_v3:
        waits.append(checks.Check(f"gateway snmpd SNMPv3 user {m.gw_v3['user']!r}",
                                  checks.snmp_v3_answers(box, m.lan_gateway, m.gw_v3), 30, name,
                                  lay.log("snmpd")))
    for d in m.devices:
        if d.snmp_behaviour == "normal":
            name = daemons.start_snmpsim(lay, d)
            waits.append(checks.Check(f"device '{d.name}': snmpsimd on {d.address}:161",
                                      checks.snmp_answers(box if d.vlan is None else lay.ns_gw,
                                                          d.address, d.snmp_community),
                                      snmp_wait, name, lay.log(f"d-{d.name}-snmpsimd")))
        elif d.snmp_behaviour == "garbage":
            name = daemons.start_garbage(lay, d)
            waits.append(checks.Check(f"device '{d.name}': garbage responder on {d.address}:161",
                                      checks.udp_answers(lay.ns_gw, d.address, 161), 30, name,
                                      lay.log(f"d-{d.name}-garbage")))
        if d.mdns_hostname:
            daemons.start_avahi(lay, d)
    waits += _mdns_checks(lay, m)
    for c in m.clouds:
        if c.reachable:
            name = daemons.start_cloud(lay, c)
            url = f"https://{c.host}:{c.port}/"
            waits.append(checks.Check(f"cloud '{c.name}': {url}",
                                      checks.https_status(box, url, ca, c.status,
                                                          3 + c.delay_ms / 1000),
                                      30, name, lay.log(f"c-{c.index}-https")))
    if not no_central:
        name = daemons.start_central(lay, central_bin)
        url = outputs.central_url(m)
        waits.append(checks.Check(f"central {url}/healthz",
                                  checks.central_healthy(url, ca), 60, name, lay.log("central")))
    return waits


def _mdns_checks(lay: Layout, m: Manifest) -> list:
    """One check per segment with mDNS devices: the LAN is asked from the box, a VLAN from the
    gateway's address on it (multicast does not cross the router)."""
    segments = {}
    for d in m.devices:
        if d.mdns_hostname:
            segments.setdefault(d.vlan, {})[d.address] = sorted({s.type for s in d.mdns_services})
    out = []
    for vlan, expect in segments.items():
        ns, source = (lay.ns_box, m.box) if vlan is None else (lay.ns_gw, m.vlan(vlan).gateway)
        who = ", ".join(d.name for d in m.devices if d.mdns_hostname and d.vlan == vlan)
        where = "the LAN" if vlan is None else f"VLAN {vlan}"
        out.append(checks.Check(f"avahi-daemon mDNS answers on {where} ({who})",
                                checks.mdns_answers(ns, source, expect, {}), 45,
                                [f"avahi:{d.name}" for d in m.devices
                                 if d.mdns_hostname and d.vlan == vlan],
                                os.path.join(lay.logs, "d-*-avahi.log")))
    return out


def down(prefix: str, state_dir: str | None) -> bool:
    """Returns True when something was up."""
    with prefix_lock(prefix):
        was_up = is_up(prefix)
        _teardown(prefix, resolve_state_dir(prefix, state_dir), remove_state=True)
        return was_up


def _only_snmpd_leftovers(state_dir: str) -> bool:
    """snmpd saves its persistent state when stopped, re-creating <state>/gw/persist even when
    someone removed the state dir by hand before `down`."""
    found = [os.path.relpath(os.path.join(root, n), state_dir)
             for root, dirs, files in os.walk(state_dir) for n in dirs + files]
    return bool(found) and all(f == "gw" or f.startswith("gw/persist") for f in found)


def _teardown(prefix: str, state_dir: str, remove_state: bool):
    """Kills every process, deletes namespaces, the host veth and /etc/netns entries; with
    remove_state also the state dir (only if simschool made it)."""
    lay = Layout(prefix, state_dir)
    recorded = lay.read_state().get("namespaces", [])
    for name in procs.entries(state_dir):
        procs.stop(state_dir, name, grace=3)
    ours = [ns for ns in netns.list_namespaces() if namespace_belongs_to(ns, prefix)]
    for ns in dict.fromkeys(ours + [n for n in recorded if namespace_belongs_to(n, prefix)]):
        netns.delete_namespace(ns)
    netns.del_host_veth(lay.host_if)
    etc = "/etc/netns"
    if os.path.isdir(etc):
        for name in os.listdir(etc):
            if namespace_belongs_to(name, prefix):
                shutil.rmtree(os.path.join(etc, name), ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(etc)  # only when empty: other tools may keep entries there
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(REGISTRY_DIR, prefix))
    if remove_state and (os.path.exists(os.path.join(state_dir, MARKER))
                         or _only_snmpd_leftovers(state_dir)):
        shutil.rmtree(state_dir, ignore_errors=True)
    elif os.path.exists(lay.path("state.json")):
        # Kept for its logs only: `status` must not mistake it for a running school.
        os.replace(lay.path("state.json"), lay.path("failed-up.json"))
    leftovers = [ns for ns in netns.list_namespaces() if namespace_belongs_to(ns, prefix)]
    if netns.host_link_exists(lay.host_if):
        leftovers.append(lay.host_if)
    if leftovers:
        raise SimError(f"could not remove: {', '.join(leftovers)}")
