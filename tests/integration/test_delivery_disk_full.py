"""The store's disk nearly full, then full, on a small tmpfs mounted for the test.

1. At the free-disk floor (store.min_free_disk) the outbox evicts by priority, counts every
   eviction under reason "disk", and gives the pages back so the floor holds again: it does not
   keep evicting for the same shortfall.
2. With the file system completely full (another file takes every byte; no floor configured,
   so eviction stays out of it), commits fail with SQLITE_FULL: the agent keeps running, keeps
   its records in memory, and commits them once space returns: every sample taken meanwhile
   reaches central.
3. When central is reachable again, everything arrives; the accounting balances throughout.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402
import simlib  # noqa: E402

BACKLOG_GEN = os.path.join(simlib.BUILD_DIR, "tests", "bench", "backlog_gen")
DISK = 8 << 20
FLOOR = 4 << 20
SHORT = 1 << 20  # how far below the floor the test puts the free space


def free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: str) -> int:
    """Writes zeros until the file system refuses; returns how many bytes were written."""
    written = 0
    chunk = b"\0" * 65536
    fd = None
    for _ in range(20):  # the agent may hold every byte for a moment (a WAL write)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            break
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            time.sleep(0.1)
    if fd is None:
        raise AssertionError("cannot even create the filler file")
    with open(fd, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
                written += len(chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    for size in (4096, 512, 1):  # the last crumbs
        try:
            with open(path, "ab") as f:
                while True:
                    f.write(b"\0" * size)
                    f.flush()
                    written += size
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    return written


class DiskFull(dl.DeliveryTestCase):

    def setUp(self):
        super().setUp()
        self.disk = self.ds.path("disk")
        os.mkdir(self.disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs",
                        self.disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.disk], check=False)

    def test_at_the_floor_and_when_full_nothing_is_lost_beyond_what_is_counted(self):
        ds = self.ds
        store = os.path.join(self.disk, "agent.db")
        config = ds.config("agent", store={"path": store, "min_free_disk": f"{FLOOR >> 20}MiB"})
        # Half an hour of backlog at one probe per second: about 2 MiB on an 8 MiB disk.
        gen = subprocess.run([BACKLOG_GEN, "--config", config, "--hours", "0.5",
                              "--probe-interval", "1000", "--health-interval", "300000",
                              "--devices", "3", "--outage-every-hours", "0",
                              "--end-ms", str(int(time.time() * 1000) - 60_000)],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(gen.returncode, 0, gen.stderr)
        db = sqlite3.connect(store)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        # Another file takes the disk to SHORT below the floor.
        ballast = os.path.join(self.disk, "other-files")
        with open(ballast, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, free_bytes(self.disk) - (FLOOR - SHORT))
        print(f"backlog: {gen.stdout.split()}; free {free_bytes(self.disk)}", file=sys.stderr)
        self.assertLess(free_bytes(self.disk), FLOOR - SHORT // 2)

        ds.fault("central-down", True)
        agent = ds.start_agent(config)
        with dl.stopped_on_exit(ds, agent):
            # 1. The floor: evict raw samples (reason "disk") until the floor holds again.
            st = dl.wait_for(lambda: (lambda s: s if s["counters"]["evicted"] else None)(
                ds.status(config)), 20, what="eviction at the free-disk floor")
            dl.wait_for(lambda: free_bytes(self.disk) >= FLOOR - (256 << 10), 15,
                        what="the free space to come back to the floor")
            st = ds.status(config)
            dl.assert_balanced(self, st)
            by_kind = st["counters"]["evicted_by_kind"]
            self.assertEqual(set(by_kind), {"probe_sample/disk"}, by_kind)
            # ...and then only about as much as is produced, not the shortfall over and over.
            time.sleep(10)
            later = ds.status(config)
            dl.assert_balanced(self, later)
            more_evicted = later["counters"]["evicted"] - st["counters"]["evicted"]
            more_produced = later["counters"]["produced"] - st["counters"]["produced"]
            self.assertLessEqual(more_evicted, more_produced + 50,
                                 f"evicting again and again: {st['counters']} -> "
                                 f"{later['counters']}")

            self.assertEqual(ds.stop_agent(agent), 0)

        # 2. Completely full (another file takes every byte), with no floor configured so that
        #    eviction stays out of it: commits fail with SQLITE_FULL; the agent lives on, keeps
        #    its records in memory and commits them once space returns.
        config = ds.config("agent-nofloor", store={"path": store, "min_free_disk": "0"})
        agent = ds.start_agent(config, "agent-full")
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.counter(config, "produced") > later["counters"]["produced"],
                        15, what="the second run to produce")
            filler = os.path.join(self.disk, "filler")
            fill(filler)
            full_from = time.time() * 1000
            # Commits can go on for a while into space SQLite already holds (a WAL that was
            # checkpointed is rewritten from its start): wait for the first one that fails.
            dl.wait_for(lambda: "commit failed; records kept in memory" in
                        ds.log_tail("agent-full", 100000), 60,
                        what="a commit to fail on the full disk")
            time.sleep(10)  # long enough that a probe at 1 s +- 10 % must show ~8 samples
            full_to = time.time() * 1000
            self.assertIsNone(agent.poll(), "the agent died on a full disk")
            during = ds.status(config)
            dl.assert_balanced(self, during)
            os.unlink(filler)
            produced = during["counters"]["produced"]
            dl.wait_for(lambda: ds.counter(config, "produced") > produced + 20, 15,
                        what="commits to resume once space came back")

            # 3. Central back: everything drains.
            ds.fault("central-down", False)
            now_produced = ds.status(config)["counters"]["produced"]
            dl.wait_for(lambda: (lambda c: c["acked"] + c["evicted"] >= now_produced)(
                ds.status(config)["counters"]), 60, what="the backlog to drain")
            self.assertEqual(ds.stop_agent(agent), 0)

        st = ds.status(config)
        dl.assert_balanced(self, st)
        self.assertEqual(st["counters"]["quarantined"], 0)
        self.assertEqual(st["counters"]["store_resets"], 0, "the store was moved aside")
        # Evicted for the disk only, and by priority: raw samples, then minute summaries folded
        # into hourly ones, then summaries and snapshots while another file held the disk full;
        # never outages, device changes or health, which the disk floor leaves alone.
        by_kind = st["counters"]["evicted_by_kind"]
        self.assertLessEqual(set(by_kind), {"probe_sample/disk", "probe_summary/folded",
                                            "probe_summary/disk", "device_snapshot/disk",
                                            "topology/disk"}, by_kind)
        audit, _ = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        # The samples taken while the disk was full were kept in memory and committed later:
        # every probe has them at central.
        for probe in ds.base_config["probe"]:
            with self.subTest(probe=probe["name"]):
                taken = [s for s in ds.api("samples", probe=probe["name"], limit=10000)
                         if full_from + 1000 <= s["observed_at_ms"] <= full_to - 1000]
                self.assertGreaterEqual(len(taken), (full_to - full_from - 2000) / 1000 * 0.8,
                                        "samples taken while the disk was full are missing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
