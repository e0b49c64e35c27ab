"""kill -9 of the agent at random moments during production and upload, 100 times, then a clean
run: nothing acknowledged is lost, nothing is duplicated at central, and the store is never
corrupt (the agent never has to move it aside, and SQLite's quick_check passes after every kill).

After each kill, from outside: the accounting balances; the acked count never goes back;
central holds at least every record the agent counts as acked, and at most those plus the one
batch in doubt (sealed, possibly stored by central, its ack not yet committed by the agent).

SCHOOLNET_KILL_ROUNDS overrides the number of rounds; SCHOOLNET_KILL_SEED the random seed.
"""

from __future__ import annotations

import glob
import os
import random
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402

ROUNDS = int(os.environ.get("SCHOOLNET_KILL_ROUNDS", "100"))


def quick_check(path: str) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        db.close()


class KillNine(dl.DeliveryTestCase):

    def test_kill_9_at_random_moments_loses_and_duplicates_nothing(self):
        ds = self.ds
        seed = int(os.environ.get("SCHOOLNET_KILL_SEED", str(int(time.time()))))
        print(f"kill -9 rounds={ROUNDS} seed={seed}", file=sys.stderr, flush=True)
        rng = random.Random(seed)
        # Commits four times a second so that kills land between, during and after commits.
        config = ds.config("agent", store={"commit_interval": "250ms"})
        store = ds.path("agent.db")
        acked_before = 0
        kills_with_batches_stored = 0
        for round_no in range(1, ROUNDS + 1):
            agent = ds.start_agent(config)
            time.sleep(rng.uniform(0.05, 1.5))
            agent.kill()
            agent.wait()
            where = f"after kill {round_no} (seed {seed})"
            if not os.path.exists(store):
                continue  # killed before the store was created
            self.assertEqual(quick_check(store), "ok", where)
            st = ds.status(config)
            dl.assert_balanced(self, st)
            c = st["counters"]
            self.assertEqual(c["store_resets"], 0, f"the store was moved aside {where}")
            self.assertGreaterEqual(c["acked"], acked_before, f"acked went back {where}")
            central = ds.central_agent() or {"records_received": 0, "batches_received": 0}
            in_doubt = (st["backlog"]["in_flight"] or {}).get("records", 0)
            self.assertGreaterEqual(central["records_received"], c["acked"],
                                    f"records the agent counts as acked are missing {where}")
            self.assertLessEqual(central["records_received"], c["acked"] + in_doubt,
                                 f"central holds more than acked + the batch in doubt {where}")
            kills_with_batches_stored += c["acked"] > acked_before
            acked_before = c["acked"]
        self.assertEqual(glob.glob(store + ".corrupt-*"), [])
        self.assertGreater(kills_with_batches_stored, ROUNDS // 10,
                           "too few kills happened while uploads were going on")

        # A clean run drains everything produced so far; then a clean stop.
        produced = ds.status(config)["counters"]["produced"]
        agent = ds.start_agent(config)
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.status(config)["counters"]["acked"] >= produced, 60,
                        what="the backlog of the killed runs to be acknowledged")
            self.assertEqual(ds.stop_agent(agent), 0)
        st = ds.status(config)
        dl.assert_balanced(self, st)
        c = st["counters"]
        self.assertEqual((c["evicted"], c["quarantined"], c["store_resets"]), (0, 0, 0), c)
        audit, central = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertEqual(audit["gaps"], [], "records missing at central")
        self.assertTrue(audit["contiguous_within"])
        self.assertEqual((audit["first_id"], audit["last_id"]), (1, c["acked"]))
        print(f"kill -9: {ROUNDS} rounds, {c['produced']} records produced, {c['acked']} acked "
              f"in {central['batches_received']} batches, {central['duplicates_dropped']} "
              f"duplicate uploads dropped by central", file=sys.stderr, flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
