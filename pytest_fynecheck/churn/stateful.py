"""Running a Hypothesis state machine of churn, one way for the watcher check and the
reload oracle: the settings for IO, and a run that keeps Hypothesis's print and finds the
failure behind its Flaky* wrappers. Imports Hypothesis: import it when a check runs."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, seed, settings
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

F = TypeVar("F", bound=BaseException)


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
