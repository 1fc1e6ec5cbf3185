"""Per-OS containers: images from `containers/` recipes, a `ContainerContext` that runs
the readiness checks inside one, and reproducers for failures there.

Public API: `Target`, `ensure_image`, `ContainerContext`, `start_container`,
`write_reproducer`, `missing_engine`. The pytest side is `containers.plugin`.
"""

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import missing_engine
from pytest_fynecheck.containers.images import SUITES, Target, ensure_image
from pytest_fynecheck.containers.reproducer import write_reproducer

__all__ = [
    "SUITES",
    "ContainerContext",
    "Target",
    "ensure_image",
    "missing_engine",
    "write_reproducer",
]
