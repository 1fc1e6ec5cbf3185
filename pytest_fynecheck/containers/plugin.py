"""pytest side of containers: `--fynecheck-os`, the `fyne_container` fixture, the
`fyne_os(...)` marker, the OS matrix in the summary, and reproducers.

The readiness catalogue runs in a suite because this plugin's
`pytest_fynecheck_make_context` is the factory of the plan's suite kinds (plan/spec.py
KINDS): it starts a `ContainerContext`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.core import process, report
from pytest_fynecheck.core.model import InputError, Status
from pytest_fynecheck.core.paths import cache_dir, reproducer_dir
from pytest_fynecheck.core.results import recorded
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan.settings import settings, split_names
from pytest_fynecheck.plan.spec import ContextSpec, parse_context
from pytest_fynecheck.run.items import CheckItem
from pytest_fynecheck.run.session import core, host_context, install_state

if TYPE_CHECKING:
    from pytest_fynecheck.containers.context import ContainerContext

# The engine probe, container start and reproducer load inside the hooks that use them: a
# run with no suite context (most runs) imports none of them at pytest's start.


class ContainerState:
    """Per process: the containers fixtures share."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pool: dict[str, ContainerContext] = {}
        self.reproducers: list[Path] = []

    def context(self, target: Target, temp: pytest.TempPathFactory) -> ContainerContext:
        if target.name not in self.pool:
            scratch = temp.mktemp(f"container-{target.name}")
            host = host_context(self.config, core(self.config).project(), scratch)
            from pytest_fynecheck.containers.start import start_container

            self.pool[target.name] = start_container(host, target)
        return self.pool[target.name]

    def close(self) -> None:
        while self.pool:
            _, ctx = self.pool.popitem()
            ctx.close()


_STATE = pytest.StashKey[ContainerState]()


def pytest_configure(config: pytest.Config) -> None:
    install_state(config, _STATE, ContainerState(config))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if is_worker(config):
        return  # the xdist controller checks once for all workers
    if any(c.suite for c in settings(config).contexts):
        from pytest_fynecheck.containers.engine import missing_engine

        reason = missing_engine(cache_dir())
        if reason is not None:
            raise pytest.UsageError(f"--fynecheck-os: {reason}")
    # No reaping here: leftovers are reaped when this process starts its first container
    # (ContainerContext.start), so a run that uses none touches none.


def pytest_fynecheck_make_context(
    config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
) -> ContainerContext | None:
    """The suite kinds' factory (plan/spec.py KINDS): `spec`'s suite container, started."""
    if spec.kind not in ("suite", "suite-windows", "suite-web"):
        return None
    host = host_context(config, project, scratch)
    from pytest_fynecheck.containers.start import start_container

    ctx = start_container(host, _target(spec), environ=dict(spec.env), display_mode=spec.display)
    ctx.name = spec.name  # after start: the container's labels name its suite
    ctx.settings = dataclasses.replace(spec.settings, artifacts=ctx.settings.artifacts)
    return ctx


def _target(spec: ContextSpec) -> Target:
    """The image of a suite context, from its parsed fields."""
    return Target(spec.suite, spec.variant)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("fyne_os")
    if marker is None:
        return
    where = f"{metafunc.definition.nodeid}: fyne_os marker"
    if "fyne_container" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{where} needs the test to take the fyne_container fixture")
    try:
        specs = [parse_context(n, where, suites_only=True)
                 for n in split_names(",".join(marker.args) or "bookworm")]
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("fyne_container", specs, indirect=True, ids=[s.name for s in specs])


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Asked for containers by marker: no engine is an error for the whole run, said once.
    # (An xdist worker cannot stop the run cleanly: there the fixture errors each test.)
    marked = [i for i in items if i.get_closest_marker("fyne_os") is not None]
    if marked and not is_worker(config):
        from pytest_fynecheck.containers.engine import missing_engine

        reason = missing_engine(cache_dir())
        if reason is not None:
            raise pytest.UsageError(f"fyne_os marker ({marked[0].nodeid}): {reason}")


@pytest.fixture
def fyne_container(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[ContainerContext]:
    """A started container of one suite: `fyne_os` marker's, else ini fynecheck_os.

    Started on first use and shared by the tests of this process (a container start is
    the expensive part); removed at session end with whatever still runs in it.
    """
    state = request.config.stash[_STATE]
    param: ContextSpec | None = getattr(request, "param", None)
    target = _target(param or settings(request.config).containers.default)
    from pytest_fynecheck.containers.engine import missing_engine

    reason = missing_engine(cache_dir())
    if reason is not None:
        if param is not None:
            pytest.fail(f"fyne_os marker: {reason}", pytrace=False)
        if _in_ci():
            pytest.fail(f"{reason} (CI is set: a missing engine is an error)", pytrace=False)
        pytest.skip(reason)
    yield state.context(target, tmp_path_factory)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    given = settings(item.config).containers
    out = reproducer_dir(given.reproducer)
    if not out or call.when != "call" or not rep.failed or not isinstance(item, CheckItem):
        return
    from pytest_fynecheck.containers.context import ContainerContext
    from pytest_fynecheck.containers.reproducer import write_reproducer

    ctx = core(item.config).runner().contexts.get(item.context)
    if not isinstance(ctx, ContainerContext):
        return
    for result in recorded(item.user_properties):
        # "not run: X failed" is the runner's: X's own reproducer is the one to replay.
        if result.status is Status.FAIL and not result.detail.startswith("not run:"):
            where = write_reproducer(
                out,
                ctx,
                result,
                save=given.reproducer_save,
            )
            rep.sections.append(("fynecheck reproducer", f"replay with: sh {where}/run.sh"))


def pytest_fynecheck_report_sections(config: pytest.Config) -> list[report.Section]:
    lead = core(config)
    sections = []
    # Checks only: a watcher's mode (local, container:SUITE) is not an OS.
    results = report.checks_only(lead.results)
    if any(r.where != "host" for r in results):
        table = report.matrix(results, lead.context_names(), process.interrupted())
        sections.append(report.Section("fynecheck: checks by OS", tuple(table.splitlines()),
                                       order=report.Order.BY_OS))
    out = reproducer_dir(settings(config).containers.reproducer)
    if out and out.is_dir():
        made = sorted(p for p in out.iterdir() if (p / "run.sh").is_file())
        lines = tuple(f"fynecheck: reproducer {path} (sh {path}/run.sh)" for path in made)
        sections.append(report.Section("", lines, order=report.Order.FILES))
    return sections


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_STATE].close()
