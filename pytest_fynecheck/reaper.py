"""Leftovers of killed runs: removed at session start, by label and pid, never by name.

A run that is SIGKILLed cannot clean up. What it started carries its pid (and that pid's
start time, so a recycled pid is not mistaken for it); the next run removes whatever
belongs to a process that no longer exists.

Two halves: containers (`reap_containers`) and host display servers (`record_process`,
`reap_processes`, used by the displays feature).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from pytest_fynecheck.model import CheckFailed


def owner_alive(pid: int, start_time: str) -> bool:
    """True when `pid` still names the process that started the thing (same start time)."""
    now = process_start_time(pid)
    return bool(now) and (not start_time or now == start_time)


# -- containers ----------------------------------------------------------------------------


def reap_containers(cache: Path) -> list[str]:
    """Remove labelled containers whose owning pytest process (on this host) is gone.

    Returns the ids removed. Without a Docker engine there is nothing to reap.
    """
    from pytest_fynecheck.containers.engine import (
        LABEL_HOST,
        LABEL_PID,
        LABEL_PID_START,
        LABEL_SESSION,
        engine,
        missing_engine,
    )

    if missing_engine(cache) is not None:
        return []
    docker = engine(cache)
    try:
        ids = docker.check(
            ["ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={LABEL_SESSION}"],
            timeout=60,
        ).split()
        if not ids:
            return []
        inspected = json.loads(docker.check(["inspect", *ids], timeout=60))
    except CheckFailed:
        return []  # it vanished meanwhile, or the engine went away: nothing to do
    here = socket.gethostname()
    dead = []
    for item in inspected:
        labels = item.get("Config", {}).get("Labels") or {}
        if labels.get(LABEL_HOST) != here:
            continue  # another machine's run sharing this engine: its pids mean nothing here
        try:
            pid = int(labels.get(LABEL_PID, ""))
        except ValueError:
            continue
        if pid != os.getpid() and not owner_alive(pid, labels.get(LABEL_PID_START, "")):
            dead.append(str(item["Id"]))
    if dead:
        docker.docker(["rm", "--force", *dead], timeout=120)
    return dead


# -- display-server processes --------------------------------------------------------------
# NOTE for the displays feature: this file was re-created by the containers work, which
# by mistake overwrote the first version; `record_process`/`reap_processes` keep the API
# displays.py and displays_plugin.py call. Adjust freely.
# Host servers (Xvfb, weston) are recorded as one file per server: its pid and start time,
# and the pid and start time of the pytest process that owns it.


def _records() -> Path:
    from pytest_fynecheck.plugin import cache_dir  # late: plugin imports the display code

    path = cache_dir() / "processes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_process(pid: int) -> None:
    """Remember a display server this process started, for the next run's reaper."""
    owner = os.getpid()
    data = {
        "pid": pid,
        "start": process_start_time(pid),
        "owner": owner,
        "owner_start": process_start_time(owner),
    }
    (_records() / f"{pid}.json").write_text(json.dumps(data), encoding="utf-8")


def reap_processes() -> list[int]:
    """End recorded servers whose owner is gone; forget records of ended ones."""
    ended: list[int] = []
    for path in sorted(_records().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pid, start = int(data["pid"]), str(data["start"])
            owner, owner_start = int(data["owner"]), str(data["owner_start"])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
            continue
        if owner_alive(owner, owner_start) and owner != os.getpid():
            continue  # a live run's server
        if start and owner_alive(pid, start):
            _end(pid)
            ended.append(pid)
        path.unlink(missing_ok=True)
    return ended


def process_start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _end(pid: int) -> None:
    """SIGTERM its process group (servers run in their own), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        for _ in range(40):
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.05)


def reap_all(cache: Path) -> list[str]:
    """Containers and display servers left by killed runs (ids and pids, for the log)."""
    return [*reap_containers(cache), *map(str, reap_processes())]
