"""Helpers for integration tests that run against the simulated school (scripts/simschool).

Standard library only. Typical use:

    import simlib
    with simlib.school() as s:                       # up (default manifest) ... down
        s.box_exec(["snmpget", "-v2c", "-c", "public", "10.50.0.2", "1.3.6.1.2.1.1.1.0"])
        if s.has_central:
            print(s.central_get("/api/v1/schools"))
        rec = simlib.read_snmprec(s.device("copier")["snmp"]["recording"])

Tests run as root (network namespaces). SCHOOLNET_SOURCE_DIR and SCHOOLNET_BUILD_DIR come from
ctest; without them the source dir is found from this file and the build dir is <source>/build.
"""

from __future__ import annotations

import bz2
import contextlib
import json
import os
import shlex
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get("SCHOOLNET_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("SCHOOLNET_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
SIMSCHOOL = os.path.join(SOURCE_DIR, "scripts", "simschool")
NSPROBE = os.path.join(SOURCE_DIR, "scripts", "sim", "nsprobe.py")
MANIFESTS = os.path.join(SOURCE_DIR, "scripts", "sim", "manifests")
DEFAULT_MANIFEST = os.path.join(MANIFESTS, "default.toml")

SYS_DESCR, SYS_OBJECT_ID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"


def central_binary() -> str:
    return os.path.join(BUILD_DIR, "central", "schoolnet-central")


def central_available() -> bool:
    return os.access(central_binary(), os.X_OK)


def skipped(reason: str):
    """Say loudly that a check did not run (ctest shows the output of failing and verbose runs)."""
    print(f"SKIPPED: {reason}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Reading what `up` wrote
# ------------------------------------------------------------------------------------------------

def load_env(path: str) -> dict[str, str]:
    """Parses the env file (KEY=value lines, values shell-quoted where needed)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            parts = shlex.split(value)
            env[key] = parts[0] if parts else ""
    return env


def load_env_json(state_dir: str) -> dict:
    with open(os.path.join(state_dir, "env.json")) as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------------
# Running things
# ------------------------------------------------------------------------------------------------

def simschool(*args: str, check=True, timeout=600) -> subprocess.CompletedProcess:
    """Runs scripts/simschool; stdout and stderr captured (stderr is echoed for the test log)."""
    proc = subprocess.run([SIMSCHOOL, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if check and proc.returncode != 0:
        raise RuntimeError(f"simschool {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr}{proc.stdout}")
    return proc


def box_exec(args: list[str], env: dict | None = None, check=False, timeout=60,
             **kwargs) -> subprocess.CompletedProcess:
    """Runs a command in the box's namespace (BOX_EXEC from `env`, else the environment)."""
    prefix = shlex.split((env or os.environ)["BOX_EXEC"])
    return subprocess.run(prefix + list(args), capture_output=True, text=True, check=check,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def ns_exec(ns: str, args: list[str], timeout=60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def central_request(method: str, path: str, env: dict | None = None, body: bytes | None = None,
                    headers: dict | None = None, token: str | None = None, timeout=10):
    """One HTTPS request to central from the host, trusting only CENTRAL_CA_FILE.
    Returns (status, headers, body bytes); HTTP error statuses are returned, not raised."""
    env = env or os.environ
    ctx = ssl.create_default_context(cafile=env["CENTRAL_CA_FILE"])
    req = urllib.request.Request(env["CENTRAL_URL"] + path, data=body, method=method,
                                 headers={"Authorization": "Bearer " +
                                          (token or env["CENTRAL_API_TOKEN"]),
                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def central_get(path: str, env: dict | None = None):
    """GET `path` from central's API with the API token; returns the parsed JSON."""
    status, _, body = central_request("GET", path, env)
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


# ------------------------------------------------------------------------------------------------
# Recordings
# ------------------------------------------------------------------------------------------------

def read_snmprec(path: str) -> dict[str, tuple[str, bytes]]:
    """OID -> (type tag, value bytes) from a .snmprec or .snmprec.bz2 file.

    `4x`/`64x` values are hex and are decoded (the tag loses its `x`), `4e` values are escaped
    text and are unescaped (the tag loses its `e`); snmpsim variation tags
    such as `66:numeric` keep only the type (`66`) and the raw value text. Lines without three
    `|`-separated fields (comments, blanks, damage) are skipped. A repeated OID keeps the last
    value, as snmpsim's index does."""
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rb") as f:
        data = f.read()
    out = {}
    for raw in data.splitlines():
        fields = raw.split(b"|", 2)
        if len(fields) != 3 or raw.startswith(b"#"):
            continue
        oid, tag, value = (fields[0].strip().decode("ascii", "replace"),
                           fields[1].decode("ascii", "replace"), fields[2])
        tag = tag.split(":", 1)[0]
        if tag.endswith("x"):
            try:
                value = bytes.fromhex(value.decode("ascii"))
            except ValueError:
                continue
            tag = tag[:-1]
        elif tag.endswith("e"):
            # Python-style escapes (\\n, \\xNN), as snmpsim writes bytes it would not hex.
            try:
                value = value.decode("latin-1").encode("latin-1").decode("unicode_escape") \
                    .encode("latin-1")
            except (UnicodeDecodeError, UnicodeEncodeError):
                continue
            tag = tag[:-1]
        out[oid.lstrip(".")] = (tag, value)
    return out


def parse_snmpget(text: str) -> dict[str, tuple[str, bytes]]:
    """Parses `snmpget -On -Ox` output (hex dumps may wrap over several lines)."""
    out = {}
    for chunk in ("\n" + text.strip()).split("\n.")[1:]:
        oid, _, rest = chunk.partition(" = ")
        kind, sep, value = rest.partition(": ")
        if not sep:  # "No Such Instance ...", or an empty string printed as ""
            kind, value = ("STRING", "") if rest.strip() == '""' else (rest.strip(), "")
        value = value.strip()
        if kind == "Hex-STRING":
            out[oid] = ("OCTET STRING", bytes.fromhex(value.replace("\n", " ")))
        else:
            out[oid] = (kind, value.strip('"').encode())
    return out


# ------------------------------------------------------------------------------------------------
# A running school
# ------------------------------------------------------------------------------------------------

class School:
    """A simulated school that `up` brought up: its env, inventory and a few probes."""

    def __init__(self, env_path: str):
        self.env_path = env_path
        self.env = load_env(env_path)
        self.info = load_env_json(self.env["SIM_STATE_DIR"])
        self.prefix = self.env["SIM_PREFIX"]
        self.state_dir = self.env["SIM_STATE_DIR"]
        self.has_central = not self.info.get("NO_CENTRAL", False)

    def device(self, name: str) -> dict:
        return next(d for d in self.info["devices"] if d["name"] == name)

    def box_exec(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return box_exec(args, self.env, **kwargs)

    def exec_on(self, node: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Runs a command on a node: box, gw, dns, central, a device name, or cN."""
        with open(os.path.join(self.state_dir, "state.json")) as f:
            nodes = json.load(f)["nodes"]
        return ns_exec(nodes[node], args, **kwargs)

    def central_get(self, path: str):
        return central_get(path, self.env)

    def central_request(self, method: str, path: str, **kwargs):
        return central_request(method, path, self.env, **kwargs)

    def fault(self, name: str, on: bool, *extra: str):
        simschool("fault", name, "on" if on else "off", "--prefix", self.prefix, *extra)

    def status(self) -> tuple[int, str]:
        proc = simschool("status", "--prefix", self.prefix, check=False)
        return proc.returncode, proc.stdout

    def snmp_get(self, address: str, community: str, *oids: str, node: str = "box",
                 timeout: int = 2) -> dict[str, tuple[str, bytes]] | None:
        """snmpget (v2c) from `node`: OID -> (net-snmp type name, value bytes), with octet
        strings as their exact bytes; None when the agent did not answer at all."""
        proc = self.exec_on(node, ["snmpget", "-v2c", "-c", community, "-r1", f"-t{timeout}",
                                   "-On", "-Ox", address, *oids], timeout=30)
        if proc.returncode != 0 and "Timeout" in proc.stderr:
            return None
        return parse_snmpget(proc.stdout)

    def mdns_service_types(self, node: str = "box", source: str | None = None,
                           wait: float = 3.0) -> dict[str, list[str]]:
        """Responder address -> service types, by DNS-SD enumeration (legacy unicast) from
        `node` (default the box, from its LAN address)."""
        source = source or self.info["lan"]["box"]
        proc = self.exec_on(node, ["/usr/bin/python3", NSPROBE, "mdns", "--source", source,
                                   "--wait", str(wait)], timeout=wait + 30)
        return json.loads(proc.stdout)

    def down(self):
        simschool("down", "--prefix", self.prefix)


def up(manifest: str = DEFAULT_MANIFEST, state_dir: str | None = None,
       no_central: bool | None = None, *extra: str) -> School:
    """Brings a school up. no_central=None: start central only if it has been built (and say
    loudly when it has not)."""
    if no_central is None:
        no_central = not central_available()
        if no_central:
            skipped(f"central binary {central_binary()} is not built: the school runs without "
                    "central and central-dependent checks are skipped")
    args = ["up", "--manifest", manifest, *extra]
    if state_dir:
        args += ["--state-dir", state_dir]
    if no_central:
        args.append("--no-central")
    proc = simschool(*args)
    return School(proc.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def school(manifest: str = DEFAULT_MANIFEST, state_dir: str | None = None,
           no_central: bool | None = None, *extra: str):
    """`with school() as s:` -- up on entry, down on exit (also when the body fails)."""
    s = up(manifest, state_dir, no_central, *extra)
    try:
        yield s
    finally:
        s.down()
