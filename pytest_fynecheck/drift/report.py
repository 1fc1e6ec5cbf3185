"""What a drift check found: one `Result` (kind "drift") per aspect, and the binary's header."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pytest_fynecheck.core import report as doctor
from pytest_fynecheck.core.model import Result, Status

# Drift's words for the statuses its comparisons give. Missing data is never a match.
MATCH, DRIFT, UNKNOWN = Status.OK, Status.FAIL, Status.NA


def aspect(
    id: str, status: Status, summary: str, lines: Sequence[str] = (), hint: str = ""
) -> Result:
    """One comparison between the binary and the source tree; `where` (the binary) is
    set when the report is made."""
    return Result(id, summary, status, "\n".join(lines), hint, kind="drift")


@dataclasses.dataclass(frozen=True)
class DriftReport:
    binary: str
    project: str
    # What the binary says about how it was built (GOOS/GOARCH, CGO_ENABLED, -tags, -trimpath).
    build: tuple[tuple[str, str], ...]
    aspects: tuple[Result, ...]

    def __post_init__(self) -> None:
        where = tuple(dataclasses.replace(a, where=self.binary) for a in self.aspects)
        object.__setattr__(self, "aspects", where)

    def __getitem__(self, aspect_id: str) -> Result:
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise KeyError(f"no drift aspect {aspect_id!r}; known: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.aspects]

    def verdicts(self) -> dict[str, str]:
        return {a.id: doctor.DRIFT_WORDS[a.status] for a in self.aspects}

    @property
    def drifted(self) -> list[Result]:
        return [a for a in self.aspects if a.status is DRIFT]

    def header(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.build)
        return f"binary {self.binary}\nproject {self.project}\nbuilt with {shown}"

    def text(self, only: Sequence[str] | None = None) -> str:
        chosen = [a for a in self.aspects if only is None or a.id in only]
        return self.header() + "\n" + "\n".join(doctor.describe(a) for a in chosen)

    def to_json(self) -> dict[str, Any]:
        return {
            "binary": self.binary,
            "project": self.project,
            "build": dict(self.build),
            "aspects": [a.to_json() for a in self.aspects],
        }
