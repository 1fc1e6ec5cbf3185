"""The fixture reloaders and the real tools the reload tests run (built once, cached)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from hypothesis import settings

from pytest_fynecheck.churn.stateful import hypothesis_settings
from pytest_fynecheck.reload.harness import replay
from pytest_fynecheck.reload.machine import CASES, ReloadFailed, machine_for
from pytest_fynecheck.reload.modes import LocalReloadMode, ReloadMode
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.reload.tools import resolve
from pytest_fynecheck.watcher.build import build_go
from support.env import cache
from support.sample import ROOT
from support.watcher import local

RELOADERS = ROOT / "fixtures" / "reloaders"
# The fixture reloader debounces 100 ms and builds in about a second here.
FAST = Options(quiet=0.8)
# air debounces 1 s (its default build.delay).
AIR = Options(quiet=2.0)


@functools.cache
def reloader(name: str) -> list[str]:
    return [str(build_go(RELOADERS, name, cache=cache()))]


@functools.cache
def tool(cmd: str) -> list[str]:
    return resolve(cmd, cache())


def local_mode() -> LocalReloadMode:
    return LocalReloadMode(local().base)


def quick(max_examples: int = 4, steps: int = 4) -> settings:
    return hypothesis_settings(settings(database=None), max_examples=max_examples,
                               stateful_step_count=steps)


def scenario(argv: Sequence[str], calls: Sequence[tuple[str, dict[str, Any]]],
             options: Options = FAST, mode: ReloadMode | None = None) -> ReloadFailed | None:
    """The given rules, in order, on a fresh tree and tool: the failure, or None."""
    return replay(machine_for(argv, mode or local_mode(), options), list(calls))


AIR_FIXED = "air --build.exclude_dir tmp --build.include_ext go,txt"
WGO_FIXED = "wgo run -file .txt ."
GOW_FIXED = "gow -e go,mod,txt run ."
ASSET = CASES["embedded asset edit"]
# Each case the default run makes first (an embedded asset edit, a broken build then its
# fix, a change during a build, an atomic save, a new package), once.
RACES = list(CASES.values())
