"""Helpers for the delivery tests (test_delivery_*.py): a small simulated school
(scripts/sim/manifests/outage.toml), the agent daemon run in its box with a per-test config,
and the checks every delivery test makes from outside the agent:

- the accounting invariant from `schoolnet-agent status --json`:
  produced = acked + pending + evicted + quarantined;
- central's audit of the agent's batches (GET .../agents/{agent}/batches): seqs stored in
  order, and record-id ranges that follow each other without overlapping, so no record is
  stored twice and none is stored out of order.

Standard library only (Python 3.11: tomllib reads the generated agent config).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(simlib.BUILD_DIR, "agent", "schoolnet-agent")
MANIFEST = os.path.join(simlib.MANIFESTS, "outage.toml")
FAULT_PROXY = os.path.join(HERE, "faultproxy.py")
CONNECT_PROXY = os.path.join(HERE, "connectproxy.py")


# ------------------------------------------------------------------------------------------------
# Small utilities
# ------------------------------------------------------------------------------------------------

def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Calls predicate() until it returns something true; returns that value. Raises
    AssertionError naming `what` (and the last value) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} "
                                 f"(last value: {last!r})")
        time.sleep(interval)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def write_toml(path: str, doc: dict):
    """Writes the subset of TOML the agent config uses: scalars, tables, arrays of tables."""
    lines = []
    for k, v in doc.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and
                                                not (v and isinstance(v[0], dict))):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, v in doc.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"[[{k}]]")
                lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------------
# The school
# ------------------------------------------------------------------------------------------------

class DeliverySchool:
    """The outage.toml school, up with central. Also a scratch dir for stores, configs and logs."""

    def __init__(self):
        if not simlib.central_available():
            raise RuntimeError(f"{simlib.central_binary()} is not built: delivery tests need it")
        if not os.access(AGENT, os.X_OK):
            raise RuntimeError(f"{AGENT} is not built")
        self.school = simlib.up(MANIFEST, None, False)
        self.env = self.school.env
        self.info = self.school.info
        self.school_id = self.env["SCHOOL_ID"]
        self.agent_id = self.env["AGENT_ID"]
        with open(self.env["AGENT_CONFIG"], "rb") as f:
            self.base_config = tomllib.load(f)
        with open(os.path.join(self.school.state_dir, "state.json")) as f:
            self.nodes = json.load(f)["nodes"]
        self.work = tempfile.mkdtemp(prefix="schoolnet-delivery-")
        self.procs: list[subprocess.Popen] = []

    def down(self):
        """Stops what the test started and takes the school down; the scratch dir stays until
        remove_work() (so a failing test can still print its logs)."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.school.down()

    def remove_work(self):
        if not os.environ.get("SCHOOLNET_KEEP_WORK"):
            shutil.rmtree(self.work, ignore_errors=True)

    @property
    def box_ns(self) -> str:
        return self.nodes["box"]

    @property
    def central_ns(self) -> str:
        return self.nodes["central"]

    def path(self, *parts: str) -> str:
        return os.path.join(self.work, *parts)

    # --- configs ---------------------------------------------------------------------------------

    def config(self, name: str, central: dict | None = None, store: dict | None = None,
               probes: dict | None = None, discovery: dict | None = None,
               probe_interval: str = "1s", **top) -> str:
        """Writes an agent config derived from the generated one, with short intervals, and
        returns its path. The store lives in the scratch dir unless `store` says otherwise."""
        base = self.base_config
        doc = {
            "school_id": base["school_id"],
            "agent_id": base["agent_id"],
            "log_level": "info",
            "health_interval": "10s",
        }
        doc.update(top)
        doc["central"] = {**base["central"], "upload_interval": "1s", "retry_cap": "5s",
                          "drain_rate": 0, "timeout": "5s", **(central or {})}
        doc["store"] = {"path": self.path(f"{name}.db"), **(store or {})}
        doc["discovery"] = {**base["discovery"], "interval": "10s", **(discovery or {})}
        doc["probes"] = {**base.get("probes", {}), **(probes or {})}
        doc["probe"] = [{**p, "interval": probe_interval} for p in base.get("probe", [])]
        path = self.path(f"{name}.toml")
        write_toml(path, doc)
        return path

    # --- the agent -------------------------------------------------------------------------------

    def start_agent(self, config: str, log_name: str = "agent", env: dict | None = None,
                    command: str = "run") -> subprocess.Popen:
        """Starts `schoolnet-agent run` in the box's namespace; its output goes to a log file
        in the scratch dir (printed when a test fails)."""
        log = open(self.path(f"{log_name}.log"), "ab")
        full_env = {**os.environ, **(env or {})}
        p = subprocess.Popen(["ip", "netns", "exec", self.box_ns, AGENT, command, "--config",
                              config], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=full_env)
        log.close()
        self.procs.append(p)
        return p

    @staticmethod
    def stop_agent(p: subprocess.Popen, timeout: float = 60) -> int:
        """SIGTERM, then waits: the daemon finishes an upload in flight and commits what it has."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"the agent did not stop within {timeout}s of SIGTERM")

    def status(self, config: str, env: dict | None = None) -> dict:
        proc = subprocess.run([AGENT, "status", "--json", "--config", config],
                              capture_output=True, text=True, timeout=30,
                              env={**os.environ, **(env or {})})
        if proc.returncode != 0:
            raise AssertionError(f"status failed ({proc.returncode}): {proc.stderr}")
        return json.loads(proc.stdout)

    def status_or_none(self, config: str, env: dict | None = None) -> dict | None:
        """status --json, or None while the agent has not created its store yet."""
        try:
            return self.status(config, env)
        except AssertionError:
            return None

    def counter(self, config: str, name: str, env: dict | None = None) -> int:
        """One counter from status, or -1 while the agent has not created its store yet (for
        wait_for predicates)."""
        try:
            return self.status(config, env)["counters"][name]
        except AssertionError:
            return -1

    def status_text(self, config: str, env: dict | None = None) -> str:
        proc = subprocess.run([AGENT, "status", "--config", config], capture_output=True,
                              text=True, timeout=30, env={**os.environ, **(env or {})})
        return proc.stdout + proc.stderr

    # --- central ---------------------------------------------------------------------------------

    def api(self, what: str, **params):
        path = f"/api/v1/schools/{self.school_id}/{what}"
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return self.school.central_get(path)

    def central_agent(self) -> dict | None:
        try:
            agents = self.api("agents")
        except RuntimeError:
            return None  # no batch stored yet: the school does not exist at central
        mine = [a for a in agents if a["agent_id"] == self.agent_id]
        return mine[0] if mine else None

    def central_batches(self) -> list[dict]:
        out, after = [], 0
        while True:
            page = self.api(f"agents/{urllib.parse.quote(self.agent_id)}/batches",
                            after=after, limit=10000)
            out += page
            if len(page) < 10000:
                return out
            after = page[-1]["seq"]

    def fault(self, name: str, on: bool, *extra: str):
        self.school.fault(name, on, *extra)

    # --- helper processes in namespaces ------------------------------------------------------------

    def run_in(self, ns: str, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.path(f"{log_name}.log"), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        return p

    def log_tail(self, name: str, lines: int = 80) -> str:
        try:
            with open(self.path(f"{name}.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def logs(self) -> list[str]:
        return sorted(f[:-4] for f in os.listdir(self.work) if f.endswith(".log"))


# ------------------------------------------------------------------------------------------------
# Proxies
# ------------------------------------------------------------------------------------------------

class FaultProxy:
    """faultproxy.py in central's namespace, in front of the real central, with central's own
    certificate: point the agent's central.url at .url and script what it answers."""

    def __init__(self, ds: DeliverySchool, port: int = 9443, control: int = 9444,
                 stall_seconds: float = 30):
        addr = ds.info["central"]["address"]
        certs = os.path.join(ds.school.state_dir, "certs")
        self.url = f"https://{addr}:{port}"
        self.control = f"http://{addr}:{control}"
        self.proc = ds.run_in(ds.central_ns, [
            sys.executable, FAULT_PROXY, "--listen", f"{addr}:{port}", "--control", str(control),
            "--cert", os.path.join(certs, "central.pem"),
            "--key", os.path.join(certs, "central.key"),
            "--upstream", ds.env["CENTRAL_URL"], "--ca", ds.env["CENTRAL_CA_FILE"],
            "--stall-seconds", str(stall_seconds)], "faultproxy")
        wait_for(self._healthy, 15, what="the fault proxy to listen")

    def _request(self, method: str, path: str, body=None):
        import urllib.request
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        # The control port is plain HTTP on the simulated internet: never through a proxy.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=5) as resp:
            return json.loads(resp.read())

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the fault proxy exited with {self.proc.returncode}")
        try:
            return bool(self._request("GET", "/healthz"))
        except OSError:
            return False

    def queue(self, *steps: dict):
        self._request("POST", "/steps", list(steps))

    def log(self) -> list[dict]:
        return self._request("GET", "/log")


class ConnectProxy:
    """connectproxy.py (HTTP CONNECT with Basic auth) in the box's namespace on 127.0.0.1, like
    a school's web proxy; .log() lists the tunnels it opened or refused."""

    def __init__(self, ds: DeliverySchool, user: str, password: str, port: int = 3128):
        self.log_path = ds.path("connectproxy.jsonl")
        self.address = f"127.0.0.1:{port}"
        self.proc = ds.run_in(ds.box_ns, [
            sys.executable, CONNECT_PROXY, "--listen", self.address, "--user", user,
            "--password", password, "--log", self.log_path], "connectproxy")
        wait_for(lambda: "listening" in ds.log_tail("connectproxy"), 15,
                 what="the CONNECT proxy to listen")

    def url(self, user: str, password: str) -> str:
        return f"http://{urllib.parse.quote(user)}:{urllib.parse.quote(password)}@{self.address}"

    def log(self) -> list[dict]:
        try:
            with open(self.log_path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []


# ------------------------------------------------------------------------------------------------
# The checks every delivery test makes
# ------------------------------------------------------------------------------------------------

def counters(st: dict) -> dict:
    return st["counters"]


def assert_balanced(tc: unittest.TestCase, st: dict):
    """produced = acked + pending + evicted + quarantined, from status --json, term by term."""
    c = st["counters"]
    tc.assertEqual(c["produced"], c["acked"] + c["pending"] + c["evicted"] + c["quarantined"],
                   f"accounting does not balance: {c}")
    tc.assertTrue(st["balanced"], st)
    tc.assertEqual(c["evicted"], sum(c["evicted_by_kind"].values()), c)
    tc.assertEqual(c["pending"], st["backlog"]["records"], st)


def audit_batches(tc: unittest.TestCase, batches: list[dict], first_seq_after: int = 0) -> dict:
    """Checks central's batches (seq order) for exactly-once, in-order delivery: every batch
    carries record ids first..last with last - first + 1 >= records (ids increase within a
    batch), and each batch's ids start above the previous batch's, so no record id is stored
    twice and none out of order. Batches also arrived in seq order (received_at).

    Returns {"records": total, "batches": n, "gaps": [(lo, hi), ...], "first_id", "last_id"}:
    gaps are id ranges central never received (evicted or quarantined records, or records still
    pending when ids go past them)."""
    batches = [b for b in batches if b["seq"] > first_seq_after]
    seqs = [b["seq"] for b in batches]
    tc.assertEqual(seqs, sorted(set(seqs)), "central stored a seq twice or out of order")
    total, gaps, prev = 0, [], None
    for b in batches:
        tc.assertGreater(b["first_record_id"], 0, f"batch without record ids: {b}")
        tc.assertGreaterEqual(b["last_record_id"] - b["first_record_id"] + 1, b["records"],
                              f"batch {b['seq']} holds a record id twice: {b}")
        if prev is not None:
            tc.assertGreater(b["first_record_id"], prev["last_record_id"],
                             f"record ids of seq {b['seq']} overlap or precede seq "
                             f"{prev['seq']}: {prev} then {b}")
            tc.assertGreaterEqual(b["received_at_ms"], prev["received_at_ms"],
                                  f"seq {b['seq']} arrived before seq {prev['seq']}")
            if b["first_record_id"] > prev["last_record_id"] + 1:
                gaps.append((prev["last_record_id"] + 1, b["first_record_id"] - 1))
        total += b["records"]
        prev = b
    return {"records": total, "batches": len(batches), "gaps": gaps,
            "first_id": batches[0]["first_record_id"] if batches else 0,
            "last_id": batches[-1]["last_record_id"] if batches else 0,
            "contiguous_within": all(b["last_record_id"] - b["first_record_id"] + 1 ==
                                     b["records"] for b in batches)}


def assert_central_holds_exactly_the_acked(tc: unittest.TestCase, ds: DeliverySchool, st: dict,
                                           acked_before: int = 0, first_seq_after: int = 0):
    """After the agent stopped cleanly (no upload left in doubt): central stored exactly the
    records the agent counts as acked, each once, in order. `acked_before`/`first_seq_after`
    account for an earlier store whose counters are gone (a store reset)."""
    agent = ds.central_agent()
    tc.assertIsNotNone(agent, "central does not know the agent")
    c = st["counters"]
    tc.assertEqual(agent["records_received"], c["acked"] + acked_before,
                   f"central received {agent['records_received']} records, the agent counts "
                   f"{c['acked']} (+{acked_before}) acked; central: {agent}; agent: {c}")
    audit = audit_batches(tc, ds.central_batches(), first_seq_after)
    if first_seq_after == 0:
        tc.assertEqual(audit["records"], agent["records_received"], audit)
    return audit, agent


class DeliveryTestCase(unittest.TestCase):
    """Base class: a fresh school (and so a fresh central database) for every test, because
    central remembers the agent's seqs; the agent's and helpers' logs are printed when a test
    fails."""

    ds: DeliverySchool | None = None

    def setUp(self):
        self.ds = DeliverySchool()
        self.started = time.monotonic()

    def tearDown(self):
        if self.ds is not None:
            self.ds.down()
        print(f"{self.id()}: {time.monotonic() - self.started:.1f}s", file=sys.stderr,
              flush=True)

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if self.ds is not None:
            if len(result.failures) + len(result.errors) > before:
                for name in self.ds.logs():
                    print(f"\n----- {name}.log (last lines) -----\n{self.ds.log_tail(name)}",
                          file=sys.stderr, flush=True)
            self.ds.remove_work()
        return out


@contextlib.contextmanager
def stopped_on_exit(ds: DeliverySchool, p: subprocess.Popen):
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
