"""pytest hooks for the watcher check: the `fyne_watcher` marker and fixture, and one
`watcher[MODE]` item per mode (the shared parts: command_check.py; `--fynecheck-watcher`
and its ini settings: options.py and settings.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_fynecheck.core.model import CheckFailed, InputError, Status
from pytest_fynecheck.core.paths import artifact_dir, cache_dir, reproducer_dir
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run.command_check import (
    CommandCheck,
    Kit,
    ModeItem,
    container_starter,
    require_engine,
)
from pytest_fynecheck.run.session import core
from pytest_fynecheck.watcher.options import DEFAULT_MAX_EXAMPLES, DEFAULT_STEPS, Options
from pytest_fynecheck.watcher.protocol import WatcherFailed, command_argv, resolve_executable

# The harness loads Hypothesis, which is slow to import: it is imported where a watcher
# check runs, so that a run without one does not pay for it.
# The built-ins (adapters: fsnotify bridge, builds) and the modes (churn, container
# starter) load only in a run with a watcher: this module loads at every pytest start.
if TYPE_CHECKING:
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.watcher import adapters
    from pytest_fynecheck.watcher.harness import LiveWatcher, Outcome

_HYPOTHESIS_DEFAULTS = {"max_examples": 100, "stateful_step_count": 50}

WATCHER = CommandCheck("watcher")


def options(config: pytest.Config) -> Options:
    s = settings(config).watcher
    return Options(timeout=s.timeout, grace=s.grace, strict=s.strict,
                   fail_on_declared_loss=s.fail_on_declared_loss)


def settings_for(config: pytest.Config) -> hyp_settings:
    """The loaded Hypothesis profile (so `ci` applies under CI=true), with the counts
    from the ini, else from a profile that changed them, else the kit's."""
    from hypothesis import settings as hyp_settings

    from pytest_fynecheck.churn.stateful import hypothesis_settings

    parent = hyp_settings.default
    assert parent is not None
    s = settings(config).watcher
    counts: dict[str, int] = {}
    for name, kit, given in (
        ("max_examples", DEFAULT_MAX_EXAMPLES, s.max_examples),
        ("stateful_step_count", DEFAULT_STEPS, s.stateful_step_count),
    ):
        if given is not None:
            counts[name] = given
        elif getattr(parent, name) == _HYPOTHESIS_DEFAULTS[name]:
            counts[name] = kit
    return hypothesis_settings(
        parent,
        max_examples=counts.get("max_examples"),
        stateful_step_count=counts.get("stateful_step_count"),
    )


def _validate(config: pytest.Config, cmd: str, modes: list[str]) -> None:
    """Bad input (missing command, unknown mode, no Docker engine for a container mode)
    is one clear error, before anything runs."""
    from pytest_fynecheck.watcher import adapters
    from pytest_fynecheck.watcher.modes import ContainerMode, parse_mode

    try:
        argv = command_argv(cmd, "{root}")
    except ValueError as exc:  # shlex: unbalanced quotes
        raise InputError(f"watcher command {cmd!r} does not parse: {exc}") from None
    builtin = adapters.builtin_name(cmd)
    # A built-in's program exists only once it is built (at run time): no mounts here.
    mounts: list[Path] | None = [] if builtin else None
    parsed = [parse_mode(m, start=container_starter(config), cmd=cmd, mounts=mounts) for m in modes]
    on_host = any(not isinstance(m, ContainerMode) or not m.watch_inside for m in parsed)
    if builtin:
        adapters.check_tool(builtin, os.environ.get("PATH", ""))  # go for fsnotify: at build
    elif on_host:
        resolve_executable(argv, dict(os.environ))
    require_engine([m.name for m in parsed])
    for m in parsed:
        m.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    if WATCHER.command(session.config):
        _machinery()
    WATCHER.validate_at_start(session, _validate)


def _machinery() -> None:
    """What validating imports, imported in every process of a run with a watcher, xdist
    workers too (they do not validate): Hypothesis draws from the constants of the local
    modules loaded, so a run's --hypothesis-seed repeats it only if each process of it
    loads the same modules, with or without xdist."""
    from pytest_fynecheck.watcher import adapters, modes  # noqa: F401


def _check_errors() -> tuple[type[Exception], ...]:
    """What a failed watcher check raises; reported as a failure, without a traceback."""
    from pytest_fynecheck.watcher.harness import WatcherCheckFailed

    return (WatcherCheckFailed, WatcherFailed, InputError, CheckFailed)


_RESOLVED = pytest.StashKey[dict[str, "adapters.Resolved"]]()


def resolved(config: pytest.Config, cmd: str | list[str]) -> adapters.Resolved:
    """The command a built-in name stands for (built once per session), or `cmd` itself."""
    from pytest_fynecheck.watcher import adapters

    memo = config.stash.setdefault(_RESOLVED, {})
    key = cmd if isinstance(cmd, str) else "\0".join(cmd)
    if key not in memo:
        memo[key] = adapters.resolve(cmd, core(config).project(), cache_dir())
    return memo[key]


def run_check(config: pytest.Config, cmd: str | list[str], mode_spec: str) -> Outcome:
    from pytest_fynecheck.watcher import adapters
    from pytest_fynecheck.watcher.harness import check_watcher
    from pytest_fynecheck.watcher.modes import ContainerMode, parse_mode

    found = resolved(config, cmd)
    mode = parse_mode(mode_spec, start=container_starter(config), cmd=found.argv)
    try:
        if found.builtin and isinstance(mode, ContainerMode) and mode.watch_inside:
            adapters.check_suite(found.builtin, mode.suite)
        return check_watcher(
            found.argv,
            mode,
            options=options(config),
            hyp=settings_for(config),
            artifacts=artifact_dir(config),
            reproducers=reproducer_dir(settings(config).containers.reproducer),
            save_image=settings(config).containers.reproducer_save,
            app=core(config).project(),
        )
    finally:
        mode.close()


class WatcherItem(ModeItem):
    """The churn property for one watcher command in one mode."""

    check = WATCHER
    title = "File watcher"
    errors = staticmethod(_check_errors)

    def runtest(self) -> None:
        try:
            outcome = run_check(self.config, self.cmd, self.mode)
        except _check_errors() as exc:
            self.record(Status.FAIL, str(exc).splitlines()[0])
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
            self.record(Status.WARN, detail)
            self.warn(pytest.PytestWarning(f"watcher[{self.mode}]: {detail}"))
            return
        self.record(Status.OK, detail)


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    WATCHER.add_items(session, items, WatcherItem)


class WatcherKit(Kit["Outcome"]):
    """What the `fyne_watcher` fixture gives: the check on demand, and a live watcher
    with barriers for your own assertions."""

    def watch(self, root: str | Path) -> LiveWatcher:
        """Start the watcher on `root` (a context manager); `barrier()` returns the events
        that arrived since the previous barrier."""
        from pytest_fynecheck.watcher.harness import LiveWatcher

        o = options(self._config)
        argv = command_argv(resolved(self._config, self.cmd).argv, str(root))
        return LiveWatcher(argv, Path(root), timeout=o.timeout, grace=o.grace)


def _kit(item: pytest.Item) -> WatcherKit:
    return WatcherKit(WATCHER, run_check, item.config, *WATCHER.chosen(item))


@pytest.fixture
def fyne_watcher(request: pytest.FixtureRequest) -> Iterator[WatcherKit]:
    yield _kit(request.node)


def pytest_runtest_setup(item: pytest.Item) -> None:
    WATCHER.setup_marked(item, _kit, _check_errors)


__all__ = ["WatcherItem", "WatcherKit", "fyne_watcher"]
