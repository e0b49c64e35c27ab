"""A long outage against a small outbox cap: the outbox degrades resolution, not coverage.

The store starts with the backlog of a 48-hour outage of this school (backlog_gen: each probe
once a minute, per-minute summaries, health every 5 minutes, device snapshots, device changes
and outages: about 3 MB of records), and the agent runs with store.max_size = 1 MiB while
central is still down. Eviction must follow the priority order: raw samples first, then
per-minute summaries folded into hourly ones; snapshots, device changes, outages and health
untouched; every eviction counted per kind and reason. When central is back, the outages and
device changes all arrive, every hour of every probe is still covered by summaries, and no raw
sample of the evicted period arrives. The file shrinks back once the backlog has drained.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402
import simlib  # noqa: E402

BACKLOG_GEN = os.path.join(simlib.BUILD_DIR, "tests", "bench", "backlog_gen")
CAP = 1 << 20
HOURS = 48
PROBE_INTERVAL_MS = 60_000


def parse_kv(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            out[k.strip()] = int(v)
    return out


class LongOutageSmallCap(dl.DeliveryTestCase):

    def test_eviction_degrades_resolution_not_coverage(self):
        ds = self.ds
        config = ds.config("agent", store={"max_size": "1MiB"},
                           probes={"summary_window": "1m"})
        end_ms = int(time.time() * 1000) - 120_000
        gen = subprocess.run([BACKLOG_GEN, "--config", config, "--hours", str(HOURS),
                              "--probe-interval", str(PROBE_INTERVAL_MS), "--health-interval", "300000",
                              "--devices", "3",
                              "--end-ms", str(end_ms)], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(gen.returncode, 0, gen.stderr)
        backlog = parse_kv(gen.stdout)
        print(f"backlog: {backlog}", file=sys.stderr, flush=True)
        self.assertGreater(backlog["payload_bytes"], 2 * CAP, "the backlog must exceed the cap")
        start_ms = backlog["start_ms"]
        probes = [p["name"] for p in ds.base_config["probe"]]

        ds.fault("central-down", True)
        agent = ds.start_agent(config)
        with dl.stopped_on_exit(ds, agent):
            def evicted_under_cap():
                st = ds.status(config)
                return st if (st["backlog"]["bytes"] <= CAP + 64 * 1024
                              and st["counters"]["evicted"]) else None
            st = dl.wait_for(evicted_under_cap, 30, what="eviction down to the cap")
            time.sleep(6)  # the agent keeps producing through the outage; the cap keeps holding
            st = ds.status(config)
            dl.assert_balanced(self, st)
            by_kind = st["counters"]["evicted_by_kind"]
            print(f"evicted: {by_kind}", file=sys.stderr, flush=True)
            self.assertLessEqual(st["backlog"]["bytes"], CAP + 64 * 1024, st["backlog"])
            # Priority order: only raw samples went (all of the backlog's but those sealed in
            # the batch already in flight, which eviction never touches), and per-minute
            # summaries were folded into hourly ones; nothing of a higher class was touched.
            self.assertEqual(set(by_kind), {"probe_sample/cap", "probe_summary/folded"}, by_kind)
            in_flight = st["backlog"]["in_flight"]["records"]
            self.assertGreaterEqual(by_kind["probe_sample/cap"],
                                    backlog["records_probe_sample"] - in_flight)
            self.assertGreater(by_kind["probe_summary/folded"], backlog["records_probe_summary"]
                               // 2)
            size_before_drain = st["store_bytes"]

            ds.fault("central-down", False)
            produced = st["counters"]["produced"]
            dl.wait_for(lambda: (lambda c: c["acked"] + c["evicted"] >= produced)(
                ds.status(config)["counters"]), 90, what="the backlog to drain")
            # The drained backlog's pages go back to the file system.
            shrunk = dl.wait_for(lambda: (lambda s: s if s["store_bytes"] < size_before_drain / 2
                                          else None)(ds.status(config)), 20,
                                 what="the store file to shrink after the drain")
            self.assertLessEqual(shrunk["store_wal_bytes"], 4 << 20, "the WAL grew unbounded")
            self.assertEqual(ds.stop_agent(agent), 0)

        st = ds.status(config)
        dl.assert_balanced(self, st)
        self.assertEqual(st["counters"]["quarantined"], 0)
        audit, central = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertTrue(central["health"]["accounting_ok"])
        self.assertEqual(central["health"]["evicted"], st["counters"]["evicted_by_kind"]
                         if central["health"]["evicted_total"] == st["counters"]["evicted"]
                         else central["health"]["evicted"])

        # Coverage: every outage and device change of the backlog arrived.
        outages = [o for o in ds.api("outages", limit=10000) if o["start_ms"] < end_ms]
        self.assertEqual(len(outages), backlog["records_outage"] // 2, outages)
        self.assertTrue(all(o["end_ms"] for o in outages), "an outage arrived without its end")
        changes = [c for c in ds.api("changes", limit=10000) if c["observed_at_ms"] < end_ms]
        self.assertEqual(len(changes), backlog["records_device_change"])

        # Resolution: no raw sample of the backlog's period arrived except those sealed in the
        # first batch before the cap was enforced, but summaries cover every hour of every
        # probe (hourly once folded, per minute where they were not).
        first = ds.central_batches()[0]
        for name in probes:
            with self.subTest(probe=name):
                raw = [s for s in ds.api("samples", probe=name, limit=10000)
                       if s["observed_at_ms"] < end_ms
                       and s["record_id"] > first["last_record_id"]]
                self.assertEqual(raw, [])
                sums = ds.api("summaries", probe=name, limit=10000)
                self.assertTrue(any(s["folded"] and s["window_s"] == 3600 for s in sums))
                covered = set()
                for s in sums:
                    lo, hi = s["window_start_ms"], s["window_start_ms"] + s["window_s"] * 1000
                    covered.update(range(lo // 3_600_000, (int(hi) - 1) // 3_600_000 + 1))
                # Every hour in which a sample was taken: the first at start_ms, the last one
                # interval before end_ms (when end_ms falls in an hour's first minute, that hour
                # has none).
                last_sample_ms = end_ms - PROBE_INTERVAL_MS
                want = set(range(start_ms // 3_600_000, last_sample_ms // 3_600_000 + 1))
                self.assertEqual(want - covered, set(), "hours without any summary")


if __name__ == "__main__":
    unittest.main(verbosity=2)
