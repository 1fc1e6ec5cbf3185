"""The Hypothesis state machine: random file churn, and after every step a cookie
barrier and the oracle's verdict on that step's window of events."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, Expect, Prim, Step, Tree, names
from pytest_fynecheck.watcher.modes import Mode, Sandbox
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.oracle import Verdict, judge
from pytest_fynecheck.watcher.protocol import Event, WatcherProcess


@dataclasses.dataclass
class Stats:
    examples: int = 0
    steps: int = 0
    prims: int = 0
    declared: list[str] = dataclasses.field(default_factory=list)


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


class ChurnMachine(RuleBasedStateMachine):
    """Configured by `machine_for`; one instance per example, on a fresh sandbox."""

    cmd: ClassVar[str | list[str]]
    mode: ClassVar[Mode]
    options: ClassVar[Options]
    stats: ClassVar[Stats]

    def __init__(self) -> None:
        super().__init__()
        self.tree = Tree()
        self.steps: list[Step] = []
        self.touched: set[str] = set()
        self.sandbox: Sandbox = self.mode.sandbox()
        try:
            self.watcher: WatcherProcess = self.sandbox.start_watcher(self.cmd)
            try:
                self.watcher.wait_ready(self.options.timeout)
            except BaseException:
                self.watcher.stop()
                raise
        except BaseException:
            self.sandbox.close()
            raise
        self._mark = 0
        self._err_mark = 0
        self.stats.examples += 1

    def teardown(self) -> None:
        try:
            self.watcher.stop()
        finally:
            self.sandbox.close()

    # -- the oracle ------------------------------------------------------------------

    def run(self, step: Step) -> None:
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
        self.stats.steps += 1
        self.stats.prims += len(step.prims)
        o = self.options
        if verdict.declared and not o.fail_on_declared_loss:
            self.stats.declared.extend(verdict.declared)
            return  # the watcher said it lost events; that is allowed by configuration
        reason = ""
        if verdict.declared:
            reason = "declared loss (the watcher printed an error)"
        elif verdict.missing or not seen:
            reason = "silent loss"
        elif o.strict and verdict.strays:
            reason = "strict: events for paths the churn never touched"
        if reason:
            raise StepFailed(reason, list(self.steps), verdict, window, seen)

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
