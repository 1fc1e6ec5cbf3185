"""How the reload check waits and judges; apart from `machine` so the plugin can read
the defaults without loading Hypothesis."""

from __future__ import annotations

import dataclasses

# Each example starts the tool and waits out a quiescence (seconds), so the counts are
# small; raise them in the ini for a deeper run.
DEFAULT_MAX_EXAMPLES = 6
DEFAULT_STEPS = 4

@dataclasses.dataclass
class Options:
    quiet: float = 2.0  # no build and no restart for this long = quiescence
    settle_timeout: float = 30.0  # quiescence must come within this, or it is a loop
    start_timeout: float = 60.0  # the tool's first build and start of the app
    build_timeout: float = 15.0  # a step waiting for the tool to build


__all__ = ["DEFAULT_MAX_EXAMPLES", "DEFAULT_STEPS", "Options"]
