"""`ContainerContext`: the readiness checks, run inside a per-suite container.

Commands run through the engine's exec API. Host paths (project, scratch, cache, the Go
toolchain and module cache) appear at the same paths inside: bind-mounted when the
engine shares this machine's files, else mirrored with put/get_archive around each
command (`transfer.Mirror`) and the Go toolchain and modules kept in engine volumes
(`remote`). Either way host-side Python reads and writes what the container sees, and
the checks need no container-specific code.
"""

from __future__ import annotations

import dataclasses
import secrets
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_fynecheck.containers import remote
from pytest_fynecheck.containers.confine import (
    HOME_IN_CONTAINER,
    ROOT,
    User,
    identity_mounts,
    run_options,
    user_volume,
)
from pytest_fynecheck.containers.engine import Engine, failing, owner_labels, where
from pytest_fynecheck.containers.execs import Attached, Exec, run_quiet
from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.containers.reap import reap_once
from pytest_fynecheck.containers.transfer import SYNC_DIR, Mirror, pull_script, read_file
from pytest_fynecheck.core.context import CURRENT_CHECK, Completed, Context, Process, ToolTimeout
from pytest_fynecheck.core.model import InputError

# Per process: every container this pytest process starts carries it.
SESSION_ID = secrets.token_hex(8)
_FOUND: dict[tuple[str, str, str], str] = {}
GOCACHE_IN_CONTAINER = "/var/cache/fynecheck/go-build"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Runs the command in a new session whose id goes to a file under scratch, so stop and
# timeout can kill the whole tree *inside* the container. When the command ends, the
# wrapper ends what it left in its session, as `Context.run` does on the host.
_START = 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; '
_END = '"$@"; rc=$?; trap "" TERM; kill -TERM 0 2>/dev/null; '
_WRAP = _START + _END + "exit $rc"
# As shutil.which on the host: an executable file on PATH (or the path given). Not
# `command -v`, which answers a shell builtin (`test`, `true`, `kill`) with its bare name:
# a tool the host finds would be "not found" in the container.
_WHICH = (
    'case $1 in */*) [ -f "$1" ] && [ -x "$1" ] && echo "$1" && exit 0; exit 1;; esac; '
    'IFS=:; for d in $PATH; do '
    'if [ -n "$d" ] && [ -f "$d/$1" ] && [ -x "$d/$1" ]; then echo "$d/$1"; exit 0; fi; '
    "done; exit 1"
)
# Remote: the pid file is back-dated as the stamp `pull_script` compares against.
_BACKDATE = 'touch -d "@$(($(date +%s) - 2))" "$0"; '


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
        user: User | None = None,
    ) -> None:
        self.target = target
        # None: the invoking user on a shared engine, root on a remote one (confine.py).
        self.user = user
        self.extra_mounts = list(extra_mounts)
        self.readonly_mounts = list(readonly_mounts)
        self.image = image
        self.engine = engine
        self.goroot = goroot
        self.gomodcache = gomodcache
        self.container: str | None = None
        self._store_id: str | None = None  # remote: the container holding read-only copies
        self.mirror: Mirror | None = None  # set by start() when the engine is remote
        self.commands: list[Command] = []
        self._commands_lock = threading.Lock()
        self._which: dict[tuple[str, str], str | None] = {}
        self._pids = scratch / ".fynecheck-pids"
        environ = {
            "PATH": f"{goroot / 'bin'}:{BASE_PATH}",
            "HOME": HOME_IN_CONTAINER,
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

    @property
    def shared(self) -> bool:
        """Does the engine see this machine's files (bind mounts), or is it remote?"""
        return self.mirror is None

    def require_shared(self, what: str, instead: str = "container:SUITE or local") -> None:
        """InputError unless host and container see the same files (bind mounts)."""
        if not self.shared:
            raise InputError(
                f"{what} needs a file system shared by this machine and the Docker engine, "
                f"and the engine at {where()} does not see this machine's files (a marker "
                "file written here was not visible through a bind mount there); use "
                f"{instead}, or an engine on this machine"
            )

    def _rw(self) -> list[Path]:
        """What commands in the container may write: never the project, unless it is
        one of these (the watcher's and reload's trees are their scratch)."""
        return _unique([self.scratch, self.cache, *self.extra_mounts])

    def _project_ro(self) -> list[Path]:
        """The project, mounted read-only, unless a writable mount holds it already."""
        covered = any(r == self.project or r in self.project.parents for r in self._rw())
        return [] if covered else [self.project]

    def start(self) -> ContainerContext:
        import docker.types  # here, not at import: containers.engine says why

        self._pids.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        removed = reap_once(self.engine)
        if removed:
            self.progress(f"removed {len(removed)} container(s) left by killed runs")
        shared = self.engine.shared_fs(self.image)
        user = self.user or (User.invoking() if shared else ROOT)
        self.user = user
        gocache = user_volume(self.engine, self.image, f"fynecheck-gocache-{self.target.suite}",
                              GOCACHE_IN_CONTAINER, user)
        mounts = [docker.types.Mount(GOCACHE_IN_CONTAINER, gocache, type="volume")]
        store: str | None = None
        if shared:
            for path in (*self._rw(), *self._project_ro(), *self.readonly_mounts):
                if ":" in str(path):
                    raise InputError(f"{path}: a path with ':' cannot be mounted into a container")
            ro = [*self._project_ro(), self.goroot, *self.readonly_mounts]
            if self.gomodcache is not None and self.gomodcache.is_dir():
                ro.append(self.gomodcache)
            binds = {str(p): False for p in self._rw()}
            binds.update({str(p): True for p in ro if str(p) not in binds})
            mounts += [docker.types.Mount(p, p, type="bind", read_only=r)
                       for p, r in binds.items()]
            etc = self.scratch / ".fynecheck-etc"
            mounts += identity_mounts(self.engine, self.image, user, etc)
        else:
            go = remote.go_volumes(self.engine, self.image, self.goroot, self.gomodcache,
                                   self.project, self.progress)
            mounts += go.mounts
            self.environ.update(go.environ)
            # The root file system is read-only, and put_archive writes only into volumes:
            # one per mirrored directory. The read-only ones live in a store container
            # (created, never started) that takes the copies, shared read-only from it.
            mounts += [docker.types.Mount(str(p), None, type="volume")
                       for p in (*self._rw(), Path(SYNC_DIR))]
            store = self._store([*self._project_ro(), *self.readonly_mounts])
        labels = {**owner_labels(SESSION_ID), "io.fynecheck.os": self.name}
        try:
            with failing(f"starting a {self.image} container"):
                # docker-init as PID 1 reaps orphans; `sleep infinity` keeps the container
                # up until close() removes it.
                box = self.engine.client.containers.run(
                    self.image, ["sleep", "infinity"], detach=True, init=True,
                    network_mode="none", labels=labels, mounts=mounts,
                    volumes_from=[f"{store}:ro"] if store else None,
                    environment=self.environ, working_dir=str(self.project),
                    **run_options(user),
                )
        except BaseException:
            self._remove_store()
            raise
        self.container = str(box.id)
        if not shared:
            self.mirror = Mirror(self.engine.api, self.container, self._rw(),
                                 self._project_ro(), self.readonly_mounts, store=store)
            self.mirror.seed()
        return self

    def _store(self, paths: Sequence[Path]) -> str | None:
        import docker.types  # here, not at import: containers.engine says why

        if not paths:
            return None
        with failing(f"creating the read-only store of a {self.image} container"):
            box = self.engine.client.containers.create(
                self.image, ["true"], network_mode="none",
                labels={**owner_labels(SESSION_ID), "io.fynecheck.os": self.name},
                mounts=[docker.types.Mount(str(p), None, type="volume") for p in paths],
            )
        self._store_id = str(box.id)
        return self._store_id

    def _remove_store(self) -> None:
        store = self._store_id
        if store is not None:
            self._store_id = None
            with failing(f"removing container {store[:12]}"):
                self.engine.api.remove_container(store, force=True, v=True)

    def close(self) -> None:
        try:
            super().close()
        finally:
            try:
                if self.container is not None:
                    with failing(f"removing container {self.container[:12]}"):
                        # v: its anonymous volumes (a remote engine's copies) go with it.
                        self.engine.api.remove_container(self.container, force=True, v=True)
                    self.container = None
            finally:
                self._remove_store()

    def describe(self) -> str:
        return f"{self.image} ({self.container or 'not started'})"

    # -- commands ----------------------------------------------------------------------

    def _wrapped(self, argv: Sequence[str], token: str, pull: bool) -> list[str]:
        script = _WRAP
        if pull:
            script = _START + _BACKDATE + _END + pull_script(self._rw()) + "exit $rc"
        return ["setsid", "--wait", "sh", "-c", script, str(self._pids / token), *argv]

    def session_argv(self, argv: Sequence[str]) -> tuple[list[str], str]:
        """`argv` wrapped to run in its own session, and the token that names it."""
        token = secrets.token_hex(6)
        return self._wrapped(argv, token, pull=False), token

    def attach(
        self, argv: Sequence[str], *, cwd: Path | None = None
    ) -> tuple[Attached, str]:
        """`argv` with its stdin attached, in its own session; the token names that
        session for `session_id` and `kill_session`."""
        assert self.container is not None, "ContainerContext used before start()"
        wrapped, token = self.session_argv(argv)
        where = str(cwd or self.project)
        return Attached(self.engine, self.container, wrapped, cwd=where), token

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
            ex = Exec(self.engine, self.container, ["sh", "-c", _WHICH, "sh", tool],
                      env={"PATH": path})
            found = b"".join(ex.stdout).decode().strip() if ex.wait(60) else ""
            ok = ex.returncode() == 0 and found.startswith("/")
            self._which[key] = found if ok else None
            if ok:
                _FOUND[(self.image, tool, path)] = found
        return self._which[key]

    def _exec(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        cwd: Path | None,
        token: str,
        on_line: Callable[[str], None] | None = None,
    ) -> Exec:
        assert self.container is not None, "ContainerContext used before start()"
        if self.mirror is not None:
            self.mirror.push()
        wrapped = self._wrapped(argv, token, pull=self.mirror is not None)
        return Exec(self.engine, self.container, wrapped, env=env,
                    cwd=str(cwd or self.project), on_line=on_line)

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
        ex = self._exec(argv, env, cwd, token, on_line)
        if not ex.wait(limit):
            self._kill(token, "KILL", forget=True)
            ex.wait(10)
            output = b"".join(ex.merged).decode(errors="replace")
            self._record(argv, env, cwd, None, output)
            raise ToolTimeout(argv, limit, output)
        code = ex.returncode()
        if ex.error is not None:
            with failing(f"reading the output of `{' '.join(argv)}`"):
                raise ex.error
        self._forget(token)
        if self.mirror is not None:
            self.mirror.pull(token)
        raw = b"".join(ex.stdout)
        result = Completed(tuple(argv), code if code is not None else -1,
                           raw.decode(errors="replace"),
                           b"".join(ex.stderr).decode(errors="replace"), raw)
        self._record(argv, env, cwd, result.returncode, result.output)
        return result

    def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Process:
        self.require(argv[0], env)
        token = secrets.token_hex(6)
        return ContainerProcess(self, self._exec(argv, env, cwd, token), token)

    def session_id(self, token: str, wait: float = 0.0) -> int | None:
        """The in-container session (process group) id of the command started with `token`."""
        path = self._pids / token
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.mirror is None:
                    return int(path.read_text().strip())
                assert self.container is not None
                data = read_file(self.engine.api, self.container, str(path))
                return int((data or b"").decode().strip())
            except (OSError, ValueError):
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.05)

    def kill_session(self, token: str, sig: int) -> None:
        """`sig` to the session started with `token` (one gone already is fine)."""
        self._kill(token, signal.Signals(sig).name.removeprefix("SIG"))

    def _forget(self, token: str) -> None:
        if self.mirror is None:
            (self._pids / token).unlink(missing_ok=True)
        # Remote: the pid file stays in the container (a few bytes), it is never pulled.

    def _kill(self, token: str, signal: str, forget: bool = False) -> None:
        sid = self.session_id(token)
        if sid is not None and self.container is not None:
            # Negative pid: the whole process group that setsid made.
            run_quiet(self.engine, self.container, ["kill", f"-{signal}", "--", f"-{sid}"], 30)
        if forget:
            self._forget(token)

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

    def inspect(self) -> dict[str, Any]:
        assert self.container is not None
        with failing(f"inspecting container {self.container[:12]}"):
            data: dict[str, Any] = self.engine.api.inspect_container(self.container)
        return data


def _unique(paths: Sequence[Path]) -> list[Path]:
    """Without repeats or paths inside another (project == scratch, a cache below it)."""
    out: list[Path] = []
    for p in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(q == p or q in p.parents for q in out):
            out.append(p)
    return out


class ContainerProcess:
    """A long-running program inside the container (e.g. Xvfb, the app under test)."""

    def __init__(self, ctx: ContainerContext, ex: Exec, token: str) -> None:
        self._ctx = ctx
        self._exec = ex
        self._token = token
        # Its session id inside the container (what stop() signals); -1 if never known.
        sid = ctx.session_id(token, wait=10.0)
        self.pid = sid if sid is not None else -1

    def poll(self) -> int | None:
        return self._exec.returncode()

    def output(self) -> str:
        return b"".join(self._exec.merged).decode(errors="replace")

    def stop(self, grace: float = 5.0) -> int | None:
        ended = self._exec.done.is_set()
        if not ended:
            self._ctx._kill(self._token, "TERM")
            self._exec.wait(grace)
        self._ctx._kill(self._token, "KILL", forget=True)
        self._exec.wait(grace)
        mirror = self._ctx.mirror
        if ended and mirror is not None:
            # A remote engine: what a program that ended by itself wrote (the page probe's
            # screenshot) comes back as a run's does; its wrapper tarred it as it ended.
            mirror.pull(self._token)
        return self._exec.returncode()
