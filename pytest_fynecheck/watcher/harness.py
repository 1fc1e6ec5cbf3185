"""Run the churn property against one watcher command in one mode, and turn a failure
into a message a person can act on: Hypothesis's shrunk steps, the event that never
came, and a replay script."""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, seed, settings
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, LocalFilesystem, Prim
from pytest_fynecheck.watcher.machine import FINAL_TRIES, MEASURE_REPLAYS, machine_for
from pytest_fynecheck.watcher.modes import ContainerMode, Mode
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.oracle import is_cookie
from pytest_fynecheck.watcher.protocol import Event, WatcherFailed, WatcherProcess
from pytest_fynecheck.watcher.reproducer import (
    Tries,
    replay_name,
    write_container_reproducer,
    write_script,
)
from pytest_fynecheck.watcher.run import Stats, StepFailed, minimize, tries_for

F = TypeVar("F", bound=BaseException)

# A replay script of a race tries until it would miss the bug once in a hundred runs.
SCRIPT_MISS = 0.01
SCRIPT_MAX_TRIES = 50


class WatcherCheckFailed(AssertionError):
    """The watcher failed the property; the message is the whole report."""

    def __init__(self, message: str, step_failure: StepFailed | None, script: Path | None):
        super().__init__(message)
        self.step_failure = step_failure
        self.script = script
        self.reproducer: Path | None = None
        self.tries = Tries()  # what the replay script needs


@dataclasses.dataclass
class Outcome:
    mode: str
    seconds: float
    stats: Stats


def preflight(cmd: str | Sequence[str], mode: Mode, options: Options) -> None:
    """Start the watcher once and see one cookie: bad commands fail here, plainly,
    instead of inside Hypothesis."""
    box = mode.sandbox()
    try:
        w = box.start_watcher(cmd)
        try:
            w.wait_ready(options.timeout)
            cookie = COOKIE_PREFIX + "preflight"
            box.fs.apply([Prim("write", cookie, b"c")])
            ok = w.wait_for(
                lambda evs: any(e.path == cookie for e in evs),
                options.timeout,
                lambda: box.fs.apply([Prim("append", cookie, b"c")]),
            )
            w.check_garbage()
            w.check_alive()
            if not ok:
                raise WatcherCheckFailed(
                    f"the watcher never reported a new file in the root it watches "
                    f"({box.watcher_root}/{cookie}) within {options.timeout:g} s; "
                    f"it printed:\n{w.transcript()}",
                    None,
                    None,
                )
        finally:
            w.stop()
    finally:
        box.close()


class LiveWatcher:
    """A running watcher on a directory of your choice, with cookie barriers, for tests
    that make their own changes and assert on the events."""

    def __init__(
        self, argv: Sequence[str], root: Path, timeout: float = 10.0, grace: float = 0.002
    ) -> None:
        self.argv = list(argv)
        self.root = root
        self.timeout = timeout
        self.grace = grace
        self._proc: WatcherProcess | None = None
        self._mark = 0
        self._n = 0

    @property
    def process(self) -> WatcherProcess:
        if self._proc is None:
            raise RuntimeError("use LiveWatcher as a context manager: with kit.watch(root) as w")
        return self._proc

    def __enter__(self) -> LiveWatcher:
        self._proc = WatcherProcess(self.argv, str(self.root))
        try:
            self._proc.wait_ready(self.timeout)
        except BaseException:
            self._proc.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.stop()

    def barrier(self) -> list[Event]:
        """Write a cookie, wait until the watcher reports it, and return the events
        (cookies left out) since the previous barrier."""
        w = self.process
        self._n += 1
        cookie = f"{COOKIE_PREFIX}live-{self._n}"
        fs = LocalFilesystem(self.root)
        fs.apply([Prim("write", cookie, b"c")])
        mark = self._mark
        came = w.wait_for(
            lambda evs: any(e.path == cookie for e in evs[mark:]),
            self.timeout,
            lambda: fs.apply([Prim("append", cookie, b"c")]),
        )
        w.check_garbage()
        if not came:
            w.check_alive()
            raise WatcherFailed(
                f"the watcher never reported the barrier file {cookie} within "
                f"{self.timeout:g} s; it printed:\n{w.transcript()}"
            )
        time.sleep(self.grace)
        with w.cond:
            window = w.events[mark:]
            self._mark = len(w.events)
        return [e for e in window if not is_cookie(e.path)]


def hypothesis_settings(
    parent: settings | None = None,
    max_examples: int | None = None,
    stateful_step_count: int | None = None,
) -> settings:
    """The loaded profile (so `ci` applies under CI=true) with IO-friendly overrides."""
    kw: dict[str, object] = {}
    if max_examples is not None:
        kw["max_examples"] = max_examples
    if stateful_step_count is not None:
        kw["stateful_step_count"] = stateful_step_count
    return settings(
        parent or settings.default,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **kw,  # type: ignore[arg-type]
    )


def check_watcher(
    cmd: str | Sequence[str],
    mode: Mode,
    *,
    options: Options | None = None,
    hyp: settings | None = None,
    seed_value: int | None = None,
    artifacts: Path | None = None,
    reproducers: Path | None = None,
    save_image: bool = False,
    app: Path | None = None,
) -> Outcome:
    """Run the property. Returns the outcome; raises WatcherCheckFailed on a failure.

    `artifacts`: where the replay script goes, named by the watcher, `app` (the project
    the check runs for) and the mode. `reproducers`: for a container mode, also
    write a container reproducer there (with a `docker save` archive if `save_image`)."""
    options = options or Options()
    hyp = hyp or hypothesis_settings()
    command: str | list[str] = cmd if isinstance(cmd, str) else list(cmd)
    start = time.monotonic()
    preflight(command, mode, options)
    stats = Stats()
    machine = machine_for(command, mode, options, stats)
    failing = run_machine(machine, hyp, StepFailed, seed_value)
    if failing is not None:
        found, flaky, printed = failing
        # At least FINAL_TRIES: a race that looked deterministic in five replays must not
        # keep a step because one try of the rest happened to pass.
        shrunk = minimize(command, mode, options, found, max(stats.tries, FINAL_TRIES))
        if shrunk is not found:
            found, printed, flaky = shrunk, [], False  # Hypothesis's program is longer
        tries = script_tries(stats)
        failed = _failure(command, mode, options, found, printed, artifacts, flaky, stats, tries,
                          app)
        failed.tries = tries
        if reproducers is not None and isinstance(mode, ContainerMode) and mode.ctx is not None:
            where = write_container_reproducer(
                reproducers, mode, command, found, options, save=save_image, tries=tries,
                app=app,
            )
            failed.reproducer = where
            failed.args = (f"{failed}\ncontainer reproducer: sh {where}/run.sh",)
        raise failed from None
    return Outcome(mode.name, time.monotonic() - start, stats)


def script_tries(stats: Stats) -> Tries:
    """How many tries a replay script needs, from how often the harness's replays failed."""
    if not stats.replayed:
        return Tries()
    # Half the harness's rate: a script's try is a fresh shell and python3 per step, and
    # on a loaded machine its races fire less often than the harness's did.
    count = tries_for(stats.failure_rate() / 2, SCRIPT_MISS, SCRIPT_MAX_TRIES)
    how = f"{stats.refailed} of {stats.replayed} replays of the first failing run failed again"
    if stats.race:
        return Tries(count, f"A race: {how}.")
    return Tries(count, f"{how.capitalize()} (five replays cannot prove it is no race).")


def _failure(
    cmd: str | list[str],
    mode: Mode,
    options: Options,
    exc: StepFailed,
    printed: list[str],
    artifacts: Path | None,
    flaky: bool,
    stats: Stats,
    tries: Tries,
    app: Path | None,
) -> WatcherCheckFailed:
    shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
    lines = [f"watcher {shown!r} failed in mode {mode.name}: {exc.describe()}"]
    if stats.race:
        lines.append(
            f"  a race: {stats.refailed} of {MEASURE_REPLAYS} replays of the first failing run "
            f"failed again, so each shrink candidate was tried up to {stats.tries} times"
        )
    if flaky:
        lines.append(
            "  (Hypothesis's last replay of these steps did not fail: the race is rare; the "
            "steps below are the last run that failed)"
        )
    lines.append("")
    lines.append(f"shrunk steps ({len(exc.steps)}):")
    lines.extend(f"  {i}. {s.label}" for i, s in enumerate(exc.steps, 1))
    program = _program([*printed, *getattr(exc, "__notes__", [])], len(exc.steps))
    if program:
        lines.append("")
        lines.append("Hypothesis's program:")
        lines.extend(f"  {p}" for p in program)
    script = None
    if artifacts is not None:
        name = f"watcher-replay-{replay_name(cmd, mode.name, app)}.sh"
        script = write_script(artifacts / name, cmd, exc.steps, exc.verdict.missing, options,
                              tries)
        lines.append("")
        times = f" (up to {tries.count} tries)" if tries.count > 1 else ""
        lines.append(f"replay it on its own{times}: sh {shlex.quote(str(script))}")
    return WatcherCheckFailed("\n".join(lines), exc, script)


def failure_behind(exc: BaseException, kind: type[F]) -> F | None:
    """The `kind` failure behind Hypothesis's Flaky* errors (groups, or chained on replay)."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kind):
            return e
        # Exception groups (a builtin only from 3.11) carry the replay's errors.
        group = getattr(e, "exceptions", None)
        if isinstance(group, (list, tuple)):
            todo.extend(x for x in group if isinstance(x, BaseException))
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return None


def run_machine(
    machine: type[RuleBasedStateMachine], hyp: settings, kind: type[F], seed_value: int | None
) -> tuple[F, bool, list[str]] | None:
    """Run `machine` under `hyp` (seeded when given), keeping what Hypothesis prints (its
    program of the failing example) out of the output. On a failure: the `kind` failure
    behind what it raised, whether Hypothesis wrapped it (its own replay went otherwise:
    flaky), and the print; None when every example passed. Anything else is raised."""
    if seed_value is not None:
        machine = seed(seed_value)(machine)
    printed: list[str] = []
    try:
        with with_reporter(lambda value: printed.append(str(value))):
            run_state_machine_as_test(machine, settings=hyp)
    except Exception as exc:
        found = failure_behind(exc, kind)
        if found is None:
            raise
        return found, found is not exc, printed
    return None


def _program(notes: list[str], steps: int) -> list[str]:
    """Hypothesis's notes without its 'Explanation' block (lines of kit code, not steps),
    and without the rules after the failing step: a failure is raised at teardown, so
    Hypothesis lists rules that ran (on the model only) after it."""
    out, skipping, rules = [], False, 0
    for note in notes:
        if note.startswith("Explanation:"):
            skipping = True
            continue
        if skipping and note.startswith("    "):
            continue
        skipping = False
        if note.startswith("state.") and not note.startswith("state.teardown("):
            rules += 1
            if rules > steps:
                continue
        out.append(note)
    return out
