"""Every answer central can give, and a few no central should give, through a scripted fault
proxy (faultproxy.py) in front of the real central, with central's own certificate. One outcome
per attempt:

- 503 with Retry-After and 429 with Retry-After: retried, no earlier than the server asked;
- 400 for one poisoned batch: quarantined, counted, reported, and the queue moves on;
- 413: the batch is split, and its records go again in smaller batches under new seqs;
- 401: the agent keeps caching, shows the credential problem in status, and retries;
- a response that stalls mid-body, a request that stalls mid-body, and a connection closed
  after central stored the batch (lost acks): retried, and central's dedup drops the copy;
- a lost ack across a restart of central: the dedup survives the restart.

In the end the accounting balances, central holds exactly the acked records (each once, in
order) and the only records it lacks are the quarantined batch's.
"""

from __future__ import annotations

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402


class StatusCodes(dl.DeliveryTestCase):

    def setUp(self):
        super().setUp()
        self.proxy = dl.FaultProxy(self.ds, stall_seconds=20)
        # Batches of at most 8 records, so a 413 always has something to split.
        self.config = self.ds.config("agent", central={
            "url": self.proxy.url, "batch_max_records": 8, "timeout": "5s"})

    def attempts_after(self, n: int, count: int = 1, timeout: float = 30) -> list[dict]:
        """Waits until the proxy has seen `count` more attempts after entry n; returns them."""
        def more():
            log = self.proxy.log()
            return log[n:n + count] if len(log) >= n + count else None
        return dl.wait_for(more, timeout, what=f"{count} upload attempt(s) after #{n}")

    def step(self, step: dict, followed_by: int = 1, timeout: float = 40) -> list[dict]:
        """Queues one scripted answer and returns the attempt it answered and the next ones.
        An attempt already inside the proxy when the step is queued may be logged first (the
        proxy logs an attempt when it has answered it), so the answered attempt is found by its
        action, not by its place in the log."""
        n = len(self.proxy.log())
        self.proxy.queue(step)

        def answered():
            log = self.proxy.log()
            for i in range(n, len(log)):
                if log[i]["action"] == step["action"] and (
                        step["action"] != "status" or log[i]["status"] == step["status"]):
                    return log[i:i + 1 + followed_by] if len(log) >= i + 1 + followed_by \
                        else None
            return None
        return dl.wait_for(answered, timeout, what=f"the attempt answered by {step}")

    def test_each_answer_has_its_one_outcome_and_nothing_is_lost_or_duplicated(self):
        ds, proxy = self.ds, self.proxy
        agent = ds.start_agent(self.config)
        with dl.stopped_on_exit(ds, agent):
            self.attempts_after(0, 2)

            with self.subTest("503 with Retry-After is retried no earlier than asked"):
                hit, nxt = self.step({"action": "status", "status": 503,
                                      "headers": {"Retry-After": "3"}, "body": "maintenance"})
                self.assertEqual(nxt["seq"], hit["seq"], "a retry must resend the same seq")
                self.assertGreaterEqual(nxt["t"] - hit["t"], 3.0 - 0.05)

            with self.subTest("429 with Retry-After is retried no earlier than asked"):
                hit, nxt = self.step({"action": "status", "status": 429,
                                      "headers": {"Retry-After": "2"}})
                self.assertEqual(nxt["seq"], hit["seq"])
                self.assertGreaterEqual(nxt["t"] - hit["t"], 2.0 - 0.05)

            with self.subTest("400: the poisoned batch is quarantined and the queue moves on"):
                poisoned, nxt = self.step({"action": "status", "status": 400,
                                           "body": "record 3: malformed"})
                self.assertEqual(nxt["seq"], poisoned["seq"] + 1)
                self.assertEqual(nxt["first_id"], poisoned["last_id"] + 1)
                self.assertLess(nxt["t"] - poisoned["t"], 2.0, "the queue must move on at once")
                st = ds.status(self.config)
                self.assertEqual(st["counters"]["quarantined"], poisoned["records"])
                self.assertIn("central rejected a batch for good", ds.log_tail("agent", 100000))
                dl.assert_balanced(self, st)

            with self.subTest("413: the batch is split and sent again under new seqs"):
                big, nxt = self.step({"action": "status", "status": 413})
                self.assertGreaterEqual(big["records"], 2)
                self.assertGreater(nxt["seq"], big["seq"], "a refused seq is never reused")
                self.assertEqual(nxt["first_id"], big["first_id"])
                self.assertLessEqual(nxt["records"], big["records"] // 2)

            with self.subTest("401: caching goes on, status shows the credential problem"):
                n = len(proxy.log())
                proxy.queue(*[{"action": "status", "status": 401, "body": "unknown token"}] * 2)
                self.attempts_after(n, 2)
                st = ds.status(self.config)
                self.assertIn("401", st["last_upload_error"])
                self.assertTrue(st["upload_problem"].startswith("credentials"), st)
                self.assertIn("credentials", ds.status_text(self.config))
                produced = st["counters"]["produced"]
                dl.wait_for(lambda: ds.status(self.config)["counters"]["produced"] > produced,
                            10, what="the agent to keep producing")
                after = self.attempts_after(n + 2, 1)[0]
                self.assertEqual(after["status"], 200)
                dl.wait_for(lambda: ds.status(self.config)["upload_problem"] == "", 10,
                            what="the credential problem to clear from status")

            duplicates = 0
            for action in ("stall_response", "stall_request", "drop_response"):
                with self.subTest(f"{action}: retried; central keeps one copy"):
                    hit, nxt = self.step({"action": action})
                    self.assertEqual(nxt["status"], 200)
                    if action == "stall_request":
                        # Central never saw it: the retry is its first copy.
                        self.assertIsNone(hit["seq"])
                    else:
                        # Central stored it and the answer was lost: the same seq goes again.
                        self.assertEqual(nxt["seq"], hit["seq"])
                        duplicates += 1

            with self.subTest("a lost ack across a restart of central"):
                n = len(proxy.log())
                proxy.queue({"action": "drop_response"})
                hit = self.attempts_after(n, 1)[0]
                ds.fault("central-down", True)
                ds.fault("central-down", False)
                ok = dl.wait_for(lambda: [e for e in proxy.log()[n + 1:]
                                          if e["status"] == 200], 40,
                                 what="an upload accepted after central's restart")[0]
                self.assertEqual(ok["seq"], hit["seq"])
                duplicates += 1

            produced = ds.status(self.config)["counters"]["produced"]
            dl.wait_for(lambda: ds.status(self.config)["counters"]["acked"]
                        + ds.status(self.config)["counters"]["quarantined"] >= produced, 30,
                        what="everything to be delivered")
            self.assertEqual(ds.stop_agent(agent), 0)

        st = ds.status(self.config)
        dl.assert_balanced(self, st)
        c = st["counters"]
        self.assertEqual(c["quarantined"], poisoned["records"])
        self.assertEqual(c["evicted"], 0)
        audit, central = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertEqual(audit["gaps"], [(poisoned["first_id"], poisoned["last_id"])],
                         "central should lack exactly the quarantined batch")
        self.assertEqual(central["duplicates_dropped"], duplicates, central)
        self.assertEqual(audit["first_id"], 1)
        self.assertEqual(audit["last_id"], c["acked"] + c["quarantined"])
        seqs = {b["seq"] for b in ds.central_batches()}
        self.assertNotIn(poisoned["seq"], seqs)
        self.assertNotIn(big["seq"], seqs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
