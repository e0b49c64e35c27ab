"""Names and paths of one simulated school: namespaces, interfaces, files in the state dir.

Everything that must agree between `up`, `down`, `status` and `fault` is derived here from the
prefix and the state dir, so the commands never disagree about what a thing is called.
"""

from __future__ import annotations

import json
import os
import re

RUN_ROOT = "/run/schoolnet-sim"
# Where `up` records each prefix's state dir, so `down --prefix P` finds a custom --state-dir.
REGISTRY_DIR = os.path.join(RUN_ROOT, ".registry")
SNMPSIM_CACHE = "/var/cache/schoolnet-sim/snmpsim"
SIM_DIR = os.path.dirname(os.path.abspath(__file__))
PROJECT_DIR = os.path.dirname(os.path.dirname(SIM_DIR))
DEFAULT_MANIFEST = os.path.join(SIM_DIR, "manifests", "default.toml")
PYTHON = "/usr/bin/python3"


def default_state_dir(prefix: str) -> str:
    return os.path.join(RUN_ROOT, prefix)


def registered_state_dir(prefix: str) -> str | None:
    try:
        with open(os.path.join(REGISTRY_DIR, prefix)) as f:
            return f.read().strip() or None
    except OSError:
        return None


def registered_prefixes() -> list[str]:
    try:
        return sorted(n for n in os.listdir(REGISTRY_DIR) if not n.endswith(".lock"))
    except OSError:
        return []


def namespace_belongs_to(ns: str, prefix: str) -> bool:
    """True for exactly the namespace names simschool makes for `prefix`."""
    return re.fullmatch(rf"{re.escape(prefix)}-(box|gw|sw|dns|central|c-\d+|d-[a-z0-9-]+)",
                        ns) is not None


class Layout:
    def __init__(self, prefix: str, state_dir: str):
        p = self.prefix = prefix
        self.state_dir = state_dir
        self.ns_sw, self.ns_box, self.ns_gw = f"{p}-sw", f"{p}-box", f"{p}-gw"
        self.ns_dns, self.ns_central = f"{p}-dns", f"{p}-central"
        self.host_if = f"{p}-inet"
        self.logs = os.path.join(state_dir, "logs")

    def ns_device(self, name: str) -> str:
        return f"{self.prefix}-d-{name}"

    def ns_cloud(self, index: int) -> str:
        return f"{self.prefix}-c-{index}"

    def path(self, *parts: str) -> str:
        return os.path.join(self.state_dir, *parts)

    def log(self, name: str) -> str:
        return os.path.join(self.logs, f"{name}.log")

    # Files other tools read (env file, agent/central config, CA) have fixed names.
    @property
    def env_file(self):
        return self.path("env")

    @property
    def ca_file(self):
        return self.path("ca.pem")

    @property
    def maintenance_file(self):
        return self.path("central-maintenance")

    def read_state(self) -> dict:
        """state.json: what `up` built (manifest path, flags, node map); {} if nothing is up."""
        try:
            with open(self.path("state.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict):
        tmp = self.path("state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.path("state.json"))
