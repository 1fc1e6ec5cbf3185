"""The kit's own items (readiness checks, watcher and reload modes, drift aspects),
collected by a real collector so pytest counts, lists (--co) and deselects (-k, -m) them
like any others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _pytest.runner import collect_one_node


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
