"""Where checks run: the host, or (see containers) a container.

Every external command the kit runs goes through `Context.run` or `Context.spawn`,
so each has a timeout, a clear error when the tool is missing, and no leftovers.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pytest_fynecheck.core import process
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.process import HostProcess as HostProcess  # callers import it from here

# The check whose run function is running in this thread, set by the runner: a context
# that records its commands (containers, for reproducers) tags each with it.
CURRENT_CHECK: contextvars.ContextVar[str] = contextvars.ContextVar("fynecheck_check", default="")


@contextlib.contextmanager
def running_check(check_id: str) -> Iterator[None]:
    token = CURRENT_CHECK.set(check_id)
    try:
        yield
    finally:
        CURRENT_CHECK.reset(token)


class ToolMissing(CheckFailed):
    """A command the kit needs is not on PATH in the context."""

    def __init__(self, tool: str, context: str, path: str) -> None:
        if "/" in tool:
            # A path is run as given, never looked up on PATH: "install it" would be false
            # advice for a file the kit built (a cached app) or the user named.
            super().__init__(
                f"`{tool}` not found in {context}: no executable file at that path",
                "check that the file exists there and is executable; a build of the kit's "
                "cache that is gone is built again by the next run",
            )
        else:
            hint = TOOL_HINTS.get(tool, f"install {tool} and put it on PATH")
            super().__init__(f"`{tool}` not found on PATH in {context} (PATH={path})", hint)
        self.tool = tool


# Why each tool is needed, and the true way to get it on Debian.
TOOL_HINTS = {
    "go": "install Go >= 1.19 (https://go.dev/dl/) and add its bin directory to PATH",
    "pkg-config": "install pkg-config (Debian: apt-get install pkg-config)",
    "xdpyinfo": "install x11-utils (Debian: apt-get install x11-utils); the kit uses it to probe X",
    "xwininfo": "install x11-utils (Debian: apt-get install x11-utils)",
    "xwd": "install x11-apps (Debian: apt-get install x11-apps); the kit takes screenshots with it",
    "Xvfb": "install xvfb (Debian: apt-get install xvfb)",
    "weston": "install weston (Debian: apt-get install weston)",
    "dpkg-query": "dpkg-query exists only on Debian-based systems",
}


class ToolTimeout(CheckFailed):
    def __init__(self, argv: Sequence[str], seconds: float, output: str) -> None:
        tail = output.strip()[-2000:]
        super().__init__(
            f"`{' '.join(argv)}` did not finish within {seconds:g} s"
            + (f"; it printed:\n{tail}" if tail else ""),
            "raise fynecheck_timeout in your ini file if this machine is slow",
        )


@dataclasses.dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    # stdout as bytes, for binary output such as screenshots.
    raw: bytes = b""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


@dataclasses.dataclass(frozen=True)
class ContextSettings:
    """The user's settings as checks in a context read them: one frozen value, and these
    defaults the only ones (a Context made outside a run, by a bench or a test, has them).
    A run's come from the plan (plan/settings.py), checked once."""

    window_title: str = ""  # ini fynecheck_window_title; "": the app's first window
    package: str = ""  # ini fynecheck_package; "": the project directory (or its one main)
    app_args: tuple[str, ...] = ()  # ini fynecheck_app_args
    window_timeout: float = 60.0  # ini fynecheck_window_timeout, seconds
    # Screenshots and logs the user reads after the run; None: the context's scratch.
    artifacts: Path | None = None
    # Debian suites a Linux build must start on (glibc.portability), each checked, and
    # whether the user named them (ini fynecheck_glibc_suites: a failure) or they came
    # from --fynecheck-os (a warning).
    glibc_suites: tuple[str, ...] = ()
    glibc_named: bool = False
    # Debian suites package.install installs the tarball in (each its runtime-only image):
    # ini fynecheck_package_suites, else --fynecheck-os's Linux suites; (): the host's own.
    package_suites: tuple[str, ...] = ()
    package_suites_from: str = ""  # which of the two named them, for the detail
    go_toolchain: str = ""  # a matrix cell's pinned --fynecheck-go toolchain; "": none


class Process(Protocol):
    """A long-running program the kit started, e.g. the app under test."""

    pid: int

    def poll(self) -> int | None: ...

    def stop(self, grace: float = 5.0) -> int | None: ...

    def output(self) -> str: ...


class Context:
    """The host. Subclasses run the same commands elsewhere."""

    name = "host"

    def __init__(
        self,
        project: Path,
        scratch: Path,
        cache: Path,
        environ: Mapping[str, str] | None = None,
        timeout: float = 600.0,
        progress: Callable[[str], None] | None = None,
        display_mode: str = "auto",
        tags: Sequence[str] = (),
    ) -> None:
        self.project = project
        self.scratch = scratch
        self.cache = cache
        self.environ = dict(os.environ if environ is None else environ)
        self.timeout = timeout
        self.progress = progress or (lambda _line: None)
        self.display_mode = display_mode
        self.tags = tuple(tags)
        self._closers: list[Callable[[], None]] = []
        # The user's settings checks read (window title, package to build, artifact dir).
        self.settings = ContextSettings()
        # Values shared between checks (e.g. `go env`), computed once.
        self.memo: dict[str, Any] = {}
        self.memo_lock = threading.Lock()

    def artifacts(self) -> Path:
        """Where files the user reads after the run go (settings.artifacts, else scratch)."""
        return self.settings.artifacts or self.scratch

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**self.environ, **(extra or {})}

    def which(self, tool: str, extra_env: Mapping[str, str] | None = None) -> str | None:
        return shutil.which(tool, path=self.env(extra_env).get("PATH", ""))

    def require(self, tool: str, extra_env: Mapping[str, str] | None = None) -> str:
        found = self.which(tool, extra_env)
        if found is None:
            raise ToolMissing(tool, self.name, self.env(extra_env).get("PATH", ""))
        return found

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        """Run to completion; stderr lines go to `on_line` as they come (for progress)."""
        exe = self.require(argv[0], env)
        limit = self.timeout if timeout is None else timeout
        try:
            done = process.run([exe, *argv[1:]], timeout=limit, env=self.env(env),
                               cwd=cwd or self.project, on_line=on_line)
        except process.TimedOut as exc:
            raise ToolTimeout(argv, limit, exc.output.decode(errors="replace")) from None
        return Completed(
            tuple(argv),
            done.returncode,
            done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
            done.stdout,
        )

    def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Process:
        exe = self.require(argv[0], env)
        return HostProcess([exe, *argv[1:]], env=self.env(env), cwd=cwd or self.project)

    def on_close(self, fn: Callable[[], None]) -> None:
        self._closers.append(fn)

    def close(self) -> None:
        """Stop whatever the checks started here, newest first."""
        while self._closers:
            self._closers.pop()()

    def memoize(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a shared value once per context; failures are remembered too."""
        with self.memo_lock:
            lock = self.memo.setdefault("lock:" + key, threading.Lock())
        with lock:
            if key not in self.memo:
                try:
                    self.memo[key] = (True, compute())
                except CheckFailed as exc:
                    self.memo[key] = (False, exc)
            ok, value = self.memo[key]
        if not ok:
            raise value
        return value


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll until `predicate` returns a truthy value; return it, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
