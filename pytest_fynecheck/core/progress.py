"""Progress lines for long steps (cold builds, image builds), where the user sees them.

pytest captures fd 1 and 2 while a test runs, and checks run in a thread pool: a line
written from there lands in the captured output, shown only when the test fails. So
lines are queued, and the main thread writes them with capture suspended, whenever it
emits one itself or waits for a check (`flush`). Only the main thread touches pytest's
capture: it is the thread that suspends and resumes it around each test.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pytest_fynecheck.core.workers import worker_id

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


# Tools whose command lines -x prints; a line naming one is Go's, not a message.
_TOOLS = frozenset({
    "compile", "asm", "cgo", "link", "pack", "buildid", "vet", "cover", "go", "mkdir", "cd",
    "cat", "cp", "mv", "rm", "echo", "touch", "ln", "chmod", "pkg-config", "ar",
    "gcc", "g++", "cc", "c++", "clang", "clang++",
})
_ENV_PREFIX = re.compile(r"^(?:\w+=(?:'[^']*'|\S*) )*")
_ACTION = re.compile(r"\$WORK/(b\d+)/")
_PACKAGE_FLAG = re.compile(r" -(?:p|importpath) (\S+)")
_HEREDOC = re.compile(r"<< ?'?EOF'?(?: # internal)?$")
_X_COMMENTS = ("# import config", "# get ")
# A build still compiling after this long is a cold one; a rebuild never says so.
COLD_NOTE_SECONDS = 20.0


class GoBuildProgress:
    """What a `go build -x` (or `go list`) is doing now. -x prints each command as it
    starts: compile's `-p IMPORTPATH`, cgo's `-importpath`, and every command of a package
    (gcc for its C files too) names the package's action directory $WORK/bNNN, so the
    package being compiled is known while it compiles, not after (as with -v). A package
    counts as built once `buildid -w $WORK/bNNN/_pkg_.a` ends its compile. Go prints
    `go: downloading MOD VER` per module it fetches. Lines that are not -x commands are
    Go's messages (errors), kept in `messages`."""

    def __init__(self, progress: Callable[[str], None], step: str, main: str = "") -> None:
        self.compiled: list[str] = []
        self.downloaded: list[str] = []
        self._main = main  # what to call the package compile knows as `-p main`
        self._messages: list[str] = []
        self._package: dict[str, str] = {}  # action (bNNN) -> import path
        self._running: dict[str, str] = {}  # action -> tool, the latest started last
        self._heredoc = False
        self._latest = ""
        self._cold_said = False
        self._lock = threading.Lock()
        self._progress = progress
        self._step = step
        self._start = time.monotonic()

    def on_line(self, line: str) -> None:
        text = line.rstrip("\n")
        with self._lock:
            first = self._take(text)
        if first:
            self._progress(self.status())

    def _take(self, text: str) -> bool:
        """Read one line; True when it is the first sign of its kind (say it at once)."""
        if self._heredoc:
            # A file with no final newline (embedcfg's JSON) ends as `}EOF`.
            self._heredoc = not text.endswith("EOF")
            return False
        if text.startswith("go: downloading "):
            self.downloaded.append(text.removeprefix("go: downloading "))
            self._latest = "download"
            return len(self.downloaded) == 1
        if not self._is_command(text):
            self._messages.append(text)
            return False
        self._heredoc = bool(_HEREDOC.search(text))
        action = _ACTION.search(text)
        if action is None or self._heredoc:
            return False
        act = action[1]
        words = _ENV_PREFIX.sub("", text).split()
        tool = os.path.basename(words[0]) if words else ""
        if tool == "go" and words[1:2] == ["tool"] and len(words) > 2:
            tool = words[2]  # `go tool buildid`, `go tool pack`
        named = _PACKAGE_FLAG.search(text)
        if named and tool in ("compile", "asm", "cgo"):
            self._package[act] = self._main if named[1] == "main" and self._main else named[1]
        if tool == "buildid":
            if text.split("$WORK/")[1].startswith(f"{act}/_pkg_.a"):
                done = self._package.get(act)
                self._running.pop(act, None)
                if done and done not in self.compiled:
                    self.compiled.append(done)
            return False
        if tool in ("mkdir", "cat", "cp", "mv", "rm", "echo", "touch", "ln", "chmod", "cd"):
            return False
        if act not in self._package and tool != "link":
            return False
        self._running.pop(act, None)
        self._running[act] = tool
        first = self._latest not in ("compile", "link")
        self._latest = "link" if tool == "link" else "compile"
        return first

    @staticmethod
    def _is_command(text: str) -> bool:
        if not text.strip() or text.startswith(("WORK=", *_X_COMMENTS)) or "$WORK/" in text:
            return True
        words = _ENV_PREFIX.sub("", text).split()
        tool = os.path.basename(words[0]) if words else ""
        return tool in _TOOLS or tool.endswith(("-gcc", "-g++", "-clang"))

    def messages(self) -> str:
        """What Go printed besides its -x commands: its errors and notes."""
        with self._lock:
            return "\n".join(self._messages)

    def status(self) -> str:
        took = time.monotonic() - self._start
        with self._lock:
            line = self._status(took)
            if took >= COLD_NOTE_SECONDS and self._latest == "compile" and not self._cold_said:
                self._cold_said = True
                line += (f"; still compiling after {COLD_NOTE_SECONDS:.0f} s: a cold cgo "
                         "build of Fyne takes minutes")
        return line

    def _status(self, took: float) -> str:
        built = f"{count(len(self.compiled), 'package')} built so far, {took:.0f} s"
        if self._latest == "download":
            return (
                f"{self._step}: downloading {self.downloaded[-1]} "
                f"({count(len(self.downloaded), 'module')} so far, {took:.0f} s)"
            )
        if self._latest == "link":
            return f"{self._step}: linking the program ({built})"
        if self._latest == "compile" and self._running:
            act, tool = next(reversed(self._running.items()))
            how = "" if tool == "compile" else f" with {tool}"
            also = len(self._running) - 1
            others = f"{also} more running; " if also else ""
            return f"{self._step}: compiling {self._package[act]}{how} ({others}{built})"
        if self._latest == "compile":
            return f"{self._step}: compiling ({built})"
        return f"{self._step}: go is loading packages ({took:.0f} s)"

    def running(self, every: float | None = None) -> contextlib.AbstractContextManager[None]:
        return heartbeat(self._progress, self.status, every or HEARTBEAT_SECONDS)


def step_name(step: str, context: str) -> str:
    """A progress step, labelled with its context unless it runs on the host
    (`[bookworm] app.build`, as image builds say `[bookworm] ...`)."""
    return step if context == "host" else f"[{context}] {step}"
