"""Discovery in depth, on the simulated school with real agents: devices on another VLAN found
by the sweep and the router's ARP table, devices placed on switch ports by forwarding tables,
the topology at central, no personal data at central, walks that survive GETBULK trouble
(through a relay that mistreats GETBULK as real devices do), and SNMPv3 against real snmpd
instances that share an engine ID and reboot with their boot counter reset."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

AGENT = os.path.join(simlib.BUILD_DIR, "agent", "schoolnet-agent")
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snmp_relay.py")
MDNS6 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mdns6_responder.py")
V3_USER, V3_AUTH, V3_PRIV = "labtech", "lab-auth-pass-1", "lab-priv-pass-1"
# A second user on a third agent: SHA-256 authentication without privacy (authNoPriv).
V3_USER_256, V3_AUTH_256 = "labtech256", "lab-auth-pass-256"


def derived_config(school: simlib.School, name: str, *, targets=None, communities=None,
                   probes=True, extra="") -> str:
    """A copy of the generated agent config with its own store and the given changes."""
    with open(school.env["AGENT_CONFIG"]) as f:
        text = f.read()
    store = os.path.join(school.state_dir, f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    text = re.sub(r'(?m)^path = ".*"$', f'path = "{store}"', text)
    if targets is not None:
        text = re.sub(r"(?m)^snmp_targets = .*$",
                      "snmp_targets = [" + ", ".join(f'"{t}"' for t in targets) + "]", text)
    if communities is not None:
        text = re.sub(r"(?m)^snmp_communities = .*$",
                      "snmp_communities = [" + ", ".join(f'"{c}"' for c in communities) + "]",
                      text)
    if not probes:
        text = text.split("[[probe]]")[0]
    for line in extra.splitlines():
        key = line.split("=", 1)[0].strip()
        if re.search(rf"(?m)^{key} = ", text):
            text = re.sub(rf"(?m)^{key} = .*$", line, text, count=1)
        else:
            text = text.replace("[discovery]\n", "[discovery]\n" + line + "\n", 1)
    path = os.path.join(school.state_dir, f"{name}.toml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def inventory(config: str) -> list[dict]:
    out = subprocess.run([AGENT, "inventory", "--config", config, "--json"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


def at(devices: list[dict], address: str) -> dict | None:
    return next((d for d in devices if address in d["addresses"]), None)


def expected_port(recording: str, bridge_port: int) -> str:
    """The port name a switch's recording gives a bridge port: ifName of its ifIndex."""
    rec = simlib.read_snmprec(recording)
    if_index = bridge_port
    base = rec.get(f"1.3.6.1.2.1.17.1.4.1.2.{bridge_port}")
    if base:
        if_index = int(base[1])
    for column in ("1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.2.2.1.2"):
        value = rec.get(f"{column}.{if_index}")
        if value and value[1]:
            return value[1].rstrip(b"\0").decode("utf-8", "replace")
    raise AssertionError(f"no name for bridge port {bridge_port} in {recording}")


class Discovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not simlib.central_available():
            raise RuntimeError(f"{simlib.central_binary()} is not built")
        cls.school = simlib.up(no_central=False)
        cls.config = derived_config(cls.school, "discovery")
        run = cls.school.box_exec([AGENT, "once", "--config", cls.config], timeout=240)
        if run.returncode != 0:
            raise RuntimeError(run.stdout + run.stderr)
        cls.local = inventory(cls.config)
        sid = cls.school.env["SCHOOL_ID"]
        cls.central = {p: cls.school.central_get(f"/api/v1/schools/{sid}/{p}")
                       for p in ("devices", "topology", "changes", "agents")}

    @classmethod
    def tearDownClass(cls):
        cls.school.down()

    def test_devices_on_another_vlan_are_found_by_the_sweep_and_the_routers_arp_table(self):
        vlan_devices = [d for d in self.school.info["devices"] if d.get("vlan")]
        self.assertTrue(vlan_devices, "the default school has a device on the staff VLAN")
        for dev in vlan_devices:
            with self.subTest(device=dev["name"]):
                got = at(self.central["devices"], dev["address"])
                self.assertIsNotNone(got, f"{dev['name']} not at central")
                self.assertEqual(got["mac"], dev["mac"], "the MAC comes from the gateway's ARP table")
                self.assertTrue(any(s.startswith("arp:") for s in got["sources"]), got["sources"])
                if (dev.get("snmp") or {}).get("behaviour") == "normal":
                    self.assertIn("snmp", got["sources"])
                    self.assertEqual(got["class"], dev["kind"])

    def test_devices_are_placed_on_the_switch_port_their_mac_was_learned_on(self):
        by_name = {d["name"]: d for d in self.school.info["devices"]}
        placed = 0
        for dev in self.school.info["devices"]:
            up = dev.get("uplink")
            if not up or dev["kind"] == "end_user":
                continue
            switch = by_name[up["switch"]]
            with self.subTest(device=dev["name"]):
                got = at(self.central["devices"], dev["address"])
                self.assertIsNotNone(got)
                self.assertIsNotNone(got["uplink"], f"{dev['name']} was not placed")
                self.assertEqual(got["uplink"]["switch_device_id"], "mac:" + switch["mac"])
                self.assertEqual(got["uplink"]["port"],
                                 expected_port(switch["snmp"]["recording"], up["bridge_port"]))
                placed += 1
        self.assertGreaterEqual(placed, 5)

    def test_central_holds_the_topology(self):
        links = self.central["topology"]
        fdb = [l for l in links if l["source"] == "fdb"]
        self.assertGreaterEqual(len(fdb), 5)
        switch_ids = {"mac:" + d["mac"] for d in self.school.info["devices"] if d["kind"] == "switch"}
        for link in fdb:
            self.assertIn(link["to_device_id"], switch_ids)

    def test_no_personal_host_name_or_mac_reaches_central(self):
        text = json.dumps(self.central).lower()
        personal = [d for d in self.school.info["devices"] if d["kind"] == "end_user"]
        self.assertTrue(personal)
        for dev in personal:
            self.assertNotIn(dev["mac"].lower(), text)
            mdns = dev.get("mdns") or {}
            if mdns.get("hostname"):
                self.assertNotIn(mdns["hostname"].lower(), text)
            for svc in mdns.get("services", []):
                self.assertNotIn(svc["name"].lower(), text)
        # The same holds for the devices the recorded switches' own tables mention.
        anon = [d for d in self.central["devices"] if d.get("pseudonymised")]
        self.assertTrue(anon)
        for d in anon:
            self.assertEqual(d["mac"], "")
            self.assertEqual(d["addresses"], [])
            self.assertTrue(d["device_id"].startswith("anon:"))

    def test_the_inventory_command_shows_class_vendor_model_and_placement(self):
        printer = at(self.local, "10.50.0.21")
        self.assertEqual(printer["class"], "printer")
        self.assertEqual(printer["vendor"], "SHARP Corporation")
        self.assertEqual(len(printer["supplies"]), 5)
        self.assertIsNotNone(printer["uplink"])
        csv = subprocess.run([AGENT, "inventory", "--config", self.config, "--csv"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(csv.returncode, 0)
        self.assertTrue(csv.stdout.startswith("class,name,addresses,mac,vendor,model"))
        detail = subprocess.run([AGENT, "inventory", "--config", self.config, "--device",
                                 "10.50.0.21"], capture_output=True, text=True, timeout=30)
        self.assertIn("plugged into", detail.stdout)
        self.assertIn("Black Toner: 75%", detail.stdout)


class GetBulkTrouble(unittest.TestCase):
    """A relay in the silent library switch's namespace stands in for a device whose GETBULK is
    broken; behind it, the core switch's recording."""

    @classmethod
    def setUpClass(cls):
        cls.school = simlib.up(no_central=False)

    @classmethod
    def tearDownClass(cls):
        cls.school.down()

    def walk_through_relay(self, mode: str, communities=("public",),
                           extra: str = "") -> tuple[dict, str, list[str]]:
        ns = self.school.info["devices"]
        library = next(d for d in ns if d["name"] == "library-switch")
        core = next(d for d in ns if d["name"] == "core-switch")
        relay = subprocess.Popen(["ip", "netns", "exec", library["namespace"], "/usr/bin/python3",
                                  RELAY, library["address"], core["address"], mode],
                                 stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(relay.stdout.readline().strip(), "ready")
            config = derived_config(self.school, f"relay-{mode.split(':')[0]}",
                                    targets=[library["address"]],
                                    communities=list(communities), probes=False,
                                    extra='snmp_timeout = "500ms"\nsnmp_retries = 0\n' + extra)
            run = self.school.box_exec([AGENT, "once", "--config", config], timeout=240)
            self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        finally:
            relay.send_signal(signal.SIGTERM)
            log = relay.communicate(timeout=10)[0].splitlines()
        with open(config) as f:
            store = re.search(r'(?m)^path = "(.*)"$', f.read()).group(1)
        with sqlite3.connect(store) as db:
            row = db.execute("SELECT value FROM state WHERE key = 'snmp_walk_tuning'").fetchone()
        device = at(inventory(config), library["address"])
        return device, (row[0].decode() if isinstance(row[0], bytes) else row[0]), log

    def expected_interfaces(self) -> int:
        core = next(d for d in self.school.info["devices"] if d["name"] == "core-switch")
        rec = simlib.read_snmprec(core["snmp"]["recording"])
        return sum(1 for oid in rec if oid.startswith("1.3.6.1.2.1.2.2.1.2."))

    def test_a_device_that_drops_every_getbulk_is_walked_with_getnext(self):
        device, tuning, log = self.walk_through_relay("drop-bulk")
        self.assertIn("dropped getbulk", log)
        self.assertEqual(len(device["interfaces"]), self.expected_interfaces())
        self.assertEqual(device["class"], "switch")
        self.assertNotIn("timeout", [e["reason"] for e in device["walk_errors"]])
        self.assertRegex(tuning, r"10\.50\.0\.5=\d+,0", "GETBULK is remembered as unusable")

    def test_a_device_answering_large_getbulks_with_empty_toobig_is_walked_in_smaller_steps(self):
        device, tuning, log = self.walk_through_relay("toobig-empty:8")
        self.assertTrue(any(l.startswith("toobig getbulk") for l in log))
        self.assertEqual(len(device["interfaces"]), self.expected_interfaces())
        reps = int(re.search(r"10\.50\.0\.5=(\d+),1", tuning).group(1))
        self.assertLessEqual(reps, 8)

    def test_a_device_that_speaks_only_snmpv1_is_read_with_a_v1_community(self):
        # The v2c community is tried first and goes unanswered; the v1 one opens the device.
        device, _, log = self.walk_through_relay(
            "v1-only", extra='snmp_v1_communities = ["public"]\n')
        self.assertIn("dropped non-v1", log)
        self.assertIsNotNone(device, "the v1-only device is missing from the inventory")
        self.assertEqual(device["class"], "switch")
        self.assertEqual(len(device["interfaces"]), self.expected_interfaces())
        self.assertEqual(device.get("snmp_error", ""), "")


class MdnsOverIpv6(unittest.TestCase):
    """A printer whose mDNS responder speaks only IPv6 (a real Python responder in a device's
    namespace, answering queries to ff02::fb): the agent finds it, with its service and its
    IPv6 address."""

    @classmethod
    def setUpClass(cls):
        cls.school = simlib.up(no_central=False)

    @classmethod
    def tearDownClass(cls):
        cls.school.down()

    def test_a_responder_that_speaks_only_ipv6_is_found(self):
        dev = self.school.device("pi-server")
        responder = subprocess.Popen(
            ["ip", "netns", "exec", dev["namespace"], "/usr/bin/python3", MDNS6, "eth0",
             "v6-printer", "Library IPv6 Printer", "_ipp._tcp", "631"],
            stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(responder.stdout.readline().strip(), "ready")
            config = derived_config(self.school, "mdns6", targets=[dev["address"]],
                                    probes=False)
            run = self.school.box_exec([AGENT, "once", "--config", config], timeout=240)
            self.assertIn("discovery pass done", run.stderr, run.stderr[-2000:])
        finally:
            responder.terminate()
            log = responder.communicate(timeout=10)[0]
        self.assertIn("answered", log, "no IPv6 query reached the responder")
        devices = inventory(config)
        found = [d for d in devices
                 if any(s.get("instance") == "Library IPv6 Printer" for s in d["services"])]
        self.assertEqual(len(found), 1, f"the IPv6-only printer is missing: {devices}\n{log}")
        printer = found[0]
        self.assertEqual(printer["class"], "printer")
        self.assertTrue(any(a.startswith("fe80:") for a in printer["addresses"]), printer)
        self.assertIn("mdns", printer["sources"])


class SnmpV3(unittest.TestCase):
    """Two real snmpd agents that share one engine ID, one of which reboots with its boot
    counter back at 1, asked by one long-running agent."""

    @classmethod
    def setUpClass(cls):
        cls.school = simlib.up(no_central=False)
        cls.tmp = tempfile.mkdtemp(prefix="schoolnet-v3-")
        cls.procs = {}
        devs = {d["name"]: d for d in cls.school.info["devices"]}
        cls.a, cls.b = devs["library-switch"], devs["hall-display"]
        cls.c = devs["staffroom-tv"]
        cls.start_snmpd(cls.a, boots=50)
        cls.start_snmpd(cls.b, boots=7)
        cls.start_snmpd(cls.c, boots=3, sha256_auth_only=True)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs.values():
            p.terminate()
            p.wait(timeout=10)
        cls.school.down()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def start_snmpd(cls, dev: dict, boots: int | None, sha256_auth_only: bool = False):
        name = dev["name"]
        old = cls.procs.pop(name, None)
        if old:
            old.terminate()
            old.wait(timeout=10)
        conf_dir = os.path.join(cls.tmp, f"{name}-conf")
        os.makedirs(conf_dir, exist_ok=True)
        persist = os.path.join(cls.tmp, f"{name}-persist-{time.monotonic_ns()}")
        os.makedirs(persist)
        # Both agents get one engine ID through net-snmp's persistent state (its text engine IDs
        # are 0x80001f88 04 <text>: enterprise 8072, format 4); a stored boot counter only
        # counts for the engine ID it was stored with. A fresh state without engineBoots is a
        # reboot that lost its counter.
        engine_hex = "80001f8804" + (b"schoolnet-own-engine" if sha256_auth_only
                                     else b"schoolnet-shared-engine").hex()
        with open(os.path.join(persist, "snmpd.conf"), "w") as f:
            f.write(f"oldEngineID 0x{engine_hex}\n")
            if boots is not None:
                f.write(f"engineBoots {boots}\n")
        with open(os.path.join(conf_dir, "snmpd.conf"), "w") as f:
            f.write(f"agentaddress udp:{dev['address']}:161\nsysname v3-{name}\n")
            if sha256_auth_only:
                f.write(f"createUser {V3_USER_256} SHA-256 \"{V3_AUTH_256}\"\n"
                        f"rouser {V3_USER_256} auth\n")
            else:
                f.write(f"createUser {V3_USER} SHA \"{V3_AUTH}\" AES \"{V3_PRIV}\"\n"
                        f"rouser {V3_USER} priv\n")
        cls.procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", dev["namespace"], "snmpd", "-f", "-Lf",
             os.path.join(cls.tmp, f"{name}.log")],
            env={**os.environ, "SNMPCONFPATH": f"{conf_dir}:{persist}",
                 "SNMP_PERSISTENT_DIR": persist, "MIBS": ""})
        for _ in range(50):
            got = cls.v3get(dev["address"], "1.3.6.1.6.3.10.2.1.2.0", sha256_auth_only)
            if got:
                return
            time.sleep(0.2)
        raise RuntimeError(f"snmpd for {name} did not start")

    @classmethod
    def v3get(cls, address: str, oid: str, sha256_auth_only: bool = False) -> str:
        security = (["-l", "authNoPriv", "-u", V3_USER_256, "-a", "SHA-256", "-A", V3_AUTH_256]
                    if sha256_auth_only else
                    ["-l", "authPriv", "-u", V3_USER, "-a", "SHA", "-A", V3_AUTH, "-x", "AES",
                     "-X", V3_PRIV])
        out = cls.school.box_exec(["snmpget", "-v3", *security, "-r0", "-t1", "-Ov", address,
                                   oid], timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""

    def test_shared_engine_ids_and_a_reboot_do_not_break_each_other(self):
        engine = "1.3.6.1.6.3.10.2.1.1.0"
        self.assertEqual(self.v3get(self.a["address"], engine), self.v3get(self.b["address"], engine))
        self.assertNotEqual(self.v3get(self.a["address"], "1.3.6.1.6.3.10.2.1.2.0"),
                            self.v3get(self.b["address"], "1.3.6.1.6.3.10.2.1.2.0"))
        config = derived_config(
            self.school, "v3", targets=[self.a["address"], self.b["address"]],
            communities=["not-a-community"], probes=False,
            extra='interval = "10s"\nsnmp_timeout = "1s"\n')
        with open(config, "a") as f:
            f.write(f'\n[[discovery.snmp_v3]]\nuser = "{V3_USER}"\nauth_key = "{V3_AUTH}"\n'
                    f'priv_key = "{V3_PRIV}"\n')
        log = open(os.path.join(self.tmp, "agent.log"), "w")
        daemon = subprocess.Popen(shlex_box(self.school) + [AGENT, "run", "--config", config],
                                  stdout=log, stderr=log)
        try:
            first = self.wait_for_pass(config, after=0)
            for dev in (self.a, self.b):
                got = at(first, dev["address"])
                self.assertEqual(got["sys_name"], f"v3-{dev['name']}", got)
                self.assertEqual(got["snmp_error"], "")
            # A reboots: its boot counter starts again at 1, below what the agent saw.
            self.start_snmpd(self.a, boots=None)
            seen = max(at(first, d["address"])["last_seen"] for d in (self.a, self.b))
            second = self.wait_for_pass(config, after=seen)
            for dev in (self.a, self.b):
                got = at(second, dev["address"])
                self.assertEqual(got["sys_name"], f"v3-{dev['name']}")
                self.assertEqual(got["snmp_error"], "", f"{dev['name']} after the reboot")
                self.assertIn("snmp", got["sources"])
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            log.close()

    def test_sha256_authentication_without_privacy_is_read_with_the_user_that_fits(self):
        # Two users configured: the authPriv one fails on this agent (unknown user), the
        # SHA-256 authNoPriv one opens it.
        config = derived_config(self.school, "v3-sha256", targets=[self.c["address"]],
                                communities=[], probes=False, extra='snmp_timeout = "1s"\n')
        with open(config, "a") as f:
            f.write(f'\n[[discovery.snmp_v3]]\nuser = "{V3_USER}"\nauth_key = "{V3_AUTH}"\n'
                    f'priv_key = "{V3_PRIV}"\n'
                    f'\n[[discovery.snmp_v3]]\nuser = "{V3_USER_256}"\n'
                    f'auth_protocol = "SHA-256"\nauth_key = "{V3_AUTH_256}"\n'
                    f'priv_protocol = "none"\n')
        run = self.school.box_exec([AGENT, "once", "--config", config], timeout=240)
        self.assertIn("discovery pass done", run.stderr, run.stderr[-2000:])
        got = at(inventory(config), self.c["address"])
        self.assertIsNotNone(got, run.stderr[-2000:])
        self.assertEqual(got["sys_name"], f"v3-{self.c['name']}", got)
        self.assertEqual(got["snmp_error"], "")
        self.assertNotIn(V3_AUTH_256, run.stderr + run.stdout, "a v3 key reached the log")

    def wait_for_pass(self, config: str, after: str) -> list[dict]:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                devices = inventory(config)
                found = [at(devices, d["address"]) for d in (self.a, self.b)]
                if all(f and f["last_seen"] > (after or "") and "snmp" in f["sources"]
                       for f in found):
                    return devices
            except RuntimeError:
                pass
            time.sleep(1)
        with open(os.path.join(self.tmp, "agent.log")) as f:
            agent_log = f.read()[-3000:]
        last = {d["name"]: at(inventory(config), d["address"]) for d in (self.a, self.b)}
        self.fail(f"no discovery pass saw both v3 agents in time.\nlast inventory: {last}\n"
                  f"agent log:\n{agent_log}")


def shlex_box(school: simlib.School) -> list[str]:
    return shlex.split(school.env["BOX_EXEC"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
