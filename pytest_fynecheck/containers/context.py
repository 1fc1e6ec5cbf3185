"""`ContainerContext`: the readiness checks, run inside a per-suite container.

Commands go through `docker exec`. Host paths (project, scratch, cache, the Go toolchain
and module cache) are mounted at the same paths, so host-side Python reads and writes
what the container sees, and the checks need no container-specific code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.containers.engine import (
    LABEL_HOST,
    LABEL_PID,
    LABEL_PID_START,
    LABEL_SESSION,
    Engine,
)
from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.context import (
    CURRENT_CHECK,
    Completed,
    Context,
    HostProcess,
    Process,
    ToolTimeout,
)
from pytest_fynecheck.model import InputError
from pytest_fynecheck.reaper import process_start_time

# Per process: every container this pytest process starts carries it.
SESSION_ID = secrets.token_hex(8)
_FOUND: dict[tuple[str, str, str], str] = {}
GOCACHE_IN_CONTAINER = "/var/cache/fynecheck/go-build"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Runs the command in a new session whose id goes to a file on a mounted path, so
# stop/timeout can kill the whole tree *inside* the container (killing the `docker exec`
# client alone would leave it running). When the command ends, the wrapper ends what it
# left in its session, as `Context.run` does on the host.
_WRAP = (
    'echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; "$@"; rc=$?; '
    'trap "" TERM; kill -TERM 0 2>/dev/null; exit $rc'
)


@dataclasses.dataclass(frozen=True)
class Command:
    """One command run in the container: what a reproducer replays."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str
    returncode: int | None  # None: timed out
    output: str
    check: str  # the check that ran it ("" outside the runner)


class ContainerContext(Context):
    def __init__(
        self,
        target: Target,
        image: str,
        engine: Engine,
        project: Path,
        scratch: Path,
        cache: Path,
        *,
        goroot: Path,
        gomodcache: Path | None,
        timeout: float = 600.0,
        progress: Callable[[str], None] | None = None,
        display_mode: str = "xvfb",
        tags: Sequence[str] = (),
        extra_mounts: Sequence[Path] = (),
        readonly_mounts: Sequence[Path] = (),
    ) -> None:
        self.target = target
        self.extra_mounts = list(extra_mounts)
        self.readonly_mounts = list(readonly_mounts)
        self.image = image
        self.engine = engine
        self.goroot = goroot
        self.gomodcache = gomodcache
        self.container: str | None = None
        self.commands: list[Command] = []
        self._commands_lock = threading.Lock()
        self._which: dict[tuple[str, str], str | None] = {}
        self._pids = scratch / ".fynecheck-pids"
        environ = {
            "PATH": f"{goroot / 'bin'}:{BASE_PATH}",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "GOROOT": str(goroot),
            "GOPROXY": "off",
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
            "GOCACHE": GOCACHE_IN_CONTAINER,
            "CGO_ENABLED": "1",
        }
        if gomodcache is not None:
            environ["GOMODCACHE"] = str(gomodcache)
        super().__init__(
            project,
            scratch,
            cache,
            environ=environ,
            timeout=timeout,
            progress=progress,
            display_mode=display_mode,
            tags=tags,
        )
        self.name = target.name

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ContainerContext:
        for path in (self.project, self.scratch, self.cache, *self.extra_mounts,
                     *self.readonly_mounts):
            if ":" in str(path):
                raise InputError(f"{path}: a path with ':' cannot be mounted into a container")
        self._pids.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        volume = f"fynecheck-gocache-{self.target.suite}"
        mounts = [
            f"{self.project}:{self.project}",
            f"{self.scratch}:{self.scratch}",
            f"{self.cache}:{self.cache}",
            f"{self.goroot}:{self.goroot}:ro",
            f"{volume}:{GOCACHE_IN_CONTAINER}",
        ]
        mounts += [f"{p}:{p}" for p in self.extra_mounts]
        mounts += [f"{p}:{p}:ro" for p in self.readonly_mounts]
        if self.gomodcache is not None and self.gomodcache.is_dir():
            mounts.append(f"{self.gomodcache}:{self.gomodcache}:ro")
        pid = os.getpid()
        argv = [
            "run", "--detach", "--init", "--network", "none",
            "--label", f"{LABEL_SESSION}={SESSION_ID}",
            "--label", f"{LABEL_PID}={pid}",
            "--label", f"{LABEL_PID_START}={process_start_time(pid)}",
            "--label", f"{LABEL_HOST}={socket.gethostname()}",
            "--label", f"io.fynecheck.os={self.name}",
        ]
        seen: set[str] = set()
        for mount in mounts:
            target = mount.split(":")[1]
            if target not in seen:  # e.g. project == scratch: docker refuses a repeated target
                seen.add(target)
                argv += ["--volume", mount]
        for key, value in self.environ.items():
            argv += ["--env", f"{key}={value}"]
        # PID 1 (docker-init) reaps orphans; `sleep infinity` keeps the container up
        # until close() removes it.
        argv += ["--workdir", str(self.project), self.image, "sleep", "infinity"]
        self.container = self.engine.check(argv, timeout=120).strip()
        return self

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.container is not None:
                self.engine.docker(["rm", "--force", self.container], timeout=60)
                self.container = None

    def describe(self) -> str:
        return f"{self.image} ({self.container or 'not started'})"

    # -- commands ----------------------------------------------------------------------

    def exec_argv(
        self, argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None, token: str
    ) -> list[str]:
        """`docker exec` arguments that run `argv` in its own session, id noted under `token`."""
        assert self.container is not None, "ContainerContext used before start()"
        out = ["exec"]
        for key, value in (env or {}).items():
            out += ["--env", f"{key}={value}"]
        out += ["--workdir", str(cwd or self.project), self.container]
        return [*out, "setsid", "--wait", "sh", "-c", _WRAP, str(self._pids / token), *argv]

    def which(self, tool: str, extra_env: Mapping[str, str] | None = None) -> str | None:
        path = self.env(extra_env).get("PATH", "")
        key = (tool, path)
        # Found tools are shared by containers of the same image (saves an exec per tool
        # per container); a miss is asked again, as a test may install the tool.
        shared = _FOUND.get((self.image, tool, path))
        if shared is not None:
            return shared
        if key not in self._which:
            assert self.container is not None, "ContainerContext used before start()"
            done = self.engine.docker(
                ["exec", "--env", f"PATH={path}", self.container,
                 "sh", "-c", 'command -v "$1"', "sh", tool],
                timeout=60,
            )
            found = done.stdout.strip()
            self._which[key] = found if done.ok and found.startswith("/") else None
            if self._which[key] is not None:
                _FOUND[(self.image, tool, path)] = found
        return self._which[key]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        self.require(argv[0], env)
        limit = self.timeout if timeout is None else timeout
        token = secrets.token_hex(6)
        try:
            done = self.engine.docker(
                self.exec_argv(argv, env, cwd, token), timeout=limit, on_line=on_line
            )
        except ToolTimeout as exc:
            self._kill(token, "KILL", forget=True)
            self._record(argv, env, cwd, None, exc.detail)
            raise ToolTimeout(argv, limit, exc.detail) from None
        (self._pids / token).unlink(missing_ok=True)
        result = dataclasses.replace(done, argv=tuple(argv))
        self._record(argv, env, cwd, result.returncode, result.output)
        return result

    def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Process:
        self.require(argv[0], env)
        token = secrets.token_hex(6)
        docker = self.engine.host.require("docker")
        client = HostProcess(
            [docker, *self.exec_argv(argv, env, cwd, token)],
            self.engine.host.environ,
            self.scratch,
        )
        return ContainerProcess(self, client, token)

    def session_id(self, token: str, wait: float = 0.0) -> int | None:
        """The in-container session (process group) id of the command started with `token`."""
        path = self._pids / token
        deadline = time.monotonic() + wait
        while True:
            try:
                return int(path.read_text().strip())
            except (OSError, ValueError):
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.05)

    def _kill(self, token: str, signal: str, forget: bool = False) -> None:
        sid = self.session_id(token)
        if sid is not None and self.container is not None:
            # Negative pid: the whole process group that setsid made.
            self.engine.docker(
                ["exec", self.container, "kill", f"-{signal}", "--", f"-{sid}"], timeout=30
            )
        if forget:
            (self._pids / token).unlink(missing_ok=True)

    def _record(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        cwd: Path | None,
        returncode: int | None,
        output: str,
    ) -> None:
        command = Command(
            tuple(argv), dict(env or {}), str(cwd or self.project), returncode, output,
            CURRENT_CHECK.get(),
        )
        with self._commands_lock:
            self.commands.append(command)

    def inspect(self) -> dict[str, object]:
        assert self.container is not None
        data: list[dict[str, object]] = json.loads(
            self.engine.check(["inspect", self.container], timeout=30)
        )
        return data[0]


class ContainerProcess:
    """A long-running program inside the container (e.g. Xvfb, the app under test)."""

    def __init__(self, ctx: ContainerContext, client: HostProcess, token: str) -> None:
        self._ctx = ctx
        self._client = client
        self._token = token
        # Its pid inside the container; the docker client's pid until that is known.
        sid = ctx.session_id(token, wait=10.0)
        self.pid = sid if sid is not None else client.pid

    def poll(self) -> int | None:
        return self._client.poll()

    def output(self) -> str:
        return self._client.output()

    def stop(self, grace: float = 5.0) -> int | None:
        if self._client.poll() is None:
            self._ctx._kill(self._token, "TERM")
            deadline = time.monotonic() + grace
            while self._client.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        self._ctx._kill(self._token, "KILL", forget=True)
        return self._client.stop(grace)
