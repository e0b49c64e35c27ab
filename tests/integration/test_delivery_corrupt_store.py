"""A corrupt store at start (truncated, or a garbage header) never stops the agent: it is moved
aside, a fresh store begins, the event is recorded and sent to central, and the agent keeps
running and delivering. Central must not lose the fresh store's records to its dedup: a fresh
store carries on the old seq when the damaged file still tells it, and otherwise moves past the
seqs central already holds when central says so.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402


class CorruptStore(dl.DeliveryTestCase):

    def run_for(self, config: str, seconds: float, log: str = "agent") -> dict:
        ds = self.ds
        agent = ds.start_agent(config, log)
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.counter(config, "acked") > 0, 30, what="a first delivery")
            time.sleep(seconds)
            self.assertEqual(ds.stop_agent(agent), 0)
        return ds.status(config)

    def corrupt_and_restart(self, damage) -> tuple[dict, dict, dict, int]:
        ds = self.ds
        config = ds.config("agent")
        store = ds.path("agent.db")
        before = self.run_for(config, 4, "agent-before")
        central_before = ds.central_agent()
        self.assertEqual(central_before["records_received"], before["counters"]["acked"])
        damage(store)

        after = self.run_for(config, 4, "agent-after")
        self.assertEqual(after["counters"]["store_resets"], 1, after)
        dl.assert_balanced(self, after)
        moved = glob.glob(store + ".corrupt-*")
        self.assertEqual(len([m for m in moved if not m.endswith(("-wal", "-shm"))]), 1, moved)
        self.assertIn("store unusable, moved aside", ds.log_tail("agent-after", 100000))

        events = ds.api("store_events")
        self.assertEqual([e["kind"] for e in events], ["corrupt_store_quarantined"], events)
        self.assertTrue(events[0]["moved_to"].startswith(store + ".corrupt-"), events)
        central = ds.central_agent()
        self.assertEqual(central["health"]["store_resets"], 1, central["health"])
        self.assertTrue(central["health"]["accounting_ok"])
        # Central holds the old store's acked records and every record of the fresh one.
        audit, central = dl.assert_central_holds_exactly_the_acked(
            self, ds, after, acked_before=before["counters"]["acked"],
            first_seq_after=central_before["last_seq"])
        self.assertEqual(audit["records"], after["counters"]["acked"])
        self.assertGreater(audit["records"], 0)
        return before, after, audit, central_before["last_seq"]

    def test_a_truncated_store_is_moved_aside_and_the_fresh_one_carries_on_its_seq(self):
        def truncate(path):
            os.truncate(path, os.path.getsize(path) // 3)

        _, _, audit, old_last_seq = self.corrupt_and_restart(truncate)
        # What the damaged file still tells decides how the fresh store goes on, and each part
        # may survive alone: the seq counter (then central sees no duplicate) and the record
        # ids (then the fresh ids follow the old ones). Where the seq was lost, central's
        # "duplicate, my last seq is N" moves the fresh store past N. Either way every record
        # of the fresh store arrived.
        central = self.ds.central_agent()
        log = self.ds.log_tail("agent-after", 100000)
        seq_salvaged = "central already had this seq" not in log
        ids_salvaged = audit["first_id"] > 1
        print(f"truncated store: seq {'salvaged' if seq_salvaged else 'lost'}, "
              f"record ids {'salvaged' if ids_salvaged else 'lost'}", file=sys.stderr)
        if seq_salvaged:
            self.assertEqual(central["duplicates_dropped"], 0, central)
        else:
            self.assertGreaterEqual(central["duplicates_dropped"], 1, central)
        if ids_salvaged:
            old = dl.audit_batches(self, [b for b in self.ds.central_batches()
                                          if b["seq"] <= old_last_seq])
            self.assertGreater(audit["first_id"], old["last_id"])
        else:
            self.assertEqual(audit["first_id"], 1)
        self.assertEqual(audit["gaps"], [])
        self.assertEqual(audit["last_id"] - audit["first_id"] + 1, audit["records"])

    def test_a_store_with_a_garbage_header_is_moved_aside_and_nothing_new_is_lost(self):
        def garbage(path):
            with open(path, "r+b") as f:
                f.write(b"this is not an SQLite database, it is what an SD card gave back" * 2)

        _, _, audit, _ = self.corrupt_and_restart(garbage)
        # Nothing readable was left: the fresh store began again at seq 1, central answered
        # "duplicate, my last seq is N", and the agent sent those records again above N.
        central = self.ds.central_agent()
        self.assertGreaterEqual(central["duplicates_dropped"], 1, central)
        self.assertIn("central already had this seq", self.ds.log_tail("agent-after", 100000))
        self.assertEqual(audit["first_id"], 1, "the fresh store's first record never arrived")
        self.assertEqual(audit["gaps"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
