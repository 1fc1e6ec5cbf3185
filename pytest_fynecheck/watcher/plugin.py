"""pytest hooks for the watcher check: `--fynecheck-watcher`, its ini settings, the
`fyne_watcher` marker and fixture, and one `watcher[MODE]` item per mode.

Items are added only when asked: `--fynecheck-watcher CMD`, or `--fynecheck` with the
ini `fynecheck_watcher` set.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import missing_engine
from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.containers.start import start_container
from pytest_fynecheck.model import CheckFailed, InputError, Result, Status
from pytest_fynecheck.plugin import add_items, cache_dir, project_dir
from pytest_fynecheck.watcher import adapters
from pytest_fynecheck.watcher.modes import ContainerMode, ContainerStarter, parse_mode
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.protocol import WatcherFailed, command_argv, resolve_executable

# The harness loads Hypothesis, which is slow to import: it is imported where a watcher
# check runs, so that a run without one does not pay for it.
if TYPE_CHECKING:
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.watcher.harness import LiveWatcher, Outcome

# Used when neither the ini nor a custom Hypothesis profile says otherwise: a run
# of the reference watcher then takes seconds, and every shipped bug is caught.
DEFAULT_MAX_EXAMPLES = 30
DEFAULT_STEPS = 25
_HYPOTHESIS_DEFAULTS = {"max_examples": 100, "stateful_step_count": 50}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fynecheck")
    group.addoption(
        "--fynecheck-watcher",
        metavar="CMD",
        help="check this file-watcher command (watcher protocol v1); {root} is replaced by "
        "the watched directory, or it is appended; or a built-in: inotifywait, fswatch, "
        "watchman, fsnotify (the project's own fsnotify version) (default: ini fynecheck_watcher)",
    )
    group.addoption(
        "--fynecheck-watcher-mode",
        action="append",
        metavar="MODE",
        help="where to check the watcher: local, container:SUITE, bind:SUITE (churn on the host, "
        "watcher in the container) or bind:SUITE:reverse (repeatable; default: ini "
        "fynecheck_watcher_modes)",
    )
    parser.addini("fynecheck_watcher", "file-watcher command to check", default="")
    parser.addini(
        "fynecheck_watcher_modes", "modes for watcher items", type="args", default=["local"]
    )
    parser.addini(
        "fynecheck_watcher_max_examples",
        "Hypothesis max_examples for the watcher check (default: the loaded profile's "
        f"when it sets one, else {DEFAULT_MAX_EXAMPLES})",
        default="",
    )
    parser.addini(
        "fynecheck_watcher_stateful_step_count",
        "Hypothesis stateful_step_count for the watcher check (default: the loaded "
        f"profile's when it sets one, else {DEFAULT_STEPS})",
        default="",
    )
    parser.addini(
        "fynecheck_watcher_strict",
        "also fail on events for paths the churn never touched",
        type="bool",
        default=False,
    )
    parser.addini(
        "fynecheck_watcher_fail_on_declared_loss",
        'fail when the watcher prints {"error": ...} (a declared loss); when false it is '
        "reported as a warning",
        type="bool",
        default=True,
    )
    parser.addini(
        "fynecheck_watcher_timeout",
        "seconds to wait for ready and for each barrier cookie",
        default="10",
    )
    parser.addini(
        "fynecheck_watcher_grace",
        "seconds to keep listening after each barrier cookie",
        default=str(Options.grace),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fyne_watcher(cmd=None, modes=None): before the test, check the watcher command "
        "(default: --fynecheck-watcher) in these modes (default: local) with property-based "
        "file churn; with the fyne_watcher fixture, the test runs the check itself",
    )


def _command(config: pytest.Config) -> str:
    given: str = config.getoption("--fynecheck-watcher") or ""
    if given:
        return given
    if config.getoption("--fynecheck", False):
        return str(config.getini("fynecheck_watcher"))
    return ""


def _modes(config: pytest.Config) -> list[str]:
    given: list[str] | None = config.getoption("--fynecheck-watcher-mode")
    return given or list(config.getini("fynecheck_watcher_modes")) or ["local"]


def options(config: pytest.Config) -> Options:
    try:
        return Options(
            timeout=float(config.getini("fynecheck_watcher_timeout")),
            grace=float(config.getini("fynecheck_watcher_grace")),
            strict=bool(config.getini("fynecheck_watcher_strict")),
            fail_on_declared_loss=bool(config.getini("fynecheck_watcher_fail_on_declared_loss")),
        )
    except ValueError as exc:
        raise pytest.UsageError(f"fynecheck watcher ini: {exc}") from None


def settings_for(config: pytest.Config) -> hyp_settings:
    """The loaded Hypothesis profile (so `ci` applies under CI=true), with the counts
    from the ini, else from a profile that changed them, else the kit's."""
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.watcher.harness import hypothesis_settings

    parent = hyp_settings.default
    assert parent is not None
    counts: dict[str, int] = {}
    for name, kit in (
        ("max_examples", DEFAULT_MAX_EXAMPLES),
        ("stateful_step_count", DEFAULT_STEPS),
    ):
        raw = str(config.getini(f"fynecheck_watcher_{name}")).strip()
        if raw:
            try:
                counts[name] = int(raw)
            except ValueError:
                raise pytest.UsageError(
                    f"ini fynecheck_watcher_{name} must be an integer, not {raw!r}"
                ) from None
        elif getattr(parent, name) == _HYPOTHESIS_DEFAULTS[name]:
            counts[name] = kit
    return hypothesis_settings(
        parent,
        max_examples=counts.get("max_examples"),
        stateful_step_count=counts.get("stateful_step_count"),
    )


def _artifacts(config: pytest.Config) -> Path:
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir("fynecheck"))
    return Path(tempfile.mkdtemp(prefix="fynecheck-artifacts-"))


def _starter(config: pytest.Config) -> ContainerStarter:
    def start(suite: str, scratch: Path, readonly: Sequence[Path]) -> ContainerContext:
        return start_container(config, Target(suite), scratch, readonly=readonly)

    return start


def _reproducers(config: pytest.Config) -> Path | None:
    given = config.getoption("--fynecheck-reproducer", None)
    return Path(given) if given else None


def _validate(config: pytest.Config, cmd: str, modes: list[str]) -> None:
    """Bad input (missing command, unknown mode, no Docker engine for a container mode)
    is one clear error, before anything runs."""
    try:
        argv = command_argv(cmd, "{root}")
    except ValueError as exc:  # shlex: unbalanced quotes
        raise InputError(f"watcher command {cmd!r} does not parse: {exc}") from None
    builtin = adapters.builtin_name(cmd)
    # A built-in's program exists only once it is built (at run time): no mounts here.
    mounts: list[Path] | None = [] if builtin else None
    parsed = [parse_mode(m, start=_starter(config), cmd=cmd, mounts=mounts) for m in modes]
    on_host = any(not isinstance(m, ContainerMode) or not m.watch_inside for m in parsed)
    if builtin:
        adapters.check_tool(builtin, os.environ.get("PATH", ""))  # go for fsnotify: at build
    elif on_host:
        resolve_executable(argv, dict(os.environ))
    if any(m.name != "local" for m in parsed):
        reason = missing_engine(cache_dir())
        if reason is not None:
            raise InputError(f"modes {', '.join(m.name for m in parsed if m.name != 'local')}: "
                             f"{reason}")
    for m in parsed:
        m.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    cmd = _command(session.config)
    if not cmd or hasattr(session.config, "workerinput"):
        return
    try:
        _validate(session.config, cmd, _modes(session.config))
    except InputError as exc:
        raise pytest.UsageError(f"fynecheck watcher: {exc}") from None


def _check_errors() -> tuple[type[Exception], ...]:
    """What a failed watcher check raises; reported as a failure, without a traceback."""
    from pytest_fynecheck.watcher.harness import WatcherCheckFailed

    return (WatcherCheckFailed, WatcherFailed, InputError, CheckFailed)


_RESOLVED = pytest.StashKey[dict[str, adapters.Resolved]]()


def resolved(config: pytest.Config, cmd: str | list[str]) -> adapters.Resolved:
    """The command a built-in name stands for (built once per session), or `cmd` itself."""
    memo = config.stash.setdefault(_RESOLVED, {})
    key = cmd if isinstance(cmd, str) else "\0".join(cmd)
    if key not in memo:
        memo[key] = adapters.resolve(cmd, project_dir(config), cache_dir())
    return memo[key]


def run_check(config: pytest.Config, cmd: str | list[str], mode_spec: str) -> Outcome:
    from pytest_fynecheck.watcher.harness import check_watcher

    found = resolved(config, cmd)
    mode = parse_mode(mode_spec, start=_starter(config), cmd=found.argv)
    try:
        if found.builtin and isinstance(mode, ContainerMode) and mode.watch_inside:
            adapters.check_suite(found.builtin, mode.suite)
        return check_watcher(
            found.argv,
            mode,
            options=options(config),
            hyp=settings_for(config),
            artifacts=_artifacts(config),
            reproducers=_reproducers(config),
            save_image=bool(config.getoption("--fynecheck-reproducer-save", False)),
        )
    finally:
        mode.close()


class WatcherItem(pytest.Item):
    """The churn property for one watcher command in one mode."""

    def __init__(self, *, cmd: str, mode: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.cmd = cmd
        self.mode = mode

    def runtest(self) -> None:
        try:
            outcome = run_check(self.config, self.cmd, self.mode)
        except _check_errors() as exc:
            self._record(Status.FAIL, str(exc).splitlines()[0])
            found = self.config.stash.get(_RESOLVED, {}).get(self.cmd)
            if found is not None and found.note:
                exc.args = (f"built-in watcher {self.cmd}: {found.note}\n{exc}",)
            raise
        s = outcome.stats
        detail = (
            f"{s.steps} steps ({s.prims} file operations) in {s.examples} examples, "
            f"{outcome.seconds:.1f} s: every change reported"
        )
        note = resolved(self.config, self.cmd).note
        if note:
            detail = f"{note}: {detail}"
        if s.declared:
            detail += f"; the watcher declared {len(s.declared)} loss(es): {s.declared[0]}"
            self._record(Status.WARN, detail)
            self.warn(pytest.PytestWarning(f"watcher[{self.mode}]: {detail}"))
            return
        self._record(Status.OK, detail)

    def _record(self, status: Status, detail: str) -> None:
        # Into the doctor table (plugin.py collects these, with or without xdist).
        from pytest_fynecheck.plugin import RESULTS_KEY

        result = Result(
            "watcher",
            f"File watcher: {self.cmd}",
            status,
            detail,
            os=self.mode,
            required=True,
        )
        self.user_properties.append((RESULTS_KEY, json.dumps(result.to_json())))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _check_errors()):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fynecheck watcher [{self.mode}]: {self.cmd}"


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    cmd = _command(config)
    if not cmd:
        return

    def make(parent: pytest.Collector) -> list[pytest.Item]:
        return [
            WatcherItem.from_parent(parent, name=f"watcher[{mode}]", cmd=cmd, mode=mode)
            for mode in _modes(config)
        ]

    add_items(session, items, make)


class WatcherKit:
    """What the `fyne_watcher` fixture gives: the check on demand, and a live watcher
    with barriers for your own assertions."""

    def __init__(self, config: pytest.Config, cmd: str | list[str] | None, modes: list[str]):
        self._config = config
        self._cmd = cmd
        self.modes = modes

    @property
    def cmd(self) -> str | list[str]:
        if not self._cmd:
            raise pytest.UsageError(
                "fyne_watcher: no watcher command; use the marker's cmd=, "
                "--fynecheck-watcher or ini fynecheck_watcher"
            )
        return self._cmd

    def check(self, mode: str | None = None) -> list[Outcome]:
        """Run the churn property in `mode` (default: every mode); raises on a failure."""
        return [run_check(self._config, self.cmd, m) for m in ([mode] if mode else self.modes)]

    def watch(self, root: str | Path) -> LiveWatcher:
        """Start the watcher on `root` (a context manager); `barrier()` returns the events
        that arrived since the previous barrier."""
        from pytest_fynecheck.watcher.harness import LiveWatcher

        o = options(self._config)
        argv = command_argv(resolved(self._config, self.cmd).argv, str(root))
        return LiveWatcher(argv, Path(root), timeout=o.timeout, grace=o.grace)


def _marker(item: pytest.Item) -> tuple[str | list[str] | None, list[str] | None] | None:
    marker = item.get_closest_marker("fyne_watcher")
    if marker is None:
        return None
    cmd = marker.kwargs.get("cmd") or (marker.args[0] if marker.args else None)
    modes = marker.kwargs.get("modes")
    if isinstance(modes, str):
        modes = [modes]
    return cmd, modes


def _kit(item: pytest.Item) -> WatcherKit:
    cmd, modes = _marker(item) or (None, None)
    config = item.config
    chosen_cmd = (
        cmd or config.getoption("--fynecheck-watcher") or config.getini("fynecheck_watcher")
    )
    return WatcherKit(config, chosen_cmd or None, list(modes or _modes(config)))


@pytest.fixture
def fyne_watcher(request: pytest.FixtureRequest) -> Iterator[WatcherKit]:
    yield _kit(request.node)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _marker(item) is None or "fyne_watcher" in getattr(item, "fixturenames", ()):
        return  # no marker, or the test runs the check itself through the fixture
    kit = _kit(item)
    try:
        kit.check()
    except _check_errors() as exc:
        pytest.fail(f"fyne_watcher: {exc}", pytrace=False)


__all__ = ["WatcherItem", "WatcherKit", "fyne_watcher"]
