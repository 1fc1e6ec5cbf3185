"""A churn step's file operations as data (`Prim`), and where they run: here
(`LocalFilesystem`) or through `agent.py` elsewhere. The watcher's churn and the reload
oracle's both are made of them; replay scripts print them as shell (`script.shell`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pytest_fynecheck.churn.agent import apply

# Where a checked command names the churn root (a watcher's or a reload tool's).
PLACEHOLDER = "{root}"


@dataclasses.dataclass(frozen=True)
class Prim:
    """One file-system call. Paths are relative to the churn root, '/'-separated."""

    verb: str  # write append truncate rename remove mkdir rmtree chmod symlink
    path: str
    data: bytes = b""
    dest: str = ""  # rename: new path; symlink: link target (as written in the link)
    mode: int = 0


class Filesystem(Protocol):
    """Where churn happens: here, or through the agent in a container (the watcher's
    container modes)."""

    def apply(self, prims: Sequence[Prim]) -> None: ...


class LocalFilesystem:
    def __init__(self, root: Path) -> None:
        self.root = root

    def apply(self, prims: Sequence[Prim]) -> None:
        for p in prims:
            apply_local(self.root, p)


def apply_local(root: Path, p: Prim) -> None:
    apply(str(root), p.verb, p.path, p.data, p.dest, p.mode)
