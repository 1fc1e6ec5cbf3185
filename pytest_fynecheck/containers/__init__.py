"""Per-OS containers: images from `containers/` recipes, a `ContainerContext` that runs
the readiness checks inside one, and reproducers for failures there.

Public API: `Target`, `ensure_image`, `ContainerContext`, `start_container`,
`write_reproducer`, `missing_engine`. The pytest side is `containers.plugin`.

The names load on first use (PEP 562): importing one light module of the package (e.g.
`containers.images` for SUITES, which the options read at every start) must not import
them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_fynecheck.containers.context import ContainerContext
    from pytest_fynecheck.containers.engine import missing_engine
    from pytest_fynecheck.containers.images import SUITES, Target, ensure_image
    from pytest_fynecheck.containers.reproducer import write_reproducer

_HOME = {
    "ContainerContext": "context",
    "missing_engine": "engine",
    "SUITES": "images",
    "Target": "images",
    "ensure_image": "images",
    "write_reproducer": "reproducer",
}

__all__ = [
    "SUITES",
    "ContainerContext",
    "Target",
    "ensure_image",
    "missing_engine",
    "write_reproducer",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
