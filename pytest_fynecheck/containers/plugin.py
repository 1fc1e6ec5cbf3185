"""pytest side of containers: `--fynecheck-os`, the `fyne_container` fixture, the
`fyne_os(...)` marker, the OS matrix in the summary, and reproducers.

The readiness catalogue runs in a suite because this plugin answers the
`pytest_fynecheck_make_context` hook with a started `ContainerContext`.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import missing_engine
from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.containers.reproducer import write_reproducer
from pytest_fynecheck.containers.start import start_container
from pytest_fynecheck.core import process, report
from pytest_fynecheck.core.model import InputError, Status
from pytest_fynecheck.core.results import recorded
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan.settings import settings, split_names
from pytest_fynecheck.run.items import CheckItem
from pytest_fynecheck.run.session import cache_dir, core, install_state


class ContainerState:
    """Per process: the containers fixtures share."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pool: dict[str, ContainerContext] = {}
        self.reproducers: list[Path] = []

    def context(self, target: Target, temp: pytest.TempPathFactory) -> ContainerContext:
        if target.name not in self.pool:
            self.pool[target.name] = start_container(
                self.config,
                target,
                temp.mktemp(f"container-{target.name}"),
                core(self.config).project(),
            )
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
    if settings(config).containers.targets:
        reason = missing_engine(cache_dir())
        if reason is not None:
            raise pytest.UsageError(f"--fynecheck-os: {reason}")
    # No reaping here: leftovers are reaped when this process starts its first container
    # (ContainerContext.start), so a run that uses none touches none.


def pytest_fynecheck_contexts(config: pytest.Config) -> list[str]:
    return [t.name for t in settings(config).containers.targets]


def pytest_fynecheck_make_context(
    config: pytest.Config, name: str, project: Path, scratch: Path, environ: dict[str, str]
) -> ContainerContext | None:
    try:
        target = Target.parse(name)
    except InputError:
        return None  # not ours
    return start_container(config, target, scratch, project, environ=environ)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("fyne_os")
    if marker is None:
        return
    where = f"{metafunc.definition.nodeid}: fyne_os marker"
    if "fyne_container" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{where} needs the test to take the fyne_container fixture")
    try:
        names = [Target.parse(n, where).name
                 for n in split_names(",".join(marker.args) or "bookworm")]
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("fyne_container", names, indirect=True, ids=names)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Asked for containers by marker: no engine is an error for the whole run, said once.
    # (An xdist worker cannot stop the run cleanly: there the fixture errors each test.)
    marked = [i for i in items if i.get_closest_marker("fyne_os") is not None]
    if marked and not is_worker(config):
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
    param = getattr(request, "param", None)
    target = Target.parse(param) if param else settings(request.config).containers.default
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
    out = given.reproducer
    if not out or call.when != "call" or not rep.failed or not isinstance(item, CheckItem):
        return
    ctx = core(item.config).runner().contexts.get(item.context)
    if not isinstance(ctx, ContainerContext):
        return
    for result in recorded(item.user_properties):
        # "not run: X failed" is the runner's: X's own reproducer is the one to replay.
        if result.status is Status.FAIL and not result.detail.startswith("not run:"):
            where = write_reproducer(
                Path(out),
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
    out = settings(config).containers.reproducer
    if out and Path(out).is_dir():
        made = sorted(p for p in Path(out).iterdir() if (p / "run.sh").is_file())
        lines = tuple(f"fynecheck: reproducer {path} (sh {path}/run.sh)" for path in made)
        sections.append(report.Section("", lines, order=report.Order.FILES))
    return sections


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_STATE].close()
