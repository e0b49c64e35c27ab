"""The files `up` hands to everyone else: agent.toml, central.toml, env and env.json.

agent.toml and central.toml follow the exact formats the agent's and central's parsers accept
(both reject unknown keys), so nothing optional is written unless the manifest asks for it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex

from daemons import served_recording
from layout import Layout
from manifest import Manifest


def _q(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes; JSON never emits "\/").
    return json.dumps(value, ensure_ascii=False)


def _write_private(path: str, text: str):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def agent_id(m: Manifest) -> str:
    return f"sim-{m.school_id}-box"


def central_url(m: Manifest) -> str:
    return f"https://{m.central_address}:{m.central_port}"


def snmp_targets(m: Manifest) -> list[str]:
    """The gateway and every SNMP device on the LAN, in address order, then each extra VLAN as
    a subnet. Devices on other VLANs are not named: the agent must find them by sweeping those
    subnets and through the gateway's ARP table."""
    addrs = [m.lan_gateway] + [d.address for d in m.devices
                               if d.snmp_community is not None and d.vlan is None]
    singles = sorted(set(addrs), key=ipaddress.IPv4Address)
    return singles + [str(v.subnet) for v in m.vlans]


def probes(m: Manifest) -> list[dict]:
    out = []
    for c in m.clouds:
        for kind in c.probes:
            name = c.name if len(c.probes) == 1 else f"{c.name} ({kind})"
            if kind == "dns":
                target = c.host
            elif kind in ("tcp", "tls"):
                target = f"{c.host}:{c.port}"
            else:
                target = f"https://{c.host}/" if c.port == 443 else f"https://{c.host}:{c.port}/"
            out.append({"name": name, "kind": kind, "target": target,
                        "interval": m.agent_probe_interval, "cloud": c.name})
    return out


def write_agent_config(lay: Layout, m: Manifest, agent_token: str) -> str:
    path = lay.path("agent.toml")
    lines = [
        "# Written by simschool up; regenerated (with new tokens) on every up.",
        f"school_id = {_q(m.school_id)}",
        f"agent_id = {_q(agent_id(m))}",
        "[central]",
        f"url = {_q(central_url(m))}",
        f"ca_file = {_q(lay.ca_file)}",
        f"token = {_q(agent_token)}",
    ]
    if m.agent_upload_interval:
        lines.append(f"upload_interval = {_q(m.agent_upload_interval)}")
    lines += [
        "[store]",
        f"path = {_q(lay.path('agent', 'agent.db'))}",
        "[discovery]",
        f"snmp_targets = [{', '.join(_q(a) for a in snmp_targets(m))}]",
        f"snmp_communities = [{', '.join(_q(c) for c in m.communities())}]",
        'mdns_interfaces = ["eth0"]',
        # The simulated VLANs are namespaces on this machine: sweep them faster than the 50
        # packets/s a real school's network gets by default.
        "sweep_rate = 400",
        f"interval = {_q(m.agent_interval)}",
        "[probes]",
        f"ca_file = {_q(lay.ca_file)}",
    ]
    for p in probes(m):
        lines += ["[[probe]]", f"name = {_q(p['name'])}", f"kind = {_q(p['kind'])}",
                  f"target = {_q(p['target'])}", f"interval = {_q(p['interval'])}"]
    _write_private(path, "\n".join(lines) + "\n")
    return path


def write_central_config(lay: Layout, m: Manifest, api_token: str, agent_token: str) -> str:
    path = lay.path("central.toml")
    text = "\n".join([
        "[server]",
        f"listen = {_q(f'{m.central_address}:{m.central_port}')}",
        f"tls_cert = {_q(lay.path('certs', 'central.pem'))}",
        f"tls_key = {_q(lay.path('certs', 'central.key'))}",
        f"maintenance_file = {_q(lay.maintenance_file)}",
        "[store]",
        f"path = {_q(lay.path('central', 'central.db'))}",
        "[[api_token]]",
        f"token = {_q(api_token)}",
        'schools = ["*"]',
        "[[agent]]",
        f"token = {_q(agent_token)}",
        f"school_id = {_q(m.school_id)}",
        f"agent_id = {_q(agent_id(m))}",
    ]) + "\n"
    _write_private(path, text)
    return path


def environment(lay: Layout, m: Manifest, api_token: str, build_dir: str) -> dict[str, str]:
    return {
        "CENTRAL_URL": central_url(m),
        "CENTRAL_API_TOKEN": api_token,
        "CENTRAL_CA_FILE": lay.ca_file,
        "SCHOOL_ID": m.school_id,
        "AGENT_ID": agent_id(m),
        "AGENT_CONFIG": lay.path("agent.toml"),
        "BOX_EXEC": f"ip netns exec {lay.ns_box}",
        "SIM_PREFIX": m.prefix,
        "SIM_STATE_DIR": lay.state_dir,
        "SIM_MANIFEST": m.path,
        "SCHOOLNET_BUILD_DIR": build_dir,
    }


def inventory(lay: Layout, m: Manifest) -> dict:
    """What the manifest says the school holds, for tests to compare with what central reports."""
    devices = []
    for d in m.devices:
        snmp = None
        if d.snmp_community is not None:
            served = (served_recording(lay, d)
                      if d.snmp_recording and d.snmp_behaviour == "normal" else None)
            snmp = {"community": d.snmp_community, "recording": d.snmp_recording,
                    "served_file": served, "behaviour": d.snmp_behaviour,
                    "sys_name": d.sys_name, "sys_location": d.sys_location}
        mdns = None
        if d.mdns_hostname:
            mdns = {"hostname": d.mdns_hostname,
                    "services": [{"type": s.type, "name": s.name, "port": s.port, "txt": s.txt}
                                 for s in d.mdns_services]}
        devices.append({"name": d.name, "kind": d.kind, "address": d.address, "mac": d.mac,
                        "vlan": d.vlan, "namespace": lay.ns_device(d.name), "snmp": snmp,
                        "mdns": mdns,
                        "uplink": ({"switch": d.uplink[0], "bridge_port": d.uplink[1]}
                                   if d.uplink else None)})
    clouds = [{"name": c.name, "host": c.host, "address": c.address, "port": c.port,
               "reachable": c.reachable, "status": c.status, "delay_ms": c.delay_ms,
               "probes": c.probes, "namespace": lay.ns_cloud(c.index) if c.reachable else None}
              for c in m.clouds]
    gateway = {"lan_address": m.lan_gateway, "internet_address": m.inet_gateway,
               "mac": m.gw_mac, "sys_name": m.gw_sys_name,
               "vlans": [{"name": v.name, "subnet": str(v.subnet), "gateway": v.gateway}
                         for v in m.vlans],
               "snmp": {"community": m.gw_community, "v3": m.gw_v3}}
    return {"school": {"id": m.school_id, "name": m.school_name, "prefix": m.prefix},
            "lan": {"subnet": str(m.lan_subnet), "gateway": m.lan_gateway, "box": m.box,
                    "box_mac": m.box_mac},
            "internet": {"subnet": str(m.inet_subnet), "gateway": m.inet_gateway,
                         "host": m.inet_host, "dns": m.dns},
            "central": {"address": m.central_address, "port": m.central_port,
                        "name": m.central_name},
            "gateway": gateway, "devices": devices, "clouds": clouds,
            "dns": [{"name": n, "address": a} for n, a in m.dns_records],
            "probes": probes(m), "snmp_targets": snmp_targets(m),
            "snmp_communities": m.communities()}


def write_env(lay: Layout, m: Manifest, env: dict[str, str], extra: dict) -> str:
    text = "# Written by simschool up. Source it: . " + lay.env_file + "\n"
    text += "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items())
    _write_private(lay.env_file, text)
    _write_private(lay.path("env.json"),
                   json.dumps({**env, **inventory(lay, m), **extra}, indent=1) + "\n")
    return lay.env_file
