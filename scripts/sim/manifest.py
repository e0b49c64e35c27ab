"""Loads and validates a simulated-school manifest (TOML) into plain dataclasses.

Every error names the file and the key it is about (`device 'copier': snmp.community: ...`);
unknown keys are errors, so a typo never silently falls back to a default.
The format is documented in docs/simulated-school.md and scripts/sim/manifests/default.toml.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field

DEVICE_KINDS = ("switch", "access_point", "router", "printer", "ups", "server", "display",
                "camera", "phone", "end_user", "unknown")
SNMP_BEHAVIOURS = ("normal", "silent", "garbage")
PROBE_KINDS = ("dns", "tcp", "tls", "https")
AUTH_PROTOS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOS = ("DES", "AES")

# Short enough that "<prefix>-inet" (the host's veth) fits the kernel's 15-character limit.
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
NODE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                     r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MDNS_TYPE_RE = re.compile(r"^_[A-Za-z0-9-]{1,15}\._(tcp|udp)$")
MDNS_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
DURATION_RE = re.compile(r"^[0-9]+(ms|s|m|h)$")


class ManifestError(Exception):
    pass


@dataclass
class Vlan:
    name: str
    subnet: ipaddress.IPv4Network
    gateway: str


@dataclass
class MdnsService:
    type: str
    name: str
    port: int
    txt: list[str]


@dataclass
class Device:
    name: str
    kind: str
    address: str
    mac: str
    vlan: str | None            # None: the school LAN
    subnet: ipaddress.IPv4Network
    gateway: str                # the device's default route
    snmp_recording: str | None  # resolved absolute path
    snmp_community: str | None  # None: no SNMP at all
    snmp_behaviour: str | None
    mdns_hostname: str | None   # None: no mDNS
    mdns_services: list[MdnsService] = field(default_factory=list)
    uplink: tuple[str, int] | None = None  # (switch device name, bridge port) it is plugged into
    # For switches: (MAC, bridge port) of every device whose uplink names this switch; served as
    # learned entries of the switch's BRIDGE-MIB and Q-BRIDGE forwarding tables.
    fdb: list[tuple[str, int]] = field(default_factory=list)
    # sysName and sysLocation served instead of the recording's (published recordings are
    # anonymised to "<private>"); None: the recording's own.
    sys_name: str | None = None
    sys_location: str | None = None


@dataclass
class Cloud:
    index: int
    name: str
    host: str
    address: str
    port: int
    reachable: bool
    status: int
    delay_ms: int
    probes: list[str]


@dataclass
class Manifest:
    path: str
    school_id: str
    school_name: str
    prefix: str
    lan_subnet: ipaddress.IPv4Network
    lan_gateway: str
    box: str
    box_mac: str
    vlans: list[Vlan]
    inet_subnet: ipaddress.IPv4Network
    inet_gateway: str
    inet_host: str
    dns: str
    central_address: str
    central_port: int
    central_name: str | None
    gw_mac: str
    gw_sys_name: str
    gw_sys_descr: str | None
    gw_community: str
    gw_v3: dict | None          # {user, auth_key, priv_key, auth_proto, priv_proto}
    devices: list[Device]
    clouds: list[Cloud]
    dns_records: list[tuple[str, str]]
    agent_interval: str
    agent_probe_interval: str
    agent_upload_interval: str | None

    def vlan(self, name: str) -> Vlan:
        return next(v for v in self.vlans if v.name == name)

    def communities(self) -> list[str]:
        """Every SNMP community the manifest uses, gateway first, without repeats."""
        seen = [self.gw_community]
        for d in self.devices:
            if d.snmp_community and d.snmp_community not in seen:
                seen.append(d.snmp_community)
        return seen


def deterministic_mac(prefix: str, name: str) -> str:
    """A stable locally-administered unicast MAC derived from the node's name."""
    digest = hashlib.sha256(f"{prefix}/{name}".encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])


class _Table:
    """Reads one TOML table, remembering which keys were used so leftovers can be reported."""

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise ManifestError(f"{where}: expected a table")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def _err(self, key, msg):
        return ManifestError(f"{self.where}: {key}: {msg}")

    def get(self, key, typ, default=None, required=False):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self._err(key, "is required")
            return default
        value = self.data[key]
        # TOML booleans are ints in Python; keep them apart.
        if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._err(key, f"expected an integer, got {value!r}")
        if typ is not int and not isinstance(value, typ):
            raise self._err(key, f"expected {typ.__name__}, got {value!r}")
        return value

    def str(self, key, default=None, required=False, pattern=None, what="value"):
        value = self.get(key, str, default, required)
        if value is not None and pattern is not None and not pattern.match(value):
            raise self._err(key, f"{value!r} is not a valid {what}")
        return value

    def int(self, key, default=None, lo=None, hi=None, required=False):
        value = self.get(key, int, default, required)
        too_low = lo is not None and value is not None and value < lo
        too_high = hi is not None and value is not None and value > hi
        if too_low or too_high:
            raise self._err(key, f"{value} is outside {lo}..{hi}")
        return value

    def ip(self, key, required=True, default=None):
        value = self.str(key, default, required)
        if value is None:
            return None
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise self._err(key, f"{value!r} is not an IPv4 address") from None

    def net(self, key):
        value = self.str(key, required=True)
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as e:
            raise self._err(key, f"{value!r} is not an IPv4 subnet ({e})") from None
        if net.prefixlen > 30:
            raise self._err(key, f"{value!r} is too small (at most /30)")
        return net

    def str_list(self, key, default):
        value = self.get(key, list, default)
        if any(not isinstance(v, str) for v in value):
            raise self._err(key, "expected a list of strings")
        return value

    def sub(self, key, required=False):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self._err(key, "table is required")
            return None
        return _Table(self.data[key], f"[{key}]")  # callers name it more precisely

    def array(self, key):
        self.used.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
            raise self._err(key, "expected an array of tables ([[...]])")
        return value

    def done(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ManifestError(f"{self.where}: unknown key(s): {', '.join(unknown)}")


def _in(addr: str, net, where: str):
    if ipaddress.IPv4Address(addr) not in net or addr in (str(net.network_address),
                                                          str(net.broadcast_address)):
        raise ManifestError(f"{where}: {addr} is not a host address in {net}")


def resolve_recording(value: str, manifest_dir: str, project_dir: str, where: str) -> str:
    """Absolute path; else relative to the manifest; else a bare name in tests/data/snmprec/."""
    candidates = [value] if os.path.isabs(value) else [
        os.path.join(manifest_dir, value),
        os.path.join(project_dir, "tests", "data", "snmprec", value),
    ]
    for c in candidates:
        if os.path.isfile(c):
            if not (c.endswith(".snmprec") or c.endswith(".snmprec.bz2")):
                raise ManifestError(f"{where}: {c}: a recording must end in .snmprec or "
                                    ".snmprec.bz2")
            return os.path.realpath(c)
    raise ManifestError(f"{where}: {value!r} not found (looked at {', '.join(candidates)})")


def load(path: str, project_dir: str) -> Manifest:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ManifestError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: not valid TOML: {e}") from None
    try:
        return _parse(data, os.path.realpath(path), project_dir)
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None


def _parse(data: dict, path: str, project_dir: str) -> Manifest:
    top = _Table(data, "manifest")
    # Report a misspelt table first: otherwise it shows up as "required table missing".
    unknown = sorted(set(data) - {"school", "lan", "vlan", "internet", "central", "gateway",
                                  "device", "cloud", "dns", "agent"})
    if unknown:
        raise ManifestError(f"unknown top-level key(s) or table(s): {', '.join(unknown)}")

    school = top.sub("school", required=True)
    school.where = "[school]"
    school_id = school.str("id", required=True, pattern=re.compile(r"^[A-Za-z0-9-]{1,32}$"),
                           what="school id (letters, digits, '-')")
    school_name = school.str("name", required=True)
    prefix = school.str("prefix", "sn", pattern=PREFIX_RE,
                        what="prefix (a lowercase letter then up to 7 lowercase letters/digits)")
    school.done()

    lan = top.sub("lan", required=True)
    lan.where = "[lan]"
    lan_subnet = lan.net("subnet")
    lan_gateway = lan.ip("gateway")
    box = lan.ip("box")
    box_mac = lan.str("box_mac", None, pattern=MAC_RE, what="MAC address")
    lan.done()
    _in(lan_gateway, lan_subnet, "[lan] gateway")
    _in(box, lan_subnet, "[lan] box")

    vlans = []
    for i, raw in enumerate(top.array("vlan")):
        t = _Table(raw, f"[[vlan]] #{i + 1}")
        name = t.str("name", required=True, pattern=NODE_NAME_RE, what="VLAN name")
        t.where = f"[[vlan]] '{name}'"
        v = Vlan(name, t.net("subnet"), t.ip("gateway"))
        t.done()
        _in(v.gateway, v.subnet, f"{t.where} gateway")
        if any(o.name == name for o in vlans):
            raise ManifestError(f"{t.where}: duplicate VLAN name")
        vlans.append(v)

    inet = top.sub("internet", required=True)
    inet.where = "[internet]"
    inet_subnet = inet.net("subnet")
    inet_gateway, inet_host, dns = inet.ip("gateway"), inet.ip("host"), inet.ip("dns")
    inet.done()
    for k, a in (("gateway", inet_gateway), ("host", inet_host), ("dns", dns)):
        _in(a, inet_subnet, f"[internet] {k}")

    nets = [("[lan] subnet", lan_subnet), ("[internet] subnet", inet_subnet)] + [
        (f"[[vlan]] '{v.name}' subnet", v.subnet) for v in vlans]
    for i, (wa, na) in enumerate(nets):
        for wb, nb in nets[i + 1:]:
            if na.overlaps(nb):
                raise ManifestError(f"{wb}: {nb} overlaps {wa} {na}")

    central = top.sub("central") or _Table({}, "[central]")
    central.where = "[central]"
    central_address = central.ip("address")
    central_port = central.int("port", 8443, 1, 65535)
    central_name = central.str("name", None, pattern=HOST_RE, what="DNS name")
    central.done()
    _in(central_address, inet_subnet, "[central] address")

    gw = top.sub("gateway") or _Table({}, "[gateway]")
    gw.where = "[gateway]"
    gw_mac = gw.str("mac", None, pattern=MAC_RE, what="MAC address")
    gw_sys_name = gw.str("sys_name", "gateway")
    gw_sys_descr = gw.str("sys_descr", None)
    gsnmp = gw.sub("snmp") or _Table({}, "[gateway.snmp]")
    gsnmp.where = "[gateway.snmp]"
    # No space, '"' or '#': the community is written into snmpd.conf as one bare word.
    gw_community = gsnmp.str("community", "public", pattern=re.compile(r"^[!$-~]{1,32}$"),
                             what="community (1-32 printable characters; no space, '\"' or '#')")
    v3_user = gsnmp.str("v3_user", None, pattern=re.compile(r"^[A-Za-z0-9_.-]{1,32}$"),
                        what="user name")
    gw_v3 = None
    if v3_user:
        gw_v3 = {"user": v3_user,
                 "auth_key": gsnmp.str("v3_auth_key", required=True),
                 "priv_key": gsnmp.str("v3_priv_key", required=True),
                 "auth_proto": gsnmp.str("v3_auth_proto", "SHA"),
                 "priv_proto": gsnmp.str("v3_priv_proto", "AES")}
        for k in ("auth_key", "priv_key"):
            if len(gw_v3[k]) < 8 or '"' in gw_v3[k]:
                raise ManifestError(f"[gateway.snmp]: v3_{k}: needs at least 8 characters "
                                    "and no '\"'")
        if gw_v3["auth_proto"] not in AUTH_PROTOS:
            raise ManifestError(f"[gateway.snmp]: v3_auth_proto: one of {', '.join(AUTH_PROTOS)}")
        if gw_v3["priv_proto"] not in PRIV_PROTOS:
            raise ManifestError(f"[gateway.snmp]: v3_priv_proto: one of {', '.join(PRIV_PROTOS)}")
    else:
        for k in ("v3_auth_key", "v3_priv_key", "v3_auth_proto", "v3_priv_proto"):
            if k in gsnmp.data:
                raise ManifestError(f"[gateway.snmp]: {k}: set without v3_user")
            gsnmp.used.add(k)
    gsnmp.done()
    gw.done()

    manifest_dir = os.path.dirname(path)
    devices = [_parse_device(raw, i, prefix, lan_subnet, lan_gateway, vlans, manifest_dir,
                             project_dir) for i, raw in enumerate(top.array("device"))]
    clouds = [_parse_cloud(raw, i, inet_subnet) for i, raw in enumerate(top.array("cloud"))]

    dns_records = []
    for i, raw in enumerate(top.array("dns")):
        t = _Table(raw, f"[[dns]] #{i + 1}")
        dns_records.append((t.str("name", required=True, pattern=HOST_RE, what="DNS name"),
                            t.ip("address")))
        t.done()

    agent = top.sub("agent") or _Table({}, "[agent]")
    agent.where = "[agent]"
    dur = dict(pattern=DURATION_RE, what="duration (e.g. 30s, 5m, 1h)")
    agent_interval = agent.str("interval", "5m", **dur)
    agent_probe_interval = agent.str("probe_interval", "1m", **dur)
    agent_upload_interval = agent.str("upload_interval", None, **dur)
    agent.done()
    top.done()

    m = Manifest(path, school_id, school_name, prefix, lan_subnet, lan_gateway, box,
                 box_mac or deterministic_mac(prefix, "box"), vlans, inet_subnet, inet_gateway,
                 inet_host, dns, central_address, central_port, central_name,
                 gw_mac or deterministic_mac(prefix, "gw"), gw_sys_name, gw_sys_descr,
                 gw_community, gw_v3, devices, clouds, dns_records, agent_interval,
                 agent_probe_interval, agent_upload_interval)
    _check_unique(m)
    _attach_uplinks(m)
    return m


def _attach_uplinks(m: Manifest):
    """Gives every switch the forwarding-table entries of the devices plugged into it."""
    by_name = {d.name: d for d in m.devices}
    for d in m.devices:
        if d.uplink is None:
            continue
        sw = by_name.get(d.uplink[0])
        where = f"device '{d.name}': uplink"
        if sw is None or sw is d:
            raise ManifestError(f"{where}: no other device named {d.uplink[0]!r}")
        if sw.snmp_behaviour != "normal" or not sw.snmp_recording:
            raise ManifestError(f"{where}: {sw.name!r} serves no SNMP recording to add the "
                                "forwarding entry to")
        sw.fdb.append((d.mac, d.uplink[1]))


def _parse_device(raw, i, prefix, lan_subnet, lan_gateway, vlans, manifest_dir, project_dir):
    t = _Table(raw, f"[[device]] #{i + 1}")
    name = t.str("name", required=True, pattern=NODE_NAME_RE,
                 what="device name (lowercase letters, digits, '-'; at most 24)")
    t.where = f"device '{name}'"
    kind = t.str("kind", required=True)
    if kind not in DEVICE_KINDS:
        raise ManifestError(f"{t.where}: kind: {kind!r} is not one of {', '.join(DEVICE_KINDS)}")
    address = t.ip("address")
    mac = t.str("mac", None, pattern=MAC_RE, what="MAC address (aa:bb:cc:dd:ee:ff)")
    if mac and int(mac[:2], 16) & 1:
        raise ManifestError(f"{t.where}: mac: {mac} is a multicast address")
    vlan_name = t.str("vlan", None)
    if vlan_name is None:
        subnet, gateway = lan_subnet, lan_gateway
    else:
        match = [v for v in vlans if v.name == vlan_name]
        if not match:
            raise ManifestError(f"{t.where}: vlan: no [[vlan]] named {vlan_name!r}")
        subnet, gateway = match[0].subnet, match[0].gateway
    _in(address, subnet, f"{t.where}: address")

    rec = comm = behaviour = sys_name = sys_location = None
    snmp = t.sub("snmp")
    if snmp is not None:
        snmp.where = f"device '{name}': snmp"
        behaviour = snmp.str("behaviour", "normal")
        if behaviour not in SNMP_BEHAVIOURS:
            raise ManifestError(f"{snmp.where}: behaviour: {behaviour!r} is not one of "
                                f"{', '.join(SNMP_BEHAVIOURS)}")
        comm = snmp.str("community", "public", pattern=re.compile(r"^[A-Za-z0-9_.@-]{1,32}$"),
                        what="community (letters, digits, '_.@-'; it becomes a file name)")
        rec_value = snmp.str("recording", None, required=(behaviour == "normal"))
        if rec_value is not None:
            rec = resolve_recording(rec_value, manifest_dir, project_dir,
                                    f"{snmp.where}: recording")
        text = re.compile(r"^[ -~]{1,64}$")
        sys_name = snmp.str("sys_name", None, pattern=text,
                            what="sysName (1..64 printable ASCII characters)")
        sys_location = snmp.str("sys_location", None, pattern=text,
                                what="sysLocation (1..64 printable ASCII characters)")
        snmp.done()

    uplink = None
    uplink_value = t.str("uplink", None, pattern=re.compile(r"^[a-z0-9-]{1,24}:[0-9]{1,4}$"),
                         what="switch:port (a device name and a bridge port number)")
    if uplink_value is not None:
        sw, port = uplink_value.split(":")
        if not 1 <= int(port) <= 4096:
            raise ManifestError(f"{t.where}: uplink: bridge port {port} is not 1..4096")
        uplink = (sw, int(port))

    hostname = None
    services = []
    mdns = t.sub("mdns")
    if mdns is not None:
        mdns.where = f"device '{name}': mdns"
        hostname = mdns.str("hostname", name, pattern=MDNS_HOST_RE, what="host name label")
        for j, sraw in enumerate(mdns.array("service")):
            s = _Table(sraw, f"device '{name}': mdns.service #{j + 1}")
            stype = s.str("type", required=True, pattern=MDNS_TYPE_RE,
                          what="service type (e.g. _ipp._tcp)")
            services.append(MdnsService(stype, s.str("name", required=True),
                                        s.int("port", lo=0, hi=65535, required=True),
                                        s.str_list("txt", [])))
            if not services[-1].name or len(services[-1].name.encode()) > 63:
                raise ManifestError(f"{s.where}: name: must be 1..63 bytes")
            s.done()
        if not services:
            raise ManifestError(f"{mdns.where}: needs at least one [[device.mdns.service]]")
        mdns.done()
    t.done()
    return Device(name, kind, address, (mac or deterministic_mac(prefix, name)).lower(),
                  vlan_name, subnet, gateway, rec, comm, behaviour, hostname, services, uplink,
                  sys_name=sys_name, sys_location=sys_location)


def _parse_cloud(raw, i, inet_subnet) -> Cloud:
    t = _Table(raw, f"[[cloud]] #{i + 1}")
    name = t.str("name", required=True)
    t.where = f"cloud '{name}'"
    host = t.str("host", required=True, pattern=HOST_RE, what="DNS name")
    address = t.ip("address")
    _in(address, inet_subnet, f"{t.where}: address")
    c = Cloud(i + 1, name, host.lower(), address, t.int("port", 443, 1, 65535),
              t.get("reachable", bool, True), t.int("status", 200, 100, 599),
              t.int("delay_ms", 0, 0, 600_000), t.str_list("probes", ["https"]))
    bad = [p for p in c.probes if p not in PROBE_KINDS]
    if bad or not c.probes or len(set(c.probes)) != len(c.probes):
        raise ManifestError(f"{t.where}: probes: a non-empty list of distinct kinds from "
                            f"{', '.join(PROBE_KINDS)} (got {c.probes!r})")
    t.done()
    return c


def _check_unique(m: Manifest):
    def unique(items, what):
        seen = {}
        for where, value in items:
            if value in seen:
                raise ManifestError(f"{where}: {what} {value} is already used by {seen[value]}")
            seen[value] = where

    addresses = [("[lan] gateway", m.lan_gateway), ("[lan] box", m.box),
                 ("[internet] gateway", m.inet_gateway), ("[internet] host", m.inet_host),
                 ("[internet] dns", m.dns), ("[central] address", m.central_address)]
    addresses += [(f"[[vlan]] '{v.name}' gateway", v.gateway) for v in m.vlans]
    addresses += [(f"device '{d.name}'", d.address) for d in m.devices]
    addresses += [(f"cloud '{c.name}'", c.address) for c in m.clouds]
    unique(addresses, "address")
    unique([(f"device '{d.name}'", d.name) for d in m.devices], "name")
    unique([("[gateway] mac", m.gw_mac), ("[lan] box_mac", m.box_mac)] +
           [(f"device '{d.name}'", d.mac) for d in m.devices], "MAC")
    unique([(f"cloud '{c.name}'", c.name) for c in m.clouds], "name")
    names = [(f"cloud '{c.name}'", c.host) for c in m.clouds]
    names += [(f"[[dns]] '{n}'", n.lower()) for n, _ in m.dns_records]
    if m.central_name:
        names.append(("[central] name", m.central_name.lower()))
    unique(names, "DNS name")
    hostnames = [(f"device '{d.name}'", d.mdns_hostname.lower())
                 for d in m.devices if d.mdns_hostname]
    unique(hostnames, "mDNS host name")
    for d in m.devices:
        unique([(f"device '{d.name}': mdns service", (s.type, s.name)) for s in d.mdns_services],
               "mDNS service")
