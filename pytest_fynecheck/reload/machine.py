"""The Hypothesis state machine: churn of the probe's tree while the reload tool runs,
then quiescence and the oracle's verdict (in teardown: the verdict is on the end state)."""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import shlex
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from pytest_fynecheck.core.context import Process
from pytest_fynecheck.reload.churn import Step, state_label
from pytest_fynecheck.reload.modes import ReloadMode
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.reload.oracle import Verdict, judge
from pytest_fynecheck.reload.sandbox import Sandbox
from pytest_fynecheck.reload.tools import TOOLS

Call = tuple[str, dict[str, Any]]

# Each case that tells the documented tools apart (README's reload table), run alone on
# a fresh tree before Hypothesis explores: a random run may never make the one edit a
# tool misses (air's and wgo's defaults miss the embedded asset edit).
CASES: dict[str, Call] = {
    "embedded asset edit": ("asset_edit", {"pick": 0, "atomic": False}),
    "broken build then its fix": ("broken_build", {"atomic": True}),
    "edit during a build": ("edit_during_build", {"first": 0, "second": 0}),
    "atomic save": ("edit", {"pick": 0, "atomic": True}),
    "new package": ("new_package", {"gap": 0.3}),
}


def kind(rule: str, kw: dict[str, Any]) -> str | None:
    """The kind of edit a rule's step makes, as the output names it (None: a pause)."""
    if rule == "edit":
        return "atomic save" if kw.get("atomic") else "edit"
    return {"asset_edit": "embedded asset edit", "broken_build": "broken build then its fix",
            "edit_during_build": "edit during a build", "new_package": "new package"}.get(rule)


@dataclasses.dataclass
class Stats:
    examples: int = 0
    steps: int = 0
    builds: int = 0
    # Edits made, by kind (see `kind`).
    kinds: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    def exercised(self) -> str:
        """What the run did: "N edits of kinds K1 (n1), K2 (n2), ...", a kind missing
        from CASES named as missing."""
        n = sum(self.kinds.values())
        order = [*CASES, *sorted(set(self.kinds) - set(CASES))]
        shown = ", ".join(f"{k} ({self.kinds[k]})" for k in order if self.kinds[k])
        missing = [k for k in CASES if not self.kinds[k]]
        return (f"{n} edit{'' if n == 1 else 's'} of kinds {shown or 'none'}"
                + (f" (never made: {', '.join(missing)})" if missing else ""))


class ReloadFailed(AssertionError):
    """The tool's end state was wrong (or it never started the app)."""

    def __init__(self, reason: str, steps: Sequence[Step], problems: Sequence[str],
                 output: str, notes: Sequence[str] = (),
                 calls: Sequence[tuple[str, dict[str, Any]]] = (),
                 hints: Sequence[str] = ()) -> None:
        self.reason = reason
        self.hints = list(hints)
        self.calls = list(calls)
        self.steps = list(steps)
        self.problems = list(problems)
        self.output = output
        self.notes = list(notes)
        super().__init__(self.describe())

    def describe(self) -> str:
        after = f" after {len(self.steps)} step(s)" if self.steps else ""
        lines = [f"{self.reason}{after}:"]
        lines += [f"  {p}" for p in self.problems]
        lines += [f"  hint: {h}" for h in self.hints]
        lines += [f"  (note: {n})" for n in self.notes]
        tail = self.output.strip().splitlines()[-15:]
        if tail:
            lines.append("  the tool's last output:")
            lines += [f"    {t}" for t in tail]
        return "\n".join(lines)


def start_tool(mode: ReloadMode, argv: Sequence[str], box: Sandbox, options: Options) -> Process:
    """Start the tool on `box` and wait for the app built from the initial tree."""
    proc = mode.spawn(argv, box)
    want = box.model.hash()
    deadline = time.monotonic() + options.start_timeout
    while time.monotonic() < deadline:
        if any(p.alive and p.hash == want for p in box.probes()):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    output = proc.output()
    proc.stop()
    box.stop_probes(kill_local=mode.local_pids)
    seen = box.probes()
    status = proc.poll()
    why = (f"it exited with status {status}" if status is not None
           else f"no app built from the initial tree started within {options.start_timeout:g} s")
    hints = []
    if status is not None and USAGE.search(output):
        why = f"it printed its usage and exited (status {status}), running nothing"
        hints.append(usage_hint(argv))
    if seen:
        why += f" (apps seen: {len(seen)}, hashes {', '.join(p.hash[:12] for p in seen)})"
    raise ReloadFailed("the tool never started the app", [], [why], output, hints=hints)


USAGE = re.compile(r"^\s*usage:", re.IGNORECASE | re.MULTILINE)


def usage_hint(argv: Sequence[str]) -> str:
    """What to give a tool that printed its usage: the command that runs the app."""
    name = os.path.basename(argv[0])
    tool = TOOLS.get(name)
    if tool is not None:
        return (f"{name} needs the command it runs and restarts: --fynecheck-reload "
                f"{shlex.quote(tool.runs)}")
    return (f"give {name} what it needs to build, run and restart the app (as you would in "
            "your project, e.g. wgo needs `wgo run .`)")


PAUSE = st.sampled_from([0.0, 0.3])


class ReloadMachine(RuleBasedStateMachine):
    argv: ClassVar[list[str]]
    mode: ClassVar[ReloadMode]
    options: ClassVar[Options]
    stats: ClassVar[Stats]

    def __init__(self) -> None:
        super().__init__()
        self.box = self.mode.sandbox()
        self.steps: list[Step] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.notes: list[str] = []
        self._broken = False
        try:
            self.proc = start_tool(self.mode, self.argv, self.box, self.options)
        except BaseException:
            self.box.close()
            raise
        self.stats.examples += 1

    def do(self, rule: str, **kw: Any) -> None:
        """Run one rule's step; recorded as (rule, arguments), so the kit's shrinker can
        replay a shorter list on a fresh tree (see harness.shrink)."""
        self.calls.append((rule, kw))
        step = getattr(self, "_" + rule)(**kw)
        self.steps.append(step)
        n = len(self.steps)
        try:
            self.notes += self.box.apply(step.actions, n, step.label)
        except BaseException:
            self._broken = True
            raise
        step.hash_after = self.box.model.hash()
        if self.box.history[-1][1] != step.hash_after:
            raise AssertionError(f"kit bug: the tree's model and disk differ after step {n}")
        self.box.history.append((state_label(n, step.label), step.hash_after))
        self.stats.steps += 1
        k = kind(rule, kw)
        if k is not None:
            self.stats.kinds[k] += 1

    def teardown(self) -> None:
        verdict: Verdict | None = None
        leaked: list[str] = []
        try:
            if not self._broken:
                o = self.options
                verdict = judge(self.box, self.box.history, quiet=o.quiet, timeout=o.settle_timeout)
                self.stats.builds += verdict.builds
        finally:
            output = self.proc.output()
            self.proc.stop()
            left = self.box.stop_probes(kill_local=self.mode.local_pids)
            if left:
                leaked.append(f"stopping the tool (SIGTERM to its process group) left "
                              f"{len(left)} app process(es) running: pids "
                              f"{', '.join(str(p.pid) for p in left)}")
            self.box.close()
        if verdict is not None and (verdict.problems or leaked):
            reason = "stale or broken reload" if verdict.problems else "leaked app process"
            raise ReloadFailed(reason, self.steps, [*verdict.problems, *leaked], output,
                               self.notes, self.calls)

    # -- steps (what each rule does to the tree) --------------------------------------

    def _go(self, i: int) -> str:
        files = self.box.model.go_files()
        return files[i % len(files)]

    def _edit(self, pick: int, atomic: bool) -> Step:
        return self.box.model.edit(self._go(pick), atomic)

    def _new_package(self, gap: float) -> Step:
        return self.box.model.new_package(gap)

    def _broken_build(self, atomic: bool) -> Step:
        return self.box.model.broken_build(atomic, self.options.build_timeout)

    def _asset_edit(self, pick: int | None, atomic: bool) -> Step:
        assets = self.box.model.assets()
        path = None if pick is None or len(assets) >= 4 else assets[pick % len(assets)]
        return self.box.model.asset_edit(path, atomic)

    def _edit_during_build(self, first: int, second: int) -> Step:
        return self.box.model.edit_during_build(
            self._go(first), self._go(second), self.options.build_timeout)

    def _pause(self, seconds: float) -> Step:
        return self.box.model.pause(seconds)

    # -- rules -------------------------------------------------------------------------

    @rule(pick=st.integers(0, 7), atomic=st.booleans())
    def edit(self, pick: int, atomic: bool) -> None:
        self.do("edit", pick=pick, atomic=atomic)

    @precondition(lambda self: len(self.box.model.packages) < 3)
    @rule(gap=PAUSE)
    def new_package(self, gap: float) -> None:
        self.do("new_package", gap=gap)

    @rule(atomic=st.booleans())
    def broken_build(self, atomic: bool) -> None:
        self.do("broken_build", atomic=atomic)

    @rule(pick=st.one_of(st.none(), st.integers(0, 7)), atomic=st.booleans())
    def asset_edit(self, pick: int | None, atomic: bool) -> None:
        self.do("asset_edit", pick=pick, atomic=atomic)

    @rule(first=st.integers(0, 7), second=st.integers(0, 7))
    def edit_during_build(self, first: int, second: int) -> None:
        self.do("edit_during_build", first=first, second=second)

    @rule(seconds=st.sampled_from([0.3, 1.5]))
    def pause(self, seconds: float) -> None:
        self.do("pause", seconds=seconds)


def machine_for(argv: Sequence[str], mode: ReloadMode, options: Options,
                stats: Stats | None = None) -> type[ReloadMachine]:
    attrs: dict[str, Any] = {"argv": list(argv), "mode": mode, "options": options,
                             "stats": stats or Stats()}
    return type("ReloadChurn", (ReloadMachine,), attrs)


__all__ = ["CASES", "ReloadFailed", "ReloadMachine", "Stats", "kind", "machine_for"]
