"""The `fyne_ready` marker and the `fyne_readiness` fixture: readiness checks from inside
a user's own tests, each run once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_fynecheck.checks import for_context
from pytest_fynecheck.core import report as doctor
from pytest_fynecheck.core.model import Result
from pytest_fynecheck.plan.spec import ContextSpec
from pytest_fynecheck.run.runner import Runner
from pytest_fynecheck.run.session import core


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("fyne_ready")
    if marker is None:
        return
    ids = marker.kwargs.get("checks") or (marker.args[0] if marker.args else None)
    results = readiness_results(core(item.config).runner(), _host(item.config), ids)
    failed = [r for r in results if r.blocking]
    if failed:
        pytest.fail("Fyne readiness failed:\n" + doctor.table(results), pytrace=False)


def _host(config: pytest.Config) -> ContextSpec:
    return core(config).spec("host")


def readiness_results(runner: Runner, context: ContextSpec, ids: list[str] | None
                      ) -> list[Result]:
    known = for_context(context.target)  # e.g. the windows.* checks only in Windows contexts
    unknown = [i for i in ids or [] if i not in known]
    if unknown:
        raise pytest.UsageError(
            f"fyne_ready: unknown check id(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    chosen = ids or [i for i, c in known.items() if c.required]
    return runner.results(context.name, chosen)


class Readiness:
    """What the `fyne_readiness` fixture gives: check results on demand, each run once."""

    def __init__(self, runner: Runner, context: ContextSpec) -> None:
        self._runner = runner
        self._spec = context
        self.context = context.name

    def __getitem__(self, check_id: str) -> Result:
        return readiness_results(self._runner, self._spec, [check_id])[0]

    def results(self, ids: list[str] | None = None) -> list[Result]:
        """The named checks, or every required one."""
        return readiness_results(self._runner, self._spec, ids)


@pytest.fixture(scope="session")
def fyne_readiness(pytestconfig: pytest.Config) -> Iterator[Readiness]:
    yield Readiness(core(pytestconfig).runner(), _host(pytestconfig))
