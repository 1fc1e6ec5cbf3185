"""Leftovers of killed runs: host display servers, removed by recorded pid, never by name.

A run that is SIGKILLed cannot clean up. What it started carries its pid (and that pid's
start time, so a recycled pid is not mistaken for it); the next run removes whatever
belongs to a process that no longer exists. Containers are reaped the same way, by their
labels (`containers.reap`); this module is the shared process-identity half.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path


def owner_alive(pid: int, start_time: str) -> bool:
    """True when `pid` still names the process that started the thing (same start time)."""
    now = process_start_time(pid)
    return bool(now) and (not start_time or now == start_time)


# -- display-server processes --------------------------------------------------------------
# Each process that starts host display servers appends "pid start-time" lines to its own
# file, <records>/<owner pid>-<owner start time>.pids (O_APPEND: threads never interleave).
# Servers run in their own process group (Context.spawn), so ending the group also ends
# weston's Xwayland and helpers. Servers inside containers go with their container.

RECORDS_ENV = "FYNECHECK_RECORDS_DIR"  # tests point this at a private directory


def records_dir() -> Path:
    """Per user and machine, not per HOME: display servers are a machine-wide resource."""
    override = os.environ.get(RECORDS_ENV)
    path = (
        Path(override)
        if override
        else Path(tempfile.gettempdir()) / f"pytest-fynecheck-{os.getuid()}" / "servers"
    )
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # /tmp is shared: refuse a directory someone else made for us to write pids into.
    if path.is_symlink() or path.lstat().st_uid != os.getuid():
        raise RuntimeError(f"{path} is not a directory owned by uid {os.getuid()}; remove it")
    return path


def record_process(pid: int) -> None:
    """Remember a display server this process started, for the next run's reaper."""
    started = process_start_time(pid)
    if started:  # else already gone
        _append(f"{pid} {started}")


# Only directories we make are ever removed (displays.start_weston's runtime dirs).
OWN_DIR_PREFIX = "fynecheck-weston."


def record_dir(path: str) -> None:
    """Remember a private directory a server uses, removed once its servers are ended."""
    _append(f"dir {path}")


def _append(line: str) -> None:
    me = os.getpid()
    own = records_dir() / f"{me}-{process_start_time(me)}.pids"
    # O_APPEND: lines written by several threads never interleave.
    fd = os.open(own, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def _read_records(
    path: Path,
) -> tuple[tuple[int, str] | None, list[tuple[int, str]], list[Path]]:
    owner: tuple[int, str] | None = None
    parts = path.stem.split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        owner = (int(parts[0]), parts[1])
    entries: list[tuple[int, str]] = []
    dirs: list[Path] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return owner, entries, dirs  # a parallel run reaped it meanwhile
    for line in lines:
        fields = line.split(maxsplit=1)
        if len(fields) == 2 and all(f.isdigit() for f in fields):
            entries.append((int(fields[0]), fields[1]))
        elif len(fields) == 2 and fields[0] == "dir":
            dirs.append(Path(fields[1]))
    return owner, entries, dirs


def _remove_own_dir(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if path.name.startswith(OWN_DIR_PREFIX) and info.st_uid == os.getuid() and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def reap_processes(grace: float = 3.0) -> list[int]:
    """End the recorded servers of every run whose pytest process is gone; return their pids.

    Servers recorded by a live process (this one included, e.g. an outer pytest around a
    pytester run, or a parallel run) are left alone.
    """
    ended: list[int] = []
    for path in sorted(records_dir().glob("*.pids")):
        owner, entries, dirs = _read_records(path)
        if owner is not None and owner_alive(*owner):
            continue
        for pid, started in entries:
            if _end_server(pid, started, grace):
                ended.append(pid)
        for made in dirs:
            _remove_own_dir(made)
        path.unlink(missing_ok=True)
    return ended


def recorded_alive() -> list[int]:
    """Recorded servers that still run, whoever owns them."""
    alive: list[int] = []
    for path in records_dir().glob("*.pids"):
        alive += [pid for pid, started in _read_records(path)[1] if owner_alive(pid, started)]
    return alive


def _end_server(pid: int, started: str, grace: float) -> bool:
    """TERM first, so servers remove their X lock files and sockets; then KILL."""
    if not owner_alive(pid, started):
        return False
    leads_group = _pgid(pid) == pid

    def send(sig: int) -> None:
        try:
            if leads_group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while owner_alive(pid, started) and time.monotonic() < deadline:
        time.sleep(0.02)
    # KILL the group even when the leader went: Xwayland may outlive weston by a moment.
    if leads_group or owner_alive(pid, started):
        send(signal.SIGKILL)
    return True


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces); [0] is the state."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _pgid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if len(fields) > 2 else None


def process_start_time(pid: int) -> str:
    """When a live process started (clock ticks after boot); "" if none or a zombie."""
    fields = _stat_fields(pid)
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return ""  # a zombie has finished; only its parent's wait() is missing
    return fields[19]
