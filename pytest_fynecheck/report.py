"""The doctor-style report and its JSON form."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pytest_fynecheck.model import Result, Status


def describe(result: Result) -> str:
    """One check: its mark line, then what was found and the fix, indented."""
    optional = "" if result.required else " (optional)"
    where = "" if result.os == "host" else f" [{result.os}]"
    lines = [f"[{result.status.mark}] {result.id}{where}: {result.title}{optional}"]
    for text in result.detail.splitlines():
        lines.append(f"    {text}")
    if result.hint and result.status in (Status.FAIL, Status.WARN):
        lines.append(f"    fix: {result.hint}")
    for role, path in sorted(result.artifacts.items()):
        lines.append(f"    {role}: {path}")
    return "\n".join(lines)


def table(results: Sequence[Result]) -> str:
    body = "\n".join(describe(r) for r in results)
    return f"{body}\n{summary(results)}"


def summary(results: Sequence[Result]) -> str:
    counts = {s: sum(r.status is s for r in results) for s in Status}
    blocking = [r for r in results if r.blocking]
    verdict = (
        f"NOT READY: {len(blocking)} required check(s) failed"
        if blocking
        else "ready: every required check passed"
    )
    parts = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    return f"{verdict} ({parts})"


def to_json(results: Sequence[Result]) -> str:
    return json.dumps(
        {
            "checks": [r.to_json() for r in results],
            "ready": not any(r.blocking for r in results),
        },
        indent=2,
        ensure_ascii=False,
    )
