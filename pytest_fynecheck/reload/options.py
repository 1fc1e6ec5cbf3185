"""How the reload check waits and judges; apart from `machine` so the plugin can read
the defaults without loading Hypothesis."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Options:
    quiet: float = 2.0  # no build and no restart for this long = quiescence
    settle_timeout: float = 30.0  # quiescence must come within this, or it is a loop
    start_timeout: float = 60.0  # the tool's first build and start of the app
    build_timeout: float = 15.0  # a step waiting for the tool to build


__all__ = ["Options"]
