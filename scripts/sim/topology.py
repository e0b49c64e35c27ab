"""Builds the simulated school's network: namespaces, bridges, links, addresses and routes.

    LAN bridge (br-lan)       box, gateway eth0, devices            10.50.0.0/24
    VLAN bridges (br-v1...)   gateway eth2..., devices on that VLAN  10.50.20.0/24, ...
    internet bridge (br-inet) gateway eth1, dns, central, clouds,    198.18.0.0/24
                              and the host's one veth

All bridges live in the switch namespace, so the root namespace only gains `<prefix>-inet`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import netns
from layout import Layout
from manifest import Manifest, deterministic_mac


def namespaces(lay: Layout, m: Manifest) -> list[str]:
    """Every namespace this manifest needs, switch first (it must exist before any link)."""
    out = [lay.ns_sw, lay.ns_gw, lay.ns_box, lay.ns_dns, lay.ns_central]
    out += [lay.ns_cloud(c.index) for c in m.clouds if c.reachable]
    return out + [lay.ns_device(d.name) for d in m.devices]


def vlan_bridge(index: int) -> str:
    return f"br-v{index + 1}"


def build(lay: Layout, m: Manifest, created: list[str]):
    """Creates everything; appends each namespace to `created` as soon as it exists, so a
    failure half-way can still be cleaned up."""
    for ns in namespaces(lay, m):
        netns.add_namespace(ns)
        created.append(ns)

    sw = lay.ns_sw
    netns.add_bridge(sw, "br-lan")
    netns.add_bridge(sw, "br-inet")
    for i, _ in enumerate(m.vlans):
        netns.add_bridge(sw, vlan_bridge(i))

    _build_gateway(lay, m)

    netns.connect(sw, "br-lan", "box", lay.ns_box, "eth0", m.box_mac)
    netns.add_address(lay.ns_box, "eth0", f"{m.box}/{m.lan_subnet.prefixlen}")
    netns.add_route(lay.ns_box, "default", m.lan_gateway)

    inet_hosts = [(lay.ns_dns, "dns", m.dns), (lay.ns_central, "central", m.central_address)]
    inet_hosts += [(lay.ns_cloud(c.index), f"c{c.index}", c.address)
                   for c in m.clouds if c.reachable]
    for ns, port, address in inet_hosts:
        netns.connect(sw, "br-inet", port, ns, "eth0", deterministic_mac(m.prefix, ns))
        netns.add_address(ns, "eth0", f"{address}/{m.inet_subnet.prefixlen}")
        # The internet reaches the school's subnets through the gateway, nothing else.
        for subnet in [m.lan_subnet] + [v.subnet for v in m.vlans]:
            netns.add_route(ns, str(subnet), m.inet_gateway)

    for i, d in enumerate(m.devices):
        bridge = "br-lan" if d.vlan is None else vlan_bridge(
            [v.name for v in m.vlans].index(d.vlan))
        ns = lay.ns_device(d.name)
        netns.connect(sw, bridge, f"d{i + 1}", ns, "eth0", d.mac)
        netns.add_address(ns, "eth0", f"{d.address}/{d.subnet.prefixlen}")
        netns.add_route(ns, "default", d.gateway)

    netns.add_host_veth(lay.host_if, sw, "host", "br-inet",
                        f"{m.inet_host}/{m.inet_subnet.prefixlen}")
    write_box_resolv_conf(lay, m)


def _build_gateway(lay: Layout, m: Manifest):
    gw, sw = lay.ns_gw, lay.ns_sw
    netns.connect(sw, "br-lan", "gw-lan", gw, "eth0", m.gw_mac)
    netns.add_address(gw, "eth0", f"{m.lan_gateway}/{m.lan_subnet.prefixlen}")
    netns.connect(sw, "br-inet", "gw-inet", gw, "eth1", deterministic_mac(m.prefix, "gw-inet"))
    netns.add_address(gw, "eth1", f"{m.inet_gateway}/{m.inet_subnet.prefixlen}")
    for i, v in enumerate(m.vlans):
        dev = f"eth{i + 2}"
        netns.connect(sw, vlan_bridge(i), f"gw-v{i + 1}", gw, dev,
                      deterministic_mac(m.prefix, f"gw-{v.name}"))
        netns.add_address(gw, dev, f"{v.gateway}/{v.subnet.prefixlen}")
    netns.sysctl(gw, "net.ipv4.ip_forward", "1")


def write_box_resolv_conf(lay: Layout, m: Manifest):
    """`ip netns exec <box>` mounts this over /etc/resolv.conf: the box's ISP resolver."""
    etc = os.path.join("/etc/netns", lay.ns_box)
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write(f"# Written by simschool: the simulated ISP resolver.\nnameserver {m.dns}\n")


def fill_gateway_arp(lay: Layout, m: Manifest) -> list[str]:
    """Pings every device from the gateway, as traffic would on a real network, so its kernel
    ARP table (which snmpd serves) holds them. Returns the VLAN devices still missing."""
    def ping(address: str):
        netns.run(netns.ns_exec(lay.ns_gw) + ["ping", "-c", "2", "-i", "0.2", "-W", "1",
                                              address], check=False)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(ping, [d.address for d in m.devices]))
    missing = []
    for d in m.devices:
        if d.vlan is None:
            continue
        out = netns.run(["ip", "-n", lay.ns_gw, "neigh", "show", "to", d.address],
                        check=False).stdout
        if d.mac not in out.lower():
            missing.append(f"device '{d.name}' ({d.address}): {out.strip() or 'no entry'}")
    return missing
