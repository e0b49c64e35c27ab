#!/usr/bin/python3
"""The simulated school itself, checked against its real services (run as root):

every SNMP device answers with its recording's sysDescr, the silent one does not, the garbage one
answers junk; mDNS finds every device's service types; the cloud services answer HTTPS by name
(and the unreachable one does not); DNS knows only the manifest's names; the gateway's ARP table
(over SNMP) holds the VLAN device; each fault toggles; a second manifest runs beside the first;
and `down` leaves nothing behind. Central's checks run only when central has been built.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

SCHOOL: simlib.School | None = None


def setUpModule():
    global SCHOOL
    if os.geteuid() != 0:
        raise RuntimeError("needs root (network namespaces); scripts/test runs as root")
    SCHOOL = simlib.up(simlib.DEFAULT_MANIFEST)


def tearDownModule():
    if SCHOOL is not None and os.path.exists(SCHOOL.state_dir):
        SCHOOL.down()


def curl(school: simlib.School, url: str, max_time: float = 5) -> tuple[int, str]:
    """(curl exit code, HTTP status) for a GET from the box, trusting only the test CA."""
    proc = school.box_exec(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--cacert", school.env["CENTRAL_CA_FILE"], "--max-time",
                            str(max_time), url], timeout=max_time + 10)
    return proc.returncode, proc.stdout.strip()


def dns_query(school: simlib.School, name: str) -> dict:
    proc = school.box_exec(["/usr/bin/python3", simlib.NSPROBE, "dns",
                            school.info["internet"]["dns"], name, "--timeout", "1"])
    return json.loads(proc.stdout)


def clouds(school, reachable: bool):
    return [c for c in school.info["clouds"] if c["reachable"] == reachable]


class RunningSchool(unittest.TestCase):
    """The default school, as `up` leaves it."""

    def test_env_file_names_everything_tests_need(self):
        for key in ("CENTRAL_URL", "CENTRAL_API_TOKEN", "CENTRAL_CA_FILE", "SCHOOL_ID",
                    "AGENT_CONFIG", "BOX_EXEC", "AGENT_ID", "SIM_PREFIX", "SIM_STATE_DIR",
                    "SIM_MANIFEST", "SCHOOLNET_BUILD_DIR"):
            self.assertTrue(SCHOOL.env.get(key), key)
        self.assertEqual(SCHOOL.env["SCHOOL_ID"], "100001")
        for path in (SCHOOL.env_path, SCHOOL.env["AGENT_CONFIG"],
                     os.path.join(SCHOOL.state_dir, "central.toml")):
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)
        self.assertGreaterEqual(len(SCHOOL.info["devices"]), 10)

    def test_box_resolves_and_routes_through_the_gateway(self):
        proc = SCHOOL.box_exec(["ip", "route", "show", "default"])
        self.assertIn(f"via {SCHOOL.info['lan']['gateway']}", proc.stdout)
        proc = SCHOOL.box_exec(["cat", "/etc/resolv.conf"])
        self.assertIn(f"nameserver {SCHOOL.info['internet']['dns']}", proc.stdout)

    def test_every_snmp_device_answers_with_its_recordings_sysdescr(self):
        checked = 0
        for d in SCHOOL.info["devices"]:
            snmp = d["snmp"]
            if not snmp or snmp["behaviour"] != "normal":
                continue
            rec = simlib.read_snmprec(snmp["recording"])
            node = "box" if d["vlan"] is None else "gw"
            got = SCHOOL.snmp_get(d["address"], snmp["community"], simlib.SYS_DESCR,
                                  simlib.SYS_OBJECT_ID, "1.3.6.1.2.1.1.5.0", node=node)
            self.assertIsNotNone(got, f"{d['name']} did not answer")
            if snmp.get("sys_name"):
                # The manifest's sysName replaces the recording's anonymised one.
                self.assertEqual(got["1.3.6.1.2.1.1.5.0"][1].decode(), snmp["sys_name"])
            if simlib.SYS_DESCR in rec:
                self.assertEqual(got[simlib.SYS_DESCR][1], rec[simlib.SYS_DESCR][1], d["name"])
            if simlib.SYS_OBJECT_ID in rec:
                self.assertEqual(got[simlib.SYS_OBJECT_ID][1].decode().lstrip("."),
                                 rec[simlib.SYS_OBJECT_ID][1].decode().lstrip("."), d["name"])
            checked += 1
        self.assertGreaterEqual(checked, 8)

    def test_a_device_answers_only_its_own_community(self):
        d = next(d for d in SCHOOL.info["devices"]
                 if d["snmp"] and d["snmp"]["behaviour"] == "normal"
                 and d["snmp"]["community"] != "public" and d["vlan"] is None)
        self.assertIsNone(SCHOOL.snmp_get(d["address"], "public", simlib.SYS_DESCR, timeout=1))
        self.assertIsNotNone(SCHOOL.snmp_get(d["address"], d["snmp"]["community"],
                                             simlib.SYS_DESCR))

    def test_silent_device_is_there_but_does_not_answer_snmp(self):
        d = next(d for d in SCHOOL.info["devices"]
                 if d["snmp"] and d["snmp"]["behaviour"] == "silent")
        self.assertEqual(SCHOOL.box_exec(["ping", "-c1", "-W2", d["address"]]).returncode, 0)
        self.assertIsNone(SCHOOL.snmp_get(d["address"], d["snmp"]["community"],
                                          simlib.SYS_DESCR, timeout=1))

    def test_garbage_device_answers_junk_that_is_not_snmp(self):
        d = next(d for d in SCHOOL.info["devices"]
                 if d["snmp"] and d["snmp"]["behaviour"] == "garbage")
        proc = SCHOOL.box_exec(["/usr/bin/python3", simlib.NSPROBE, "udp", d["address"], "161"])
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertIsNone(SCHOOL.snmp_get(d["address"], d["snmp"]["community"],
                                          simlib.SYS_DESCR, timeout=1))

    def test_mdns_finds_every_lan_devices_service_types(self):
        found = SCHOOL.mdns_service_types(wait=3)
        expected = {d["address"]: sorted({s["type"] for s in d["mdns"]["services"]})
                    for d in SCHOOL.info["devices"] if d["mdns"] and d["vlan"] is None}
        self.assertGreaterEqual(len(expected), 4)
        for address, types in expected.items():
            self.assertEqual(sorted(found.get(address, [])), types, address)

    def test_reachable_clouds_answer_https_by_name(self):
        for c in clouds(SCHOOL, reachable=True):
            code, status = curl(SCHOOL, f"https://{c['host']}:{c['port']}/",
                                5 + c["delay_ms"] / 1000)
            self.assertEqual((code, status), (0, str(c["status"])), c["host"])

    def test_unreachable_cloud_resolves_but_cannot_be_connected_to(self):
        for c in clouds(SCHOOL, reachable=False):
            self.assertEqual(dns_query(SCHOOL, c["host"])["addresses"], [c["address"]])
            code, _ = curl(SCHOOL, f"https://{c['host']}:{c['port']}/", 8)
            self.assertIn(code, (7, 28), c["host"])  # couldn't connect / timed out

    def test_dns_knows_only_the_manifest_names(self):
        for c in SCHOOL.info["clouds"]:
            self.assertEqual(dns_query(SCHOOL, c["host"]),
                             {"rcode": 0, "addresses": [c["address"]]})
        for r in SCHOOL.info["dns"]:
            self.assertEqual(dns_query(SCHOOL, r["name"])["addresses"], [r["address"]])
        self.assertEqual(dns_query(SCHOOL, "www.bbc.co.uk")["rcode"], 3)  # NXDOMAIN

    def test_gateway_arp_table_over_snmp_shows_the_vlan_device(self):
        vlan_devices = [d for d in SCHOOL.info["devices"] if d["vlan"]]
        self.assertTrue(vlan_devices)
        gw = SCHOOL.info["gateway"]
        proc = SCHOOL.box_exec(["snmpwalk", "-v2c", "-c", gw["snmp"]["community"], "-On", "-Ox",
                                gw["lan_address"], "1.3.6.1.2.1.4.35.1.4"])  # ipNetToPhysical
        rows = simlib.parse_snmpget(proc.stdout)
        by_ip = {".".join(oid.split(".")[-4:]): v[1] for oid, v in rows.items()}
        for d in vlan_devices:
            self.assertEqual(by_ip.get(d["address"]), bytes.fromhex(d["mac"].replace(":", "")),
                             d["name"])
        # and the same through the older ipNetToMediaTable
        proc = SCHOOL.box_exec(["snmpwalk", "-v2c", "-c", gw["snmp"]["community"], "-On",
                                gw["lan_address"], "1.3.6.1.2.1.4.22.1.2"])
        for d in vlan_devices:
            self.assertIn(d["address"], proc.stdout)

    def test_gateway_answers_snmpv3_authpriv(self):
        v3 = SCHOOL.info["gateway"]["snmp"]["v3"]
        if not v3:
            self.skipTest("manifest has no SNMPv3 user")
        proc = SCHOOL.box_exec(["snmpget", "-v3", "-l", "authPriv", "-u", v3["user"],
                                "-a", v3["auth_proto"], "-A", v3["auth_key"],
                                "-x", v3["priv_proto"], "-X", v3["priv_key"], "-On",
                                SCHOOL.info["gateway"]["lan_address"], simlib.SYS_NAME])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(SCHOOL.info["gateway"]["sys_name"], proc.stdout)

    def test_central_answers_healthz_from_host_and_box(self):
        if not SCHOOL.has_central:
            simlib.skipped("central healthz: central not built")
            self.skipTest("central not built")
        status, _, body = SCHOOL.central_request("GET", "/healthz")
        self.assertEqual(status, 200)
        code, status = curl(SCHOOL, SCHOOL.env["CENTRAL_URL"] + "/healthz")
        self.assertEqual((code, status), (0, "200"))

    def test_status_reports_everything_running(self):
        rc, text = SCHOOL.status()
        self.assertEqual(rc, 0, text)
        self.assertIn("active faults: none", text)


class Faults(unittest.TestCase):
    """Each fault changes what the box sees, shows in `status`, and undoes cleanly."""

    def assert_fault_listed(self, name: str, listed: bool):
        _, text = SCHOOL.status()
        self.assertEqual(f"    {name} " in text, listed, text)

    def test_internet_down_drops_traffic_through_the_gateway(self):
        c = clouds(SCHOOL, reachable=True)[0]
        url = f"https://{c['host']}:{c['port']}/"
        SCHOOL.fault("internet-down", True)
        try:
            self.assert_fault_listed("internet-down", True)
            self.assertEqual(curl(SCHOOL, url, 3)[0], 28)  # timeout: packets are dropped
            # The LAN still works: the gateway itself answers.
            self.assertEqual(SCHOOL.box_exec(["ping", "-c1", "-W2",
                                              SCHOOL.info["lan"]["gateway"]]).returncode, 0)
        finally:
            SCHOOL.fault("internet-down", False)
        self.assert_fault_listed("internet-down", False)
        self.assertEqual(curl(SCHOOL, url, 5 + c["delay_ms"] / 1000)[1], str(c["status"]))

    def test_dns_down_makes_queries_time_out(self):
        host = SCHOOL.info["clouds"][0]["host"]
        SCHOOL.fault("dns-down", True)
        try:
            self.assert_fault_listed("dns-down", True)
            self.assertEqual(dns_query(SCHOOL, host), {"error": "timeout"})
        finally:
            SCHOOL.fault("dns-down", False)
        self.assertEqual(dns_query(SCHOOL, host)["rcode"], 0)

    def test_central_503_writes_and_removes_the_maintenance_file(self):
        path = os.path.join(SCHOOL.state_dir, "central-maintenance")
        SCHOOL.fault("central-503", True, "--retry-after", "7")
        try:
            with open(path) as f:
                self.assertEqual(f.read().strip(), "7")
            self.assert_fault_listed("central-503", True)
            if SCHOOL.has_central:
                status, headers, _ = SCHOOL.central_request(
                    "POST", "/v1/batches", body=b"", token=self._agent_token(),
                    headers={"Content-Type": "application/x-protobuf"})
                self.assertEqual(status, 503)
                self.assertEqual(headers.get("Retry-After"), "7")
            else:
                simlib.skipped("central-503 over HTTP: central not built (file checked only)")
        finally:
            SCHOOL.fault("central-503", False)
        self.assertFalse(os.path.exists(path))

    def test_central_down_stops_and_restarts_central(self):
        if not SCHOOL.has_central:
            proc = simlib.simschool("fault", "central-down", "on", "--prefix", SCHOOL.prefix,
                                    check=False)
            self.assertNotEqual(proc.returncode, 0)  # refused, with a message, not faked
            simlib.skipped("central-down: central not built")
            self.skipTest("central not built")
        SCHOOL.fault("central-down", True)
        try:
            with self.assertRaises(OSError):
                SCHOOL.central_request("GET", "/healthz", timeout=3)
            self.assert_fault_listed("central-down", True)
        finally:
            SCHOOL.fault("central-down", False)
        self.assertEqual(SCHOOL.central_request("GET", "/healthz")[0], 200)

    def test_device_down_takes_a_device_off_the_network(self):
        d = next(d for d in SCHOOL.info["devices"]
                 if d["snmp"] and d["snmp"]["behaviour"] == "normal" and d["vlan"] is None)
        SCHOOL.fault(f"device-down:{d['name']}", True)
        try:
            self.assertIsNone(SCHOOL.snmp_get(d["address"], d["snmp"]["community"],
                                              simlib.SYS_DESCR, timeout=1))
        finally:
            SCHOOL.fault(f"device-down:{d['name']}", False)
        self.assertIsNotNone(SCHOOL.snmp_get(d["address"], d["snmp"]["community"],
                                             simlib.SYS_DESCR))

    @staticmethod
    def _agent_token() -> str:
        with open(SCHOOL.env["AGENT_CONFIG"]) as f:
            for line in f:
                if line.startswith("token = "):
                    return json.loads(line.split("=", 1)[1])
        raise AssertionError("no token in agent.toml")


class SecondSchool(unittest.TestCase):
    """Another manifest (other prefix, subnets, .bz2 recordings) runs beside the default one."""

    def test_tiny_school_runs_beside_the_default_one(self):
        with simlib.school(os.path.join(simlib.MANIFESTS, "tiny.toml"), no_central=True) as t:
            self.assertNotEqual(t.prefix, SCHOOL.prefix)
            for d in t.info["devices"]:
                if d["snmp"]:
                    rec = simlib.read_snmprec(d["snmp"]["recording"])
                    got = t.snmp_get(d["address"], d["snmp"]["community"], simlib.SYS_DESCR)
                    self.assertEqual(got[simlib.SYS_DESCR][1], rec[simlib.SYS_DESCR][1])
            types = t.mdns_service_types(wait=2)
            for d in t.info["devices"]:
                if d["mdns"]:
                    self.assertEqual(types.get(d["address"]),
                                     sorted({s["type"] for s in d["mdns"]["services"]}))
            c = t.info["clouds"][0]
            self.assertEqual(curl(t, f"https://{c['host']}/"), (0, "200"))
            # The schools are isolated: neither box reaches the other's internet.
            other = SCHOOL.info["clouds"][0]["address"]
            self.assertNotEqual(t.box_exec(["ping", "-c1", "-W1", other]).returncode, 0)
        self.assertEqual(SCHOOL.status()[0], 0)  # the default school is untouched


class CleanDown(unittest.TestCase):
    def test_down_leaves_no_namespace_veth_process_or_netns_entry(self):
        global SCHOOL
        prefix, state_dir = SCHOOL.prefix, SCHOOL.state_dir
        with open(os.path.join(state_dir, "procs.json")) as f:
            pids = [e["pid"] for e in json.load(f).values()]
        SCHOOL.down()
        SCHOOL_DOWN = SCHOOL
        SCHOOL = None
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True,
                                    text=True).stdout
        self.assertNotIn(f"{prefix}-", namespaces)
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        self.assertNotIn(f"{prefix}-inet", links)
        etc = [n for n in os.listdir("/etc/netns")] if os.path.isdir("/etc/netns") else []
        self.assertFalse([n for n in etc if n.startswith(f"{prefix}-")])
        alive = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(") ", 1)[1][0] not in "ZX":
                        alive.append(pid)
            except OSError:
                pass
        self.assertEqual(alive, [])
        self.assertFalse(os.path.exists(state_dir))
        self.assertEqual(SCHOOL_DOWN.status()[0], 3)  # "not up"
        # A second down is a no-op that succeeds.
        simlib.simschool("down", "--prefix", prefix)
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        inet = ipaddress.IPv4Network(SCHOOL_DOWN.info["internet"]["subnet"])
        self.assertNotIn(str(inet), routes)


def load_tests(loader, standard_tests, pattern):
    """Fixed order: the running school, faults, a second school, then `down` last."""
    suite = unittest.TestSuite()
    for case in (RunningSchool, Faults, SecondSchool, CleanDown):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


if __name__ == "__main__":
    unittest.main(verbosity=2)
