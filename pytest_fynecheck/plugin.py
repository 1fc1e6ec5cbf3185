"""pytest entry point: options, markers and the readiness items. Thin on purpose.

The work lives in modules named for their job: `checks/` (the catalogue), `runner`
(runs checks once per context), `displays`, `report`. Other features (watcher,
drift, containers) are plugins of their own, listed in `pytest_plugins`.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from pytest_fynecheck import report as doctor
from pytest_fynecheck.checks import catalogue, for_context
from pytest_fynecheck.context import Context
from pytest_fynecheck.items import add_items
from pytest_fynecheck.model import Result, Status
from pytest_fynecheck.progress import Progress, line_writer
from pytest_fynecheck.runner import Runner
from pytest_fynecheck.windows import os_names
from pytest_fynecheck.workers import is_worker

# Feature plugins: each owns its options, markers, fixtures and items.
pytest_plugins: list[str] = [
    "pytest_fynecheck.displays_plugin",
    "pytest_fynecheck.drift.plugin",
    "pytest_fynecheck.containers.plugin",
    "pytest_fynecheck.watcher.plugin",
    "pytest_fynecheck.matrix.plugin",
    "pytest_fynecheck.attachments",
    "pytest_fynecheck.windows.plugin",
    "pytest_fynecheck.reload.plugin",
]

RESULTS_KEY = "fynecheck_result"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_fynecheck import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fynecheck", "Fyne readiness, watcher and drift checks")
    group.addoption(
        "--fynecheck",
        action="store_true",
        help="collect one item per readiness check and print a doctor-style report",
    )
    group.addoption(
        "--fynecheck-json",
        metavar="PATH",
        help="write the check results as JSON to PATH",
    )
    group.addoption(
        "--fynecheck-display",
        choices=("auto", "host", "xvfb"),
        default=None,
        help="auto: use DISPLAY (WAYLAND_DISPLAY for -tags wayland) if it answers, else a "
        "private Xvfb (weston on Xvfb); host: that display only; xvfb: always the private one "
        "(default: ini fynecheck_display or auto)",
    )
    group.addoption(
        "--fynecheck-project",
        metavar="DIR",
        help="the Fyne project to check (default: ini fynecheck_project or the current directory)",
    )
    parser.addini("fynecheck_project", "the Fyne project to check", default="")
    parser.addini("fynecheck_display", "auto, host or xvfb", default="auto")
    parser.addini("fynecheck_tags", "Go build tags the app is built with", type="args")
    parser.addini(
        "fynecheck_window_title",
        "title of the app's main window (default: any window the app opens)",
        default="",
    )
    parser.addini(
        "fynecheck_package",
        "the main package to build, as `go build` takes it (e.g. ./cmd/NAME), relative to "
        "the project directory (default: `.`, or the only main package below it)",
        default="",
    )
    parser.addini("fynecheck_app_args", "arguments app.window starts the app with", type="args")
    parser.addini("fynecheck_window_timeout", "seconds to wait for the app's window", default="60")
    parser.addini("fynecheck_timeout", "seconds any one external command may take", default="900")
    parser.addini(
        "fynecheck_glibc_suites",
        "Debian suites the built app must start on (glibc.portability fails, not warns)",
        type="args",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fyne_ready(checks=None): run these readiness checks (default: every required one) "
        "before the test; the test errors with the report when one fails",
    )
    # First: cleanups run last-first, so SIGTERM still interrupts the state's close.
    _sigterm_interrupts(config)
    install_state(config, _STATE, State(config), plugin="fynecheck-state")


def _sigterm_interrupts(config: pytest.Config) -> None:
    """SIGTERM (a CI job's cancel, `timeout`) becomes KeyboardInterrupt, once: teardown and
    the kit's cleanup then stop its displays, tools and containers. Python's default dies
    at once and leaves them running. A second SIGTERM kills as usual; a handler someone
    else set is left alone. The one before is back when the config goes."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt(f"fynecheck: signal {signum} (SIGTERM): cleaning up")

    before = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, before)

    config.add_cleanup(restore)


class Closing(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closing)


def install_state(
    config: pytest.Config, key: pytest.StashKey[S], state: S, *, plugin: str | None = None
) -> S:
    """A feature's per-run state, one way: stashed under `key`, closed when the config
    goes, and with a `plugin` name a plugin itself, so its hooks see the reports that come
    back from xdist workers."""
    config.stash[key] = state
    if plugin is not None:
        config.pluginmanager.register(state, plugin)
    config.add_cleanup(state.close)
    return state


class State:
    """Per-session state: the runner, created on first use."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._runner: Runner | None = None
        self.results: list[Result] = []
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        # Every context of this process reports through it: one stream of lines.
        self.progress = Progress(line_writer(config))
        # Plugins' additions to the --fynecheck-json file (the matrix plugin's cells).
        self.json_extra: dict[str, Any] = {}

    def project(self, given: str | Path | None = None) -> Path:
        """`given` (relative to the invocation directory), else --fynecheck-project, the
        ini, or the invocation directory."""
        opt = (
            given
            or self.config.getoption("--fynecheck-project", None)
            or self.config.getini("fynecheck_project")
        )
        base = self.config.invocation_params.dir
        return (base / opt).resolve() if opt else base

    def runner(self) -> Runner:
        if self._runner is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="fynecheck-")
            self._runner = Runner(self.make_context, idle=self.progress.flush)
        return self._runner

    def make_context(self, name: str) -> Context:
        assert self._scratch is not None
        scratch = Path(self._scratch.name) / name
        scratch.mkdir(exist_ok=True)
        if name == "host":
            return host_context(self.config, self.project(), scratch)
        made = self.config.hook.pytest_fynecheck_make_context(
            config=self.config, name=name, project=self.project(), scratch=scratch, environ={}
        )
        if made is None:
            raise pytest.UsageError(f"fynecheck: no plugin knows the context {name!r}")
        context: Context = made
        return context

    def base_contexts(self) -> list[str]:
        extra = [
            n
            for names in self.config.hook.pytest_fynecheck_contexts(config=self.config)
            for n in names
        ]
        return ["host", *extra]

    def context_names(self) -> list[str]:
        """Where this run's checks run: the contexts, as the matrix plugin's cells."""
        base = self.base_contexts()
        cells = self.config.hook.pytest_fynecheck_cells(config=self.config, contexts=base)
        return base if cells is None else list(cells)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Results reach the controller through user_properties, with or without xdist.
        self.progress.flush()
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == RESULTS_KEY:
                self.results.append(Result.from_json(json.loads(str(value))))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        if self._scratch is not None:
            self._scratch.cleanup()


_STATE = pytest.StashKey[State]()


def core_state(config: pytest.Config) -> State:
    """The core's per-run state (runner, results, progress), for the feature plugins."""
    return config.stash[_STATE]


def project_dir(config: pytest.Config) -> Path:
    """The Fyne project under check (--fynecheck-project, ini, or the current directory)."""
    return config.stash[_STATE].project()


def cache_dir() -> Path:
    """Content-keyed builds and probes, shared by every project and run."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-fynecheck"


def host_context(config: pytest.Config, project: Path, scratch: Path) -> Context:
    mode = config.getoption("--fynecheck-display") or config.getini("fynecheck_display")
    ctx = Context(
        project,
        scratch,
        cache_dir(),
        timeout=float(config.getini("fynecheck_timeout")),
        progress=config.stash[_STATE].progress,
        display_mode=mode,
        tags=config.getini("fynecheck_tags"),
    )
    ctx.settings.update(
        window_title=config.getini("fynecheck_window_title"),
        package=config.getini("fynecheck_package"),
        app_args=config.getini("fynecheck_app_args"),
        window_timeout=float(config.getini("fynecheck_window_timeout")),
        artifacts=artifact_dir(config),
        # For glibc.portability: the suites a Linux build must start on.
        glibc_suites=config.getini("fynecheck_glibc_suites"),
        os_names=os_names(config),
    )
    return ctx


def artifact_dir(config: pytest.Config) -> Path:
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        path: Path = cache.mkdir("fynecheck")
        return path
    return Path(tempfile.mkdtemp(prefix="fynecheck-artifacts-"))


class CheckItem(pytest.Item):
    """One readiness check in one context."""

    def __init__(self, *, check_id: str, context: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.check_id = check_id
        self.context = context

    def runtest(self) -> None:
        runner = self.config.stash[_STATE].runner()
        result = runner.result(self.context, self.check_id)
        self.user_properties.append((RESULTS_KEY, json.dumps(result.to_json())))
        if result.status is Status.NA:
            pytest.skip(f"n/a: {result.detail}")
        if result.blocking:
            raise CheckFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return doctor.describe(excinfo.value.result)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fynecheck: {self.check_id} [{self.context}]"


class CheckFailure(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.detail)
        self.result = result


def _check_items(parent: pytest.Collector) -> list[pytest.Item]:
    items: list[pytest.Item] = []
    for context in parent.config.stash[_STATE].context_names():
        suffix = "" if context == "host" else f"@{context}"
        for check_id in for_context(context):
            items.append(
                CheckItem.from_parent(
                    parent, name=f"{check_id}{suffix}", check_id=check_id, context=context
                )
            )
    return items


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("--fynecheck"):
        add_items(session, items, _check_items)


def pytest_runtestloop(session: pytest.Session) -> None:
    """Without xdist, start every check at once so independent probes overlap."""
    if session.config.getoption("--fynecheck") and not is_worker(session.config):
        if session.config.pluginmanager.has_plugin("dsession"):
            return  # xdist controller: the workers run the checks
        runner = session.config.stash[_STATE].runner()
        for item in session.items:
            if isinstance(item, CheckItem):
                runner.submit(item.context, item.check_id)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("fyne_ready")
    if marker is None:
        return
    ids = marker.kwargs.get("checks") or (marker.args[0] if marker.args else None)
    state = item.config.stash[_STATE]
    results = readiness_results(state.runner(), "host", ids)
    failed = [r for r in results if r.blocking]
    if failed:
        pytest.fail("Fyne readiness failed:\n" + doctor.table(results), pytrace=False)


def readiness_results(runner: Runner, context: str, ids: list[str] | None) -> list[Result]:
    known = for_context(context)  # e.g. the windows.* checks only in Windows contexts
    unknown = [i for i in ids or [] if i not in known]
    if unknown:
        raise pytest.UsageError(
            f"fyne_ready: unknown check id(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    chosen = ids or [i for i, c in known.items() if c.required]
    return runner.results(context, chosen)


class Readiness:
    """What the `fyne_readiness` fixture gives: check results on demand, each run once."""

    def __init__(self, runner: Runner, context: str = "host") -> None:
        self._runner = runner
        self.context = context

    def __getitem__(self, check_id: str) -> Result:
        return readiness_results(self._runner, self.context, [check_id])[0]

    def results(self, ids: list[str] | None = None) -> list[Result]:
        """The named checks, or every required one."""
        return readiness_results(self._runner, self.context, ids)


@pytest.fixture(scope="session")
def fyne_readiness(pytestconfig: pytest.Config) -> Iterator[Readiness]:
    yield Readiness(pytestconfig.stash[_STATE].runner())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[_STATE]
    if not state.results:
        return
    results = sorted(state.results, key=_report_order)
    terminalreporter.write_sep("=", "fynecheck")
    for line in doctor.table(results).splitlines():
        terminalreporter.write_line(line)
    path = config.getoption("--fynecheck-json")
    if path:
        Path(path).write_text(doctor.to_json(results, state.json_extra), encoding="utf-8")
        terminalreporter.write_line(f"fynecheck: JSON written to {path}")


def _report_order(result: Result) -> tuple[int, str]:
    ids = list(catalogue())
    return (ids.index(result.id) if result.id in ids else len(ids), result.os)


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_STATE].close()
