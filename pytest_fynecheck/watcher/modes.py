"""Where the watcher runs and where the churn happens.

A mode hands out one sandbox per Hypothesis example: a fresh root, a `Filesystem`
that applies churn there, and a way to start the watcher on the root as the watcher
sees it.

- `local`: both on the host, in a temporary directory.
- `container:SUITE`: both inside a suite container, on its own (overlay) file system.
- `bind:SUITE`: churn on the host, the watcher in the container, on a bind mount.
- `bind:SUITE:reverse`: churn in the container, the watcher on the host, same mount.

Container paths equal host paths (the scratch directory is mounted at its own path),
so the root the watcher is given is the root the oracle reads events against.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import secrets
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_fynecheck.churn import agent
from pytest_fynecheck.churn.prims import Filesystem, LocalFilesystem, Prim
from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.containers.starter import ContainerStarter, SuiteContainer
from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.watcher.protocol import WatcherProcess, command_argv

if TYPE_CHECKING:
    from pytest_fynecheck.containers.context import ContainerContext


class Sandbox(Protocol):
    fs: Filesystem
    # The root as the watcher sees it (what replaces {root}).
    watcher_root: str

    def start_watcher(self, cmd: str | Sequence[str]) -> WatcherProcess: ...

    def close(self) -> None: ...


class Mode(Protocol):
    name: str

    def sandbox(self) -> Sandbox: ...

    def close(self) -> None: ...


class LocalSandbox:
    def __init__(self, base: Path | None, env: Mapping[str, str] | None) -> None:
        # realpath: the root the watcher is given is the one it will print back.
        self.root = Path(os.path.realpath(tempfile.mkdtemp(prefix="fynecheck-watch-", dir=base)))
        reaper.record_dir(self.root)  # a killed run's: removed by the next run
        self.fs: Filesystem = LocalFilesystem(self.root)
        self.watcher_root = str(self.root)
        self._env = env

    def start_watcher(self, cmd: str | Sequence[str]) -> WatcherProcess:
        argv = command_argv(cmd, self.watcher_root)
        return WatcherProcess(argv, self.watcher_root, env=self._env, cwd=str(self.root.parent))

    def close(self) -> None:
        # Chmods in the churn may leave entries unreadable; make them removable first.
        for dirpath, dirnames, _ in os.walk(self.root):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
        shutil.rmtree(self.root, ignore_errors=True)


class LocalMode:
    """The watcher and the churn on this machine, in a temporary directory."""

    name = "local"

    def __init__(self, base: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.base = base
        self.env = env

    def sandbox(self) -> Sandbox:
        return LocalSandbox(self.base, self.env)

    def close(self) -> None:
        pass


AGENT_SCRIPT = Path(agent.__file__)
AGENT_TIMEOUT = 60.0  # one batch of churn; a burst is at most a few hundred files


class ChurnAgent:
    """`python3 agent.py` inside the container, fed one batch of churn per line."""

    def __init__(self, ctx: ContainerContext, script: Path) -> None:
        self.where = f"the {ctx.name} container"
        self._ctx = ctx
        self._proc, self._token = ctx.attach(["python3", str(script)])
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._stderr: list[bytes] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._ask({"prims": []}, "starting its churn agent")  # a failed start: no agent
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        stdout, stderr = self._proc.stdout, self._proc.stderr
        for line in iter(stdout.readline, b""):
            self._lines.put(line)
        self._stderr.append(stderr.read())  # before the end is seen: _gone() shows it
        self._lines.put(b"")  # end of output: the agent is gone

    def send(self, root: str, prims: Sequence[Prim]) -> None:
        wire = [
            {"verb": p.verb, "path": p.path, "data": base64.b64encode(p.data).decode(),
             "dest": p.dest, "mode": p.mode}
            for p in prims
        ]
        self._ask({"root": root, "prims": wire}, f"churn under {root}")

    def signal(self, group: int, sig: int) -> None:
        self._ask({"signal": sig, "group": group}, f"signal {sig} to process group {group}")

    def _ask(self, request: dict[str, object], what: str) -> None:
        with self._lock:
            try:
                self._proc.write((json.dumps(request) + "\n").encode())
                line = self._lines.get(timeout=AGENT_TIMEOUT)
            except (OSError, queue.Empty):
                line = b""
        reply = json.loads(line) if line.strip() else None
        if not isinstance(reply, dict) or not reply.get("ok"):
            why = reply.get("error") if isinstance(reply, dict) else self._gone()
            raise RuntimeError(f"{what} in {self.where} failed: {why}")

    def _gone(self) -> str:
        code = self._proc.poll()
        err = b"".join(self._stderr).decode(errors="replace").strip()[-800:]
        state = "did not answer" if code is None else f"exited with status {code}"
        return f"its agent (python3 {AGENT_SCRIPT.name}) {state}: {err or '(no output)'}"

    def close(self) -> None:
        self._proc.close_stdin()  # the agent ends at end of input
        self._proc.wait(10)
        # Signals only if it still runs; the connection is closed either way.
        self._proc.stop(2.0, lambda sig: self._ctx.kill_session(self._token, sig))


class AgentFilesystem:
    def __init__(self, agent: ChurnAgent, root: str) -> None:
        self.agent = agent
        self.root = root

    def apply(self, prims: Sequence[Prim]) -> None:
        self.agent.send(self.root, prims)


class ContainerSandbox:
    """One root, churned and watched on the sides the mode says."""

    def __init__(self, mode: ContainerMode, ctx: ContainerContext, agent: ChurnAgent) -> None:
        self.ctx = ctx
        self.agent = agent
        self.churn_inside, self.watch_inside = mode.churn_inside, mode.watch_inside
        name = f"fynecheck-watch-{secrets.token_hex(6)}"
        # container: the container's own file system; bind: the mounted scratch.
        parent = "/tmp" if mode.kind == "container" else str(mode.scratch / "roots")
        self.watcher_root = f"{parent}/{name}"
        self.fs: Filesystem
        if self.churn_inside:
            # Whoever churns makes the root, so it owns what it writes there.
            self.fs = AgentFilesystem(agent, self.watcher_root)
            agent.send(self.watcher_root, [Prim("mkdir", "")])
        else:
            os.mkdir(self.watcher_root)
            self.fs = LocalFilesystem(Path(self.watcher_root))

    def start_watcher(self, cmd: str | Sequence[str]) -> WatcherProcess:
        argv = command_argv(cmd, self.watcher_root)
        if not self.watch_inside:
            return WatcherProcess(argv, self.watcher_root, cwd=self.watcher_root + "/..")
        if self.ctx.which(argv[0]) is None:
            raise InputError(
                f"watcher command not found in the {self.ctx.name} container: {argv[0]!r} "
                f"(from {shlex.join(argv)!r}); give its absolute host path (its directory is "
                "mounted read-only) or a program the image has"
            )
        started, token = self.ctx.attach(argv, cwd=Path("/"))
        return WatcherProcess(
            argv, self.watcher_root, started=started, signal_fn=self.signaller(token)
        )

    def signaller(self, token: str) -> Callable[[int], None]:
        """Signals to the session `token` names, through the agent: a `docker exec kill`
        per stop made stopping the main cost of an example."""
        ctx, agent = self.ctx, self.agent

        def deliver(sig: int) -> None:
            group = ctx.session_id(token, wait=2.0)  # written as the watcher starts
            if group is not None:
                agent.signal(group, sig)

        return deliver

    def close(self) -> None:
        # From inside: the container's root may remove whatever the churn left, chmods too.
        with contextlib.suppress(RuntimeError):
            self.agent.send(self.watcher_root, [Prim("rmtree", "")])


class ContainerMode(SuiteContainer):
    """A mode on one suite's container, started on first use and removed by close()."""

    scratch_prefix = "fynecheck-watch-"

    def __init__(
        self,
        kind: str,
        suite: str,
        start: ContainerStarter,
        *,
        reverse: bool = False,
        readonly: Sequence[Path] = (),
        base: Path | None = None,
    ) -> None:
        super().__init__(suite, start, readonly, base)
        self.kind = kind
        self.name = f"{kind}:{suite}" + (":reverse" if reverse else "")
        self.churn_inside = kind == "container" or reverse
        self.watch_inside = kind == "container" or not reverse
        self._agent: ChurnAgent | None = None

    def _prepare(self, scratch: Path) -> None:
        (scratch / "roots").mkdir()
        shutil.copy2(AGENT_SCRIPT, scratch / AGENT_SCRIPT.name)

    def sandbox(self) -> Sandbox:
        ctx = self.container(self._require_shared if self.kind == "bind" else None)
        if self._agent is None:  # a failed start is retried in the same container
            self._agent = ChurnAgent(ctx, self.scratch / AGENT_SCRIPT.name)
        return ContainerSandbox(self, ctx, self._agent)

    def _require_shared(self, ctx: ContainerContext) -> None:
        # Host and container must see the same files.
        ctx.require_shared(f"watcher mode {self.name}")

    def close(self) -> None:
        try:
            if self._agent is not None:
                self._agent.close()
        finally:
            self._agent = None
            super().close()


MODE_KINDS = ("local", "container:SUITE", "bind:SUITE", "bind:SUITE:reverse")


def watcher_mounts(cmd: str | Sequence[str]) -> list[Path]:
    """Host directories a container needs to run `cmd`: that of its program, when it is a
    host path (e.g. a watcher built into the kit's cache)."""
    argv = command_argv(cmd, "/")
    program = Path(argv[0])
    return [program.resolve().parent] if program.is_absolute() and program.exists() else []


def parse_mode(
    spec: str,
    base: Path | None = None,
    start: ContainerStarter | None = None,
    cmd: str | Sequence[str] | None = None,
    mounts: Sequence[Path] | None = None,
) -> Mode:
    """A mode spec to a Mode (not started); InputError for anything else. A container
    mounts `mounts` read-only, by default the directory of `cmd`'s program."""
    spec = spec.strip()
    if spec == "local":
        return LocalMode(base)
    kind, _, rest = spec.partition(":")
    suite, _, flag = rest.partition(":")
    if kind in ("container", "bind") and suite and flag in ("", "reverse"):
        if flag and kind != "bind":
            raise InputError(f"watcher mode {spec!r}: only bind modes have a reverse")
        if suite not in SUITES:
            raise InputError(
                f"watcher mode {spec!r}: unknown suite {suite!r}; known: {', '.join(SUITES)}"
            )
        if start is None:
            raise InputError(f"watcher mode {spec!r} needs containers, which run under pytest")
        if mounts is None:
            mounts = watcher_mounts(cmd) if cmd is not None else []
        return ContainerMode(kind, suite, start, reverse=bool(flag), readonly=mounts, base=base)
    raise InputError(f"unknown watcher mode {spec!r}; use one of {', '.join(MODE_KINDS)}")
