"""Matrix cells: one context (the host, a suite container, a target) with one Go toolchain.

A cell's name is its context's name, plus `+go1.X.Y` when it pins a toolchain: the name is
what the items (`app.build@host+go1.24.13`), the results' `os` and the tables show.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from pytest_fynecheck.core.model import InputError

LOCAL = "local"  # no toolchain pinned: the `go` on PATH, as the environment's GOTOOLCHAIN says
_SEP = "+"


@dataclasses.dataclass(frozen=True)
class Cell:
    context: str  # host, bookworm, ...: what the other plugins make
    go: str = LOCAL  # `local`, or an exact toolchain such as go1.24.13

    @property
    def name(self) -> str:
        return self.context if self.go == LOCAL else f"{self.context}{_SEP}{self.go}"

    @classmethod
    def parse(cls, name: str) -> Cell:
        context, sep, go = name.partition(_SEP)
        return cls(context, go) if sep and go.startswith("go") else cls(name)

    def to_json(self, index: int, total: int, toolchains: str) -> dict[str, Any]:
        """One entry of GitHub Actions' `strategy.matrix.include`."""
        suite, target = axes(self.context)
        return {
            "shard": f"{index}/{total}",
            "cell": self.name,
            "suite": suite,
            "go": self.go,
            "target": target,
            # Exact versions for the shard's --fynecheck-go: a Go release between the plan
            # job and the shards' jobs must not change the plan under them.
            "toolchains": toolchains,
        }


def axes(context: str) -> tuple[str, str]:
    """(suite, target) of a context name. Linux contexts are named for their suite; the
    Windows target is `windows` on the host and `SUITE-windows` in a suite container."""
    if context == "windows":
        return "host", "windows"
    suite, _, variant = context.partition("-")
    if variant == "windows":
        return suite, "windows"
    return context, "linux"


def plan(contexts: Sequence[str], toolchains: Sequence[str]) -> list[Cell]:
    """Every context with every toolchain, in that order (the table's column order)."""
    return [Cell(c, g) for c in contexts for g in (toolchains or [LOCAL])]


_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    m = _SHARD.match(text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError(
            f"--fynecheck-shard {text!r}: write I/N with 1 <= I <= N, e.g. 2/4 "
            "(the `shard` of one --fynecheck-matrix-json entry)"
        )
    return int(m.group(1)), int(m.group(2))


def shard(cells: Sequence[Cell], index: int, total: int) -> list[Cell]:
    """Shard I of N: every Nth cell from the Ith, so N = the number of cells gives one
    cell a shard, and fewer shards get slices of about equal size."""
    mine = list(cells[index - 1 :: total])
    if not mine:
        raise InputError(
            f"--fynecheck-shard {index}/{total}: the matrix has only {len(cells)} cell(s) "
            f"({', '.join(c.name for c in cells)}), so this shard would run nothing"
        )
    return mine


def github_matrix(cells: Sequence[Cell]) -> dict[str, Any]:
    """`strategy.matrix` for `fromJSON`: one job per cell, each told its shard."""
    toolchains = ",".join(dict.fromkeys(c.go for c in cells))
    return {"include": [c.to_json(i, len(cells), toolchains) for i, c in enumerate(cells, 1)]}
