"""Configures and starts each daemon of the simulated school in its namespace.

Each function writes the daemon's private config under the state dir (or, for avahi, under
/etc/netns/<ns>/, which `ip netns exec` mounts over /etc) and starts it in the foreground through
procs.start, so the registry holds the daemon's own pid. Nothing reads or writes the host's
/etc/snmp, /var/lib/snmp, /etc/dnsmasq.conf or /etc/avahi.
"""

from __future__ import annotations

import bz2
import hashlib
import os
import pwd
import re
import shutil
import sys
from xml.sax.saxutils import escape

import procs
from layout import PYTHON, SIM_DIR, SNMPSIM_CACHE, Layout
from manifest import Cloud, Device, Manifest

NETNS_ETC = "/etc/netns"


def _write(path: str, text: str, mode: int = 0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _owned_by_nobody(path: str, directory=False):
    """snmpsimd drops to nobody before it writes its log and index cache."""
    nobody = pwd.getpwnam("nobody")
    if directory:
        os.makedirs(path, exist_ok=True)
    else:
        open(path, "ab").close()
    os.chown(path, nobody.pw_uid, nobody.pw_gid)


def dns_names(m: Manifest) -> list[tuple[str, str]]:
    """Every name the simulated ISP resolver knows: clouds, central, extra [[dns]] records."""
    names = [(c.host, c.address) for c in m.clouds]
    if m.central_name:
        names.append((m.central_name, m.central_address))
    return names + list(m.dns_records)


def start_dnsmasq(lay: Layout, m: Manifest) -> str:
    conf = lay.path("dns", "dnsmasq.conf")
    lines = [
        "# Written by simschool: the simulated ISP resolver. It never forwards anywhere.",
        "no-resolv", "no-hosts", "no-poll", "bind-interfaces",
        f"listen-address={m.dns}", "port=53",
        "log-queries", f"log-facility={lay.log('dnsmasq')}",
        f"pid-file={lay.path('dns', 'dnsmasq.pid')}",
        "local-ttl=60",
    ]
    lines += [f"host-record={name},{addr}" for name, addr in dns_names(m)]
    # Anything not listed above is answered NXDOMAIN rather than REFUSED, like a real resolver.
    lines.append("address=/#/")
    _write(conf, "\n".join(lines) + "\n")
    procs.start(lay.state_dir, "dnsmasq", lay.ns_dns,
                ["dnsmasq", "--keep-in-foreground", f"--conf-file={conf}"],
                lay.log("dnsmasq-stderr"))
    return "dnsmasq"


def start_gateway_snmpd(lay: Layout, m: Manifest) -> str:
    conf = lay.path("gw", "snmpd.conf")
    persist = lay.path("gw", "persist")
    os.makedirs(persist, mode=0o700, exist_ok=True)
    q = lambda s: '"' + s.replace('"', "") + '"'  # noqa: E731 - snmpd.conf quoting
    lines = [
        "# Written by simschool: the gateway's real net-snmp agent (it reads the kernel's ARP",
        "# table in the gateway namespace, which is how devices on other VLANs are found).",
        f"agentaddress udp:{m.lan_gateway}:161",
        f"rocommunity {m.gw_community} default",
        f"sysname {m.gw_sys_name}",
        f"syslocation {m.school_name}: comms cabinet",
        "syscontact IT support <itsupport@school.invalid>",
        "sysservices 78",
    ]
    if m.gw_sys_descr:
        lines.append(f"sysdescr {m.gw_sys_descr}")
    if m.gw_v3:
        v = m.gw_v3
        lines += [f"createUser {v['user']} {v['auth_proto']} {q(v['auth_key'])} "
                  f"{v['priv_proto']} {q(v['priv_key'])}",
                  f"rouser {v['user']} priv"]
    _write(conf, "\n".join(lines) + "\n", 0o600)
    procs.start(lay.state_dir, "snmpd", lay.ns_gw,
                ["snmpd", "-f", "-C", "-c", conf, "-p", lay.path("gw", "snmpd.pid"),
                 "-Lf", lay.log("snmpd")],
                lay.log("snmpd-stderr"),
                # Keeps net-snmp's persistent state (engine boots, v3 users) out of /var/lib/snmp.
                env={"SNMP_PERSISTENT_DIR": persist, "MIBS": "", "MIBDIRS": "/nonexistent"})
    return "snmpd"


def served_recording(lay: Layout, d: Device) -> str:
    """Where the device's recording is served from: devices/<name>/snmp-<hash>/<community>.snmprec
    (snmpsim takes the community from the file name). The hash of the content (recording plus
    any forwarding entries and sysName/sysLocation the school adds) keys snmpsim's shared index cache, so a
    different recording under the same device name can never be served through a stale index."""
    digest = hashlib.sha256()
    with open(d.snmp_recording, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"servable-lines-v2\n")  # how the served copy is derived from the recording
    for mac, port in sorted(d.fdb):
        digest.update(f"fdb {mac} {port}\n".encode())
    digest.update(f"sysName {d.sys_name!r} sysLocation {d.sys_location!r}\n".encode())
    return lay.path("devices", d.name, f"snmp-{digest.hexdigest()[:16]}",
                    f"{d.snmp_community}.snmprec")


def _oid_key(line: bytes):
    try:
        return (0, tuple(int(x) for x in line.split(b"|", 1)[0].strip(b".").split(b".")))
    except ValueError:
        return (1, ())  # lines that are not records keep their relative order, at the end


_NUMERIC_OID = re.compile(rb"^\.?[0-9]+(\.[0-9]+)*$")
_HEX = re.compile(rb"^([0-9a-fA-F]{2})*$")
_IPV4 = re.compile(rb"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
# snmpsim's tags (the sum of an ASN.1 type's tag numbers) and the range of the integer ones.
_TAGS = {b"2", b"4", b"5", b"6", b"64", b"65", b"66", b"67", b"68", b"70", b"128", b"129", b"130"}
_RANGES = {b"2": (-(1 << 31), (1 << 31) - 1), b"65": (0, (1 << 32) - 1),
           b"66": (0, (1 << 32) - 1), b"67": (0, (1 << 32) - 1), b"70": (0, (1 << 64) - 1)}


def unservable(line: bytes) -> str | None:
    """Why snmpsim could not serve this recording line (its search or its answer would fail on
    it), or None when it can."""
    parts = line.strip().split(b"|", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return "not OID|TAG|VALUE"
    oid, tag, value = parts
    if not _NUMERIC_OID.match(oid):
        return "OID not numeric"
    if any(int(arc) > 0xFFFFFFFF for arc in oid.strip(b".").split(b".")):
        return "OID arc above 2^32-1"
    base, _, variation = tag.partition(b":")
    if variation:
        return None  # a variation module (numeric, writecache...) makes the value
    encoding = base[-1:] if base[-1:] in (b"x", b"e") else b""
    number = base[:-1] if encoding else base
    if number not in _TAGS:
        return f"unknown tag {tag.decode(errors='replace')}"
    if encoding == b"x":
        return None if _HEX.match(value) else "hex value not hex"
    if encoding == b"e" or number in (b"4", b"5", b"68"):
        return None
    if number in _RANGES:
        try:
            n = int(value)
        except ValueError:
            return "integer value not a number"
        lo, hi = _RANGES[number]
        return None if lo <= n <= hi else "integer value out of range"
    if number == b"6":
        return None if _NUMERIC_OID.match(value) else "OID value not numeric"
    if number == b"64":
        return None if _IPV4.match(value) else "IpAddress value not dotted"
    return None


def servable_lines(data: bytes) -> tuple[list[bytes], list[tuple[int, str]]]:
    """The recording's non-blank lines snmpsim can serve, and the (1-based) numbers of the lines
    left out, with why."""
    keep, dropped = [], []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        why = unservable(line)
        if why is None:
            keep.append(line)
        else:
            dropped.append((number, why))
    return keep, dropped


def fdb_records(fdb: list[tuple[str, int]]) -> list[bytes]:
    """Learned entries for each (MAC, bridge port): BRIDGE-MIB dot1dTpFdbTable and Q-BRIDGE
    dot1qTpFdbTable (FDB id 1), address / port / status (3 = learned)."""
    out = []
    for mac, port in fdb:
        octets = [int(x, 16) for x in mac.split(":")]
        index = ".".join(str(o) for o in octets)
        out += [f"1.3.6.1.2.1.17.4.3.1.1.{index}|4x|{''.join('%02x' % o for o in octets)}".encode(),
                f"1.3.6.1.2.1.17.4.3.1.2.{index}|2|{port}".encode(),
                f"1.3.6.1.2.1.17.4.3.1.3.{index}|2|3".encode(),
                f"1.3.6.1.2.1.17.7.1.2.2.1.2.1.{index}|2|{port}".encode(),
                f"1.3.6.1.2.1.17.7.1.2.2.1.3.1.{index}|2|3".encode()]
    return out


def prepare_recording(lay: Layout, d: Device) -> str:
    """Copies (or decompresses) the recording into place, with the school's forwarding entries
    merged in OID order, and returns its data dir. An unchanged copy keeps the source's mtime,
    so snmpsim's cached index stays valid from one `up` to the next."""
    target = served_recording(lay, d)
    data_dir = os.path.dirname(target)
    os.makedirs(data_dir, exist_ok=True)
    opener = bz2.open if d.snmp_recording.endswith(".bz2") else open
    with opener(d.snmp_recording, "rb") as src:
        data = src.read()
    lines, dropped = servable_lines(data)
    if dropped:
        # Published recordings are sometimes anonymised by hand (addresses in OIDs written as
        # "10.xx.xx.1") or carry values no agent could send. snmpsim dies on the first such line
        # its search meets, which would turn a device into one that never answers; serve the
        # rest of the recording instead.
        number, why = dropped[0]
        print(f"simschool: device '{d.name}': {len(dropped)} line(s) of "
              f"{os.path.basename(d.snmp_recording)} cannot be served and are left out "
              f"(first at line {number}: {why})", file=sys.stderr)
    overrides = {oid: value for oid, value in ((b"1.3.6.1.2.1.1.5.0", d.sys_name),
                                                (b"1.3.6.1.2.1.1.6.0", d.sys_location))
                 if value is not None}
    if overrides:
        lines = [line for line in lines
                 if line.split(b"|", 1)[0].strip().lstrip(b".") not in overrides]
        lines += [oid + b"|4|" + value.encode() for oid, value in overrides.items()]
    if d.fdb:
        lines += fdb_records(d.fdb)
    # snmpsim finds the next OID by a binary search of the file, which needs OID order; stable,
    # so repeated OIDs in a recording stay as they were.
    ordered = sorted(lines, key=_oid_key)
    if dropped or d.fdb or overrides or ordered != lines:
        data = b"\n".join(ordered) + b"\n"
    with open(target, "wb") as dst:
        dst.write(data)
    st = os.stat(d.snmp_recording)
    os.utime(target, (st.st_atime, st.st_mtime))
    os.chmod(target, 0o644)
    return data_dir


def start_snmpsim(lay: Layout, d: Device) -> str:
    data_dir = prepare_recording(lay, d)
    _owned_by_nobody(SNMPSIM_CACHE, directory=True)
    log = lay.log(f"d-{d.name}-snmpsimd")
    _owned_by_nobody(log)
    name = f"snmpsimd:{d.name}"
    procs.start(lay.state_dir, name, lay.ns_device(d.name),
                ["snmpsimd", f"--data-dir={data_dir}",
                 f"--agent-udpv4-endpoint={d.address}:161",
                 "--process-user=nobody", "--process-group=nogroup",
                 f"--cache-dir={SNMPSIM_CACHE}", f"--logging-method=file:{log}"],
                log)
    return name


def start_garbage(lay: Layout, d: Device) -> str:
    name = f"garbage:{d.name}"
    procs.start(lay.state_dir, name, lay.ns_device(d.name),
                [PYTHON, os.path.join(SIM_DIR, "garbage_responder.py"), d.address],
                lay.log(f"d-{d.name}-garbage"))
    return name


AVAHI_CONF = """\
# Written by simschool for one simulated device; `ip netns exec` mounts this over /etc/avahi.
[server]
host-name={host}
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
enable-dbus=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
disable-publishing=no
publish-addresses=yes
publish-hinfo=no
publish-workstation=no
publish-domain=no
publish-aaaa-on-ipv4=no

[reflector]
enable-reflector=no
"""


def service_xml(d: Device, index: int) -> str:
    s = d.mdns_services[index]
    txt = "".join(f"\n    <txt-record>{escape(t)}</txt-record>" for t in s.txt)
    return (f'<?xml version="1.0" standalone="no"?>\n'
            f'<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n'
            f'<!-- Written by simschool for device {escape(d.name)} -->\n'
            f'<service-group>\n  <name replace-wildcards="no">{escape(s.name)}</name>\n'
            f'  <service>\n    <type>{escape(s.type)}</type>\n    <port>{s.port}</port>'
            f'{txt}\n  </service>\n</service-group>\n')


def write_avahi_config(lay: Layout, d: Device):
    etc = os.path.join(NETNS_ETC, lay.ns_device(d.name), "avahi")
    if os.path.isdir(etc):
        shutil.rmtree(etc)
    _write(os.path.join(etc, "avahi-daemon.conf"), AVAHI_CONF.format(host=d.mdns_hostname))
    for i, s in enumerate(d.mdns_services):
        stem = f"{i:02d}{s.type.replace('.', '')}"
        _write(os.path.join(etc, "services", f"{stem}.service"), service_xml(d, i))


def start_avahi(lay: Layout, d: Device) -> str:
    write_avahi_config(lay, d)
    name = f"avahi:{d.name}"
    # A private tmpfs on /run (in a mount namespace of its own) gives each daemon its own pid
    # file and socket, and leaves the host's /run untouched.
    script = ("mount -t tmpfs -o mode=0755,size=1m simschool-avahi /run && "
              "mkdir /run/avahi-daemon && "
              "exec avahi-daemon --no-drop-root --no-chroot --no-rlimits")
    procs.start(lay.state_dir, name, lay.ns_device(d.name),
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                lay.log(f"d-{d.name}-avahi"))
    return name


def start_cloud(lay: Layout, c: Cloud) -> str:
    name = f"cloud:{c.index}"
    procs.start(lay.state_dir, name, lay.ns_cloud(c.index),
                [PYTHON, os.path.join(SIM_DIR, "https_service.py"), "--address", c.address,
                 "--port", str(c.port), "--cert", lay.path("certs", f"cloud-{c.index}.pem"),
                 "--key", lay.path("certs", f"cloud-{c.index}.key"), "--host", c.host,
                 "--name", c.name, "--status", str(c.status), "--delay-ms", str(c.delay_ms)],
                lay.log(f"c-{c.index}-https"))
    return name


def start_central(lay: Layout, central_bin: str) -> str:
    procs.start(lay.state_dir, "central", lay.ns_central,
                [central_bin, "--config", lay.path("central.toml")], lay.log("central"))
    return "central"
