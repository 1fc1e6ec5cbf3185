"""One command inside a container through the exec API, its output read as it comes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pytest_fynecheck.containers.engine import Engine, failing


class Exec:
    """A started exec: stdout and stderr collected (and stderr lines handed to `on_line`)
    by a reader thread; `done` is set when the command's output ends."""

    def __init__(
        self,
        engine: Engine,
        container: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self.stdout: list[bytes] = []
        self.stderr: list[bytes] = []
        self.merged: list[bytes] = []
        self._on_line = on_line
        self._partial = b""
        self.done = threading.Event()
        self.error: BaseException | None = None
        with failing(f"starting `{' '.join(argv)}` in container {container[:12]}"):
            self.id: str = engine.api.exec_create(
                container, list(argv), stdout=True, stderr=True,
                environment=dict(env or {}), workdir=cwd,
            )["Id"]
            stream = engine.stream_api.exec_start(self.id, stream=True, demux=True)
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        try:
            for out, err in stream:
                if out:
                    self.stdout.append(out)
                    self.merged.append(out)
                if err:
                    self.stderr.append(err)
                    self.merged.append(err)
                    self._lines(err)
        except Exception as exc:  # the engine went away mid-stream: said by returncode()
            self.error = exc
        finally:
            if self._partial:
                self._lines(b"\n")
            self.done.set()

    def _lines(self, data: bytes) -> None:
        if self._on_line is None:
            return
        *whole, self._partial = (self._partial + data).split(b"\n")
        for line in whole:
            self._on_line(line.decode(errors="replace"))

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def returncode(self) -> int | None:
        """The exit status once the output has ended (None while it runs)."""
        if not self.done.is_set():
            return None
        deadline = time.monotonic() + 10
        while True:  # the exec may be marked finished a moment after its output ends
            with failing(f"asking the engine for exec {self.id[:12]}'s status"):
                info = self._engine.api.exec_inspect(self.id)
            if not info.get("Running") or time.monotonic() > deadline:
                code = info.get("ExitCode")
                return int(code) if code is not None else -1
            time.sleep(0.02)


def run_quiet(engine: Engine, container: str, argv: Sequence[str], timeout: float = 60) -> int:
    """A short helper command (kill, rm); its exit status, or -1 when it hung."""
    ex = Exec(engine, container, argv)
    if not ex.wait(timeout):
        return -1
    return ex.returncode() or 0
