"""The one channel results take back from xdist workers (and without xdist, the same way):
each reported `Result` (check, watcher or reload mode, drift aspect) rides in its test
report's user_properties under one key; the core collects them, features filter by kind."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest

from pytest_fynecheck.core.model import Result

RESULTS_KEY = "fynecheck_result"


def record(item: pytest.Item, result: Result) -> None:
    """Report `result` from this item (for the doctor table, the JSON, the summaries)."""
    item.user_properties.append((RESULTS_KEY, json.dumps(result.to_json())))


def recorded(props: Iterable[tuple[str, object]]) -> list[Result]:
    """The results an item or its report carries."""
    return [Result.from_json(json.loads(str(v))) for k, v in props if k == RESULTS_KEY]
