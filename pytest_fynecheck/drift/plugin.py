"""pytest hooks for drift: the `fyne_drift` marker and fixture, items (`--fynecheck-binary`
and its ini: options.py and settings.py).

Items are added only when asked (`--fynecheck` with a binary); one item per aspect,
so an edit flips exactly the aspects it touches.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.context import Context
from pytest_fynecheck.drift.check import check
from pytest_fynecheck.drift.report import Aspect, DriftReport, Verdict, describe
from pytest_fynecheck.items import add_items
from pytest_fynecheck.model import CheckFailed, InputError
from pytest_fynecheck.session import cache_dir, core, install_state
from pytest_fynecheck.settings import settings
from pytest_fynecheck.workers import is_worker

# Fixed, so every xdist worker collects the same items without reading the binary.
ASPECTS = ("deps", "vcs.revision", "vcs.modified", "embed", "bundle")
DRIFT_KEY = "fynecheck_drift"


def pytest_configure(config: pytest.Config) -> None:
    install_state(config, _STATE, _State(config), plugin="fynecheck-drift-state")


class _State:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._contexts: dict[Path, Context] = {}
        self._reports: dict[tuple[Path, Path], DriftReport | InputError] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.seen: list[dict[str, Any]] = []

    def _base(self) -> Path:
        return self.config.invocation_params.dir

    def project(self, given: str | Path | None = None) -> Path:
        return core(self.config).project(given)

    def binary(self, given: str | Path | None = None) -> Path | None:
        opt = given or settings(self.config).drift.binary
        return (self._base() / opt).absolute() if opt else None

    def context(self, project: Path) -> Context:
        if project not in self._contexts:
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="fynecheck-drift-")
            self._contexts[project] = Context(
                project,
                Path(self._scratch.name),
                cache_dir(),
                timeout=settings(self.config).core.timeout,
            )
        return self._contexts[project]

    def report(self, binary: Path, project: Path) -> DriftReport:
        """Checked once per session and process; bad input is remembered too."""
        key = (binary, project)
        if key not in self._reports:
            try:
                self._reports[key] = check(self.context(project), binary)
            except InputError as exc:
                self._reports[key] = exc
        found = self._reports[key]
        if isinstance(found, InputError):
            raise found
        return found

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Aspects reach the controller through user_properties, with or without xdist.
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == DRIFT_KEY:
                self.seen.append(json.loads(str(value)))

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


_STATE = pytest.StashKey[_State]()


def _wanted(config: pytest.Config) -> Path | None:
    if not settings(config).core.fynecheck:
        return None
    return config.stash[_STATE].binary()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Bad input is one usage error naming it, before any item runs."""
    config = session.config
    binary = _wanted(config)
    if binary is None or is_worker(config):
        return
    state = config.stash[_STATE]
    try:
        state.report(binary, state.project())
    except InputError as exc:
        raise pytest.UsageError(f"fynecheck drift: {exc}") from None
    except CheckFailed as exc:
        raise pytest.UsageError(f"fynecheck drift: {exc.detail}\n  fix: {exc.hint}") from None


class DriftItem(pytest.Item):
    """One aspect of one binary against one project."""

    def __init__(self, *, aspect: str, binary: Path, project: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.aspect = aspect
        self.binary = binary
        self.project = project

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        report = state.report(self.binary, self.project)
        try:
            aspect = report[self.aspect]
        except KeyError:
            aspect = Aspect(self.aspect, Verdict.MATCH, "nothing to compare (no fyne bundle files)")
        self.user_properties.append(
            (DRIFT_KEY, json.dumps({"header": report.header(), **aspect.to_json()}))
        )
        if aspect.verdict is Verdict.DRIFT:
            raise DriftFailure(report.header() + "\n" + describe(aspect))
        if aspect.verdict is Verdict.UNKNOWN:
            if settings(self.config).drift.unknown == "fail":
                raise DriftFailure(report.header() + "\n" + describe(aspect))
            pytest.skip(f"unknown: {aspect.summary}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, DriftFailure | InputError):
            return str(excinfo.value)
        if isinstance(excinfo.value, CheckFailed):
            return f"{excinfo.value.detail}\n  fix: {excinfo.value.hint}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fynecheck drift: {self.aspect} [{self.binary.name}]"


class DriftFailure(Exception):
    """The binary and the tree differ; the message is the report."""


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    binary = _wanted(config)
    if binary is None:
        return
    project = config.stash[_STATE].project()

    def make(parent: pytest.Collector) -> list[pytest.Item]:
        return [
            DriftItem.from_parent(
                parent, name=f"drift[{aspect}]", aspect=aspect, binary=binary, project=project
            )
            for aspect in ASPECTS
        ]

    add_items(session, items, make)


class Drift:
    """What the `fyne_drift` fixture gives: drift reports on demand, each made once."""

    def __init__(self, state: _State, binary: Path | None, project: Path) -> None:
        self._state = state
        self.binary = binary
        self.project = project

    def report(
        self, binary: str | Path | None = None, project: str | Path | None = None
    ) -> DriftReport:
        chosen = self._state.binary(binary) if binary else self.binary
        if chosen is None:
            raise pytest.UsageError(
                "fyne_drift: no binary; pass binary=..., use the marker's binary=, "
                "--fynecheck-binary or ini fynecheck_binary"
            )
        return self._state.report(chosen, self._state.project(project) if project else self.project)


def _marker_args(item: pytest.Item) -> tuple[Any, Any] | None:
    marker = item.get_closest_marker("fyne_drift")
    if marker is None:
        return None
    binary = marker.kwargs.get("binary") or (marker.args[0] if marker.args else None)
    return binary, marker.kwargs.get("project")


@pytest.fixture
def fyne_drift(request: pytest.FixtureRequest) -> Iterator[Drift]:
    state = request.config.stash[_STATE]
    args = _marker_args(request.node) or (None, None)
    yield Drift(state, state.binary(args[0]), state.project(args[1]))


def pytest_runtest_setup(item: pytest.Item) -> None:
    args = _marker_args(item)
    if args is None:
        return
    state = item.config.stash[_STATE]
    binary = state.binary(args[0])
    if binary is None:
        pytest.fail("fyne_drift: the marker names no binary and no default is set", pytrace=False)
    try:
        report = state.report(binary, state.project(args[1]))
    except InputError as exc:
        pytest.fail(f"fyne_drift: {exc}", pytrace=False)
    if report.drifted:
        pytest.fail(
            "the binary drifted from the source:\n" + report.text([a.id for a in report.drifted]),
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    seen = config.stash[_STATE].seen
    if not seen:
        return
    terminalreporter.write_sep("=", "fynecheck drift")
    for header in dict.fromkeys(s["header"] for s in seen):
        for line in header.splitlines():
            terminalreporter.write_line(line)
        for s in sorted((s for s in seen if s["header"] == header), key=lambda s: s["id"]):
            aspect = Aspect(s["id"], Verdict(s["verdict"]), s["summary"])
            terminalreporter.write_line(describe(aspect))
