"""What a drift check found: one aspect per item, and the text a person reads."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any


class Verdict(str, enum.Enum):
    MATCH = "match"
    DRIFT = "drift"
    # Missing data is never a match: the reason says why it is missing.
    UNKNOWN = "unknown"

    @property
    def mark(self) -> str:
        return {"match": "✓", "drift": "✗", "unknown": "?"}[self.value]


@dataclasses.dataclass(frozen=True)
class Aspect:
    """One comparison between the binary and the source tree."""

    id: str
    verdict: Verdict
    summary: str
    lines: tuple[str, ...] = ()
    hint: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["verdict"] = self.verdict.value
        data["lines"] = list(self.lines)
        return data


@dataclasses.dataclass(frozen=True)
class DriftReport:
    binary: str
    project: str
    # What the binary says about how it was built (GOOS/GOARCH, CGO_ENABLED, -tags, -trimpath).
    build: tuple[tuple[str, str], ...]
    aspects: tuple[Aspect, ...]

    def __getitem__(self, aspect_id: str) -> Aspect:
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise KeyError(f"no drift aspect {aspect_id!r}; known: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.aspects]

    def verdicts(self) -> dict[str, str]:
        return {a.id: a.verdict.value for a in self.aspects}

    @property
    def drifted(self) -> list[Aspect]:
        return [a for a in self.aspects if a.verdict is Verdict.DRIFT]

    def header(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.build)
        return f"binary {self.binary}\nproject {self.project}\nbuilt with {shown}"

    def text(self, only: Sequence[str] | None = None) -> str:
        chosen = [a for a in self.aspects if only is None or a.id in only]
        return self.header() + "\n" + "\n".join(describe(a) for a in chosen)

    def to_json(self) -> dict[str, Any]:
        return {
            "binary": self.binary,
            "project": self.project,
            "build": dict(self.build),
            "aspects": [a.to_json() for a in self.aspects],
        }


def describe(aspect: Aspect) -> str:
    lines = [f"[{aspect.verdict.mark}] drift {aspect.id}: {aspect.verdict.value}: {aspect.summary}"]
    lines += [f"    {line}" for line in aspect.lines]
    if aspect.hint and aspect.verdict is not Verdict.MATCH:
        lines.append(f"    fix: {aspect.hint}")
    return "\n".join(lines)
