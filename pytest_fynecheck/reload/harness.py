"""Run the reload property against one tool command in one mode, and turn a failure into
a report: the shrunk steps, what was wrong at quiescence, and a replay script."""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import Phase, settings

from pytest_fynecheck.reload.machine import (
    CASES,
    ReloadFailed,
    ReloadMachine,
    Stats,
    machine_for,
    start_tool,
)
from pytest_fynecheck.reload.modes import ReloadMode
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.reload.reproducer import write_script
from pytest_fynecheck.reload.tools import TOOLS
from pytest_fynecheck.watcher.harness import hypothesis_settings, run_machine


class ReloadCheckFailed(AssertionError):
    """The tool failed the property; the message is the whole report."""

    def __init__(self, message: str, failure: ReloadFailed, script: Path | None) -> None:
        super().__init__(message)
        self.failure = failure
        self.script = script


@dataclasses.dataclass
class Outcome:
    mode: str
    seconds: float
    stats: Stats


def preflight(argv: Sequence[str], mode: ReloadMode, options: Options) -> None:
    """Start the tool once on a fresh tree: a bad command fails here, plainly."""
    box = mode.sandbox()
    try:
        proc = start_tool(mode, argv, box, options)
        proc.stop()
        box.stop_probes(kill_local=mode.local_pids)
    finally:
        box.close()


def check_reloader(
    argv: Sequence[str],
    mode: ReloadMode,
    *,
    options: Options | None = None,
    hyp: settings | None = None,
    seed_value: int | None = None,
    artifacts: Path | None = None,
) -> Outcome:
    """Returns the outcome; raises ReloadCheckFailed on a failure (ReloadFailed from
    preflight when the tool never starts the app)."""
    options = options or Options()
    hyp = hyp or hypothesis_settings(max_examples=8, stateful_step_count=5)
    start = time.monotonic()
    preflight(argv, mode, options)
    stats = Stats()
    machine = machine_for(argv, mode, options, stats)
    for call in CASES.values():
        found = replay(machine, [call])
        if found is not None:
            # Once more: a failure that does not come again is a race, and said so.
            again = replay(machine, [call])
            raise _report(argv, mode, options, found, again is None, artifacts, 1,
                          stats) from None
    # Hypothesis finds; the kit shrinks (below): every example costs a tool start and a
    # quiescence, seconds each, and Hypothesis's shrinker would spend hundreds of them.
    generate = settings(hyp, phases=[p for p in hyp.phases if p not in (Phase.shrink,
                                                                         Phase.explain)])
    failing = run_machine(machine, generate, ReloadFailed, seed_value)
    if failing is not None:
        found, flaky, _ = failing
        shrunk, replays = shrink(machine, found, tries=2 if flaky else 1)
        raise _report(argv, mode, options, shrunk, flaky and shrunk is found, artifacts,
                      replays, stats) from None
    return Outcome(mode.name, time.monotonic() - start, stats)


def replay(machine: type[ReloadMachine], calls: Sequence[tuple[str, dict[str, Any]]],
           ) -> ReloadFailed | None:
    """Run `calls` on a fresh tree and tool; the failure, if it failed."""
    m = machine()
    try:
        for rule, kw in calls:
            m.do(rule, **kw)
    except BaseException:
        m._broken = True  # still stop everything; the error is not the tool's verdict
        m.teardown()
        raise
    try:
        m.teardown()
    except ReloadFailed as exc:
        return exc
    return None


def shrink(machine: type[ReloadMachine], failure: ReloadFailed, *, tries: int = 1,
           budget: int = 16) -> tuple[ReloadFailed, int]:
    """Drop steps while the rest still fails (each candidate tried up to `tries` times,
    for races); at most `budget` replays. Returns the smallest failure and the replays."""
    best, used = failure, 0
    changed = True
    while changed and used < budget:
        changed = False
        for i in range(len(best.calls)):
            candidate = best.calls[:i] + best.calls[i + 1:]
            for _ in range(tries):
                if used >= budget:
                    break
                used += 1
                found = replay(machine, candidate)
                if found is not None:
                    best, changed = found, True
                    break
            if changed:
                break
    return best, used


def _report(argv: Sequence[str], mode: ReloadMode, options: Options, exc: ReloadFailed,
            flaky: bool, artifacts: Path | None, replays: int, stats: Stats,
            ) -> ReloadCheckFailed:
    shown = shlex.join(argv)
    lines = [f"reload tool {shown!r} failed in mode {mode.name}: {exc.describe()}"]
    if flaky:
        lines.append("  (it did not fail again on replay: the bug is a race; the steps below "
                     "are the run that failed)")
    known = TOOLS.get(Path(argv[0]).name)
    if known and known.assets_hint and any("only //go:embed" in p for p in exc.problems):
        lines.append(f"  hint: {known.assets_hint}")
    lines += ["", f"shrunk steps ({len(exc.steps)}, after {replays} replays):"]
    lines += [f"  {i}. {s.label}" for i, s in enumerate(exc.steps, 1)]
    lines += ["", f"exercised: {stats.exercised()}, in {stats.examples} examples"]
    script = None
    if artifacts is not None:
        key = hashlib.sha256(f"{shown}\0{mode.name}".encode()).hexdigest()[:10]
        script = write_script(artifacts / f"reload-replay-{key}.sh", argv, exc.steps, options)
        lines += ["", f"replay it on its own: sh {shlex.quote(str(script))}"]
    return ReloadCheckFailed("\n".join(lines), exc, script)


__all__ = ["Outcome", "ReloadCheckFailed", "check_reloader", "preflight"]
