"""One command inside a container through the exec API, its output read as it comes;
or attached, its stdin written and its output read as pipes, like a local child's."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

from pytest_fynecheck.containers.engine import Engine, failing


class Connection:
    """An exec, started, and its hijacked connection: its output as frames, its stdin."""

    def __init__(
        self,
        engine: Engine,
        container: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: bool = False,
    ) -> None:
        with failing(f"starting `{' '.join(argv)}` in container {container[:12]}"):
            self.id: str = engine.api.exec_create(
                container, list(argv), stdin=stdin, stdout=True, stderr=True,
                environment=dict(env or {}), workdir=cwd,
            )["Id"]
            sock: Any = engine.stream_api.exec_start(self.id, socket=True)
        self._sock = sock
        # A unix or tcp engine hands a SocketIO; ssh a channel that is its own socket.
        self._raw: Any = getattr(sock, "_sock", sock)
        # Frames are read through the HTTP response's own buffered reader: docker-py reads
        # them from the raw socket beneath it and loses what the response parser had
        # already buffered, all of a quick command's output when this process reads the
        # response late, as on a loaded machine (docker/docker-py#3332; a test shows it).
        response = getattr(sock, "_response", None)
        self._reader: IO[bytes]
        if response is not None:
            self._reader = response.raw._fp.fp
        elif isinstance(sock, io.RawIOBase):
            self._reader = io.BufferedReader(sock)
        else:
            self._reader = sock.makefile("rb")

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(1 for stdout or 2 for stderr, bytes) until the output ends."""
        while True:
            head = self._reader.read(8)
            if len(head) < 8:
                return
            stream, size = struct.unpack(">BxxxL", head)
            data = self._reader.read(size)
            if not data:
                return
            yield stream, data

    def write(self, data: bytes) -> None:
        self._raw.sendall(data)

    def close_write(self) -> None:
        """End of input, as closing a pipe: the engine closes the program's stdin."""
        with contextlib.suppress(OSError):
            if hasattr(self._raw, "shutdown_write"):
                self._raw.shutdown_write()
            else:
                self._raw.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Hang up: a shutdown wakes the reader (a bare close may leave it blocked)."""
        with contextlib.suppress(OSError):
            if hasattr(self._raw, "shutdown_write"):
                self._raw.close()  # an ssh channel
            else:
                self._raw.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()


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
        self._conn = Connection(engine, container, argv, env=env, cwd=cwd)
        self.id = self._conn.id
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for stream, data in self._conn.frames():
                self.merged.append(data)
                if stream == 2:
                    self.stderr.append(data)
                    self._lines(data)
                else:
                    self.stdout.append(data)
        except Exception as exc:  # the engine went away mid-stream: said by returncode()
            self.error = exc
        finally:
            self._conn.close()
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
        return exit_code(self._engine, self.id) if self.done.is_set() else None


def exit_code(engine: Engine, exec_id: str) -> int:
    """An exec's exit status, asked once its output has ended."""
    deadline = time.monotonic() + 10
    while True:  # the exec may be marked finished a moment after its output ends
        with failing(f"asking the engine for exec {exec_id[:12]}'s status"):
            info = engine.api.exec_inspect(exec_id)
        if not info.get("Running") or time.monotonic() > deadline:
            code = info.get("ExitCode")
            return int(code) if code is not None else -1
        time.sleep(0.02)


class Attached:
    """A long-running exec with stdin, through the API's hijacked connection (a remote
    engine too, and no `docker` CLI): `stdout` and `stderr` are pipes fed as frames come,
    `write` goes to its stdin. The API cannot signal an exec: `stop` takes `deliver`,
    which signals it where it runs."""

    def __init__(
        self,
        engine: Engine,
        container: str,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
    ) -> None:
        self._engine = engine
        self._conn = Connection(engine, container, argv, cwd=cwd, stdin=True)
        self.id = self._conn.id
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.stdout = os.fdopen(out_r, "rb")
        self.stderr = os.fdopen(err_r, "rb")
        self.returncode: int | None = None
        self.done = threading.Event()
        self._reader = threading.Thread(target=self._demux, args=(out_w, err_w), daemon=True)
        self._reader.start()

    def _demux(self, out_w: int, err_w: int) -> None:
        try:
            for stream, data in self._conn.frames():
                view = memoryview(data)
                while view:  # a pipe may take a large frame in parts
                    view = view[os.write(err_w if stream == 2 else out_w, view) :]
        except OSError:
            pass  # the connection or a reader went away: the output ends here
        finally:
            os.close(out_w)
            os.close(err_w)
            self.done.set()

    def write(self, data: bytes) -> None:
        self._conn.write(data)

    def close_stdin(self) -> None:
        self._conn.close_write()

    def poll(self) -> int | None:
        if self.returncode is None and self.done.is_set():
            self.returncode = exit_code(self._engine, self.id)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        self.done.wait(timeout)
        return self.poll()

    def stop(self, grace: float, deliver: Callable[[int], None] | None = None) -> int | None:
        """SIGTERM where it runs, up to `grace` seconds to end, then SIGKILL; the
        connection is closed either way. Without `deliver` it can only hang up (the
        program then ends with its container)."""
        try:
            if deliver is not None and self.poll() is None:
                deliver(signal.SIGTERM)
                self.wait(grace)
            if deliver is not None and self.poll() is None:
                deliver(signal.SIGKILL)
                self.wait(grace)
        finally:
            self.close()
            self._reader.join(grace)
        return self.poll()

    def close(self) -> None:
        self._conn.close()


def run_quiet(engine: Engine, container: str, argv: Sequence[str], timeout: float = 60) -> int:
    """A short helper command (kill, rm); its exit status, or -1 when it hung."""
    ex = Exec(engine, container, argv)
    if not ex.wait(timeout):
        return -1
    return ex.returncode() or 0
