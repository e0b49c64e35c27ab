"""Time, with the agent's wall clock driven by libfaketime (the monotonic clock stays real) and
"synchronised" driven by the agent's SCHOOLNET_CLOCK_SYNC_FILE hook (this kernel's adjtimex
says unsynchronised, and libfaketime cannot fake adjtimex).

1. A Pi without RTC: the agent starts at 1970, unsynchronised. TLS to central and to the cloud
   services fails with "certificate not yet valid", which must be reported as a clock problem
   (status, and the probes' error class clock_unsynchronised). Then NTP steps the clock to now
   and synchronises: the records taken before arrive at central with corrected times (within a
   few seconds of the truth, flagged time_corrected), and nothing is lost or duplicated.
2. Steps of a synchronised wall clock, forward two hours and then back one with central down
   across it: batches are never reordered, the probes neither stall nor burst (their timers
   run on the monotonic clock), and backoff keeps working.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402

# Debian's faketime package, under the machine's multiarch directory.
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))), "")
SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "timerfd_shim.c")
DAY_MS = 86_400_000


class FakeClock:
    """The agent's wall clock as an offset from the real one, in a libfaketime timestamp file,
    and its sync state as the existence of a file."""

    def __init__(self, ds: dl.DeliverySchool):
        self.offset_file = ds.path("faketime")
        self.sync_file = ds.path("clock-synced")
        self.shim = ds.path("timerfd_shim.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", self.shim, SHIM], check=True)
        self.set_offset(0)

    def set_offset(self, seconds: int):
        tmp = self.offset_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seconds:+d}\n")
        os.replace(tmp, self.offset_file)

    def set_synced(self, synced: bool):
        if synced:
            open(self.sync_file, "w").close()
        elif os.path.exists(self.sync_file):
            os.unlink(self.sync_file)

    def env(self) -> dict:
        return {"LD_PRELOAD": f"{self.shim} {LIBFAKETIME}",
                "FAKETIME_TIMESTAMP_FILE": self.offset_file,
                "FAKETIME_CACHE_DURATION": "1", "DONT_FAKE_MONOTONIC": "1",
                "SCHOOLNET_CLOCK_SYNC_FILE": self.sync_file}

    def status_env(self) -> dict:
        return {"SCHOOLNET_CLOCK_SYNC_FILE": self.sync_file}


class Clock(dl.DeliveryTestCase):

    @classmethod
    def setUpClass(cls):
        # A missing tool fails the test: a skipped clock test would read as a passing one.
        if not LIBFAKETIME or not shutil.which("cc"):
            raise RuntimeError("needs libfaketime and a C compiler for timerfd_shim.c "
                               "(scripts/deps installs faketime and build-essential)")
        super().setUpClass()

    def test_records_taken_at_1970_are_corrected_when_the_clock_synchronises(self):
        ds = self.ds
        clock = FakeClock(ds)
        clock.set_synced(False)
        clock.set_offset(-int(time.time()) + 3600)  # 1970-01-01 01:00 and running
        config = ds.config("agent")
        started_ms = time.time() * 1000
        agent = ds.start_agent(config, env=clock.env())
        with dl.stopped_on_exit(ds, agent):
            st = dl.wait_for(lambda: (lambda s: s if s and s["last_upload_error"] else None)(
                ds.status_or_none(config, clock.status_env())), 20, what="a failed upload")
            # Central's certificate is "not yet valid" at 1970: a clock problem, said so.
            self.assertTrue(st["last_upload_error"].startswith("clock_unsynchronised"), st)
            self.assertTrue(st["upload_problem"].startswith("clock"), st)
            self.assertFalse(st["clock_synchronised"])
            self.assertEqual(st["counters"]["acked"], 0)
            time.sleep(6)
            before = ds.status(config, clock.status_env())
            dl.assert_balanced(self, before)
            self.assertGreater(before["counters"]["produced"], 20)

            # NTP steps the clock to the real time, then reports it synchronised. (The agent
            # reads the offset file at most a second late: FAKETIME_CACHE_DURATION.)
            clock.set_offset(0)
            time.sleep(1.5)
            clock.set_synced(True)
            stepped_ms = time.time() * 1000
            dl.wait_for(lambda: ds.counter(config, "acked", clock.status_env())
                        >= before["counters"]["produced"], 40,
                        what="the records of 1970 to be delivered")
            time.sleep(3)
            self.assertEqual(ds.stop_agent(agent), 0)
        finished_ms = time.time() * 1000

        st = ds.status(config, clock.status_env())
        dl.assert_balanced(self, st)
        self.assertTrue(st["clock_synchronised"])
        self.assertEqual(st["upload_problem"], "")
        audit, _ = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertEqual(audit["gaps"], [])
        self.assertEqual((audit["first_id"], audit["last_id"]), (1, st["counters"]["acked"]))

        samples = ds.api("samples", limit=10000)
        self.assertEqual(len(samples), len({s["record_id"] for s in samples}))
        corrected = [s for s in samples if s["time_corrected"]]
        self.assertGreater(len(corrected), 20, "no sample of 1970 was corrected")
        for s in samples:
            # Every time at central is a real one: nothing from 1970 is left.
            self.assertGreater(s["observed_at_ms"], started_ms - 3000, s)
            self.assertLess(s["observed_at_ms"], finished_ms + 3000, s)
            self.assertTrue(s["clock_synced"], s)
        for s in corrected:
            # Taken before the step, and now placed there to within a few seconds.
            self.assertLess(s["observed_at_ms"], stepped_ms + 3000, s)
        # At 1970 the cloud services' certificates were "not yet valid" too: a clock problem.
        # (Samples taken in the moment between the step and the sync flag succeeded.)
        tls_failures = {s["error"] for s in corrected
                        if s["kind"] in ("tls", "https") and not s["ok"]}
        self.assertEqual(tls_failures, {"clock_unsynchronised"}, tls_failures)
        after = [s for s in samples if not s["time_corrected"] and s["kind"] in ("tls", "https")]
        self.assertTrue(after and all(s["ok"] for s in after), "TLS probes after the sync")
        for w in ds.api("summaries", limit=10000):
            self.assertGreater(w["window_start_ms"], started_ms - 120_000, w)

    def test_wall_clock_steps_never_reorder_stall_or_burst(self):
        ds = self.ds
        clock = FakeClock(ds)
        clock.set_synced(True)
        config = ds.config("agent")
        started = time.monotonic()
        agent = ds.start_agent(config, env=clock.env())
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.counter(config, "acked") > 0, 30, what="a first delivery")
            time.sleep(3)
            # Forward two hours: no schedule may fire everything it "missed".
            clock.set_offset(+7200)
            time.sleep(6)
            # Central goes down, and meanwhile the wall clock steps back an hour. (Back from
            # +2 h, so that the simulated school's certificates, made minutes ago, stay valid.)
            ds.fault("central-down", True)
            time.sleep(3)
            clock.set_offset(+3600)
            time.sleep(5)
            acked = ds.counter(config, "acked")
            ds.fault("central-down", False)
            back = time.monotonic()
            # Backoff is counted on the monotonic clock: the step must not park it for an hour.
            dl.wait_for(lambda: ds.counter(config, "acked") > acked, 15,
                        what="uploads to resume after the backwards step")
            resumed_s = time.monotonic() - back
            time.sleep(4)
            self.assertEqual(ds.stop_agent(agent), 0)
        ran_s = time.monotonic() - started
        print(f"uploads resumed {resumed_s:.1f}s after central came back", file=sys.stderr)

        st = ds.status(config)
        dl.assert_balanced(self, st)
        # Seqs stored in order of arrival and record ids in order of seq: the steps did not
        # reorder the outbox.
        audit, _ = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertEqual(audit["gaps"], [])
        self.assertEqual((audit["first_id"], audit["last_id"]), (1, st["counters"]["acked"]))
        # Each probe ran about once a second the whole time: no stall after the step back, no
        # burst after the step forward.
        for probe in ds.base_config["probe"]:
            with self.subTest(probe=probe["name"]):
                n = len(ds.api("samples", probe=probe["name"], limit=10000))
                self.assertLessEqual(n, ran_s * 1.15 + 3, "a burst of probes")
                self.assertGreaterEqual(n, (ran_s - 5) * 0.6, "probes stalled")
        # The steps show in the samples' times (they are the wall clock's), not in their order.
        samples = sorted(ds.api("samples", limit=10000), key=lambda s: s["record_id"])
        now_ms = time.time() * 1000
        ahead = [s for s in samples if s["observed_at_ms"] > now_ms + 1800_000]
        self.assertTrue(ahead, "no sample was taken while the clock was ahead")
        jumps_back = sum(1 for a, b in zip(samples, samples[1:])
                         if b["observed_at_ms"] < a["observed_at_ms"] - 1800_000)
        self.assertGreaterEqual(jumps_back, 1, "the step back is not visible in the times")


if __name__ == "__main__":
    unittest.main(verbosity=2)
