"""Watcher protocol v1: start the user's command, read its JSON lines, stop it.

The watcher prints `{"ready": true}` once, then `{"op": ..., "path": ...}` per event and
`{"error": ...}` when it knows it lost events. Everything else on stdout is a protocol
error; stderr is free for the watcher's own logging and is only shown in messages.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO

from pytest_fynecheck.churn.prims import PLACEHOLDER
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.core.process import Child, Running

OPS = frozenset({"create", "write", "remove", "rename", "chmod"})


@dataclasses.dataclass(frozen=True)
class Event:
    op: str
    # Relative to the root, '/'-separated; "" is the root itself. Paths outside the
    # root keep their absolute form.
    path: str
    at: float


class WatcherFailed(AssertionError):
    """The watcher under test broke the protocol (a failure of the watcher, not of the kit)."""


def command_argv(cmd: str | Sequence[str], root: str) -> list[str]:
    """Substitute `{root}`, or append the root when the command has no placeholder."""
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    if not argv:
        raise InputError("the watcher command is empty; give e.g. --fynecheck-watcher 'CMD {root}'")
    if any(PLACEHOLDER in a for a in argv):
        return [a.replace(PLACEHOLDER, root) for a in argv]
    return [*argv, root]


def resolve_executable(argv: Sequence[str], env: Mapping[str, str]) -> str:
    exe = shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if exe is None:
        raise InputError(
            f"watcher command not found: {argv[0]!r} (from {shlex.join(argv)!r}); "
            f"give a path or put it on PATH={env.get('PATH', '')}"
        )
    # Absolute: the watcher starts in another directory (README's `./bin/mywatcher`).
    return os.path.abspath(exe)


class WatcherProcess:
    """One running watcher. Events are parsed as they arrive; waits are event-driven."""

    def __init__(
        self,
        argv: Sequence[str],
        root: str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        started: Running | None = None,
        signal_fn: Callable[[int], None] | None = None,
    ) -> None:
        """`started`: `argv` already running elsewhere (attached in a container);
        `signal_fn` then delivers stop()'s signals to the watcher where it runs."""
        self.argv = list(argv)
        self._signal_fn = signal_fn
        self.roots = _root_forms(root)
        self.cond = threading.Condition()
        self.events: list[Event] = []
        self.errors: list[str] = []
        self.garbage: list[str] = []
        self.ready = False
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._proc: Running
        if started is not None:
            self._proc = started
        else:
            environ = dict(os.environ if env is None else env)
            exe = resolve_executable(self.argv, environ)
            try:
                # Own process group: stop() reaches whatever the watcher started.
                self._proc = Child([exe, *self.argv[1:]], env=environ, cwd=cwd)
            except OSError as exc:
                raise InputError(
                    f"cannot start watcher {shlex.join(self.argv)!r}: {exc}"
                ) from exc
        stdout, stderr = self._proc.stdout, self._proc.stderr
        assert stdout is not None and stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(stderr,), daemon=True),
        ]
        for r in self._readers:
            r.start()

    # -- reading ---------------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            now = time.monotonic()
            with self.cond:
                self._stdout.append(text)
                self._take(text, now)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            with self.cond:
                self._stderr.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def _take(self, text: str, now: float) -> None:
        if not text.strip():
            return
        try:
            obj = json.loads(text)
        except ValueError:
            self.garbage.append(text)
            return
        if not isinstance(obj, dict):
            self.garbage.append(text)
            return
        if obj.get("ready") is True:
            self.ready = True
        if "error" in obj:
            self.errors.append(str(obj["error"]))
        if "op" in obj or "path" in obj:
            op, path = obj.get("op"), obj.get("path")
            if not isinstance(op, str) or op.lower() not in OPS or not isinstance(path, str):
                self.garbage.append(text)
                return
            self.events.append(Event(op.lower(), self.relative(path), now))

    def relative(self, path: str) -> str:
        if os.path.isabs(path):
            path = os.path.normpath(path)
            for root in self.roots:
                if path == root:
                    return ""
                if path.startswith(root.rstrip("/") + "/"):
                    return path[len(root.rstrip("/")) + 1 :]
            return path
        rel = os.path.normpath(path)
        return "" if rel == "." else rel

    # -- waiting ---------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> None:
        """Return once `{"ready": true}` came; raise with what the watcher printed if not."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.ready:
                if self.garbage:
                    raise WatcherFailed(self._describe("printed a line that is not protocol JSON"))
                if self._proc.poll() is not None and not self._readers[0].is_alive():
                    raise WatcherFailed(
                        self._describe(
                            f"exited with status {self._proc.returncode} before printing "
                            '{"ready": true}'
                        )
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WatcherFailed(
                        self._describe(f'did not print {{"ready": true}} within {timeout:g} s')
                    )
                self.cond.wait(min(left, 0.1))

    def wait_for(
        self,
        seen: Callable[[list[Event]], bool],
        timeout: float,
        poke: Callable[[], None] | None = None,
        poke_every: float = 0.2,
    ) -> bool:
        """Wait until `seen(self.events)`; call `poke` now and then (a lossy watcher may
        have dropped the event we wait for). False at the deadline or when it exits."""
        deadline = time.monotonic() + timeout
        next_poke = time.monotonic() + poke_every
        with self.cond:
            while not seen(self.events):
                now = time.monotonic()
                if now >= deadline or not self.alive():
                    return seen(self.events)
                if poke is not None and now >= next_poke:
                    self.cond.release()
                    try:
                        poke()
                    finally:
                        self.cond.acquire()
                    next_poke = now + poke_every
                self.cond.wait(min(deadline, next_poke) - now)
        return True

    def alive(self) -> bool:
        return self._proc.poll() is None or self._readers[0].is_alive()

    def check_alive(self) -> None:
        if not self.alive():
            raise WatcherFailed(
                self._describe(f"exited with status {self._proc.returncode} while being tested")
            )

    def check_garbage(self) -> None:
        with self.cond:
            if self.garbage:
                raise WatcherFailed(self._describe("printed a line that is not protocol JSON"))

    # -- stopping --------------------------------------------------------------------

    def stop(self, grace: float = 3.0) -> int | None:
        """SIGTERM the watcher's group, SIGKILL after `grace`; nothing outlives this."""
        try:
            return self._proc.stop(grace, self._signal_fn)
        finally:
            for r in self._readers:
                r.join(grace)
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> WatcherProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- messages --------------------------------------------------------------------

    def transcript(self, limit: int = 40) -> str:
        with self.cond:
            out, err = list(self._stdout), list(self._stderr)
        parts = []
        for label, lines in (("stdout", out), ("stderr", err)):
            if not lines:
                parts.append(f"  {label}: (nothing)")
                continue
            shown = lines[-limit:]
            skipped = f" (last {limit} of {len(lines)} lines)" if len(lines) > limit else ""
            parts.append(f"  {label}{skipped}:")
            parts.extend(f"    {line!r}" if _odd(line) else f"    {line}" for line in shown)
        return "\n".join(parts)

    def _describe(self, what: str) -> str:
        msg = f"watcher {shlex.join(self.argv)!r} {what}"
        if self.garbage:
            msg += f"\n  first bad line: {self.garbage[0]!r}"
            msg += (
                '\n  expected JSON lines like {"ready": true} or '
                '{"op": "create", "path": "..."} (watcher protocol v1)'
            )
        return f"{msg}\n  it printed:\n{self.transcript()}"


def _odd(line: str) -> bool:
    return not line.isprintable()


def _root_forms(root: str) -> list[str]:
    forms = [os.path.normpath(root)]
    real = os.path.realpath(root)
    if real not in forms:
        forms.append(real)
    return forms
