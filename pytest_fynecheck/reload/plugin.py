"""pytest hooks for the reload oracle: `--fynecheck-reload`, its ini settings, the
`fyne_reload` marker and fixture, and one `reload[MODE]` item per mode.

Items are added only when asked: `--fynecheck-reload CMD`, or `--fynecheck` with the ini
`fynecheck_reload` set.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import missing_engine
from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.containers.start import start_container
from pytest_fynecheck.model import CheckFailed, InputError, Result, Status
from pytest_fynecheck.plugin import (
    RESULTS_KEY,
    _artifact_dir,
    add_items,
    cache_dir,
)
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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fynecheck")
    group.addoption(
        "--fynecheck-reload",
        metavar="CMD",
        help="check this hot-reload command, run in the project it reloads ({root} is that "
        "directory); air, wgo and gow mean the kit's pinned installs, NAME@VERSION another "
        "version (default: ini fynecheck_reload)",
    )
    group.addoption(
        "--fynecheck-reload-mode",
        action="append",
        metavar="MODE",
        help="where the tool runs: local, or bind:SUITE (in a suite container, the tree on "
        "a bind mount) (repeatable; default: ini fynecheck_reload_modes)",
    )
    parser.addini("fynecheck_reload", "hot-reload command to check", default="")
    parser.addini("fynecheck_reload_modes", "modes for reload items", type="args",
                  default=["local"])
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


def _command(config: pytest.Config) -> str:
    given: str = config.getoption("--fynecheck-reload") or ""
    if given:
        return given
    if config.getoption("--fynecheck", False):
        return str(config.getini("fynecheck_reload"))
    return ""


def _modes(config: pytest.Config) -> list[str]:
    given: list[str] | None = config.getoption("--fynecheck-reload-mode")
    return given or list(config.getini("fynecheck_reload_modes")) or ["local"]


def options(config: pytest.Config) -> Options:
    try:
        return Options(quiet=float(config.getini("fynecheck_reload_quiet")),
                       start_timeout=float(config.getini("fynecheck_reload_timeout")))
    except ValueError as exc:
        raise pytest.UsageError(f"fynecheck reload ini: {exc}") from None


def settings_for(config: pytest.Config) -> hyp_settings:
    """The loaded Hypothesis profile (so `ci` applies under CI=true) with the ini counts."""
    from pytest_fynecheck.watcher.harness import hypothesis_settings

    counts = []
    for name in ("max_examples", "stateful_step_count"):
        raw = str(config.getini(f"fynecheck_reload_{name}")).strip()
        try:
            counts.append(int(raw))
        except ValueError:
            raise pytest.UsageError(
                f"ini fynecheck_reload_{name} must be an integer, not {raw!r}") from None
    # No example database: replaying saved examples would cost seconds each on every run;
    # a failure is rerun with its replay script.
    from hypothesis import settings as hyp_settings

    return hypothesis_settings(hyp_settings(database=None), max_examples=counts[0],
                               stateful_step_count=counts[1])


def _mode(config: pytest.Config, spec: str, argv: Sequence[str]) -> ReloadMode:
    def start(suite: str, scratch: Path, readonly: Sequence[Path]) -> ContainerContext:
        return start_container(config, Target(suite), scratch, readonly=readonly)

    return parse_mode(spec, start=start, argv=argv)


def _argv(config: pytest.Config, cmd: str) -> list[str]:
    """The command, its tool installed first when it names a pinned one (a cold install
    compiles for a minute or two: progress lines come while the main thread waits)."""
    state: Any = config.pluginmanager.get_plugin("fynecheck-state")
    progress = state.progress
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
    parsed = [_mode(config, m, argv) for m in modes]
    remote = [m.name for m in parsed if m.name != "local"]
    if remote:
        reason = missing_engine(cache_dir())
        if reason is not None:
            raise InputError(f"modes {', '.join(remote)}: {reason}")


def pytest_sessionstart(session: pytest.Session) -> None:
    cmd = _command(session.config)
    if not cmd or hasattr(session.config, "workerinput"):
        return
    try:
        _validate(session.config, cmd, _modes(session.config))
    except (InputError, CheckFailed) as exc:
        raise pytest.UsageError(f"fynecheck reload: {exc}") from None


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
                              artifacts=_artifact_dir(config))
    finally:
        mode.close()


class ReloadItem(pytest.Item):
    """The reload property for one tool command in one mode."""

    def __init__(self, *, cmd: str, mode: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.cmd = cmd
        self.mode = mode

    def runtest(self) -> None:
        try:
            outcome = run_check(self.config, self.cmd, self.mode)
        except _check_errors() as exc:
            self._record(Status.FAIL, str(exc).splitlines()[0])
            raise
        s = outcome.stats
        self._record(Status.OK, f"{s.steps} steps in {s.examples} examples ({s.builds} "
                                f"builds), {outcome.seconds:.1f} s: always one app, up to date")

    def _record(self, status: Status, detail: str) -> None:
        result = Result("reload", f"Hot reload: {self.cmd}", status, detail, os=self.mode)
        self.user_properties.append((RESULTS_KEY, json.dumps(result.to_json())))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _check_errors()):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fynecheck reload [{self.mode}]: {self.cmd}"


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    cmd = _command(config)
    if not cmd:
        return

    def make(parent: pytest.Collector) -> list[pytest.Item]:
        return [ReloadItem.from_parent(parent, name=f"reload[{m}]", cmd=cmd, mode=m)
                for m in _modes(config)]

    add_items(session, items, make)


class ReloadKit:
    """What the `fyne_reload` fixture gives: the check on demand."""

    def __init__(self, config: pytest.Config, cmd: str | None, modes: list[str]) -> None:
        self._config = config
        self._cmd = cmd
        self.modes = modes

    @property
    def cmd(self) -> str:
        if not self._cmd:
            raise pytest.UsageError("fyne_reload: no reload command; use the marker's cmd=, "
                                    "--fynecheck-reload or ini fynecheck_reload")
        return self._cmd

    def check(self, mode: str | None = None) -> list[Outcome]:
        """Run the property in `mode` (default: every mode); raises on a failure."""
        return [run_check(self._config, self.cmd, m) for m in ([mode] if mode else self.modes)]


def _kit(item: pytest.Item) -> ReloadKit | None:
    marker = item.get_closest_marker("fyne_reload")
    config = item.config
    cmd = modes = None
    if marker is not None:
        cmd = marker.kwargs.get("cmd") or (marker.args[0] if marker.args else None)
        modes = marker.kwargs.get("modes")
        modes = [modes] if isinstance(modes, str) else modes
    chosen = cmd or config.getoption("--fynecheck-reload") or config.getini("fynecheck_reload")
    return ReloadKit(config, chosen or None, list(modes or _modes(config)))


@pytest.fixture
def fyne_reload(request: pytest.FixtureRequest) -> Iterator[ReloadKit]:
    kit = _kit(request.node)
    assert kit is not None
    yield kit


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("fyne_reload") is None:
        return
    if "fyne_reload" in getattr(item, "fixturenames", ()):
        return  # the test runs the check itself through the fixture
    kit = _kit(item)
    assert kit is not None
    try:
        kit.check()
    except _check_errors() as exc:
        pytest.fail(f"fyne_reload: {exc}", pytrace=False)


__all__ = ["ReloadItem", "ReloadKit", "fyne_reload"]
