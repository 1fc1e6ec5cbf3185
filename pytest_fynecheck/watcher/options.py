"""How the watcher check waits and judges. Apart from `machine` so that the plugin can
read the defaults without loading Hypothesis."""

from __future__ import annotations

import dataclasses

# Used when neither the ini nor a custom Hypothesis profile says otherwise: a run
# of the reference watcher then takes seconds, and every shipped bug is caught.
DEFAULT_MAX_EXAMPLES = 30
DEFAULT_STEPS = 25

@dataclasses.dataclass
class Options:
    timeout: float = 10.0  # for ready, and for each barrier
    grace: float = 0.002  # after the cookie, for stragglers from watchers that reorder
    strict: bool = False
    fail_on_declared_loss: bool = True
    max_burst: int = 200
    # Seconds, from the first failure of a race, during which shrink candidates that pass
    # are tried again; after it each gets one try (each try starts a watcher: costly).
    race_budget: float = 60.0


__all__ = ["DEFAULT_MAX_EXAMPLES", "DEFAULT_STEPS", "Options"]
