"""The data every part of the kit passes around: check results and their status."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Status(str, enum.Enum):
    OK = "ok"
    FAIL = "fail"
    WARN = "warn"
    NA = "n/a"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "fail": "✗", "warn": "!", "n/a": "-"}[self.value]


@dataclasses.dataclass(frozen=True)
class Result:
    """What one check found in one context."""

    id: str
    title: str
    status: Status
    detail: str = ""
    hint: str = ""
    os: str = "host"
    required: bool = True
    seconds: float = 0.0
    # Paths a person may want to open (screenshots, logs), by role.
    artifacts: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """A failed required check makes the run fail."""
        return self.required and self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(**{**data, "status": Status(data["status"])})


class CheckFailed(Exception):
    """Raised inside a check to end it with a failure (or another status)."""

    def __init__(self, detail: str, hint: str = "", status: Status = Status.FAIL) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint
        self.status = status


class NotApplicable(CheckFailed):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, status=Status.NA)


class CheckWarning(CheckFailed):
    def __init__(self, detail: str, hint: str = "") -> None:
        super().__init__(detail, hint, status=Status.WARN)


class InputError(Exception):
    """Bad input from the user: one clear message that names the input, no traceback."""
