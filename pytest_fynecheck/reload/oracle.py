"""Quiescence and the verdict on it: exactly one probe alive, built from the final tree,
holding the port, and nothing restarts afterwards."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from pytest_fynecheck.reload import probe
from pytest_fynecheck.reload.sandbox import POLL, ProbeInfo, Sandbox


@dataclasses.dataclass
class Verdict:
    problems: list[str]
    alive: list[ProbeInfo]
    settled_after: float
    builds: int

    @property
    def ok(self) -> bool:
        return not self.problems


def settle(box: Sandbox, quiet: float, timeout: float) -> float | None:
    """Wait until no build runs and nothing started for `quiet` s; the seconds that took,
    or None when it never happened within `timeout` (a rebuild loop)."""
    start = time.monotonic()
    last, seen = start, box.activity()
    while True:
        now = time.monotonic()
        current = box.activity()
        if current != seen or box.busy():
            seen, last = current, now
        elif now - last >= quiet:
            return now - start
        if now - start >= timeout:
            return None
        time.sleep(POLL)


def judge(
    box: Sandbox,
    history: Sequence[tuple[str, str]],
    *,
    quiet: float,
    timeout: float,
) -> Verdict:
    """`history`: (label, tree hash) at the start and after every write; the last is
    the final tree."""
    final_label, final = history[-1]
    builds_before = len(box.builds())
    took = settle(box, quiet, timeout)
    problems: list[str] = []
    if took is None:
        starts = [b for b in box.builds() if b[0] == "start"]
        problems.append(
            f"never quiet: builds or restarts kept coming for {timeout:g} s after the last "
            f"change ({len(starts)} builds in all) — a rebuild loop"
        )
    alive = [p for p in box.probes() if p.alive]
    if not alive:
        problems.append("no app is running after quiescence" + _last_attempt(box))
    elif len(alive) > 1:
        problems.append(
            f"{len(alive)} app processes are alive after quiescence (pids "
            f"{', '.join(str(p.pid) for p in alive)}): old ones were not stopped"
        )
    for p in alive:
        if p.hash != final:
            problems.append(f"pid {p.pid} runs {_which_tree(p.hash, history)}, not the final "
                            f"tree ({final_label})" + _only_assets(box, p.hash, final))
        if not p.bound:
            problems.append(f"pid {p.pid} could not hold its port {p.port}: {p.error}")
    holders = [p for p in alive if p.bound and p.hash != final]
    refused = [p for p in box.probes() if not p.alive and p.hash == final and not p.bound]
    if holders and (refused or len(alive) > 1):
        problems.append(
            f"port {holders[0].port} is held by an old process (pid {holders[0].pid})"
            + (f"; the app built from the final tree (pid {refused[-1].pid}) exited: "
               f"{refused[-1].error}" if refused else "")
        )
    if took is not None and not problems:
        before = box.activity()
        deadline = time.monotonic() + quiet
        while time.monotonic() < deadline:
            if box.activity() != before:
                problems.append(f"restarted after {quiet:g} s of quiescence with no change")
                break
            time.sleep(POLL)
    return Verdict(problems, alive, took or timeout, len(box.builds()) - builds_before)


def _which_tree(hash_: str, history: Sequence[tuple[str, str]]) -> str:
    for label, h in reversed(history):
        if h == hash_:
            return f"a stale build (the tree as it was {label})"
    return "a build of no tree state the churn made"


def _only_assets(box: Sandbox, old: str, new: str) -> str:
    a, b = box.states.get(old), box.states.get(new)
    if a is None or b is None:
        return ""
    changed = {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}
    if changed and all(p.startswith(probe.ASSETS + "/") for p in changed):
        return (f"; only //go:embed files differ ({', '.join(sorted(changed))}): the tool "
                "does not watch the embedded assets")
    return ""


def _last_attempt(box: Sandbox) -> str:
    ends = [b for b in box.builds() if b[0] == "end"]
    if ends and ends[-1][-1] != "0":
        return f"; the last build failed (exit status {ends[-1][-1]})"
    dead = [p for p in box.probes() if not p.alive and p.error]
    if dead:
        return f"; the last app started but exited: {dead[-1].error}"
    return ""


__all__ = ["Verdict", "judge", "settle"]
