"""pytest hooks for drift: the `fyne_drift` marker and fixture, items (`--fynecheck-binary`
and its ini: options.py and settings.py).

Items are added only when asked (`--fynecheck` with a binary); one item per aspect,
so an edit flips exactly the aspects it touches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError, Result
from pytest_fynecheck.core.paths import Scratch, cache_dir
from pytest_fynecheck.core.report import Order, Section, describe
from pytest_fynecheck.core.results import record
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.drift.report import DRIFT, UNKNOWN, DriftReport, aspect
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run.items import add_items
from pytest_fynecheck.run.session import core, install_state

# Fixed, so every xdist worker collects the same items without reading the binary.
ASPECTS = ("deps", "vcs.revision", "vcs.modified", "embed", "bundle")


def pytest_configure(config: pytest.Config) -> None:
    install_state(config, _STATE, _State(config), plugin="fynecheck-drift-state")


class _State:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._contexts: dict[Path, Context] = {}
        self._reports: dict[tuple[Path, Path], DriftReport | InputError] = {}
        self._scratch: Scratch | None = None  # recorded: reaped if this run is killed

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
                self._scratch = Scratch("fynecheck-drift-")
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
            # The comparison's modules (debug/buildinfo, bundle and embed readers) load only
            # in a run that compares a binary: not in every pytest start.
            from pytest_fynecheck.drift import check

            try:
                self._reports[key] = check(self.context(project), binary)
            except InputError as exc:
                self._reports[key] = exc
        found = self._reports[key]
        if isinstance(found, InputError):
            raise found
        return found

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
        found: Result | None = next((a for a in report.aspects if a.id == self.aspect), None)
        if found is None:
            # Not a match: there is nothing to compare (e.g. no fyne bundle files), so n/a.
            nothing = aspect(self.aspect, UNKNOWN, "nothing to compare (no fyne bundle files)")
            record(self, dataclasses.replace(nothing, where=report.binary))
            pytest.skip(f"n/a: {nothing.title}")
        record(self, found)
        if found.status is DRIFT:
            raise DriftFailure(report.header() + "\n" + describe(found))
        if found.status is UNKNOWN:
            if settings(self.config).drift.unknown == "fail":
                raise DriftFailure(report.header() + "\n" + describe(found))
            pytest.skip(f"unknown: {found.title}")

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


def pytest_fynecheck_report_sections(config: pytest.Config) -> list[Section]:
    seen = [r for r in core(config).results if r.kind == "drift"]
    state = config.stash[_STATE]
    lines: list[str] = []
    for binary in dict.fromkeys(r.where for r in seen):
        # Made in this process at session start (bad input stops the run there).
        lines += state.report(Path(binary), state.project()).header().splitlines()
        for r in sorted((r for r in seen if r.where == binary), key=lambda r: r.id):
            # The summary lines only: the details are in each failed item's report.
            lines.append(describe(dataclasses.replace(r, detail="", hint="")))
    return [Section("fynecheck drift", tuple(lines), order=Order.DRIFT)]
