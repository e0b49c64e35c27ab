"""The main job end to end, on the simulated school: the agent in the school's box discovers
the real devices over SNMP and mDNS, probes the cloud services, and pushes everything to the
real central service; the test then asks central's API what it received."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expected  # noqa: E402
import simlib  # noqa: E402

AGENT = os.path.join(simlib.BUILD_DIR, "agent", "schoolnet-agent")
KNOWN_ERROR_CLASSES = {
    "dns_nxdomain", "dns_timeout", "dns_servfail", "dns_no_answer", "connect_refused",
    "connect_timeout", "host_unreachable", "network_unreachable", "tls_handshake",
    "tls_untrusted", "tls_expired", "tls_not_yet_valid", "tls_hostname_mismatch",
    "clock_unsynchronised", "http_status", "timeout",
}


class MainJob(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not simlib.central_available():
            raise RuntimeError(f"{simlib.central_binary()} is not built: the main job needs central")
        cls.school = simlib.up(no_central=False)
        cls.first = cls.run_agent()
        cls.devices = cls.school.central_get(f"/api/v1/schools/{cls.school.env['SCHOOL_ID']}/devices")
        cls.probes = cls.school.central_get(f"/api/v1/schools/{cls.school.env['SCHOOL_ID']}/probes")

    @classmethod
    def tearDownClass(cls):
        cls.school.down()

    @classmethod
    def run_agent(cls):
        return cls.school.box_exec([AGENT, "once", "--config", cls.school.env["AGENT_CONFIG"]],
                                   timeout=180)

    def device_at(self, address: str) -> dict | None:
        for d in self.devices:
            if address in d.get("addresses", []):
                return d
        return None

    def test_once_exits_zero_when_central_acknowledged_everything(self):
        self.assertEqual(self.first.returncode, 0, self.first.stderr + self.first.stdout)
        self.assertIn("0 records pending", self.first.stdout)

    def test_central_lists_the_school(self):
        schools = self.school.central_get("/api/v1/schools")
        mine = [s for s in schools if s["school_id"] == self.school.env["SCHOOL_ID"]]
        self.assertEqual(len(mine), 1, schools)
        self.assertGreaterEqual(mine[0]["device_count"], 14)
        self.assertTrue(mine[0]["last_seen"])

    def test_every_snmp_device_arrives_with_the_identity_of_its_recording(self):
        checked = 0
        for dev in self.school.info["devices"]:
            snmp = dev.get("snmp")
            if not snmp or dev.get("vlan") or snmp.get("behaviour", "normal") != "normal":
                continue
            with self.subTest(device=dev["name"]):
                got = self.device_at(dev["address"])
                self.assertIsNotNone(got, f"{dev['name']} ({dev['address']}) missing at central")
                self.assertEqual(got["mac"], dev["mac"])
                self.assertIn("snmp", got["sources"])
                # What the device serves: its recording, with the manifest's sysName and
                # sysLocation where it gives them.
                served = snmp.get("served_file") or snmp["recording"]
                for field, value in expected.system_group(served).items():
                    self.assertEqual(got[field], value, f"{dev['name']}: {field}")
                checked += 1
        self.assertGreaterEqual(checked, 9)

    def test_mdns_devices_arrive_with_their_service_types(self):
        checked = 0
        for dev in self.school.info["devices"]:
            mdns = dev.get("mdns")
            if not mdns or dev.get("vlan") or dev["kind"] == "end_user":
                continue
            with self.subTest(device=dev["name"]):
                got = self.device_at(dev["address"])
                self.assertIsNotNone(got, f"{dev['name']} ({dev['address']}) missing at central")
                want = sorted({s["type"] for s in mdns["services"]})
                have = sorted({s["type"] for s in got["services"]})
                self.assertEqual(have, want)
                self.assertIn("mdns", got["sources"])
                checked += 1
        self.assertGreaterEqual(checked, 2)

    def test_devices_that_do_not_answer_properly_are_recorded_as_such(self):
        for dev in self.school.info["devices"]:
            snmp = dev.get("snmp") or {}
            if snmp.get("behaviour") in ("silent", "garbage") and not dev.get("vlan"):
                with self.subTest(device=dev["name"]):
                    got = self.device_at(dev["address"])
                    self.assertIsNotNone(got, f"{dev['name']} missing at central")
                    want = "no_answer" if snmp["behaviour"] == "silent" else "bad_response"
                    self.assertEqual(got["snmp_error"], want)
                    self.assertNotIn("snmp", got["sources"])

    def test_personal_devices_leave_the_box_only_as_pseudonyms(self):
        personal = [d for d in self.school.info["devices"] if d["kind"] == "end_user"]
        self.assertTrue(personal, "the manifest should hold a personal device")
        anon = [d for d in self.devices if d.get("pseudonymised")]
        self.assertGreaterEqual(len(anon), len(personal))
        text = repr(self.devices).lower()
        for dev in personal:
            self.assertNotIn(dev["mac"].lower(), text)
            self.assertNotIn(dev["address"] + "'", text)
            host = ((dev.get("mdns") or {}).get("hostname") or "").lower()
            if host:
                self.assertNotIn(host, text)
            for svc in (dev.get("mdns") or {}).get("services", []):
                self.assertNotIn(svc["name"].lower(), text)

    def test_reachable_services_probe_ok_and_the_unreachable_one_fails_with_a_named_error(self):
        by_name = {p["name"]: p for p in self.probes}
        for probe in self.school.info["probes"]:
            cloud = next(c for c in self.school.info["clouds"] if c["name"] == probe["cloud"])
            with self.subTest(probe=probe["name"]):
                got = by_name.get(probe["name"])
                self.assertIsNotNone(got, f"probe {probe['name']} missing at central")
                self.assertEqual(got["kind"], probe["kind"])
                if probe["kind"] == "dns":
                    # The name resolves even when the host behind it is gone.
                    self.assertTrue(got["ok"], got)
                elif not cloud["reachable"]:
                    self.assertFalse(got["ok"])
                    self.assertIn(got["error"], KNOWN_ERROR_CLASSES)
                elif probe["kind"] == "https" and cloud["status"] >= 400:
                    self.assertFalse(got["ok"])
                    self.assertEqual(got["error"], "http_status")
                else:
                    self.assertTrue(got["ok"], got)
                    self.assertGreater(got["latency_ms"], 0)
                    self.assertEqual(got["error"], "")

    def test_once_exits_non_zero_and_says_why_when_central_does_not_acknowledge(self):
        # Its own store, so the shared one is untouched; central stopped meanwhile.
        config = os.path.join(self.school.state_dir, "once-central-down.toml")
        with open(self.school.env["AGENT_CONFIG"]) as f:
            text = f.read()
        store = os.path.join(self.school.state_dir, "once-central-down.db")
        text = re.sub(r'(?m)^path = ".*"$', f'path = "{store}"', text, count=1)
        text = text.split("[[probe]]")[0]  # no probes: the point is the upload
        with open(config, "w") as f:
            f.write(text)
        os.chmod(config, 0o600)
        self.school.fault("central-down", True)
        try:
            run = self.school.box_exec([AGENT, "once", "--config", config,
                                        "--upload-timeout", "3s"], timeout=180)
        finally:
            self.school.fault("central-down", False)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("central did not acknowledge everything", run.stderr)
        self.assertRegex(run.stderr, r"\(last error: connect", run.stderr[-2000:])
        self.assertIn(store, run.stderr, "where the pending records wait")

    def test_a_config_error_exits_non_zero_naming_file_line_and_key(self):
        config = os.path.join(self.school.state_dir, "broken.toml")
        with open(self.school.env["AGENT_CONFIG"]) as f:
            lines = f.read().splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("[discovery]"))
        lines.insert(at + 1, "snmp_comunities = [\"typo\"]")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        # config check found problems: 1 (docs/technician.md); any other command cannot start
        # with a bad configuration: 2.
        for command, status in ((["config", "check", config], 1),
                                (["once", "--config", config], 2)):
            with self.subTest(command=command[0]):
                run = subprocess.run([AGENT, *command], capture_output=True, text=True,
                                     timeout=60)
                self.assertEqual(run.returncode, status, run.stdout + run.stderr)
                self.assertIn(f"{config}:{at + 2}", run.stderr)
                self.assertIn("snmp_comunities", run.stderr)

    def test_a_second_run_duplicates_nothing_at_central(self):
        second = self.run_agent()
        self.assertEqual(second.returncode, 0, second.stderr)
        school = self.school.env["SCHOOL_ID"]
        devices = self.school.central_get(f"/api/v1/schools/{school}/devices")
        probes = self.school.central_get(f"/api/v1/schools/{school}/probes")
        ids = [d["device_id"] for d in devices]
        self.assertEqual(len(ids), len(set(ids)))
        # Infrastructure is the same set of devices; a personal device may have come or gone in
        # the neighbour and ARP tables between the runs, but nothing seen before is repeated.
        named = lambda ds: sorted(d["device_id"] for d in ds if not d.get("pseudonymised"))
        self.assertEqual(named(devices), named(self.devices))
        self.assertLessEqual({d["device_id"] for d in self.devices}, set(ids))
        self.assertEqual(len(probes), len(self.probes))
        agents = self.school.central_get(f"/api/v1/schools/{school}/agents")
        self.assertEqual(len(agents), 1)
        self.assertEqual(agents[0]["agent_id"], self.school.env["AGENT_ID"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
