"""Builds the real Go watchers the watcher tests run (cached by content)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from hypothesis import settings

from pytest_fynecheck.plugin import cache_dir
from pytest_fynecheck.watcher.build import build_go, reference_watcher
from pytest_fynecheck.watcher.harness import hypothesis_settings
from pytest_fynecheck.watcher.modes import LocalMode

ROOT = Path(__file__).resolve().parent.parent
BROKEN_DIR = ROOT / "fixtures" / "watchers"
# One bug class each (see each main.go); all but `overflow -declare` must be caught.
BROKEN = ("norecurse", "newdirrace", "droprename", "statdrop", "chan1", "overflow", "debounce")


# Fixed at import: pytester points HOME at each test's tmp dir, which would make every
# test rebuild into an empty cache.
CACHE = cache_dir()


@functools.cache
def reference() -> Path:
    return reference_watcher(CACHE)


@functools.cache
def broken(name: str) -> Path:
    return build_go(BROKEN_DIR, name, cache=CACHE)


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
