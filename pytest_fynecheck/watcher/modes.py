"""Where the watcher runs and where the churn happens.

A mode hands out one sandbox per Hypothesis example: a fresh root, a `Filesystem`
that applies churn there, and a way to start the watcher on the root as the watcher
sees it. `local` is both on the host. Container modes (issue 4) plug in here: their
sandbox starts the watcher inside the container and maps the root between the sides.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pytest_fynecheck.model import InputError
from pytest_fynecheck.watcher.churn import Filesystem, LocalFilesystem
from pytest_fynecheck.watcher.protocol import WatcherProcess, command_argv


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


MODE_KINDS = ("local", "container:SUITE", "bind:SUITE")


def parse_mode(spec: str, base: Path | None = None) -> Mode:
    """'local', 'container:SUITE' or 'bind:SUITE' to a Mode; InputError for anything else."""
    spec = spec.strip()
    if spec == "local":
        return LocalMode(base)
    kind, _, suite = spec.partition(":")
    if kind in ("container", "bind") and suite:
        raise InputError(
            f"watcher mode {spec!r} needs the suite containers (issue 4), which this version "
            "of pytest-fynecheck does not have yet; use mode 'local'"
        )
    raise InputError(f"unknown watcher mode {spec!r}; use one of {', '.join(MODE_KINDS)}")
