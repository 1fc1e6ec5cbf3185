"""The one way the kit starts and stops a program on this machine.

A child runs in its own process group (a new session), so stopping it reaches whatever
it started: SIGTERM to the group, a bounded wait, then SIGKILL to the group. Every wait
has a timeout.

An interrupted run (`interrupt`, from the SIGINT and SIGTERM handlers) starts no program
(`Interrupted`), every group alive gets SIGTERM at once, and each wait here ends within
INTERRUPT_GRACE of the signal, so the run exits within seconds.

Standard library only, Python >= 3.9: the watcher bridge, which runs with a suite's own
python3 inside containers, is shipped with a copy of this file (watcher/adapters.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Protocol

PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
STDOUT = subprocess.STDOUT
# After SIGKILL to its group a process ends at once; this only bounds a stuck kernel.
KILL_WAIT = 30.0
OUTPUT_WAIT = 5.0  # for the output of a program that exited (its pipe's last bytes)
# From an interrupt to SIGKILL of what is still alive: the run must exit within 5 s.
INTERRUPT_GRACE = 2.0
_SLICE = 0.1  # a wait looks at the interrupt this often


class Interrupted(KeyboardInterrupt):
    """The run was interrupted: no program starts, and `run` ends with this. A
    KeyboardInterrupt: a check's `except Exception` does not turn it into a result, and
    where it reaches pytest (a check's result read in the main thread) the session ends
    as interrupted, not with a failed item."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"interrupted ({reason}): no program starts")
        self.reason = reason


_interrupted = threading.Event()
_reason: list[str] = []  # why, and by when every wait ends (monotonic); set once
_deadline: list[float] = []
# Every started child until `kill` ended its group: what an interrupt must reach.
_live: set[Child] = set()


def interrupt(reason: str) -> None:
    """The run is interrupted (`reason`, e.g. "SIGTERM"). Safe in a signal handler: no
    lock, no thread; signals only. Repeats are harmless."""
    if not _interrupted.is_set():
        _reason.append(reason)
        _deadline.append(time.monotonic() + INTERRUPT_GRACE)
        _interrupted.set()
    for child in list(_live):  # list() of a set is atomic under the GIL
        if child.popen.returncode is None:
            child.signal(signal.SIGTERM)


def interrupted() -> str | None:
    """Why the run was interrupted, or None."""
    return _reason[0] if _interrupted.is_set() else None


def reset_interrupt() -> None:
    """A new run in this process (pytester's inline runs) starts uninterrupted."""
    _interrupted.clear()
    _reason.clear()
    _deadline.clear()


def bounded(seconds: float) -> float:
    """`seconds`, cut to what is left of the interrupt's grace once interrupted."""
    if not _interrupted.is_set():
        return seconds
    return max(0.0, min(seconds, _deadline[0] - time.monotonic()))


def end_all() -> list[int]:
    """SIGKILL to every group whose leader is still unreaped (an interrupted run's last
    step, after its owners' cleanup); returns their pids. A reaped leader's pid may be
    another program's by now: its group is not signalled."""
    ended = []
    for child in list(_live):
        _live.discard(child)
        if child.popen.returncode is None:
            ended.append(child.pid)
            child.kill()
    return ended


class TimedOut(Exception):
    """`run` stopped a program at its deadline; `output` is what it printed until then."""

    def __init__(self, seconds: float, output: bytes) -> None:
        super().__init__(f"did not finish within {seconds:g} s")
        self.seconds = seconds
        self.output = output


class Running(Protocol):
    """What a caller reads and stops of a started program: a Child here, or one attached
    inside a container (containers.execs.Attached)."""

    @property
    def stdout(self) -> IO[bytes] | None: ...
    @property
    def stderr(self) -> IO[bytes] | None: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def stop(self, grace: float, deliver: Callable[[int], None] | None = None) -> int | None: ...


class Child:
    """One started program. `own_group=False` keeps it in the caller's group (the
    bridge's tools: they must die with the bridge, whose group the kit kills)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stdin: int | IO[bytes] | None = DEVNULL,
        stdout: int | IO[bytes] | None = PIPE,
        stderr: int | IO[bytes] | None = PIPE,
        own_group: bool = True,
    ) -> None:
        if _interrupted.is_set():
            raise Interrupted(_reason[0])
        self.popen: subprocess.Popen[bytes] = subprocess.Popen(
            list(argv),
            env=None if env is None else dict(env),
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=own_group,
        )
        self.pid = self.popen.pid
        self.own_group = own_group
        self.stdout, self.stderr = self.popen.stdout, self.popen.stderr
        _live.add(self)
        if _interrupted.is_set():  # the signal came while it started
            self.signal(signal.SIGTERM)

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        return self.popen.poll()

    def signal(self, sig: int) -> None:
        """To the whole group (or the program alone when it has none); gone is fine."""
        with contextlib.suppress(ProcessLookupError):
            if self.own_group:
                os.killpg(self.pid, sig)
            else:
                self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if it still runs after `timeout` seconds (or, once
        the run is interrupted, after the interrupt's grace)."""
        end = time.monotonic() + timeout
        while True:
            left = min(end - time.monotonic(), bounded(timeout))
            try:
                return self.popen.wait(max(0.0, min(left, _SLICE)))
            except subprocess.TimeoutExpired:
                if left <= _SLICE:
                    return None

    def kill(self) -> int:
        """SIGKILL to the group, also when the leader already exited (its children
        may still run), and reap the leader."""
        self.signal(signal.SIGKILL)
        _live.discard(self)
        try:
            # Not cut short by an interrupt: after SIGKILL the end is a kernel's moment.
            return self.popen.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"pid {self.pid} did not end within {KILL_WAIT:g} s of SIGKILL"
            ) from None

    def stop(self, grace: float, deliver: Callable[[int], None] | None = None) -> int:
        """SIGTERM, up to `grace` seconds to exit, then SIGKILL; nothing outlives this.
        `deliver` sends the signals where the program really runs (e.g. inside a
        container, when this child is only `docker exec`); the group here is killed too."""
        send = deliver or self.signal
        try:
            if self.poll() is None:
                send(signal.SIGTERM)
                self.wait(grace)
        finally:
            try:
                if deliver is not None:
                    deliver(signal.SIGKILL)
            finally:
                code = self.kill()
        return code


def drain(
    stream: IO[bytes], into: list[bytes], on_line: Callable[[str], None] | None = None
) -> threading.Thread:
    """A thread that reads `stream` line by line into `into` (a pipe never fills up)."""

    def read() -> None:
        for line in iter(stream.readline, b""):
            into.append(line)
            if on_line is not None:
                on_line(line.decode(errors="replace").rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Finished:
    """Run to completion; stderr lines go to `on_line` as they come (for progress).
    At the deadline the whole group is killed and TimedOut raised; when the run is
    interrupted, at once, and Interrupted raised (what it printed is no result)."""
    child = Child(argv, env=env, cwd=cwd)
    out: list[bytes] = []
    err: list[bytes] = []
    assert child.popen.stdout is not None and child.popen.stderr is not None
    readers = [drain(child.popen.stdout, out), drain(child.popen.stderr, err, on_line)]
    try:
        code = child.wait(timeout)
    finally:
        # Nothing it started outlives the call (also when the wait was interrupted).
        child.kill()
    if _interrupted.is_set():
        raise Interrupted(_reason[0])
    if code is None:
        for r in readers:
            r.join(1)
        raise TimedOut(timeout, b"".join(out + err))
    for r in readers:
        r.join(5)
    return Finished(code, b"".join(out), b"".join(err))


class HostProcess(Child):
    """A long-running program (e.g. the app under test) whose stdout and stderr are kept,
    in order, for messages."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(argv, env=env, cwd=cwd, stderr=STDOUT)
        self.chunks: list[bytes] = []
        assert self.popen.stdout is not None
        self.reader = drain(self.popen.stdout, self.chunks)

    def output(self) -> str:
        if self.popen.poll() is not None:
            # Exited: the rest of what it printed is in the pipe; under load the reader
            # lags, and a crash's message would be missing (a grandchild holding the pipe
            # open costs this wait at most).
            self.reader.join(OUTPUT_WAIT)
        return b"".join(self.chunks).decode(errors="replace")

    def stop(self, grace: float = 5.0, deliver: Callable[[int], None] | None = None) -> int:
        try:
            return super().stop(grace, deliver)
        finally:
            self.reader.join(bounded(grace))
