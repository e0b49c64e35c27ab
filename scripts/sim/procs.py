"""Starts the simulated school's daemons and keeps a registry of them in the state dir.

Each daemon runs in the foreground of its namespace (`ip netns exec NS ...` execs without
forking, so the pid we get is the daemon's own), detached into its own session so it outlives
`simschool up`. The registry (procs.json) remembers pid, start time (to tell a reused pid from
ours), argv and log, so `status` can report and a fault can restart the same command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

REGISTRY = "procs.json"


def _load(state_dir: str) -> dict:
    try:
        with open(os.path.join(state_dir, REGISTRY)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save(state_dir: str, reg: dict):
    path = os.path.join(state_dir, REGISTRY)
    with open(path + ".tmp", "w") as f:
        json.dump(reg, f, indent=1)
    os.replace(path + ".tmp", path)


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot); None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def start(state_dir: str, name: str, ns: str | None, argv: list[str], log: str,
          env: dict | None = None) -> int:
    """Starts `argv` (inside `ns` unless None), output appended to `log`; returns its pid."""
    full = (["ip", "netns", "exec", ns] if ns else []) + argv
    with open(log, "ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(full)}\n"
                  .encode())
        out.flush()
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True,
                                env={**os.environ, **(env or {})})
    reg = _load(state_dir)
    reg[name] = {"ns": ns, "argv": argv, "env": env or {}, "log": log, "pid": proc.pid,
                 "start_time": _start_time(proc.pid)}
    _save(state_dir, reg)
    return proc.pid


def restart(state_dir: str, name: str) -> int:
    entry = _load(state_dir)[name]
    return start(state_dir, name, entry["ns"], entry["argv"], entry["log"], entry["env"])


def entries(state_dir: str) -> dict:
    return _load(state_dir)


def entry(state_dir: str, name: str) -> dict | None:
    return _load(state_dir).get(name)


def alive(e: dict | None) -> bool:
    if not e or not e.get("pid"):
        return False
    now = _start_time(e["pid"])
    return now is not None and now == e.get("start_time")


def state_of(e: dict | None) -> str:
    """'running', 'stopped' (SIGSTOP), or 'dead'."""
    if not alive(e):
        return "dead"
    try:
        with open(f"/proc/{e['pid']}/stat") as f:
            stat = f.read()
        return "stopped" if stat[stat.rindex(")") + 2] == "T" else "running"
    except OSError:
        return "dead"


def send(state_dir: str, name: str, sig: int) -> bool:
    e = entry(state_dir, name)
    if not alive(e):
        return False
    os.kill(e["pid"], sig)
    return True


def stop(state_dir: str, name: str, grace: float = 5.0):
    """SIGTERM, then SIGKILL after `grace` seconds; returns once the process is gone."""
    e = entry(state_dir, name)
    if not alive(e):
        return
    pid = e["pid"]
    for sig in (signal.SIGCONT, signal.SIGTERM):
        os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while alive(e) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if alive(e):
        os.kill(pid, signal.SIGKILL)
        while alive(e):
            _reap(pid)
            time.sleep(0.05)


def _reap(pid: int) -> int | None:
    """Collects the exit status when the daemon is our own child (started in this process);
    returns the exit code (negative: killed by that signal) or None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def _tail(path: str, lines: int = 3) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 2000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def exited_early(state_dir: str, name: str) -> str | None:
    """None while the process runs; else a short description for an error message."""
    e = entry(state_dir, name)
    if alive(e):
        return None
    if not e:
        return f"{name} was never started"
    code = _reap(e["pid"])
    how = f" with status {code}" if code is not None else ""
    return f"{name} exited{how}; log {e['log']}: {_tail(e['log'])}"
