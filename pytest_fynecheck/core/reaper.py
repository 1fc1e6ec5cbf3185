"""Leftovers of killed runs: host display servers and scratch directories, removed by
recorded owner, never by name.

A run that is SIGKILLed cannot clean up. What it started carries its owner's identity:
boot id, pid namespace, pid and that pid's start time (field 22 of /proc/PID/stat, so a
recycled pid is not mistaken for it). The next run removes whatever belongs to an owner
that provably no longer exists: of this boot and pid namespace with no process of that
pid and start time, or of an earlier boot of this machine. An owner in another pid
namespace is never judged: its pids mean nothing here. Containers are reaped the same
way, by their labels (`containers.reap`); this module is the shared identity half.
"""

from __future__ import annotations

import contextlib
import dataclasses
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


def boot_id() -> str:
    """This machine boot's id: pids of another boot (or machine) mean nothing here."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """The inode of this process's pid namespace, "" when /proc is not of that namespace
    (a pid namespace without its own /proc: our pids cannot be looked up there, so nothing
    we record may be judged, and we judge nothing)."""
    try:
        if int(os.readlink("/proc/self")) != os.getpid():
            return ""
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except (OSError, ValueError):
        return ""


@dataclasses.dataclass(frozen=True)
class Owner:
    """Who made a thing: a process, named so that no other process can pass for it."""

    boot: str
    pidns: str
    pid: int
    start: str

    def gone(self) -> bool:
        """True only when provably gone: an earlier boot of this machine, or this pid
        namespace with no process of that pid and start time. Unknown is never gone."""
        here = boot_id()
        if not here or not self.boot:
            return False
        if self.boot != here:
            return True  # records on this machine's disk from before a reboot
        if not self.pidns or self.pidns != pid_namespace() or not self.start:
            return False  # another pid namespace: its pids cannot be looked up from here
        return not owner_alive(self.pid, self.start)


def me() -> Owner:
    pid = os.getpid()
    return Owner(boot_id(), pid_namespace(), pid, process_start_time(pid))


# -- display-server processes --------------------------------------------------------------
# Each process that starts host display servers (or makes scratch directories) appends
# "pid start-time" (or "dir PATH") lines to its own file,
# <records>/<boot id>.<pid namespace>/<owner pid>-<owner start time>.pids.
# Servers run in their own process group (Context.spawn), so ending the group also ends
# weston's Xwayland and helpers. Servers inside containers go with their container.

RECORDS_ENV = "FYNECHECK_RECORDS_DIR"  # tests point this at a private directory


def records_dir() -> Path:
    """Per user and machine, not per HOME: display servers are a machine-wide resource.
    (The records themselves are in a subdirectory per boot and pid namespace: `_own`.)"""
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


# Only directories we make are ever removed: displays.start_weston's runtime dirs
# (fynecheck-weston.*) and the runs' scratch (`paths.scratch_dir`).
OWN_DIR_PREFIX = "fynecheck-weston."
SCRATCH_PREFIX = "fynecheck-"


def record_dir(path: str | Path) -> None:
    """Remember a private directory a server uses, removed once its servers are ended."""
    _append(f"dir {path}")


def _group(owner: Owner) -> str:
    return f"{owner.boot}.{owner.pidns}"


def _own() -> Path:
    """This boot's and pid namespace's records: only these name pids we can look up."""
    path = records_dir() / _group(me())
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _append(line: str) -> None:
    owner = me()
    own = _own() / f"{owner.pid}-{owner.start}.pids"
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


def _remove_own_dir(path: Path) -> bool:
    """Remove a recorded scratch directory of ours; False while it is still there (a
    killed run's orphan may write into it meanwhile: the next run tries again)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return True
    if not (path.name.startswith(SCRATCH_PREFIX) and info.st_uid == os.getuid()
            and path.is_dir()):
        return True  # not ours to remove: forget it
    for _ in range(3):  # a writer that was ending may have added an entry meanwhile
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return True
        time.sleep(0.1)
    return False


def reap_processes(grace: float = 3.0) -> list[int]:
    """End the recorded servers, and remove the scratch, of every run whose owner is
    provably gone (`Owner.gone`); return the servers' pids.

    Records of a live process (this one included, e.g. an outer pytest around a pytester
    run, or a parallel run) and of another pid namespace of this boot are left alone.
    Records of an earlier boot lose their directories; their pids are not signalled (a
    pid of another boot names someone else's process now).
    """
    ended: list[int] = []
    here = me()
    if not here.boot or not here.pidns:
        return ended  # we cannot look pids up: judge nothing
    for group in sorted(records_dir().iterdir()):
        boot, _, pidns = group.name.partition(".")
        if not group.is_dir() or not pidns:
            continue  # not a records group (or an old flat record: its namespace is unknown)
        for path in sorted(group.glob("*.pids")):
            recorded, entries, dirs = _read_records(path)
            if recorded is None or not Owner(boot, pidns, *recorded).gone():
                continue
            if boot == here.boot:  # (then also this pid namespace: gone() said so)
                ended += [pid for pid, started in entries if _end_server(pid, started, grace)]
            if all([_remove_own_dir(made) for made in dirs]):
                path.unlink(missing_ok=True)
        if boot != here.boot:
            with contextlib.suppress(OSError):
                group.rmdir()  # an earlier boot's group, now empty
    return ended


def recorded_alive() -> list[int]:
    """Recorded servers (of this boot and pid namespace) that still run, whoever owns them."""
    alive: list[int] = []
    for path in _own().glob("*.pids"):
        alive += [pid for pid, started in _read_records(path)[1] if owner_alive(pid, started)]
    return alive


def end_process(pid: int, started: str, grace: float = 3.0) -> bool:
    """End a process (its group, when it leads one) if `pid` still names the one that
    started at `started`; False if it had gone."""
    return _end_server(pid, started, grace)


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
