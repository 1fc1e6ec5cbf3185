"""Matrix cells: one context (the host, a suite container, a target) with one Go toolchain.

A cell is a ContextSpec (plan/spec.py); one that pins a toolchain is of the `go` kind and
named `CONTEXT+go1.X.Y`: the name is what the items (`app.build@host+go1.24.13`), the
results' `os` and the tables show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.plan.spec import ContextSpec


def plan(contexts: Sequence[ContextSpec], toolchains: Sequence[str]) -> list[ContextSpec]:
    """Every context with every toolchain, in that order (the table's column order)."""
    return [c.with_go(g) for c in contexts for g in toolchains]


def shard(cells: Sequence[ContextSpec], index: int, total: int) -> list[ContextSpec]:
    """Shard I of N: every Nth cell from the Ith, so N = the number of cells gives one
    cell a shard, and fewer shards get slices of about equal size."""
    mine = list(cells[index - 1 :: total])
    if not mine:
        raise InputError(
            f"--fynecheck-shard {index}/{total}: the matrix has only {len(cells)} cell(s) "
            f"({', '.join(c.name for c in cells)}), so this shard would run nothing"
        )
    return mine


def to_json(cell: ContextSpec, index: int, total: int, toolchains: str) -> dict[str, Any]:
    """One entry of GitHub Actions' `strategy.matrix.include`."""
    base = cell.base or cell
    # The job's suite: host, or the suite's image (a windows or web variant is the target
    # axis, so bookworm-web is suite bookworm, target web).
    suite = "host" if not base.suite else base.suite if base.target != "linux" else base.name
    return {
        "shard": f"{index}/{total}",
        "cell": cell.name,
        "suite": suite,
        "go": cell.go,
        "target": cell.target,
        # Exact versions for the shard's --fynecheck-go: a Go release between the plan
        # job and the shards' jobs must not change the plan under them.
        "toolchains": toolchains,
    }


def github_matrix(cells: Sequence[ContextSpec]) -> dict[str, Any]:
    """`strategy.matrix` for `fromJSON`: one job per cell, each told its shard."""
    toolchains = ",".join(dict.fromkeys(c.go for c in cells))
    return {"include": [to_json(c, i, len(cells), toolchains) for i, c in enumerate(cells, 1)]}
