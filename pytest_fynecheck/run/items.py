"""The kit's own items (readiness checks, watcher and reload modes, drift aspects),
collected by a real collector so pytest counts, lists (--co) and deselects (-k, -m) them
like any others; and the readiness check's item."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import collect_one_node

from pytest_fynecheck.checks import for_context
from pytest_fynecheck.core import report as doctor
from pytest_fynecheck.core.model import Result, Status
from pytest_fynecheck.core.results import record
from pytest_fynecheck.package import PREFIX, wanted
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run.session import core


class ItemsCollector(pytest.Collector):
    """Makes the items `make` gives, under one "fynecheck" node."""

    def __init__(self, *, make: Callable[[pytest.Collector], list[pytest.Item]], **kw: Any):
        super().__init__(**kw)
        self._make = make

    def collect(self) -> list[pytest.Item]:
        return self._make(self)


def add_items(
    session: pytest.Session, items: list[pytest.Item],
    make: Callable[[pytest.Collector], list[pytest.Item]],
) -> None:
    """Collect `make`'s items under "fynecheck"; call from a tryfirst
    pytest_collection_modifyitems, so -k and -m see them."""
    report = collect_one_node(ItemsCollector.from_parent(session, name="fynecheck", make=make))
    session.config.hook.pytest_collectreport(report=report)
    items.extend(i for i in report.result if isinstance(i, pytest.Item))


def junit_context(item: pytest.Item) -> str | None:
    """Where a kit item runs, for JUnit's classname: a check's context or matrix cell, a
    watcher's or reload tool's mode, `drift`; None for items that are not the kit's."""
    if not isinstance(item.parent, ItemsCollector):
        return None
    where = getattr(item, "context", None) or getattr(item, "mode", None)
    return str(where) if where else item.name.split("[", 1)[0]


class CheckItem(pytest.Item):
    """One readiness check in one context."""

    def __init__(self, *, check_id: str, context: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.check_id = check_id
        self.context = context

    def runtest(self) -> None:
        runner = core(self.config).runner()
        result = runner.result(self.context, self.check_id)
        record(self, result)
        if result.status is Status.NA:
            pytest.skip(f"n/a: {result.detail}")
        if result.status is Status.NOT_RUN and self._roots_reported(runner.failed_roots(
                self.context, self.check_id)):
            pytest.skip(result.detail)  # its failed requirement's item fails the run
        if result.blocking:
            raise CheckFailure(result)

    def _roots_reported(self, roots: list[str]) -> bool:
        """Whether each failed requirement is an item of this session, which fails: if
        one was deselected, this item fails in its place."""
        mine = {i.check_id for i in self.session.items
                if isinstance(i, CheckItem) and i.context == self.context}
        return bool(roots) and set(roots) <= mine

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


# The ids of the opt-in GL floor checks (checks/gl.py), planned with --fynecheck-gl-minimum.
GL_MINIMUM = "gl.minimum"


def check_items(parent: pytest.Collector) -> list[pytest.Item]:
    """One CheckItem per check and context (or matrix cell) of this run."""
    items: list[pytest.Item] = []
    session = core(parent.config)
    packaged = wanted(session.project(), settings(parent.config).core.package)
    gl_floor = settings(parent.config).core.gl_minimum
    for spec in session.plan():
        suffix = "" if spec.name == "host" else f"@{spec.name}"
        for check_id in for_context(spec.target):
            if check_id.startswith(PREFIX) and not packaged:
                continue
            if check_id.startswith(GL_MINIMUM) and not gl_floor:
                continue  # a dozen app launches: only when asked
            items.append(
                CheckItem.from_parent(
                    parent, name=f"{check_id}{suffix}", check_id=check_id, context=spec.name
                )
            )
    return items
