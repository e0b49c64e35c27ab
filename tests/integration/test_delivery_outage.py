"""Delivery through outages of the link to central, on the simulated school (outage.toml).

The agent daemon runs with short intervals (probes every second, uploads every second, retry
cap 5 s). While central is stopped, the internet is down or DNS is frozen, it keeps producing;
when the fault clears, everything produced meanwhile must reach central, in order, exactly
once, and the accounting must balance throughout. Central's API is the judge: its count of
records received equals the agent's acked count, and its per-batch record-id ranges follow each
other without overlap or gap.
"""

from __future__ import annotations

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402

OUTAGE_S = 20


def retry_delays(log_text: str) -> list[float]:
    return [float(m) for m in re.findall(r"upload failed .*retry_in_s=([0-9.]+)", log_text)]


class CentralLinkOutages(dl.DeliveryTestCase):

    def outage_round_trip(self, fault: str, config: str, expect_error: str | None):
        """expect_error None: the fault need not stop uploads (DNS: libcurl keeps its connection
        and its resolver cache), so neither a backlog nor retries are required."""
        ds = self.ds
        agent = ds.start_agent(config)
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: (ds.central_agent() or {}).get("records_received", 0) > 0, 30,
                        what="the first batches at central")
            ds.fault(fault, True)
            down_at = ds.status(config)["counters"]["produced"]
            time.sleep(OUTAGE_S)
            during = ds.status(config)
            dl.assert_balanced(self, during)
            self.assertGreater(during["counters"]["produced"], down_at,
                               "the agent stopped producing while central was unreachable")
            if expect_error is not None:
                self.assertGreater(during["backlog"]["records"], 0)
                self.assertIn(expect_error, during["last_upload_error"])
            ds.fault(fault, False)
            up_at_ms = time.time() * 1000
            produced_at_up = ds.status(config)["counters"]["produced"]
            dl.wait_for(lambda: ds.status(config)["counters"]["acked"] >= produced_at_up, 60,
                        what="the outage's backlog to be acknowledged")
            self.assertEqual(ds.stop_agent(agent), 0)

        st = ds.status(config)
        dl.assert_balanced(self, st)
        c = st["counters"]
        self.assertEqual((c["evicted"], c["quarantined"]), (0, 0), c)
        self.assertEqual(st["last_upload_error"], "", "the last attempt should have succeeded")
        audit, central = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        # Nothing lost: central holds record ids 1..acked, without a gap, and nothing else.
        self.assertEqual(audit["gaps"], [])
        self.assertTrue(audit["contiguous_within"])
        self.assertEqual((audit["first_id"], audit["last_id"]), (1, c["acked"]))
        self.assertEqual(central["last_seq"], c["batches_acked"])

        # Backoff stayed exponential with full jitter under the 5 s cap: no delay beyond it,
        # and not every retry at the cap either.
        delays = retry_delays(ds.log_tail("agent", 100000))
        if expect_error is not None:
            self.assertGreaterEqual(len(delays), 3, "the outage caused no failed attempts")
            self.assertLess(min(delays), 5.0, delays)
        self.assertLessEqual(max(delays, default=0), 5.0 + 0.01, delays)

        # The backlog arrived late but is history: each probe's live state at central is a
        # sample observed after the link came back, not one from the outage.
        for probe in ds.api("probes"):
            with self.subTest(probe=probe["name"]):
                self.assertGreaterEqual(probe["observed_at_ms"], up_at_ms - 2000, probe)
                self.assertFalse(probe["late"], probe)
        return st, central

    def test_central_down_for_a_stretch_then_back(self):
        st, central = self.outage_round_trip("central-down", self.ds.config("agent"),
                                             "connect")
        # Central restarted on the same database and still knew every seq it had.
        self.assertEqual(central["duplicates_dropped"], 0, central)
        self.assertTrue(central["health"]["accounting_ok"], central["health"])

    def test_internet_down_for_a_stretch_then_back(self):
        st, _ = self.outage_round_trip("internet-down", self.ds.config("agent"), "")
        # The probes failed meanwhile, and those failures arrived as history.
        failed = [s for s in self.ds.api("samples", limit=10000) if not s["ok"]]
        self.assertGreater(len(failed), 0, "no failed probe sample from the outage at central")

    def test_dns_down_for_a_stretch_then_back(self):
        # Central by name, so that uploads need the resolver too.
        name = self.ds.info["central"]["name"]
        port = self.ds.info["central"]["port"]
        config = self.ds.config("agent", central={"url": f"https://{name}:{port}"})
        self.outage_round_trip("dns-down", config, None)
        # The probes that need names failed with a DNS error, and those samples arrived.
        failed = [s for s in self.ds.api("samples", limit=10000)
                  if not s["ok"] and s["error"].startswith("dns_")]
        self.assertGreater(len(failed), 0, "no DNS failure from the outage at central")


if __name__ == "__main__":
    unittest.main(verbosity=2)
