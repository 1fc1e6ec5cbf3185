"""The data every part of the kit passes around: results (of checks, watcher and reload
modes, drift aspects) and their status."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any


class Status(str, enum.Enum):
    OK = "ok"
    FAIL = "fail"
    WARN = "warn"
    NA = "n/a"
    # A check whose requirement failed: it says which, and is not a failure of its own.
    NOT_RUN = "not run"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "fail": "✗", "warn": "!", "n/a": "-", "not run": "○"}[self.value]


# What a result is about: a readiness check, a watcher or reload mode, a drift aspect.
KINDS = ("check", "watcher", "reload", "drift")


@dataclasses.dataclass(frozen=True)
class Result:
    """What one check, mode or drift aspect found, where it ran."""

    id: str
    title: str
    status: Status
    detail: str = ""
    hint: str = ""
    # A check's context or matrix cell, a watcher's or reload tool's mode, a drift binary.
    where: str = "host"
    required: bool = True
    seconds: float = 0.0
    # Paths a person may want to open (screenshots, logs, a built binary), by role.
    artifacts: dict[str, str] = dataclasses.field(default_factory=dict)
    kind: str = "check"

    @property
    def blocking(self) -> bool:
        """A failed required check makes the run fail; so does one not run (its failed
        requirement is required too, but the kit never says "ready" unverified)."""
        return self.required and self.status in (Status.FAIL, Status.NOT_RUN)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        # "os": the key --fynecheck-json files and the matrix merge have always read.
        data["os"] = data.pop("where")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        fields = {k: v for k, v in data.items() if k != "os"}
        # Files written before results had a kind hold checks only.
        return cls(**{**fields, "where": data.get("os", "host"), "status": Status(data["status"])})


# What a check receives from the checks it requires: their results, by check id.
Needs = Mapping[str, Result]


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
    def __init__(self, detail: str, hint: str = "",
                 artifacts: dict[str, str] | None = None) -> None:
        super().__init__(detail, hint, status=Status.WARN)
        # What a warned check made all the same (a screenshot): reported as a Found's.
        self.artifacts = artifacts or {}


class InputError(Exception):
    """Bad input from the user: one clear message that names the input, no traceback."""
