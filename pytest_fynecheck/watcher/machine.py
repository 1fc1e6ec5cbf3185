"""The Hypothesis state machine: rules that draw random file churn, each step run by
watcher.run.Run (a cookie barrier and the oracle's verdict after it), race-aware
replays of a failure while Hypothesis shrinks it."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from pytest_fynecheck.watcher.churn import Step, Tree, names
from pytest_fynecheck.watcher.modes import Mode
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.run import Run, Stats, StepFailed, replay, tries_for

# Replays of the first failing run, to tell a race from a deterministic bug.
MEASURE_REPLAYS = 5
# Tries per shrink candidate, at most (each is a fresh sandbox and watcher).
MAX_TRIES = 5
FINAL_TRIES = 3

PICK = st.integers(0, 2**16)
DATA = st.binary(min_size=1, max_size=64)


def _is_final() -> bool:
    """Whether Hypothesis is replaying its shrunk example to report it (False outside a
    Hypothesis run, e.g. a bench driving the machine by hand)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:
        return False


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


__all__ = ["ChurnMachine", "machine_for"]
