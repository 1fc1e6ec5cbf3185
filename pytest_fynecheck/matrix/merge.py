"""`python -m pytest_fynecheck merge *.json`: the cells' --fynecheck-json files, joined
into the one matrix table, with every planned cell accounted for exactly once."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_fynecheck.core import report
from pytest_fynecheck.core.model import InputError, Result
from pytest_fynecheck.matrix import summary


@dataclasses.dataclass(frozen=True)
class Run:
    """One --fynecheck-json file."""

    path: str
    results: list[Result]
    cells: list[str]  # the whole matrix's cells, in table order
    ran: list[str]  # the cells this run ran
    shard: str | None
    thumbnails: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Merged:
    results: list[Result]
    cells: list[str]
    thumbnails: dict[str, str]

    @property
    def ready(self) -> bool:
        return not any(r.blocking for r in self.results)

    def table(self) -> str:
        return report.matrix(self.results, columns=self.cells)

    def to_json(self) -> str:
        return report.to_json(self.results, {"matrix": meta(self.cells, None, self.cells,
                                                             self.thumbnails)})


def meta(cells: Sequence[str], shard: str | None, ran: Sequence[str],
         thumbnails: dict[str, str]) -> dict[str, Any]:
    """What a --fynecheck-json file says about the matrix it is part of."""
    return {"cells": list(cells), "shard": shard, "ran": list(ran), "thumbnails": thumbnails}


def load(path: str | Path, text: str | None = None) -> Run:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") if text is None else text)
        results = [Result.from_json(c) for c in data["checks"]]
    except OSError as exc:
        raise InputError(f"merge: cannot read {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"merge: {path} is not a --fynecheck-json file ({type(exc).__name__}: {exc})"
        ) from None
    if data.get("interrupted"):
        # Its cells' missing checks would read as passed: no merge makes it a verdict.
        raise InputError(
            f"merge: {path} is from an interrupted run ({data.get('interrupted_by', '?')}): "
            "not every check ran; run that shard again"
        )
    seen = list(dict.fromkeys(r.where for r in results))
    m = data.get("matrix") or {}
    ran = m.get("ran") or seen
    return Run(str(path), results, m.get("cells") or ran, ran, m.get("shard"),
               m.get("thumbnails") or {})


def merge(runs: Sequence[Run]) -> Merged:
    if not runs:
        raise InputError("merge: no JSON files given")
    plan = runs[0].cells
    for run in runs[1:]:
        if run.cells != plan:
            raise InputError(
                f"merge: {runs[0].path} and {run.path} come from different matrices:\n"
                f"  {', '.join(plan)}\n  {', '.join(run.cells)}"
            )
    owner: dict[str, Run] = {}
    for run in runs:
        for cell in run.ran:
            if cell in owner:
                raise InputError(
                    f"merge: cell {cell} is in both {owner[cell].path} and {run.path}; "
                    "give each shard's file once"
                )
            owner[cell] = run
    missing = [c for c in plan if c not in owner]
    if missing:
        where = ", ".join(f"{c} (shard {plan.index(c) + 1}/{len(plan)})" for c in missing)
        raise InputError(f"merge: no JSON for cell(s) {where}: a shard did not run or its "
                         "file was not passed")
    results = ordered([r for c in plan for r in owner[c].results if r.where == c], plan)
    thumbs = {c: t for run in runs for c, t in run.thumbnails.items()}
    return Merged(results, list(plan), thumbs)


def ordered(results: Sequence[Result], cells: Sequence[str]) -> list[Result]:
    """Rows in catalogue order (as one run reports them; unknown ids after, as they came),
    and within a row the cells in table order."""
    from pytest_fynecheck.checks import catalogue

    ids = list(catalogue())
    extra = [r.id for r in results if r.id not in ids]
    rank = {i: n for n, i in enumerate([*ids, *dict.fromkeys(extra)])}
    column = {c: n for n, c in enumerate(cells)}
    return sorted(results, key=lambda r: (rank[r.id], column.get(r.where, len(column))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_fynecheck merge",
        description="Join the --fynecheck-json files of a sharded matrix run into one table.",
    )
    parser.add_argument("files", nargs="+", metavar="JSON", help="one file per shard")
    parser.add_argument("-o", "--output", metavar="PATH", help="write the merged JSON here")
    parser.add_argument(
        "--summary",
        metavar="PATH",
        help="write the summary page (Markdown; HTML for .html); default: $GITHUB_STEP_SUMMARY "
        "when set",
    )
    args = parser.parse_args(argv)
    try:
        merged = merge([load(p) for p in args.files])
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(merged.table())
    if args.output:
        Path(args.output).write_text(merged.to_json(), encoding="utf-8")
        print(f"fynecheck: merged JSON written to {args.output}")
    targets = [(Path(args.summary), False)] if args.summary else []
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        targets.append((Path(os.environ["GITHUB_STEP_SUMMARY"]), True))
    for path, append in targets:
        summary.write(path, merged.results, merged.cells, merged.thumbnails, append=append)
        print(f"fynecheck: summary written to {path}")
    return 0 if merged.ready else 1
