"""Where the reload tool runs. Trees are always host directories (the churn writes them
from here, as an editor on the host would):

- `local`: the tool on this machine.
- `bind:SUITE`: the tool (and its builds) in a suite container, the tree on a bind mount,
  the way people run air in a dev container while editing on the host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pytest_fynecheck.containers.context import BASE_PATH
from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.containers.starter import ContainerStarter, SuiteContainer
from pytest_fynecheck.core.context import Context, Process
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.reload.sandbox import Sandbox

MODE_KINDS = ("local", "bind:SUITE")


class ReloadMode(Protocol):
    name: str
    # Whether pids the probes announce are this machine's (so leftovers can be killed).
    local_pids: bool

    def sandbox(self) -> Sandbox: ...

    def spawn(self, argv: Sequence[str], box: Sandbox) -> Process: ...

    def close(self) -> None: ...


class LocalReloadMode:
    name = "local"
    local_pids = True

    def __init__(self, base: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.base = base
        self.environ = dict(os.environ if env is None else env)

    def sandbox(self) -> Sandbox:
        return Sandbox(self.base)

    def spawn(self, argv: Sequence[str], box: Sandbox) -> Process:
        host = Context(box.tree, box.base, box.base, environ=self.environ)
        real_go = host.require("go")
        extra = box.env(real_go, self.environ.get("PATH", os.defpath))
        return host.spawn(box.argv(argv), env=extra, cwd=box.tree)

    def close(self) -> None:
        pass


class BindReloadMode(SuiteContainer):
    """One suite container for every example; trees under its mounted scratch."""

    local_pids = False
    scratch_prefix = "fynecheck-reload-"

    def __init__(self, suite: str, start: ContainerStarter, readonly: Sequence[Path] = (),
                 base: Path | None = None) -> None:
        super().__init__(suite, start, readonly, base)
        self.name = f"bind:{suite}"

    def sandbox(self) -> Sandbox:
        # The tool in the container must see the host's churn: a shared file system.
        self.container(lambda ctx: ctx.require_shared(f"reload mode {self.name}", instead="local"))
        return Sandbox(self.scratch)

    def spawn(self, argv: Sequence[str], box: Sandbox) -> Process:
        assert self.ctx is not None, "sandbox() starts the container"
        goroot = self.ctx.goroot
        env = box.env(str(goroot / "bin" / "go"), f"{goroot / 'bin'}:{BASE_PATH}")
        env["GOFLAGS"] = "-mod=mod"
        return self.ctx.spawn(box.argv(argv), env=env, cwd=box.tree)


def tool_mounts(argv: Sequence[str]) -> list[Path]:
    """The directory of the tool's program, when it is a host path (the kit's pinned
    installs are static binaries, so they run in any suite read-only)."""
    program = Path(argv[0])
    return [program.resolve().parent] if program.is_absolute() and program.exists() else []


def parse_mode(spec: str, *, start: ContainerStarter | None = None,
               argv: Sequence[str] = (), base: Path | None = None,
               mounts: Sequence[Path] | None = None) -> ReloadMode:
    """A mode spec to a mode (not started); a container mounts `mounts` read-only, by
    default the directory of `argv`'s program."""
    spec = spec.strip()
    if spec == "local":
        return LocalReloadMode(base)
    kind, _, suite = spec.partition(":")
    if kind == "bind" and suite:
        if suite not in SUITES:
            raise InputError(f"reload mode {spec!r}: unknown suite {suite!r}; known: "
                             f"{', '.join(SUITES)}")
        if start is None:
            raise InputError(f"reload mode {spec!r} needs containers, which run under pytest")
        return BindReloadMode(suite, start, tool_mounts(argv) if mounts is None else mounts,
                              base)
    raise InputError(f"unknown reload mode {spec!r}; use one of {', '.join(MODE_KINDS)}")


__all__ = ["BindReloadMode", "LocalReloadMode", "ReloadMode", "parse_mode"]
