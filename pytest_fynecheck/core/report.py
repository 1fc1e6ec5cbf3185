"""The report model: how results read (the doctor-style lines, the checks-by-OS matrix,
the JSON form) and `Section`, the part of the run's one terminal summary a feature adds.
Pure text and data, below every feature: run/report.py renders it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_fynecheck.core.model import Result, Status


class Order:
    """Where a section goes in the summary (`Section.order`); equal orders sort by title,
    then lines."""

    DRIFT = 10  # the binaries a drift check compared
    CHECKS = 20  # the readiness checks, the verdict, the build cache and the JSON file
    BY_OS = 30  # the checks-by-OS matrix
    PLUGINS = 50  # the default: a third-party plugin's section
    FILES = 90  # lines naming files the run wrote (reproducers, summary pages)


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the terminal summary: the `=` rule `title` ("" for none: lines that
    follow the section before) over `lines`; shown only when it has lines. `json`: keys it
    adds to the --fynecheck-json file (never the verdict's: `to_json`)."""

    title: str
    lines: Sequence[str] = ()
    order: int = Order.PLUGINS
    json: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))  # a plugin's list sorts too

    def key(self) -> tuple[int, str, tuple[str, ...]]:
        return (self.order, self.title, tuple(self.lines))


# Drift's own words for a status: what a person comparing a binary with its tree reads.
DRIFT_WORDS = {Status.OK: "match", Status.FAIL: "drift", Status.NA: "unknown", Status.WARN: "warn"}


def describe(result: Result) -> str:
    """One result: its mark line, then what was found and the fix, indented."""
    if result.kind == "drift":
        word = DRIFT_WORDS[result.status]
        lines = [f"[{result.status.mark}] drift {result.id}: {word}: {result.title}"]
    else:
        optional = "" if result.required else " (optional)"
        where = "" if result.where == "host" else f" [{result.where}]"
        lines = [f"[{result.status.mark}] {result.id}{where}: {result.title}{optional}"]
    for text in result.detail.splitlines():
        lines.append(f"    {text}")
    # An aspect that cannot be compared has a fix (build with vcs info); a n/a check none.
    fixable = (Status.FAIL, Status.WARN, Status.NOT_RUN,
               *((Status.NA,) if result.kind == "drift" else ()))
    if result.hint and result.status in fixable:
        lines.append(f"    fix: {result.hint}")
    for role, path in sorted(result.artifacts.items()):
        lines.append(f"    {role}: {path}")
    return "\n".join(lines)


def table(results: Sequence[Result], interrupted: str | None = None) -> str:
    body = "\n".join(describe(r) for r in results)
    return f"{body}\n{summary(results, interrupted)}".lstrip("\n")


def summary(results: Sequence[Result], interrupted: str | None = None) -> str:
    """The verdict line. `interrupted`: why the run stopped early (e.g. "SIGTERM"); such
    a run is never ready, whatever its finished checks say."""
    counts = {s: sum(r.status is s for r in results) for s in Status}
    failed = sum(r.blocking and r.status is Status.FAIL for r in results)
    not_run = sum(r.blocking and r.status is Status.NOT_RUN for r in results)
    # A check not run is not a second failure; it still is no pass.
    why = [*([f"{failed} required check(s) failed"] if failed else []),
           *([f"{not_run} not run"] if not_run else [])]
    if interrupted:
        before = f"; {', '.join(why)} before it" if why else ""
        verdict = (
            f"INTERRUPTED ({interrupted}): not every check ran, so this is no verdict{before}"
        )
    elif why:
        verdict = f"NOT READY: {', '.join(why)}"
    elif not earned(results):
        verdict = ("NO VERDICT: no required check passed (-k or -m left them out, or none "
                   "applies), so this is not ready")
    else:
        verdict = "ready: every required check passed"
    parts = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    return f"{verdict} ({parts or 'no check finished'})"


def earned(results: Sequence[Result]) -> bool:
    """Whether a "ready" would rest on anything: a run of only optional or n/a checks
    (`-k package`) proved nothing of readiness."""
    return any(r.required and r.status in (Status.OK, Status.WARN) for r in results)


def to_json(
    results: Sequence[Result],
    extra: Mapping[str, Any] | None = None,
    interrupted: str | None = None,
) -> str:
    """`extra`: what plugins add (the matrix this run is part of); never the verdict's keys,
    so no plugin turns a failed run "ready". `interrupted`: why the run stopped early; then
    "ready" is false and "interrupted" true."""
    verdict = {
        "checks": [r.to_json() for r in results],
        "ready": not interrupted and not any(r.blocking for r in results) and earned(results),
        "interrupted": bool(interrupted),
        **({"interrupted_by": interrupted} if interrupted else {}),
    }
    added = {k: v for k, v in (extra or {}).items() if k not in (*verdict, "interrupted_by")}
    return json.dumps({**verdict, **added}, indent=2, ensure_ascii=False)


def matrix(
    results: Sequence[Result], columns: Sequence[str] | None = None, interrupted: str | None = None
) -> str:
    """One row per check, one column per OS or matrix cell (`columns`' order, else host
    first, then in order of appearance); each cell is the status mark. Failures' details
    stay in `table`, above it. Only checks: a watcher's mode is not an OS. An interrupted
    run's OS without a failure is "interrupted", never "ready"."""
    results = checks_only(results)
    oses: list[str] = []
    checks: list[str] = []
    cell: dict[tuple[str, str], Result] = {}
    for r in results:
        if r.where not in oses:
            oses.append(r.where)
        if r.id not in checks:
            checks.append(r.id)
        cell[(r.id, r.where)] = r
    if columns is not None:
        oses = [c for c in columns if c in oses] + [o for o in oses if o not in columns]
    else:
        oses.sort(key=lambda o: o != "host")  # stable: the host first, the rest as they came
    first = max([len("check"), *map(len, checks)])
    widths = [max(len(o), 1) for o in oses]
    header = "check".ljust(first) + "".join(
        f"  {o:^{w}}" for o, w in zip(oses, widths, strict=True)
    )
    lines = [header, "-" * len(header)]
    for check_id in checks:
        marks = [cell[(check_id, o)].status.mark if (check_id, o) in cell else " " for o in oses]
        row = "".join(f"  {m:^{w}}" for m, w in zip(marks, widths, strict=True))
        lines.append(check_id.ljust(first) + row.rstrip())
    legend = ", ".join(f"{s.mark} {s.value}" for s in Status)
    blocked = {os for (_, os), r in cell.items() if r.blocking}
    fine = "interrupted" if interrupted else "ready"
    earned_in = {os for (_, os), r in cell.items() if earned([r])}

    def said(o: str) -> str:
        if o in blocked:
            return "NOT READY"
        return fine if o in earned_in or interrupted else "no verdict"

    per_os = "; ".join(f"{o}: {said(o)}" for o in oses)
    return "\n".join([*lines, f"({legend})", per_os])


def checks_only(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.kind == "check"]
