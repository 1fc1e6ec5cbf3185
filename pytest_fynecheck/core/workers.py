"""The one test for "this process is an xdist worker" (xdist sets `workerinput` on a
worker's config): workers run items; only the controller plans, reports and merges."""

from __future__ import annotations

from typing import Any


def worker_id(config: Any) -> str | None:
    """`gw0` on an xdist worker; None on the controller or without xdist."""
    worker = getattr(config, "workerinput", None)
    return None if worker is None else str(worker["workerid"])


def is_worker(config: Any) -> bool:
    return worker_id(config) is not None
