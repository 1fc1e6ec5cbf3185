"""One run of the churn: a fresh sandbox with one watcher, each step followed by a
cookie barrier and the oracle's verdict on its window of events; replays of a failure,
what they measured (a race or a deterministic bug), and dropping the steps it does not need.
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
import time
from collections.abc import Callable, Sequence

from pytest_fynecheck.churn.prims import Prim
from pytest_fynecheck.watcher.churn import (
    COOKIE_PREFIX,
    Expect,
    Kind,
    Step,
    renamed,
    shorter_names,
)
from pytest_fynecheck.watcher.modes import Mode, Sandbox
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.oracle import Verdict, is_cookie, judge
from pytest_fynecheck.watcher.protocol import Event, WatcherProcess


@dataclasses.dataclass
class Stats:
    examples: int = 0
    steps: int = 0
    prims: int = 0
    declared: list[str] = dataclasses.field(default_factory=list)
    # Set by the first failure: how often its steps failed again when replayed, and so
    # how many tries each later example gets (1: the bug is deterministic).
    replayed: int = 0
    refailed: int = 0
    tries: int = 1
    retry_until: float = 0.0  # time.monotonic() when retries end (Options.race_budget)

    @property
    def race(self) -> bool:
        return self.replayed > 0 and self.refailed < self.replayed

    def failure_rate(self) -> float:
        """Estimated chance that one replay fails: never 0 (it failed once), never 1 (five
        replays cannot prove a bug deterministic)."""
        if not self.replayed:
            return 1.0
        return min(max(self.refailed, 0.5), self.replayed - 0.5) / self.replayed


def tries_for(rate: float, miss: float, cap: int) -> int:
    """Tries so that a bug failing with chance `rate` per try is missed with chance <= miss."""
    if rate >= 1.0:
        return 1
    return max(1, min(cap, math.ceil(math.log(miss) / math.log(1.0 - rate))))


class StepFailed(AssertionError):
    """The watcher missed (or misreported) what one step did."""

    def __init__(
        self,
        reason: str,
        steps: list[Step],
        verdict: Verdict,
        window: list[Event],
        barrier_seen: bool,
    ) -> None:
        self.reason = reason
        self.steps = steps
        self.verdict = verdict
        self.window = window
        self.barrier_seen = barrier_seen
        super().__init__(self.describe())

    def describe(self) -> str:
        step = self.steps[-1]
        lines = [f"{self.reason} at step {len(self.steps)}: {step.label}"]
        ops: dict[str, set[str]] = {}
        for e in self.window:
            ops.setdefault(e.path, set()).add(e.op)
        for miss in self.verdict.missing[:10]:
            lines.append(f"  never came: {miss}{_only_as(miss, ops)}")
        if len(self.verdict.missing) > 10:
            lines.append(f"  ... and {len(self.verdict.missing) - 10} more")
        for err in self.verdict.declared[:5]:
            lines.append(f"  watcher declared: {err}")
        for ev in self.verdict.strays[:5]:
            lines.append(f"  event for a path never touched: {ev.op} {ev.path!r}")
        if not self.barrier_seen:
            lines.append("  the barrier cookie itself was never reported")
        lines.extend(window_lines(self.window))
        return "\n".join(lines)


# Events of a failing step's window shown at most (a burst makes many).
SHOWN_EVENTS = 20


def window_lines(window: Sequence[Event]) -> list[str]:
    """The window's count and its churn events, saying what is left out (the barrier
    cookie's own events; past SHOWN_EVENTS, the rest), so the count and the list agree."""
    churn = [e for e in window if not is_cookie(e.path)]
    cookies = len(window) - len(churn)
    shown = churn[:SHOWN_EVENTS]
    head = f"  events in this step's window: {len(window)}"
    if not churn:
        return [head + (", all for the barrier cookie (not shown)" if cookies else "")]
    parts = [f"{cookies} for the barrier cookie, not shown"] if cookies else []
    if len(shown) < len(churn):
        parts.append(f"the first {len(shown)} of the {len(churn)} others below" if cookies
                     else f"the first {len(shown)} below")
    elif cookies:
        parts.append(f"the {len(churn)} other(s) below")
    lines = [head + (f" ({'; '.join(parts)})" if parts else "")]
    lines.extend(f"    {e.op} {e.path!r}" for e in shown)
    return lines


_NOUN = {Kind.APPEARED: "a new path", Kind.CONTENT: "changed content", Kind.GONE: "a gone path"}


def _only_as(miss: Expect, ops: dict[str, set[str]]) -> str:
    """Why the events that did name the path do not count (README: the pass rule)."""
    got = sorted(ops.get(miss.path, set()))
    if not got:
        return ""
    return f"; it came only as {' and '.join(got)}, which does not report {_NOUN[miss.kind]}"


class Run:
    """One fresh sandbox with one watcher: applies steps, each followed by a cookie
    barrier and the oracle's verdict on that step's window of events."""

    def __init__(self, cmd: str | list[str], mode: Mode, options: Options) -> None:
        self.options = options
        self.steps: list[Step] = []
        self.touched: set[str] = set()
        self.sandbox: Sandbox = mode.sandbox()
        try:
            self.watcher: WatcherProcess = self.sandbox.start_watcher(cmd)
            try:
                self.watcher.wait_ready(options.timeout)
            except BaseException:
                self.watcher.stop()
                raise
        except BaseException:
            self.sandbox.close()
            raise
        self._mark = 0
        self._err_mark = 0

    def close(self) -> None:
        try:
            self.watcher.stop()
        finally:
            self.sandbox.close()

    def step(self, step: Step, stats: Stats | None = None) -> StepFailed | None:
        """Apply `step`; the failure when the watcher missed what it did."""
        self.steps.append(step)
        self.touched |= step.touched
        self.sandbox.fs.apply(step.prims)
        seen = self._barrier(len(self.steps))
        w = self.watcher
        with w.cond:
            window = w.events[self._mark :]
            declared = w.errors[self._err_mark :]
            self._mark, self._err_mark = len(w.events), len(w.errors)
        w.check_garbage()
        if not seen:
            w.check_alive()
        verdict = judge(step.expects, window, declared, self.touched)
        if stats is not None:
            stats.steps += 1
            stats.prims += len(step.prims)
        o = self.options
        if verdict.declared and not o.fail_on_declared_loss:
            if stats is not None:
                stats.declared.extend(verdict.declared)
            return None  # the watcher said it lost events; allowed by configuration
        reason = ""
        if verdict.declared:
            reason = "declared loss (the watcher printed an error)"
        elif verdict.missing or not seen:
            reason = "silent loss"
        elif o.strict and verdict.strays:
            reason = "strict: events for paths the churn never touched"
        return StepFailed(reason, list(self.steps), verdict, window, seen) if reason else None

    def _barrier(self, n: int) -> bool:
        cookie = f"{COOKIE_PREFIX}{n}"
        fs = self.sandbox.fs
        fs.apply([Prim("write", cookie, b"c")])

        def poke() -> None:
            fs.apply([Prim("append", cookie, b"c")])  # a lossy watcher may drop the first

        def came(events: list[Event]) -> bool:
            return any(e.path == cookie for e in events[self._mark :])

        ok = self.watcher.wait_for(came, self.options.timeout, poke)
        if ok and self.options.grace:
            time.sleep(self.options.grace)
        return ok


def replay(
    cmd: str | list[str], mode: Mode, options: Options, steps: Sequence[Step]
) -> StepFailed | None:
    """The steps once more, on a fresh sandbox and watcher: the first failure, if any."""
    run = Run(cmd, mode, options)
    try:
        for step in steps:
            failed = run.step(step)
            if failed is not None:
                return failed
        return None
    finally:
        run.close()


def consistent(steps: Sequence[Step]) -> bool:
    """Whether `steps`, replayed verbatim, still mean what their expectations say: each
    path a step expects to appear is new then, each it expects changed or gone exists, and
    every operation finds what it needs. Dropping a step can break that (a later burst then
    rewrites a file the dropped rename had moved away), and a broken rest fails falsely."""
    exists = {""}
    for step in steps:
        for e in step.expects:
            if (e.kind is Kind.APPEARED) == (e.path in exists):
                return False
        for p in step.prims:
            parent = posixpath.dirname(p.path)
            if p.verb in ("write", "append"):
                if parent not in exists:
                    return False
                exists.add(p.path)
            elif p.verb in ("mkdir", "symlink"):
                if p.path in exists or parent not in exists:
                    return False
                exists.add(p.path)
            elif p.path not in exists:  # truncate chmod rename remove rmtree
                return False
            elif p.verb == "rename":
                if posixpath.dirname(p.dest) not in exists:
                    return False
                exists.discard(p.path)
                exists.add(p.dest)
            elif p.verb in ("remove", "rmtree"):
                exists = {x for x in exists if x != p.path and not x.startswith(p.path + "/")}
    return True


def minimize(
    cmd: str | list[str], mode: Mode, options: Options, failure: StepFailed, tries: int
) -> StepFailed:
    """Drop the steps Hypothesis kept and could not delete (its rule choices shift when an
    earlier step goes), then give each path the steps make a one-letter name. A candidate
    is kept when, replayed verbatim up to `tries` times, it still fails; one that no
    longer applies (a file it needs is gone) is no candidate. The failing step alone goes
    first; then steps go back to front, so a step is tried after the later ones that need
    it, in passes until one drops nothing. Names go last: Hypothesis shrinks them too,
    but not when its shrink is cut short (a race past its budget, or no shrink phase)."""

    def refails(rest: list[Step]) -> StepFailed | None:
        for _ in range(tries):
            try:
                found = replay(cmd, mode, options, rest)
            except (OSError, RuntimeError):
                return None  # a step of the rest needed the dropped one
            if found is not None:
                return found
        return None

    return _shorten_names(_drop_steps(failure, refails), refails)


Refails = Callable[[list[Step]], "StepFailed | None"]


def _drop_steps(failure: StepFailed, refails: Refails) -> StepFailed:
    best = failure
    last = best.steps[-1:]
    if len(best.steps) > 1 and consistent(last) and (alone := refails(last)) is not None:
        return alone
    needed: set[int] = set()  # ids of steps whose removal made a consistent rest pass
    dropped = True
    while dropped:
        dropped = False
        i = len(best.steps) - 2  # the failing step stays
        while i >= 0:
            step = best.steps[i]
            rest = best.steps[:i] + best.steps[i + 1 :]
            if id(step) not in needed and consistent(rest):
                found = refails(rest)
                if found is not None and len(found.steps) < len(best.steps):
                    best, dropped = found, True
                else:
                    needed.add(id(step))
            i = min(i - 1, len(best.steps) - 2)  # a rest may fail at an earlier step
    return best


# Paths the minimizer tries to rename, at most (each try is a replay, or `tries` of them).
MAX_RENAMES = 12


def _shorten_names(failure: StepFailed, refails: Refails) -> StepFailed:
    """Each made path renamed to a free one-letter name, kept when the steps still fail;
    after a kept rename the candidates are listed again (paths under it moved)."""
    best, tried = failure, set[str]()
    again = True
    while again and len(tried) < MAX_RENAMES:
        again = False
        for old, new in shorter_names(best.steps):
            if old in tried or len(tried) >= MAX_RENAMES:
                continue
            tried.add(old)
            candidate = renamed(best.steps, old, new)
            if not consistent(candidate):
                continue
            found = refails(candidate)
            if found is not None and len(found.steps) <= len(best.steps):
                best, again = found, True
                break
    return best
