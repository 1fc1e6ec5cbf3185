"""Builds the real Go watchers the watcher tests run (cached by content)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from hypothesis import settings

from pytest_fynecheck.churn.stateful import hypothesis_settings
from pytest_fynecheck.watcher.build import build_go, reference_watcher
from pytest_fynecheck.watcher.modes import LocalMode, Mode
from support.env import cache
from support.sample import HELLO, ROOT

BROKEN_DIR = ROOT / "fixtures" / "watchers"
# One bug class each (see each main.go); all but `overflow -declare` must be caught.
BROKEN = ("norecurse", "newdirrace", "droprename", "statdrop", "chan1", "overflow", "debounce")


# Fixed at import: pytester points HOME at each test's tmp dir, which would make every
# test rebuild into an empty cache.


@functools.cache
def reference() -> Path:
    return reference_watcher(cache())


@functools.cache
def broken(name: str) -> Path:
    return build_go(BROKEN_DIR, name, cache=cache())


def quick(max_examples: int = 30, steps: int = 25, **kw: object) -> settings:
    """The kit's default counts, without the example database (each test starts clean)."""
    return hypothesis_settings(
        settings(database=None, **kw),  # type: ignore[arg-type]
        max_examples=max_examples,
        stateful_step_count=steps,
    )


def local() -> LocalMode:
    """Local mode on tmpfs when there is one: on this kind of shared CI box /tmp (ext4)
    creates files ten times slower, which only slows the suite, not the verdicts."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return LocalMode(base=shm)
    return LocalMode()


# What the harness found in each built-in watcher (README's table): None = it passes;
# else the loss it is caught on. watchman mostly passes; its findings (a burst of files
# now and then reported after a file made later; in a container, a new dangling symlink
# after a new directory, or a rename's new path, not reported; on a reverse bind mount, a
# new directory inside a new directory not reported though the file in it was, and once
# a file made in a new directory's new subdirectory, and once in CI the removal of a file
# made the step before: races) are the only catches allowed.
BUILTIN_FINDINGS: dict[str, str | None] = {
    "fsnotify": None,
    "watchman": None,
    "inotifywait": "silent loss",
    "fswatch": "silent loss",
}


WATCHMAN_FINDINGS = ("burst of", "symlink ", "rename ", "mkdir ", "create ", "remove ")


def check_builtin(name: str, mode: Mode, tmp_path: Path) -> str:
    """Run the harness on a built-in watcher in `mode` and assert what README says it
    finds; returns a line for the log."""
    from hypothesis import Phase

    from pytest_fynecheck.watcher import adapters
    from pytest_fynecheck.watcher.harness import WatcherCheckFailed, check_watcher

    argv = adapters.resolve(name, HELLO, cache()).argv
    expected = BUILTIN_FINDINGS[name]
    if expected is None:
        try:
            out = check_watcher(argv, mode, hyp=quick(5, 15))
        except WatcherCheckFailed as exc:
            failure = exc.step_failure
            assert name == "watchman" and failure is not None, str(exc)
            assert failure.steps[-1].label.startswith(WATCHMAN_FINDINGS), str(exc)
            return f"{name}: caught at {failure.steps[-1].label} (a known finding)"
        assert out.stats.steps > 0 and out.stats.declared == []
        return f"{name}: passed {out.stats.steps} steps"
    # Caught: no shrinking (its cost is the bench's figure), up to 100 examples.
    no_shrink = (Phase.explicit, Phase.reuse, Phase.generate)
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher(argv, mode, hyp=quick(100, 25, phases=no_shrink), artifacts=tmp_path)
    failure = caught.value.step_failure
    assert failure is not None and failure.reason == expected, str(caught.value)
    return f"{name}: caught at {failure.steps[-1].label}"
