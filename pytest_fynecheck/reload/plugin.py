"""pytest hooks for the reload oracle: `--fynecheck-reload`, its ini settings, the
`fyne_reload` marker and fixture, and one `reload[MODE]` item per mode (the shared
parts: command_check.py).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_fynecheck.command_check import (
    CommandCheck,
    Kit,
    ModeItem,
    container_starter,
    require_engine,
)
from pytest_fynecheck.model import CheckFailed, InputError, Status
from pytest_fynecheck.plugin import artifact_dir, cache_dir, core_state
from pytest_fynecheck.progress import heartbeat
from pytest_fynecheck.reload.modes import ReloadMode, parse_mode
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.reload.tools import resolve

# The harness loads Hypothesis, slow to import: only where a reload check runs.
if TYPE_CHECKING:
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.reload.harness import Outcome

# Each example starts the tool and waits out a quiescence (seconds), so the counts are
# small; raise them in the ini for a deeper run.
DEFAULT_MAX_EXAMPLES = 6
DEFAULT_STEPS = 4

RELOAD = CommandCheck("reload")


def pytest_addoption(parser: pytest.Parser) -> None:
    RELOAD.add_options(
        parser,
        command="check this hot-reload command, run in the project it reloads ({root} is that "
        "directory); air, wgo and gow mean the kit's pinned installs, NAME@VERSION another "
        "version (default: ini fynecheck_reload)",
        modes="where the tool runs: local, or bind:SUITE (in a suite container, the tree on "
        "a bind mount) (repeatable; default: ini fynecheck_reload_modes)",
        ini="hot-reload command to check",
    )
    parser.addini("fynecheck_reload_max_examples",
                  f"Hypothesis max_examples for the reload check (default {DEFAULT_MAX_EXAMPLES})",
                  default=str(DEFAULT_MAX_EXAMPLES))
    parser.addini("fynecheck_reload_stateful_step_count",
                  f"most churn steps per example (default {DEFAULT_STEPS})",
                  default=str(DEFAULT_STEPS))
    parser.addini("fynecheck_reload_quiet",
                  "seconds with no build and no restart that count as quiescence (longer "
                  "than the tool's debounce: air waits 1 s)", default=str(Options.quiet))
    parser.addini("fynecheck_reload_timeout", "seconds for the tool's first start of the app",
                  default=str(Options.start_timeout))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fyne_reload(cmd=None, modes=None): before the test, check the hot-reload command "
        "(default: --fynecheck-reload) in these modes (default: local) with property-based "
        "churn of a probe app; with the fyne_reload fixture, the test runs the check itself",
    )


def options(config: pytest.Config) -> Options:
    try:
        return Options(quiet=float(config.getini("fynecheck_reload_quiet")),
                       start_timeout=float(config.getini("fynecheck_reload_timeout")))
    except ValueError as exc:
        raise pytest.UsageError(f"fynecheck reload ini: {exc}") from None


def settings_for(config: pytest.Config) -> hyp_settings:
    """The loaded Hypothesis profile (so `ci` applies under CI=true) with the ini counts."""
    from pytest_fynecheck.watcher.harness import hypothesis_settings

    counts = [RELOAD.ini_int(config, name, required=True)
              for name in ("max_examples", "stateful_step_count")]
    # No example database: replaying saved examples would cost seconds each on every run;
    # a failure is rerun with its replay script.
    from hypothesis import settings as hyp_settings

    return hypothesis_settings(hyp_settings(database=None), max_examples=counts[0],
                               stateful_step_count=counts[1])


def _mode(config: pytest.Config, spec: str, argv: Sequence[str]) -> ReloadMode:
    return parse_mode(spec, start=container_starter(config), argv=argv)


def _argv(config: pytest.Config, cmd: str) -> list[str]:
    """The command, its tool installed first when it names a pinned one (a cold install
    compiles for a minute or two: progress lines come while the main thread waits)."""
    progress = core_state(config).progress
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
    RELOAD.validate_at_start(session, _validate, (InputError, CheckFailed))


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
        self.record(Status.OK, f"{s.steps} steps in {s.examples} examples ({s.builds} "
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
    RELOAD.setup_marked(item, _kit, _check_errors())


__all__ = ["ReloadItem", "ReloadKit", "fyne_reload"]
