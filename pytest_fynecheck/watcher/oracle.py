"""The per-step oracle: did the step's window of events cover every change?"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence

from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, Expect, ancestors
from pytest_fynecheck.watcher.protocol import Event


@dataclasses.dataclass(frozen=True)
class Verdict:
    missing: list[Expect]
    # Events for paths the churn never touched (only an error in strict mode).
    strays: list[Event]
    # `{"error": ...}` lines: the watcher said it lost events.
    declared: list[str]

    @property
    def silent_loss(self) -> bool:
        return bool(self.missing) and not self.declared


def is_cookie(path: str) -> bool:
    return os.path.basename(path).startswith(COOKIE_PREFIX)


def judge(
    expects: Sequence[Expect],
    window: Sequence[Event],
    declared: Sequence[str],
    touched: Iterable[str],
) -> Verdict:
    seen: dict[str, set[str]] = {}
    for ev in window:
        seen.setdefault(ev.path, set()).add(ev.op)
    # A chmod alone never covers a change: each kind names the ops that do.
    missing = [e for e in expects if not (seen.get(e.path, set()) & e.kind.covered_by)]
    known = set(touched)
    known |= ancestors(known)
    strays = [ev for ev in window if ev.path not in known and not is_cookie(ev.path)]
    return Verdict(missing, strays, list(declared))
