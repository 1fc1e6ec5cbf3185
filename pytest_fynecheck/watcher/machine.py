"""The Hypothesis state machine: random file churn, and after every step a cookie
barrier and the oracle's verdict on that step's window of events."""

from __future__ import annotations

import dataclasses
import math
import posixpath
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, Expect, Kind, Prim, Step, Tree, names
from pytest_fynecheck.watcher.modes import Mode, Sandbox
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.oracle import Verdict, judge
from pytest_fynecheck.watcher.protocol import Event, WatcherProcess

# Replays of the first failing run, to tell a race from a deterministic bug.
MEASURE_REPLAYS = 5
# Tries per shrink candidate, at most (each is a fresh sandbox and watcher).
MAX_TRIES = 5
FINAL_TRIES = 3


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
        for miss in self.verdict.missing[:10]:
            lines.append(f"  never came: {miss}")
        if len(self.verdict.missing) > 10:
            lines.append(f"  ... and {len(self.verdict.missing) - 10} more")
        for err in self.verdict.declared[:5]:
            lines.append(f"  watcher declared: {err}")
        for ev in self.verdict.strays[:5]:
            lines.append(f"  event for a path never touched: {ev.op} {ev.path!r}")
        if not self.barrier_seen:
            lines.append("  the barrier cookie itself was never reported")
        shown = [e for e in self.window if not e.path.startswith(COOKIE_PREFIX)][:20]
        lines.append(f"  events in this step's window: {len(self.window)}")
        lines.extend(f"    {e.op} {e.path!r}" for e in shown)
        return "\n".join(lines)


PICK = st.integers(0, 2**16)
DATA = st.binary(min_size=1, max_size=64)


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


def _is_final() -> bool:
    """Whether Hypothesis is replaying its shrunk example to report it (False outside a
    Hypothesis run, e.g. a bench driving the machine by hand)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:
        return False


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
    """Drop each step Hypothesis kept and could not delete (its rule choices shift when an
    earlier step goes), when the rest, replayed verbatim up to `tries` times, still fails.
    A rest that no longer applies (a file it needs is gone) is no candidate."""
    best = failure
    i = 0
    while i < len(best.steps) - 1:
        rest = best.steps[:i] + best.steps[i + 1 :]
        if not consistent(rest):
            i += 1
            continue
        found = None
        for _ in range(tries):
            try:
                found = replay(cmd, mode, options, rest)
            except (OSError, RuntimeError):
                break  # a step of the rest needed the dropped one
            if found is not None:
                break
        if found is not None and len(found.steps) < len(best.steps):
            best = found
        else:
            i += 1
    return best


class ChurnMachine(RuleBasedStateMachine):
    """Configured by `machine_for`; one instance per example, on a fresh sandbox.

    Race-aware. A failure is raised at teardown, after every rule has drawn its data:
    whether a race fired then never changes what Hypothesis draws (a raise mid-example
    would, and Hypothesis calls that a flaky strategy). The first failure is replayed
    MEASURE_REPLAYS times; later examples (the shrink candidates) that pass are tried
    again, up to `stats.tries` times in all, so a candidate that still holds the bug keeps
    failing and the shrunk steps hold only what the bug needs."""

    cmd: ClassVar[str | list[str]]
    mode: ClassVar[Mode]
    options: ClassVar[Options]
    stats: ClassVar[Stats]

    def __init__(self) -> None:
        super().__init__()
        self.tree = Tree()
        self.steps: list[Step] = []
        self.failure: StepFailed | None = None
        stats = self.stats
        self.final = _is_final()
        # Past the shrink budget a candidate is not run at all (it passes): Hypothesis then
        # ends its shrink at once with the smallest failure so far, which its final
        # replay (run for real, with the tries) must show again.
        over = bool(stats.replayed) and time.monotonic() > stats.retry_until
        self.current = None if over and not self.final else Run(self.cmd, self.mode, self.options)
        if self.current is not None:
            stats.examples += 1

    def teardown(self) -> None:
        if self.current is None:
            return
        try:
            self.current.close()
        finally:
            self._verdict()

    def _verdict(self) -> None:
        failure = self.failure
        stats = self.stats
        # Hypothesis's final replay must fail again to be reported: it gets the tries even
        # when the bug looked deterministic (five replays cannot prove that).
        tries = max(stats.tries, FINAL_TRIES) if self.final and stats.replayed else stats.tries
        retrying = tries > 1 and (self.final or time.monotonic() < stats.retry_until)
        if failure is None and retrying and self.steps:
            for _ in range(tries - 1):
                failure = replay(self.cmd, self.mode, self.options, self.steps)
                if failure is not None:
                    break
        if failure is None:
            return
        if not stats.replayed:
            stats.replayed = MEASURE_REPLAYS
            stats.refailed = sum(
                replay(self.cmd, self.mode, self.options, failure.steps) is not None
                for _ in range(MEASURE_REPLAYS)
            )
            # Failed every time: one try per candidate (a deterministic shrink costs what
            # it did). A race: enough tries that a candidate holding it fails 98 times in 100.
            stats.tries = (
                1 if not stats.race else max(2, tries_for(stats.failure_rate(), 0.02, MAX_TRIES))
            )
            stats.retry_until = time.monotonic() + self.options.race_budget
        raise failure

    # -- the oracle ------------------------------------------------------------------

    def run(self, step: Step) -> None:
        self.steps.append(step)
        # After a failure (or past the budget) only the model moves on: no IO.
        if self.failure is None and self.current is not None:
            self.failure = self.current.step(step, self.stats)

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _pick(items: list[str], i: int) -> str:
        return items[i % len(items)]

    def _parent(self, i: int) -> str:
        return self._pick(self.tree.parents(), i)

    def _nonempty(self) -> list[str]:
        return sorted(p for p, size in self.tree.files.items() if size)

    # -- rules -----------------------------------------------------------------------

    @rule(parent=PICK, name=names(), data=st.binary(max_size=64))
    def create(self, parent: int, name: str, data: bytes) -> None:
        self.run(self.tree.create(self._parent(parent), name, data))

    @precondition(lambda self: self.tree.files)
    @rule(pick=PICK, data=DATA)
    def write(self, pick: int, data: bytes) -> None:
        self.run(self.tree.write(self._pick(sorted(self.tree.files), pick), data))

    @precondition(lambda self: self.tree.files)
    @rule(pick=PICK, data=DATA)
    def append(self, pick: int, data: bytes) -> None:
        self.run(self.tree.append(self._pick(sorted(self.tree.files), pick), data))

    @precondition(lambda self: any(self.tree.files.values()))
    @rule(pick=PICK)
    def truncate(self, pick: int) -> None:
        self.run(self.tree.truncate(self._pick(self._nonempty(), pick)))

    @precondition(lambda self: self.tree.leaves())
    @rule(pick=PICK, parent=PICK, name=names())
    def rename(self, pick: int, parent: int, name: str) -> None:
        src = self._pick(self.tree.leaves(), pick)
        self.run(self.tree.rename(src, self._parent(parent), name))

    @precondition(lambda self: self.tree.files and len(self.tree.leaves()) >= 2)
    @rule(pick=PICK, over=PICK)
    def rename_over(self, pick: int, over: int) -> None:
        dst = self._pick(sorted(self.tree.files), over)
        src = self._pick([p for p in self.tree.leaves() if p != dst], pick)
        self.run(self.tree.rename_over(src, dst))

    @precondition(lambda self: self.tree.files)
    @rule(pick=PICK, data=DATA)
    def atomic_save(self, pick: int, data: bytes) -> None:
        self.run(self.tree.atomic_save(self._pick(sorted(self.tree.files), pick), data))

    @precondition(lambda self: self.tree.leaves())
    @rule(pick=PICK)
    def remove(self, pick: int) -> None:
        self.run(self.tree.remove(self._pick(self.tree.leaves(), pick)))

    @rule(parent=PICK, name=names(), files=st.lists(names(), max_size=4), nested=st.booleans())
    def mkdir(self, parent: int, name: str, files: list[str], nested: bool) -> None:
        self.run(self.tree.mkdir(self._parent(parent), name, files, nested))

    @precondition(lambda self: self.tree.sub_dirs())
    @rule(pick=PICK)
    def rmtree(self, pick: int) -> None:
        self.run(self.tree.rmtree(self._pick(self.tree.sub_dirs(), pick)))

    @precondition(lambda self: self.tree.files)
    @rule(pick=PICK)
    def chmod(self, pick: int) -> None:
        self.run(self.tree.chmod(self._pick(sorted(self.tree.files), pick)))

    @rule(parent=PICK, name=names(), aim=PICK, dangling=st.booleans())
    def symlink(self, parent: int, name: str, aim: int, dangling: bool) -> None:
        files = sorted(self.tree.files)
        to = "" if dangling or not files else self._pick(files, aim)
        self.run(self.tree.symlink(self._parent(parent), name, to))

    @rule(parent=PICK, count=st.integers(0, 10**6))
    def burst(self, parent: int, count: int) -> None:
        size = 2 + count % (self.options.max_burst - 1)
        self.run(self.tree.burst(self._parent(parent), size))


def machine_for(
    cmd: str | list[str], mode: Mode, options: Options, stats: Stats | None = None
) -> type[ChurnMachine]:
    """A ChurnMachine subclass bound to one watcher command and mode."""
    attrs: dict[str, Any] = {
        "cmd": cmd,
        "mode": mode,
        "options": options,
        "stats": stats or Stats(),
    }
    return type("WatcherChurn", (ChurnMachine,), attrs)


__all__ = ["ChurnMachine", "Expect", "Stats", "StepFailed", "machine_for"]
