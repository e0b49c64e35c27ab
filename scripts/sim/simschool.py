#!/usr/bin/python3
"""simschool: a simulated school network in Linux network namespaces, for schoolnet's demo,
integration tests and acceptance checks. See docs/simulated-school.md.

  simschool up     [--manifest FILE] [--state-dir DIR] [--no-central] [--central-bin PATH]
  simschool down   [--manifest FILE | --prefix P] [--state-dir DIR]
  simschool status [--manifest FILE | --prefix P]
  simschool fault  NAME on|off [--prefix P] [--retry-after N]
  simschool exec   NODE -- CMD...

`up` prints the env file's path as the last line of stdout. Runs as root.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tomllib

import faults
import manifest as manifest_mod
import netns
from layout import DEFAULT_MANIFEST, PROJECT_DIR, Layout, registered_prefixes
from school import SimError, down, prefix_lock, resolve_state_dir, say, up


def _prefix_of(args) -> str:
    """--prefix; else the manifest's [school] prefix; else the only school up; else "sn"."""
    if getattr(args, "prefix", None):
        return args.prefix
    if getattr(args, "manifest", None):
        try:
            with open(args.manifest, "rb") as f:
                return tomllib.load(f).get("school", {}).get("prefix", "sn")
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise SimError(f"{args.manifest}: {e}") from None
    up_now = registered_prefixes()
    return up_now[0] if len(up_now) == 1 else "sn"


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_up(args) -> int:
    # SIGINT may arrive ignored (a background job) and SIGTERM would kill us outright: make
    # both raise, so a half-built school is always taken down again.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    m = manifest_mod.load(args.manifest, PROJECT_DIR)
    build_dir = os.path.abspath(os.environ.get("SCHOOLNET_BUILD_DIR")
                                or os.path.join(PROJECT_DIR, "build"))
    central_bin = os.path.abspath(args.central_bin or
                                  os.path.join(build_dir, "central", "schoolnet-central"))
    env_path = up(m, args.state_dir, central_bin, args.no_central, build_dir, args.snmp_wait)
    print(env_path, flush=True)
    return 0


def cmd_down(args) -> int:
    prefix = _prefix_of(args)
    was_up = down(prefix, args.state_dir)
    say(f"{prefix}: {'taken down' if was_up else 'nothing was up'}")
    return 0


def cmd_status(args) -> int:
    prefix = _prefix_of(args)
    lay = Layout(prefix, resolve_state_dir(prefix, args.state_dir))
    text, healthy = faults.status_report(lay)
    print(text)
    if not lay.read_state():
        return 3
    return 0 if healthy else 1


def cmd_fault(args) -> int:
    prefix = _prefix_of(args)
    lay = Layout(prefix, resolve_state_dir(prefix, args.state_dir))
    with prefix_lock(prefix):
        detail = faults.apply(lay, args.name, args.state == "on", args.retry_after)
    say(f"{prefix}: fault {args.name} {args.state}: {detail}")
    return 0


def cmd_exec(args) -> int:
    prefix = _prefix_of(args)
    lay = Layout(prefix, resolve_state_dir(prefix, args.state_dir))
    nodes = lay.read_state().get("nodes", {})
    node = args.node
    ns = nodes.get(node) or nodes.get(node.replace("c-", "c", 1)) or (
        node if node in nodes.values() else None)
    if ns is None:
        raise SimError(f"no node {node!r} in {prefix!r}; nodes: {', '.join(sorted(nodes)) or '-'}")
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise SimError("exec: no command given (simschool exec NODE -- CMD...)")
    os.execvp("ip", ["ip", "netns", "exec", ns] + cmd)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="simschool", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    u = sub.add_parser("up", help="build the school and start every service")
    u.add_argument("--manifest", default=DEFAULT_MANIFEST)
    u.add_argument("--state-dir")
    u.add_argument("--no-central", action="store_true",
                   help="do not start schoolnet-central (its config is still written)")
    u.add_argument("--central-bin", help="default: $SCHOOLNET_BUILD_DIR/central/schoolnet-central")
    u.add_argument("--snmp-wait", type=float, default=120.0,
                   help="seconds each SNMP simulator may take to answer (first run indexes)")
    u.set_defaults(func=cmd_up)

    for name, func, hlp in (("down", cmd_down, "stop everything and remove it"),
                            ("status", cmd_status, "what is up, processes, faults")):
        s = sub.add_parser(name, help=hlp)
        g = s.add_mutually_exclusive_group()
        g.add_argument("--manifest")
        g.add_argument("--prefix")
        s.add_argument("--state-dir")
        s.set_defaults(func=func)

    f = sub.add_parser("fault", help="inject or clear a fault",
                       epilog="faults:\n" + "\n".join(f"  {k:18} {v}"
                                                      for k, v in faults.FAULTS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("name")
    f.add_argument("state", choices=("on", "off"))
    f.add_argument("--prefix")
    f.add_argument("--state-dir")
    f.add_argument("--retry-after", type=int, default=5, help="central-503: seconds (default 5)")
    f.set_defaults(func=cmd_fault)

    e = sub.add_parser("exec", help="run a command in a node's namespace")
    e.add_argument("--prefix")
    e.add_argument("--state-dir")
    e.add_argument("node", help="box, gw, sw, dns, central, a device name, or cN (cloud N)")
    e.add_argument("cmd", nargs=argparse.REMAINDER)
    e.set_defaults(func=cmd_exec)

    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("simschool: must run as root (it creates network namespaces)", file=sys.stderr)
        return 1
    try:
        return args.func(args)
    except (SimError, manifest_mod.ManifestError, faults.FaultError, netns.CommandError) as e:
        print(f"simschool: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("simschool: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
