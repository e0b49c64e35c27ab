"""Every recording in tests/data/snmprec served by snmpsim in one simulated school and
discovered by the agent: each device gets the class of the kit it was recorded from and the
identity its recording holds, odd recordings (repeated OIDs, NUL padding, invalid UTF-8,
negative sizes, NULL where a value should be, no system group) end with what could be read
and the reasons, and the pass always finishes."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expected  # noqa: E402
import simlib  # noqa: E402

AGENT = os.path.join(simlib.BUILD_DIR, "agent", "schoolnet-agent")
RECORDINGS = os.path.join(simlib.SOURCE_DIR, "tests", "data", "snmprec")

# The class of kit each recording was taken from (tests/data/README.md describes them).
KIND = {
    "librenms__aix_net-snmp": "server",
    "librenms__alcoma-almp": "unknown",  # a microwave radio link: no class we know fits
    "librenms__apc_smt750x-nmc2": "ups",
    "librenms__aruba-instant": "access_point",
    "librenms__arubaos-cx_6300m": "switch",
    "librenms__brother_hl5370dw": "printer",
    "librenms__canonprinter_lbp": "printer",
    "librenms__ciscowlc_cbw240ac": "access_point",
    "librenms__deltaups": "ups",
    "librenms__dlink_dgs-1510-28": "switch",
    "librenms__dsm": "server",
    "librenms__edgeos": "router",
    "librenms__epson": "printer",
    "librenms__fortigate_60f": "router",
    "librenms__ftos": "switch",
    "librenms__ios_2960x": "switch",
    "librenms__iosxe_c9200l": "switch",
    "librenms__jetdirect_m880": "printer",
    "librenms__jetstream_vlans": "switch",
    "librenms__linux_raspberrypi": "server",
    "librenms__netgear": "switch",
    "librenms__powerwalker-vfi_500r1u": "ups",
    "librenms__procurve": "switch",
    "librenms__procurve_2520": "switch",
    "librenms__routeros_rb760igs": "router",  # MikroTik hEX S: a router with switch ports
    "librenms__sharp_mxm266nv": "printer",
    "librenms__tplink_sg2008": "switch",
    "librenms__unifi_nanohd": "access_point",
    "librenms__utax": "printer",
    "librenms__windows_svr_2019_1809": "server",
    "snmpsimdata__UPS_eaton-9px-partial": "ups",
    "snmpsimdata__network_appliance_tripplite-poweralert": "ups",
    "snmpsimdata__network_switch_hpe-procurve-516733-b21": "switch",
    "snmpsimdata__network_wifi_ubiquiti-m5": "access_point",
    "snmpsimdata__os_windows_server-2003-5-2": "server",
}


def stem(path: str) -> str:
    return re.sub(r"\.snmprec(\.bz2)?$", "", os.path.basename(path))


class Recordings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = sorted(glob.glob(os.path.join(RECORDINGS, "*.snmprec*")))
        cls.tmp = tempfile.mkdtemp(prefix="schoolnet-recordings-")
        lines = ['[school]\nid = "100099"\nname = "Every recording (simulated)"\nprefix = "rc"\n',
                 '[lan]\nsubnet = "10.62.0.0/24"\ngateway = "10.62.0.1"\nbox = "10.62.0.10"\n',
                 '[internet]\nsubnet = "198.19.62.0/24"\ngateway = "198.19.62.1"\n'
                 'host = "198.19.62.254"\ndns = "198.19.62.53"\n',
                 '[central]\naddress = "198.19.62.100"\n']
        cls.devices = {}
        for i, path in enumerate(cls.files):
            address = f"10.62.0.{20 + i}"
            cls.devices[stem(path)] = {"address": address, "recording": path}
            lines.append(f'[[device]]\nname = "r{i:02d}"\nkind = "{KIND[stem(path)]}"\n'
                         f'address = "{address}"\n[device.snmp]\nrecording = "{path}"\n')
        cls.manifest = os.path.join(cls.tmp, "recordings.toml")
        with open(cls.manifest, "w") as f:
            f.write("\n".join(lines))
        cls.school = simlib.up(cls.manifest, no_central=True)
        with open(cls.school.env["AGENT_CONFIG"]) as f:
            config = f.read().split("[[probe]]")[0]
        cls.config = os.path.join(cls.tmp, "agent.toml")
        with open(cls.config, "w") as f:
            f.write(config)
        start = time.monotonic()
        # No central in this school: the run cannot upload (exit 1); the inventory is local.
        cls.agent_run = cls.school.box_exec([AGENT, "once", "--config", cls.config,
                                       "--upload-timeout", "1s"], timeout=600)
        cls.seconds = time.monotonic() - start
        out = subprocess.run([AGENT, "inventory", "--config", cls.config, "--json"],
                             capture_output=True, text=True, timeout=60)
        cls.inventory = json.loads(out.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.school.down()

    def device(self, name: str) -> dict:
        address = self.devices[name]["address"]
        found = [d for d in self.inventory if address in d["addresses"]]
        self.assertEqual(len(found), 1, f"{name} at {address}")
        return found[0]

    def test_the_pass_finishes_and_reports_every_recording(self):
        self.assertIn("discovery pass done", self.agent_run.stderr)
        self.assertEqual(len(self.files), len(KIND), "every recording has an expected class")
        print(f"pass over {len(self.files)} recordings took {self.seconds:.1f} s", file=sys.stderr)
        for name in self.devices:
            with self.subTest(recording=name):
                got = self.device(name)
                self.assertIn("snmp", got["sources"], got["snmp_error"])

    def test_each_device_gets_the_class_of_its_kit(self):
        for name in self.devices:
            with self.subTest(recording=name):
                got = self.device(name)
                self.assertEqual(got["class"], KIND[name], got["classified_by"])

    def test_each_device_reports_the_identity_its_recording_holds(self):
        for name, dev in self.devices.items():
            want = expected.system_group(dev["recording"])
            with self.subTest(recording=name):
                got = self.device(name)
                for field in ("sys_descr", "sys_object_id", "sys_name"):
                    self.assertEqual(got[field], want.get(field, ""), field)

    def test_entity_printer_and_interface_tables_are_read(self):
        for name, dev in self.devices.items():
            rec = simlib.read_snmprec(dev["recording"])
            got = self.device(name)
            with self.subTest(recording=name):
                serials = {v[1].rstrip(b"\0").decode("utf-8", "replace")
                           for k, v in rec.items() if k.startswith("1.3.6.1.2.1.47.1.1.1.1.11.")}
                serials.discard("")
                if serials and not got["walk_errors"]:
                    self.assertIn(got["serial"], serials | {""})
                supplies = [k for k in rec if k.startswith("1.3.6.1.2.1.43.11.1.1.6.")]
                if supplies:
                    self.assertEqual(len(got["supplies"]), len(supplies))
                if_rows = [k for k in rec if k.startswith("1.3.6.1.2.1.2.2.1.2.")]
                if if_rows and not got["walk_errors"]:
                    self.assertEqual(len(got["interfaces"]), min(len(if_rows), 1024))

    def test_odd_strings_are_made_safe_and_kept(self):
        # FTOS's sysDescr holds byte 0xDA; ALCOMA's ends in NUL.
        ftos = self.device("librenms__ftos")
        self.assertIn("\\xda", ftos["sys_descr"])
        alcoma = self.device("librenms__alcoma-almp")
        self.assertEqual(alcoma["sys_descr"], "ALCOMA IP-Stack")
        # The Delta UPS pads ifDescr with NUL; the PowerWalker's is binary garbage.
        delta = self.device("librenms__deltaups")
        self.assertIn("lo", [i["descr"] for i in delta["interfaces"]])
        walker = self.device("librenms__powerwalker-vfi_500r1u")
        self.assertTrue(any("\\x01" in i["descr"] for i in walker["interfaces"]))

    def test_negative_storage_sizes_are_reported_as_unknown(self):
        aix = self.device("librenms__aix_net-snmp")
        self.assertTrue(aix["storage"])
        self.assertTrue(any("size_bytes" not in s for s in aix["storage"]))
        self.assertIn("bad_value", [e["reason"] for e in aix["walk_errors"]])

    def test_printer_supply_levels_keep_their_special_values(self):
        m880 = self.device("librenms__jetdirect_m880")
        levels = [s["level"] for s in m880["supplies"]]
        self.assertEqual(levels.count(-3), 3)  # "some remaining"
        self.assertTrue(all(s["percent"] == -1 for s in m880["supplies"] if s["level"] < 0))
        sharp = self.device("librenms__sharp_mxm266nv")
        self.assertIn(-2, [s["level"] for s in sharp["supplies"]])  # unknown


if __name__ == "__main__":
    unittest.main(verbosity=2)
