"""A pytest plugin for bench/readiness.py: when each phase of one `pytest --fynecheck` run
happened, as seconds since the bench started the process (FYNECHECK_BENCH_T0, wall clock).

Loaded with `-p timeline` (bench/ is on PYTHONPATH); writes JSON to FYNECHECK_BENCH_TIMELINE:
  loaded      this module imported: pytest's own start (core plugins, ini) is behind
  configured  every plugin's pytest_configure ran (trylast)
  collected   collection ended
  checks      {id: [start, end]} of each check's run function, context creation included
  finished    pytest_sessionfinish began (the checks' items have run)
It reads the kit only by wrapping the runner's `running_check` (entered right before a
check's run function, left right after): nothing of the kit changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

T0 = float(os.environ.get("FYNECHECK_BENCH_T0", time.time()))
_EVENTS: dict[str, Any] = {"loaded": time.time() - T0, "checks": {}}
_LOCK = threading.Lock()


def _now() -> float:
    return round(time.time() - T0, 4)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    _EVENTS["configured"] = _now()
    if not config.pluginmanager.has_plugin("fynecheck"):
        return
    from pytest_fynecheck.run import runner

    inner = runner.running_check  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def timed_check(check_id: str) -> Iterator[None]:
        start = _now()
        try:
            with inner(check_id):
                yield
        finally:
            with _LOCK:
                _EVENTS["checks"][check_id] = [start, _now()]

    runner.running_check = timed_check  # type: ignore[attr-defined]


def pytest_collection_finish(session: pytest.Session) -> None:
    _EVENTS["collected"] = _now()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _EVENTS["finished"] = _now()


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get("FYNECHECK_BENCH_TIMELINE")
    if path:
        _EVENTS["unconfigured"] = _now()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_EVENTS, f)
