"""A real `pytest --fynecheck` on a copy of fixtures/hello, stopped by a signal, and what it
left: for tests/test_interrupt.py and bench/interrupt.py (which imports it as a script's
neighbour, so only the standard library).

Every process of the run carries a marker in its environment (the kit passes its own
environment on to go, the compilers, Xvfb and the app), so what the run started is found
in /proc even after its parent is gone, and nothing of another run is counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from support.sample import HELLO, ROOT

MARK = "FYNECHECK_INTERRUPT_RUN"
# Go's own tools, run only by `go build` (the kit's C probes run cc, so cc is no sign).
COMPILERS = frozenset({"compile", "cgo", "asm", "link"})
APP = "app"  # app.build's binary name: the app under test


def marked(token: str) -> dict[int, str]:
    """pid -> command name of each live, non-zombie process carrying `token`."""
    want = f"{MARK}={token}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if want not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile, or another user's
        if stat[stat.rindex(")") + 2] in "ZX":
            continue
        found[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
    return found


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class InterruptedRun:
    """`pytest --fynecheck` on a copy of hello under `work`. `cold`: empty GOCACHE and kit
    cache, so `go build` compiles Fyne for minutes. No DISPLAY: the kit starts its own Xvfb."""

    def __init__(self, work: Path, *, cold: bool, args: Sequence[str] = ()) -> None:
        self.work = work
        self.project = work / "hello"
        shutil.copytree(HELLO, self.project, ignore=shutil.ignore_patterns(".pytest_cache"))
        self.tmp = work / "tmp"  # the run's TMPDIR: scratch left here is found
        self.tmp.mkdir()
        self.json = work / "out.json"
        self.token = uuid.uuid4().hex
        env = {**os.environ, MARK: self.token, "TMPDIR": str(self.tmp)}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        if cold:
            env["GOCACHE"] = str(work / "gocache")
            env["XDG_CACHE_HOME"] = str(work / "xdg-cache")
        self.kit_cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        self.kit_cache = self.kit_cache / "pytest-fynecheck"
        self.seen: dict[int, str] = {}  # every marked process seen while it ran
        self.out: list[bytes] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-json={self.json}",
             "-p", "no:xdist", *args],
            cwd=self.project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.signalled = 0.0
        self.ended = 0.0
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self._reader = threading.Thread(target=lambda: self.out.extend(stdout), daemon=True)
        self._reader.start()
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while self._sampling:
            self.seen.update(marked(self.token))
            time.sleep(0.1)

    @property
    def output(self) -> str:
        return b"".join(self.out).decode(errors="replace")

    def running(self, names: frozenset[str] | str) -> bool:
        wanted = {names} if isinstance(names, str) else names
        if self.proc.poll() is not None:
            raise AssertionError(f"the run ended before {sorted(wanted)} ran:\n{self.output}")
        return any(name in wanted for name in marked(self.token).values())

    def containers(self) -> list[str]:
        """Ids of the containers this run made (labelled with its pid)."""
        try:
            return subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=io.fynecheck.pid={self.proc.pid}"],
                capture_output=True, text=True, timeout=30,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return []

    def in_container(self, names: frozenset[str]) -> bool:
        """One of `names` runs in a container of this run."""
        for box in self.containers():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                top = subprocess.run(["docker", "top", box, "-o", "pid,comm"],
                                     capture_output=True, text=True, timeout=30).stdout
                if names & {line.split()[-1] for line in top.splitlines()[1:] if line.split()}:
                    return True
        return False

    def building(self) -> bool:
        """app.build's cold `go build` compiles: its progress line, and a Go compiler runs
        (the checks before it run Go's tools too, briefly)."""
        return "app.build: compiling" in self.output and self.running(COMPILERS)

    def interrupt(self, sig: signal.Signals) -> None:
        """SIGINT as a terminal's Ctrl-C sends it (to pytest's process group); SIGTERM
        as CI's cancel or `timeout` does (to pytest)."""
        self.seen.update(marked(self.token))
        self.signalled = time.monotonic()
        if sig == signal.SIGINT:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def finish(self, timeout: float) -> int | None:
        """pytest's exit status, or None if it still ran `timeout` s after the signal
        (then it and all it started are killed)."""
        try:
            self.proc.wait(timeout)
            self.ended = time.monotonic()
        except subprocess.TimeoutExpired:
            self.kill()
        self._sampling = False
        self._sampler.join(5)
        self._reader.join(5)
        return None if self.ended == 0.0 else self.proc.returncode

    @property
    def seconds(self) -> float:
        """From the signal to pytest's exit."""
        return self.ended - self.signalled

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.json.read_text()) if self.json.is_file() else {}
        return data

    def leftovers(self) -> list[str]:
        """What the run left: processes, displays, scratch, half-made builds. SIGKILL
        takes a kernel's moment: a process still marked is given a second."""
        wait_for(lambda: not marked(self.token), 2)
        left = [f"process {pid} ({name})" for pid, name in marked(self.token).items()]
        for lock in Path("/tmp").glob(".X*-lock"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(lock.read_text().strip())
                if pid in self.seen:
                    left.append(f"display lock {lock} of the run's {self.seen[pid]} {pid}")
        # The reaper's per-user records of display servers stay by design (reaper.py).
        records = f"pytest-fynecheck-{os.getuid()}"
        left += [f"scratch {p}" for p in sorted(self.tmp.iterdir()) if p.name != records]
        if self.kit_cache.is_dir():  # maybe shared: only names with this run's pid
            mine = f".{self.proc.pid}."
            left += [f"half-made build {p}" for p in sorted(self.kit_cache.rglob(".*.tmp"))
                     if mine in p.name]
            left += [f"go work dir {p}" for p in sorted(self.kit_cache.rglob(".*.work"))
                     if mine in p.name]
        left += [f"container {i}" for i in self.containers()]
        return left

    def kill(self) -> None:
        """End the run and whatever it started (an old kit that did not)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        for pid in marked(self.token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
