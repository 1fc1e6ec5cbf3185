"""The check catalogue: one check is an id, a title, a run function and a fix hint.

A run function takes a `Context` and its requirements' results (`Needs`, by check id)
and returns what it found (a string, or a `Found`), or raises `CheckFailed` (or a
subclass) with the cause and a true hint.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import Needs as Needs  # what run functions take


@dataclasses.dataclass(frozen=True)
class Found:
    detail: str
    artifacts: dict[str, str] = dataclasses.field(default_factory=dict)


RunFn = Callable[[Context, Needs], "str | Found"]


def built_binary(needs: Needs, check_id: str) -> Path:
    """The binary a build check (app.build, windows.build) made: its result's artifact."""
    return Path(needs[check_id].artifacts["binary"])


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: RunFn
    # The hint used when a failure does not bring a more precise one.
    hint: str
    required: bool = True
    # Checks whose failure makes this one meaningless: it is then reported as not run.
    requires: tuple[str, ...] = ()
    # Cheap checks run alongside their requirements (their result is dropped if one fails);
    # expensive ones, or ones that use a requirement's result, wait.
    waits: bool = False
    # The targets (TARGETS) whose contexts run this check.
    targets: tuple[str, ...] = ("linux",)


# Where a context's binaries run (plan/spec.py's ContextSpec.target): a Linux system, or
# Windows (mingw-w64 cross builds run under Wine).
TARGETS = ("linux", "windows")


def for_context(target: str) -> dict[str, Check]:
    """The checks a context of `target` runs, in report order."""
    return {i: c for i, c in catalogue().items() if target in c.targets}


CATALOGUE: dict[str, Check] = {}

# Modules that define checks, in report order.
_MODULES = (
    "go", "cc", "debian", "fyne_cli", "display", "app_build", "app_window", "glibc", "windows"
)


def check(
    id: str,
    title: str,
    *,
    hint: str,
    required: bool = True,
    requires: tuple[str, ...] = (),
    waits: bool = False,
    targets: tuple[str, ...] = ("linux",),
) -> Callable[[RunFn], RunFn]:
    def register(fn: RunFn) -> RunFn:
        known = CATALOGUE.get(id)
        # pytester re-imports check modules in-process: the same check again is fine.
        if known is not None and known.run.__qualname__ != fn.__qualname__:
            raise RuntimeError(f"check id {id!r} registered twice")
        CATALOGUE[id] = Check(id, title, fn, hint, required, requires, waits, targets)
        return fn

    return register


def catalogue() -> dict[str, Check]:
    """Every check, in report order: by module as `_MODULES` lists them (whichever module
    other code imported first), then as each module defines them."""
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")
    rank = {f"{__name__}.{name}": i for i, name in enumerate(_MODULES)}
    ordered = sorted(CATALOGUE.values(), key=lambda c: rank.get(c.run.__module__, len(rank)))
    return {c.id: c for c in ordered}
