"""Progress lines for long steps (cold builds, image builds), where the user sees them.

pytest captures fd 1 and 2 while a test runs, and checks run in a thread pool: a line
written from there lands in the captured output, shown only when the test fails. So
lines are queued, and the main thread writes them with capture suspended, whenever it
emits one itself or waits for a check (`flush`). Only the main thread touches pytest's
capture: it is the thread that suspends and resumes it around each test.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pytest_fynecheck.workers import worker_id

# A long step says what it is doing at least this often (a CI log shows it is alive).
HEARTBEAT_SECONDS = 5.0


class Progress:
    """Callable like `Context.progress`: safe from any thread; written by the main one."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._pending: queue.SimpleQueue[str] = queue.SimpleQueue()

    def __call__(self, line: str) -> None:
        self._pending.put(line)
        self.flush()

    def flush(self) -> None:
        """Write what is queued; a no-op outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return
        while True:
            try:
                line = self._pending.get_nowait()
            except queue.Empty:
                return
            self._write(line)


def count(n: int, noun: str) -> str:
    """'1 package', '2 packages': a count that reads right."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def line_writer(config: Any) -> Callable[[str], None]:
    """Plain lines past capture: the terminal reporter, or stderr on an xdist worker.

    A worker has no terminal and its stdout is xdist's channel, but execnet hands the
    worker the controller's stderr: its lines reach the same terminal or CI log."""
    worker = worker_id(config)

    def write(line: str) -> None:
        # Looked up when used: the terminal reporter registers after this plugin configures.
        capman = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        suspended = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
        with suspended:
            if worker is None and reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(f"  fynecheck: {line}")
                reporter.flush()
            elif worker is not None:
                # The controller's line of dots is usually open: start a line of our own.
                sys.stderr.write(f"\n  fynecheck [{worker}]: {line}\n")
                sys.stderr.flush()
            else:  # -p no:terminal
                sys.stderr.write(f"  fynecheck: {line}\n")
                sys.stderr.flush()

    return write


@contextlib.contextmanager
def heartbeat(
    progress: Callable[[str], None],
    status: Callable[[], str],
    every: float = HEARTBEAT_SECONDS,
) -> Iterator[None]:
    """While the block runs, say `status()` every `every` seconds, even when the step
    itself prints nothing (one cgo package of Fyne compiles for minutes)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            progress(status())

    thread = threading.Thread(target=beat, name="fynecheck-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(every)


class GoBuildProgress:
    """What a `go build -v` (or `go list`) is doing. Go prints `go: downloading MOD VER`
    per module it fetches, and with -v each package's import path as it starts compiling
    it; nothing while one package (or the link) takes long: the heartbeat repeats the
    latest."""

    def __init__(self, progress: Callable[[str], None], step: str) -> None:
        self.compiled: list[str] = []
        self.downloaded: list[str] = []
        self._latest = ""
        self._progress = progress
        self._step = step
        self._start = time.monotonic()

    def on_line(self, line: str) -> None:
        text = line.strip()
        if text.startswith("go: downloading "):
            self.downloaded.append(text.removeprefix("go: downloading "))
            self._latest = "download"
            if len(self.downloaded) == 1:
                self._progress(self.status())
            return
        if not text or " " in text:  # errors and notes; -v's lines are bare import paths
            return
        self.compiled.append(text)
        self._latest = "compile"
        if len(self.compiled) == 1:
            self._progress(self.status() + "; a cold cgo build of Fyne takes minutes")

    def status(self) -> str:
        took = time.monotonic() - self._start
        if self._latest == "download":
            return (
                f"{self._step}: downloading {self.downloaded[-1]} "
                f"({count(len(self.downloaded), 'module')} so far, {took:.0f} s)"
            )
        if self._latest == "compile":
            return (
                f"{self._step}: compiling {self.compiled[-1]} "
                f"({count(len(self.compiled), 'package')} so far, {took:.0f} s)"
            )
        return f"{self._step}: go is loading packages ({took:.0f} s)"

    def running(self, every: float = HEARTBEAT_SECONDS) -> contextlib.AbstractContextManager[None]:
        return heartbeat(self._progress, self.status, every)
