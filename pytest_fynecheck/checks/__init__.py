"""The check catalogue: one check is an id, a title, a run function and a fix hint.

A run function takes a `Context` and its requirements' results (`Needs`, by check id)
and returns what it found (a string, or a `Found`), or raises `CheckFailed` (or a
subclass) with the cause and a true hint.

Checks written outside the kit come from the `pytest_fynecheck.checks` entry-point group:
each entry point names a module whose import registers checks with `@check`. The group is
read when the catalogue is first needed, not when the plugin is imported.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import pytest

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


# Where a context's binaries run (plan/spec.py's ContextSpec.target): a Linux system,
# Windows (mingw-w64 cross builds run under Wine), or the browser (js/wasm in Chromium).
TARGETS = ("linux", "windows", "web")
NATIVE = ("linux", "windows")  # the targets that draw through a display and GL


def for_context(target: str) -> dict[str, Check]:
    """The checks a context of `target` runs, in report order."""
    return {i: c for i, c in catalogue().items() if target in c.targets}


CATALOGUE: dict[str, Check] = {}

# Modules that define checks, in report order.
_MODULES = (
    "go", "cc", "debian", "fyne_cli", "display", "app_build", "app_window", "glibc", "windows",
    "web", "package", "gl",
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
        if known is not None and _where(known.run) != _where(fn):
            raise DuplicateCheck(
                f"check id {id!r} registered twice: by {_where(known.run)} and {_where(fn)}"
            )
        CATALOGUE[id] = Check(id, title, fn, hint, required, requires, waits, targets)
        return fn

    return register


def _where(fn: RunFn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


class DuplicateCheck(RuntimeError):
    """Two check functions claim one id."""


def catalogue() -> dict[str, Check]:
    """Every check, in report order: by module as `_MODULES` lists them (whichever module
    other code imported first), then as each module defines them; then external checks."""
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")
    external_checks()  # after the built-ins: a clash is then the external one's
    rank = {f"{__name__}.{name}": i for i, name in enumerate(_MODULES)}
    ordered = sorted(CATALOGUE.values(), key=lambda c: rank.get(c.run.__module__, len(rank)))
    return {c.id: c for c in ordered}


ENTRY_POINTS = "pytest_fynecheck.checks"


def external_checks() -> dict[str, str]:
    """Import every module of the `pytest_fynecheck.checks` entry-point group (their import
    registers checks with `@check`); the ids they added -> the distribution and entry point
    that added them. A module that fails to import, an id that is already taken, or a
    requirement or target nobody knows is a usage error naming the entry point."""
    added, error = _load_external()
    if error:
        raise pytest.UsageError(error)
    return added


@functools.cache  # once per process, error included: a module imports once, so a second
def _load_external() -> tuple[dict[str, str], str]:  # try would find nothing to judge
    added: dict[str, str] = {}
    error = ""
    found = importlib.metadata.entry_points(group=ENTRY_POINTS)
    for ep in sorted(found, key=lambda e: (e.dist.name if e.dist else "", e.name)):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an unnamed distribution"
        origin = f"{dist} (entry point {ep.name} = {ep.value!r} in group {ENTRY_POINTS})"
        before = set(CATALOGUE)
        try:
            ep.load()
        except Exception as exc:
            taken = isinstance(exc, DuplicateCheck)
            what = "adds a check id that is taken" if taken else "failed to import"
            error = f"fynecheck: external checks from {origin} {what}: {type(exc).__name__}: {exc}"
        added.update({i: origin for i in CATALOGUE if i not in before})
        if error:
            break
    # Requirements are judged once all are in: one distribution's check may need another's.
    error = error or _misnamed(added)
    if error:
        for i in added:  # the run stops: no external check stays half-registered
            del CATALOGUE[i]
        return {}, error
    return added, ""


def _misnamed(added: dict[str, str]) -> str:
    """What the added checks name that nobody knows: a requirement or a target."""
    for check_id, origin in added.items():
        c = CATALOGUE[check_id]
        unknown = [r for r in c.requires if r not in CATALOGUE]
        if unknown:
            return (
                f"fynecheck: check {check_id!r} from {origin} requires unknown check(s) "
                f"{', '.join(unknown)}; known: {', '.join(CATALOGUE)}"
            )
        odd = [t for t in c.targets if t not in TARGETS]
        if odd:
            return (
                f"fynecheck: check {check_id!r} from {origin} names unknown target(s) "
                f"{', '.join(odd)}; known: {', '.join(TARGETS)}"
            )
    return ""
