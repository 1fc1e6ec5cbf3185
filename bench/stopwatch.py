"""Wall-clock timing shared by the bench scripts (they import it as `stopwatch`: a script's
own directory is on sys.path)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(fn: Callable[[], object], n: int) -> float:
    """Median seconds of `n` calls of `fn`."""
    return statistics.median(timed(fn) for _ in range(n))
