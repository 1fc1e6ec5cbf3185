"""pytest hooks for the reload oracle: the `fyne_reload` marker and fixture, and one
`reload[MODE]` item per mode (the shared parts: command_check.py; `--fynecheck-reload`
and its ini settings: options.py and settings.py).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_fynecheck.core.model import CheckFailed, InputError, Status
from pytest_fynecheck.core.paths import artifact_dir, cache_dir
from pytest_fynecheck.core.progress import heartbeat
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.run.command_check import (
    CommandCheck,
    Kit,
    ModeItem,
    container_starter,
    require_engine,
)
from pytest_fynecheck.run.session import core

# The harness loads Hypothesis, slow to import: only where a reload check runs.
# So do the modes (sandbox, container starter) and the tool installer: this module loads
# at every pytest start.
if TYPE_CHECKING:
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.reload.harness import Outcome
    from pytest_fynecheck.reload.modes import ReloadMode

RELOAD = CommandCheck("reload")


def options(config: pytest.Config) -> Options:
    s = settings(config).reload
    return Options(quiet=s.quiet, start_timeout=s.timeout)


def settings_for(config: pytest.Config) -> hyp_settings:
    """The loaded Hypothesis profile (so `ci` applies under CI=true) with the ini counts."""
    from pytest_fynecheck.churn.stateful import hypothesis_settings

    s = settings(config).reload
    # No example database: replaying saved examples would cost seconds each on every run;
    # a failure is rerun with its replay script.
    from hypothesis import settings as hyp_settings

    return hypothesis_settings(hyp_settings(database=None), max_examples=s.max_examples,
                               stateful_step_count=s.stateful_step_count)


def _mode(config: pytest.Config, spec: str, argv: Sequence[str]) -> ReloadMode:
    from pytest_fynecheck.reload.modes import parse_mode

    return parse_mode(spec, start=container_starter(config), argv=argv)


def _argv(config: pytest.Config, cmd: str) -> list[str]:
    """The command, its tool installed first when it names a pinned one (a cold install
    compiles for a minute or two: progress lines come while the main thread waits)."""
    from pytest_fynecheck.reload.tools import resolve

    progress = core(config).progress
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        done = pool.submit(resolve, cmd, cache_dir(), progress)
        with heartbeat(progress, lambda: f"reload tool for {cmd!r}: still installing "
                                         f"({time.monotonic() - start:.0f} s)"):
            while True:
                try:
                    return done.result(timeout=1.0)
                except concurrent.futures.TimeoutError:
                    progress.flush()  # only the main thread writes past capture


def _validate(config: pytest.Config, cmd: str, modes: list[str]) -> None:
    """Bad input (unparsable or missing command, unknown mode, no Docker engine for a
    container mode) is one clear error before anything runs."""
    argv = _argv(config, cmd)
    require_engine([_mode(config, m, argv).name for m in modes])


def pytest_sessionstart(session: pytest.Session) -> None:
    if RELOAD.command(session.config):
        _machinery()
    RELOAD.validate_at_start(session, _validate, (InputError, CheckFailed))


def _machinery() -> None:
    """What validating imports, in every process of a run with a reload command, xdist
    workers too: Hypothesis draws from the constants of the local modules loaded, so
    --hypothesis-seed repeats a run only if its processes load the same modules."""
    from pytest_fynecheck.reload import modes, tools  # noqa: F401


def _check_errors() -> tuple[type[Exception], ...]:
    """What a failed reload check raises; reported as a failure, without a traceback."""
    from pytest_fynecheck.reload.harness import ReloadCheckFailed
    from pytest_fynecheck.reload.machine import ReloadFailed

    return (ReloadCheckFailed, ReloadFailed, InputError, CheckFailed)


def run_check(config: pytest.Config, cmd: str | Sequence[str], mode_spec: str) -> Outcome:
    from pytest_fynecheck.reload.harness import check_reloader

    argv = _argv(config, cmd) if isinstance(cmd, str) else list(cmd)
    mode = _mode(config, mode_spec, argv)
    try:
        return check_reloader(argv, mode, options=options(config), hyp=settings_for(config),
                              artifacts=artifact_dir(config))
    finally:
        mode.close()


class ReloadItem(ModeItem):
    """The reload property for one tool command in one mode."""

    check = RELOAD
    title = "Hot reload"
    errors = staticmethod(_check_errors)

    def runtest(self) -> None:
        try:
            outcome = run_check(self.config, self.cmd, self.mode)
        except _check_errors() as exc:
            self.record(Status.FAIL, str(exc).splitlines()[0])
            raise
        s = outcome.stats
        self.record(Status.OK, f"{s.exercised()} in {s.examples} examples ({s.builds} "
                               f"builds), {outcome.seconds:.1f} s: always one app, up to date")


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    RELOAD.add_items(session, items, ReloadItem)


class ReloadKit(Kit["Outcome"]):
    """What the `fyne_reload` fixture gives: the check on demand."""


def _kit(item: pytest.Item) -> ReloadKit:
    return ReloadKit(RELOAD, run_check, item.config, *RELOAD.chosen(item))


@pytest.fixture
def fyne_reload(request: pytest.FixtureRequest) -> Iterator[ReloadKit]:
    yield _kit(request.node)


def pytest_runtest_setup(item: pytest.Item) -> None:
    RELOAD.setup_marked(item, _kit, _check_errors)


__all__ = ["ReloadItem", "ReloadKit", "fyne_reload"]
